//! HL7 v2 for mappings: the JSON tree an adapter makes of a parsed message, field paths into it,
//! and HL7 dates. Pure; used by the `wm_hl7*` natives.
//!
//! # The tree
//!
//! ```json
//! { "segments": [
//!     { "name": "MSH", "fields": ["|", "^~\\&", "EXCELICARE", …] },
//!     { "name": "PID", "fields": [
//!         "1",
//!         "",
//!         [["9434765919", "", "", "NHS", "NH"], ["A1234BC", "", "", "NOMIS", "PI"]],
//!         "",
//!         [["Smith", "John", "Paul"]] ] } ] }
//! ```
//!
//! `fields[i]` is field `i + 1` (for MSH, `fields[0]` is MSH-1, the field separator). At each
//! level a value is a string (one repetition / component / subcomponent), an array (all of
//! them), or `null` (absent): a field is its repetitions, a repetition its components, a
//! component its subcomponents. So `"1"` and `[["1"]]` are the same field, and a field with one
//! repetition of several components is written `[["Smith", "John"]]`. An adapter builds it from
//! a parsed message (for example the `hl7-parser` crate's segments → fields → repeats →
//! components → subcomponents), dropping source positions and unescaping the text.
//!
//! # Paths
//!
//! `SEG[n]-F[r].C.S`: segment name, optional 1-based occurrence (`OBX[2]`), field number,
//! optional 1-based repetition (`PID-3[2]`), optional component and subcomponent. Omitted
//! indices are 1, so `PID-5` is the first component of the first repetition of PID-5 (the family
//! name), as HL7 people read it.

use chrono::NaiveDate;

/// A parsed field path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hl7Path {
    /// Segment name, e.g. `PID`.
    pub segment: String,
    /// 1-based occurrence of the segment.
    pub occurrence: usize,
    /// 1-based field number, if the path names one.
    pub field: Option<usize>,
    /// 1-based repetition (1 when not given).
    pub repetition: usize,
    /// 1-based component, if given.
    pub component: Option<usize>,
    /// 1-based subcomponent, if given.
    pub subcomponent: Option<usize>,
}

/// A 1-based index of at most five digits.
fn number(s: &str) -> Option<usize> {
    let ok = !s.is_empty() && s.len() <= 5 && s.bytes().all(|b| b.is_ascii_digit());
    ok.then(|| s.parse().ok()).flatten().filter(|n| *n >= 1)
}

/// Splits `"3[2]"` into `(3, Some(2))`.
fn indexed(s: &str) -> Option<(usize, Option<usize>)> {
    match s.split_once('[') {
        None => Some((number(s)?, None)),
        Some((n, rest)) => Some((number(n)?, Some(number(rest.strip_suffix(']')?)?))),
    }
}

impl Hl7Path {
    /// Parses `SEG[n]-F[r].C.S` (see the module docs); `None` when it is not one.
    pub fn parse(path: &str) -> Option<Self> {
        let (segment_part, rest) = match path.split_once('-') {
            Some((s, r)) => (s, Some(r)),
            None => (path, None),
        };
        let (segment, occurrence) = match segment_part.split_once('[') {
            None => (segment_part, 1),
            Some((s, n)) => (s, number(n.strip_suffix(']')?)?),
        };
        let name_ok = segment.len() == 3
            && segment
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
        if !name_ok {
            return None;
        }
        let mut path = Self {
            segment: segment.to_owned(),
            occurrence,
            field: None,
            repetition: 1,
            component: None,
            subcomponent: None,
        };
        if let Some(rest) = rest {
            let parts: Vec<&str> = rest.split('.').collect();
            if parts.len() > 3 {
                return None;
            }
            let (field, repetition) = indexed(parts[0])?;
            path.field = Some(field);
            path.repetition = repetition.unwrap_or(1);
            let plain = |s: &str| indexed(s).and_then(|(n, r)| r.is_none().then_some(n));
            if let Some(c) = parts.get(1) {
                path.component = Some(plain(c)?);
            }
            if let Some(s) = parts.get(2) {
                path.subcomponent = Some(plain(s)?);
            }
        }
        Some(path)
    }
}

/// Two digits at `s[at..at + 2]` as a number.
fn two(s: &[u8], at: usize) -> Option<u32> {
    let d = s.get(at..at + 2)?;
    d.iter()
        .all(u8::is_ascii_digit)
        .then(|| u32::from(d[0] - b'0') * 10 + u32::from(d[1] - b'0'))
}

/// `+ZZZZ` / `-ZZZZ` / `+ZZ:ZZ` / `Z` → `+ZZ:ZZ` / `Z`.
fn offset(zone: &str) -> Option<String> {
    if zone == "Z" {
        return Some("Z".into());
    }
    let (sign, rest) = zone.split_at_checked(1)?;
    if sign != "+" && sign != "-" {
        return None;
    }
    let digits: String = rest.chars().filter(|c| *c != ':').collect();
    let b = digits.as_bytes();
    let (h, m) = (two(b, 0)?, two(b, 2)?);
    (b.len() == 4 && h <= 14 && m < 60).then(|| format!("{sign}{h:02}:{m:02}"))
}

