//! Headline lines of one item in one section: the statement, its sources and as-of dates,
//! stale markers and discrepancies marked.

use chrono::{DateTime, Utc};
use serde_json::Value;
use waymark_core::SourceSystem;

use super::{catalog, text};
use crate::config::RecordConfig;
use crate::dates::day;
use crate::item::Item;
use crate::key::{ItemKey, ItemKind};
use crate::marker::{self, MarkerStatus};
use crate::version::{self, Version};

/// How a line is marked (and ordered: headlines, then discrepancies, stale, plain, ended).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Mark {
    Headline,
    Discrepancy,
    Stale,
    Plain,
    Ended,
}

impl Mark {
    /// The `class` of the line's `<li>`.
    pub(crate) fn class(self) -> &'static str {
        match self {
            Self::Headline => "headline",
            Self::Discrepancy => "discrepancy",
            Self::Stale => "stale",
            Self::Plain => "plain",
            Self::Ended => "ended",
        }
    }
}

/// One headline line (raw text; escaped when rendered).
#[derive(Clone, Debug)]
pub(crate) struct Line {
    pub mark: Mark,
    pub text: String,
}

impl Line {
    pub(crate) fn new(mark: Mark, text: impl Into<String>) -> Self {
        Self {
            mark,
            text: text.into(),
        }
    }
}

/// A version's provenance: `NOMIS, as of 2024-05-02`.
pub(crate) fn prov(source: SourceSystem, version: &Version) -> String {
    format!(
        "{}, as of {}",
        text::source_name(source),
        day(version.as_of)
    )
}

/// Several versions' provenance: `NOMIS 2024-05-02 · SCR 2024-06-01` (one: as [`prov`]).
pub(crate) fn provs(versions: &[(SourceSystem, &Version)]) -> String {
    match versions {
        [(source, version)] => prov(*source, version),
        _ => versions
            .iter()
            .map(|(s, v)| format!("{} {}", text::source_name(*s), day(v.as_of)))
            .collect::<Vec<_>>()
            .join(" · "),
    }
}

/// The lines of one item's values placed in one section.
pub(crate) fn item_lines(
    key: &ItemKey,
    item: &Item,
    versions: &[(SourceSystem, &Version)],
    config: &RecordConfig,
    now: DateTime<Utc>,
) -> Vec<Line> {
    match item.kind() {
        ItemKind::Answer | ItemKind::ExpectedReleaseDate | ItemKind::ReleaseDestination => {
            answer_lines(key, item, versions)
        }
        ItemKind::Marker => versions
            .iter()
            .map(|(s, v)| marker_line(*s, v, config, now))
            .collect(),
        ItemKind::Episode => versions.iter().map(|(s, v)| episode_line(*s, v)).collect(),
        ItemKind::Patient | ItemKind::Resource => versions
            .iter()
            .map(|(s, v)| resource_line(item, *s, v))
            .collect(),
    }
}

fn answer_text(item: &Item, version: &Version) -> String {
    if item.kind().is_derived() {
        let value = version::derived(item.kind(), version.resource());
        return value
            .and_then(Value::as_str)
            .map_or_else(|| "not known".to_owned(), |s| text::clip(s, 60));
    }
    let resource = version.resource();
    let note = resource["note"][0]["text"].as_str();
    match note {
        Some(note) => format!("{} — {}", text::answer(resource), text::clip(note, 80)),
        None => text::answer(resource),
    }
}

fn answer_lines(key: &ItemKey, item: &Item, versions: &[(SourceSystem, &Version)]) -> Vec<Line> {
    let label = catalog::label(key.name());
    let Some((_, first)) = versions.first() else {
        return Vec::new();
    };
    let agreed = versions
        .iter()
        .all(|(_, v)| item.answer(v) == item.answer(first));
    if agreed {
        let latest = versions
            .iter()
            .max_by_key(|(_, v)| (v.event_time, v.message_id.clone()))
            .map_or(*first, |(_, v)| *v);
        let text = format!(
            "{label}: {} ({})",
            answer_text(item, latest),
            provs(versions)
        );
        return vec![Line::new(Mark::Plain, text)];
    }
    let each: Vec<String> = versions
        .iter()
        .map(|(s, v)| {
            let answer = answer_text(item, v);
            format!("{}: {answer} ({})", text::source_name(*s), day(v.as_of))
        })
        .collect();
    let text = format!("{label}: DISCREPANCY — {}", each.join(" · "));
    vec![Line::new(Mark::Discrepancy, text)]
}

fn marker_line(
    source: SourceSystem,
    version: &Version,
    config: &RecordConfig,
    now: DateTime<Utc>,
) -> Line {
    let resource = version.resource();
    let what = text::concept(&resource["code"]).unwrap_or_else(|| "marker".to_owned());
    let (mark, status) = match marker::status(version, config, now) {
        MarkerStatus::Current { review_by } => (
            Mark::Plain,
            format!("current, review by {}", day(review_by)),
        ),
        MarkerStatus::Stale { review_by } => (
            Mark::Stale,
            format!("STALE, review was due {}", day(review_by)),
        ),
        MarkerStatus::Ended => {
            let end = resource["period"]["end"].as_str().map(text::when);
            (
                Mark::Ended,
                end.map_or("ended".to_owned(), |e| format!("ended {e}")),
            )
        }
    };
    let text = format!("Marker: {what} — {status} ({})", prov(source, version));
    Line::new(mark, text)
}

fn episode_line(source: SourceSystem, version: &Version) -> Line {
    let r = version.resource();
    let place = text::place(r).unwrap_or_else(|| "an unknown place".to_owned());
    let date = |k: &str| {
        r["period"][k]
            .as_str()
            .map_or_else(|| "an unknown date".to_owned(), text::when)
    };
    let prison = r["class"]["code"] == "prison";
    let what = if prison { "Prison" } else { "Police custody" };
    let mut text = if r["status"] == "finished" {
        format!("{what}: released {} from {place}", date("end"))
    } else {
        format!("{what}: at {place} since {}", date("start"))
    };
    let detail = if prison {
        &r["type"][0]
    } else {
        &r["reasonCode"][0]
    };
    if let Some(detail) = text::concept(detail) {
        text.push_str(&format!(", {detail}"));
    }
    let earlier = text::earlier_places(r);
    if prison && !earlier.is_empty() {
        text.push_str(&format!("; previously {}", earlier.join(", ")));
    }
    text.push_str(&format!(" ({})", prov(source, version)));
    Line::new(Mark::Plain, text)
}

fn resource_line(item: &Item, source: SourceSystem, version: &Version) -> Line {
    let resource = version.resource();
    let what = if resource["resourceType"] == "MedicationStatement" {
        text::medication(resource)
    } else {
        text::describe(resource)
    };
    // a finished hospital or A&E encounter is a past event, not a withdrawn one
    let ended = item.is_ended(version) && resource["resourceType"] != "Encounter";
    let suffix = if ended { " — ended" } else { "" };
    let mark = if ended { Mark::Ended } else { Mark::Plain };
    Line::new(mark, format!("{what}{suffix} ({})", prov(source, version)))
}
