//! FHIR `date` / `dateTime` / `instant` parsing, and the "as of" date of a resource.

use chrono::{DateTime, Months, NaiveDate, Utc};
use serde_json::Value;

/// Which end of a partial date (`2024`, `2024-05`, `2024-05-02`) to take.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Bound {
    /// The first instant the value covers.
    Start,
    /// The last instant the value covers (a review-by date holds until the day is over).
    End,
}

/// Parses a FHIR date, dateTime or instant; `None` for anything else.
pub(crate) fn parse(text: &str, bound: Bound) -> Option<DateTime<Utc>> {
    if text.len() > 10 {
        return DateTime::parse_from_rfc3339(text)
            .ok()
            .map(|t| t.with_timezone(&Utc));
    }
    let mut parts = text.split('-');
    let year: i32 = parts.next()?.parse().ok()?;
    let month: Option<u32> = parts.next().map(str::parse).transpose().ok()?;
    let day: Option<u32> = parts.next().map(str::parse).transpose().ok()?;
    let first = NaiveDate::from_ymd_opt(year, month.unwrap_or(1), day.unwrap_or(1))?;
    let start = first.and_hms_opt(0, 0, 0)?.and_utc();
    if bound == Bound::Start {
        return Some(start);
    }
    let next = match (month, day) {
        (_, Some(_)) => start.checked_add_days(chrono::Days::new(1))?,
        (Some(_), None) => start.checked_add_months(Months::new(1))?,
        (None, None) => start.checked_add_months(Months::new(12))?,
    };
    next.checked_sub_signed(chrono::TimeDelta::seconds(1))
}

/// The first of `paths` (dotted, objects only) that holds a parseable date.
fn first_date(resource: &Value, paths: &[&str], bound: Bound) -> Option<DateTime<Utc>> {
    paths.iter().find_map(|path| {
        let value = path.split('.').fold(resource, |v, key| &v[key]);
        parse(value.as_str()?, bound)
    })
}

/// The resource's own "as of" date, where it has one (the element the HJMD profiles mark
/// `hjmd-as-of`, or its nearest equivalent); `None` when it has none.
pub(crate) fn own_as_of(resource: &Value) -> Option<DateTime<Utc>> {
    let paths: &[&str] = match resource["resourceType"].as_str()? {
        "Observation" => &[
            "effectiveDateTime",
            "effectiveInstant",
            "effectivePeriod.start",
            "issued",
        ],
        "MedicationStatement" => &["dateAsserted", "effectiveDateTime", "effectivePeriod.start"],
        "Condition" => &["recordedDate", "onsetDateTime"],
        "Flag" => &["period.start"],
        "Consent" => &["dateTime"],
        "Encounter" if !is_episode(resource) => &["period.end", "period.start"],
        _ => &[],
    };
    first_date(resource, paths, Bound::Start)
}

/// A custody or prison episode (its state is as of the source event, not of its start).
pub(crate) fn is_episode(resource: &Value) -> bool {
    matches!(
        resource["class"]["code"].as_str(),
        Some("custody" | "prison")
    )
}

/// `YYYY-MM-DD` of an instant.
pub(crate) fn day(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d").to_string()
}

/// How old something dated `then` is at `now`, in words: `today`, `3 days`, `8 months`, `2 years`.
pub(crate) fn age(then: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let days = (now - then).num_days();
    let plural = |n: i64, unit: &str| format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
    match days {
        i64::MIN..=0 => "today".to_owned(),
        1..=60 => plural(days, "day"),
        61..=729 => plural(days / 30, "month"),
        _ => plural(days / 365, "year"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn partial_dates_have_two_ends() {
        let start = parse("2024-05", Bound::Start).unwrap();
        let end = parse("2024-05", Bound::End).unwrap();
        assert_eq!(start.to_rfc3339(), "2024-05-01T00:00:00+00:00");
        assert_eq!(end.to_rfc3339(), "2024-05-31T23:59:59+00:00");
        assert_eq!(
            parse("2024-05-02", Bound::End).unwrap().to_rfc3339(),
            "2024-05-02T23:59:59+00:00"
        );
        assert_eq!(
            parse("2024-05-02T15:05:11.5+01:00", Bound::Start)
                .unwrap()
                .to_rfc3339(),
            "2024-05-02T14:05:11.500+00:00"
        );
        for bad in ["", "soon", "2024-13-01", "2024-02-30", "20240501T", "-1-"] {
            assert!(parse(bad, Bound::Start).is_none(), "{bad}");
        }
    }

    #[test]
    fn as_of_comes_from_the_profiled_element() {
        let obs = json!({"resourceType": "Observation", "effectiveDateTime": "2024-03-01"});
        assert_eq!(day(own_as_of(&obs).unwrap()), "2024-03-01");
        let med = json!({"resourceType": "MedicationStatement", "dateAsserted": "2026-03-02"});
        assert_eq!(day(own_as_of(&med).unwrap()), "2026-03-02");
        let episode = json!({"resourceType": "Encounter", "class": {"code": "prison"},
                             "period": {"start": "2020-01-01"}});
        assert!(own_as_of(&episode).is_none());
        assert!(own_as_of(&json!({"resourceType": "Patient"})).is_none());
        assert!(own_as_of(&json!([1, 2])).is_none());
    }

    #[test]
    fn ages_read_naturally() {
        let now = parse("2026-11-02", Bound::Start).unwrap();
        let age_of = |s| age(parse(s, Bound::Start).unwrap(), now);
        assert_eq!(age_of("2026-11-02"), "today");
        assert_eq!(age_of("2026-11-01"), "1 day");
        assert_eq!(age_of("2026-03-02"), "8 months");
        assert_eq!(age_of("2023-11-02"), "3 years");
    }
}