/// Converts an HL7 v2 date/time (`YYYY[MM[DD[HH[MM[SS[.S…]]]]]][+/-ZZZZ]`) to ISO 8601 with the
/// same precision: `YYYY`, `YYYY-MM`, `YYYY-MM-DD`, or `YYYY-MM-DDThh:mm:ss[.f…]` followed by the
/// message's offset, else `default_offset` (e.g. `+01:00`), else none. A zone on a date alone is
/// dropped (FHIR dates have none). `None` for anything that is not a real date and time.
pub fn hl7_to_iso(text: &str, default_offset: Option<&str>) -> Option<String> {
    let text = text.trim();
    let split = text.find(['+', '-']).unwrap_or(text.len());
    let (stamp, zone) = text.split_at(split);
    let zone = match (zone, default_offset) {
        ("", None) => None,
        ("", Some(default)) => Some(offset(default)?),
        (zone, _) => Some(offset(zone)?),
    };
    let (digits, fraction) = match stamp.split_once('.') {
        Some((d, f)) if !f.is_empty() && f.len() <= 4 && f.bytes().all(|b| b.is_ascii_digit()) => {
            (d, Some(f))
        }
        Some(_) => return None,
        None => (stamp, None),
    };
    let b = digits.as_bytes();
    if !matches!(b.len(), 4 | 6 | 8 | 10 | 12 | 14) || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    if fraction.is_some() && b.len() != 14 {
        return None;
    }
    let year = digits.get(..4)?;
    let month = if b.len() >= 6 { two(b, 4)? } else { 1 };
    let day = if b.len() >= 8 { two(b, 6)? } else { 1 };
    NaiveDate::from_ymd_opt(year.parse().ok()?, month, day)?;
    let mut iso = year.to_owned();
    if b.len() >= 6 {
        iso += &format!("-{month:02}");
    }
    if b.len() >= 8 {
        iso += &format!("-{day:02}");
    }
    if b.len() >= 10 {
        let (h, m, s) = (two(b, 8)?, two(b, 10).unwrap_or(0), two(b, 12).unwrap_or(0));
        if h > 23 || m > 59 || s > 59 {
            return None;
        }
        iso += &format!("T{h:02}:{m:02}:{s:02}");
        if let Some(f) = fraction {
            iso += &format!(".{f}");
        }
        if let Some(zone) = zone {
            iso += &zone;
        }
    }
    Some(iso)
}

#[cfg(test)]
mod tests {
    use super::*;

    type Parts = (
        String,
        usize,
        Option<usize>,
        usize,
        Option<usize>,
        Option<usize>,
    );

    fn p(s: &str) -> Option<Parts> {
        Hl7Path::parse(s).map(|p| {
            (
                p.segment,
                p.occurrence,
                p.field,
                p.repetition,
                p.component,
                p.subcomponent,
            )
        })
    }

    #[test]
    fn parses_paths() {
        assert_eq!(p("PID"), Some(("PID".into(), 1, None, 1, None, None)));
        assert_eq!(p("PID-3"), Some(("PID".into(), 1, Some(3), 1, None, None)));
        assert_eq!(
            p("PID-3.1"),
            Some(("PID".into(), 1, Some(3), 1, Some(1), None))
        );
        assert_eq!(
            p("PID-3[2].1"),
            Some(("PID".into(), 1, Some(3), 2, Some(1), None))
        );
        assert_eq!(
            p("OBX[2]-5.1.2"),
            Some(("OBX".into(), 2, Some(5), 1, Some(1), Some(2)))
        );
        assert_eq!(p("ZU1-1"), Some(("ZU1".into(), 1, Some(1), 1, None, None)));
        for bad in [
            "",
            "pid-3",
            "PID-",
            "PID-0",
            "PID-3[0]",
            "PID-3.",
            "PID-3..1",
            "PID-3.1.2.3",
            "PID-3.x",
            "PI-3",
            "PIDX-3",
            "PID[0]-1",
            "PID-3[2",
            "PID-3.1[2]",
            "PID-999999",
        ] {
            assert_eq!(p(bad), None, "{bad}");
        }
    }

    #[test]
    fn converts_hl7_dates_keeping_precision() {
        let iso = |s| hl7_to_iso(s, None);
        assert_eq!(iso("2024").as_deref(), Some("2024"));
        assert_eq!(iso("202405").as_deref(), Some("2024-05"));
        assert_eq!(iso("20240502").as_deref(), Some("2024-05-02"));
        assert_eq!(iso("20240502+0100").as_deref(), Some("2024-05-02"));
        assert_eq!(iso("202405021605").as_deref(), Some("2024-05-02T16:05:00"));
        assert_eq!(
            iso("20240502160511+0100").as_deref(),
            Some("2024-05-02T16:05:11+01:00")
        );
        assert_eq!(
            iso("20240502160511.1234-0500").as_deref(),
            Some("2024-05-02T16:05:11.1234-05:00")
        );
        assert_eq!(
            hl7_to_iso("20240502160511", Some("Z")).as_deref(),
            Some("2024-05-02T16:05:11Z")
        );
        assert_eq!(
            hl7_to_iso("2024050216", Some("+0100")).as_deref(),
            Some("2024-05-02T16:00:00+01:00")
        );
        for bad in [
            "",
            "24",
            "2024050",
            "20241302",
            "20240230",
            "20240502256000",
            "2024050216x",
            "20240502+01",
            "20240502+2500",
            "2024-05-02",
            "20240502.5",
            "20240502160511.",
        ] {
            assert_eq!(iso(bad), None, "{bad}");
        }
        assert_eq!(hl7_to_iso("20240502", Some("bad")), None);
    }
}
