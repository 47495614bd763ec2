//! The person summary: a FHIR R4 `document` Bundle whose Composition has one section per
//! dataset group and data class, each leading with short headlines and keeping the detail
//! behind them as entry references.

mod catalog;
mod document;
mod lines;
mod patient;
mod sections;
mod text;

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};
use waymark_core::{CONFIDENTIALITY_SYSTEM, Confidentiality, DATA_CLASS_SYSTEM, SourceSystem};

use crate::dates;
use crate::escape::escape;
use crate::item::Item;
use crate::key::ItemKind;
use crate::record::PersonRecord;
use crate::version::{self, Version};
use document::{Doc, doc_id};
use lines::{Line, Mark};
use sections::{SECTIONS, SectionDef};

pub use sections::{SECTION_LABELS_URL, section_data_class};
pub(crate) use text::{describe, source_name, when};

/// LOINC code of the Composition: "Patient summary Document" (as the IPS uses).
pub const SUMMARY_TYPE_LOINC: &str = "60591-5";

#[derive(Default)]
struct Build<'a> {
    lines: Vec<Line>,
    entries: Vec<String>,
    level: Option<Confidentiality>,
    medication: Vec<(SourceSystem, &'a Version)>,
}

impl Build<'_> {
    fn add_entry(&mut self, url: String, level: Confidentiality) {
        if !self.entries.contains(&url) {
            self.entries.push(url);
        }
        self.level = self.level.max(Some(level));
    }
}

/// The summary of `record` at `now` (which decides stale markers and ages).
///
/// Sections carry their data class in the `hjmd-labels` extension ([`SECTION_LABELS_URL`]; read
/// it with [`section_data_class`]); every included resource keeps its `meta.security`, so the
/// policy engine can drop whole sections and resources. A section's headlines come only from
/// values of its own class. The Composition itself is labelled `identity`.
pub fn summary(record: &PersonRecord, now: DateTime<Utc>) -> Value {
    let patient_item = record.item_named("patient");
    let sources = latest_first(patient_item);
    let kept = patient_item
        .into_iter()
        .flat_map(|i| SourceSystem::ALL.iter().flat_map(|s| i.history(*s)));
    let mut doc = Doc::new(kept, sources.clone());
    let mut builds: Vec<Build<'_>> = SECTIONS.iter().map(|_| Build::default()).collect();
    add_patient(&mut builds, &doc, &sources);
    for (key, item) in record
        .items()
        .filter(|(_, i)| i.kind() != ItemKind::Patient)
    {
        let mut placed: BTreeMap<usize, Vec<(SourceSystem, &Version)>> = BTreeMap::new();
        for (s, v) in shown(item) {
            if let Some(at) = sections::place(key, item.kind(), v.resource(), v.data_class) {
                placed.entry(at).or_default().push((s, v));
            }
        }
        for (at, versions) in placed {
            let build = &mut builds[at];
            let config = record.config();
            build
                .lines
                .extend(lines::item_lines(key, item, &versions, config, now));
            for (s, v) in &versions {
                build.add_entry(doc.include(*s, v), level(v));
                if v.resource()["resourceType"] == "MedicationStatement" && !item.is_ended(v) {
                    build.medication.push((*s, v));
                }
            }
        }
    }
    let level = sources.iter().map(|(_, v)| level(v)).max();
    let patient = patient::merged(&sources, doc.patient_id(), code(level));
    let stamp = now.to_rfc3339_opts(SecondsFormat::Secs, true);
    let composition = composition(&doc, &builds, now, &stamp);
    let mut entries = vec![
        json!({"fullUrl": format!("urn:uuid:{}", composition["id"].as_str().unwrap_or_default()), "resource": composition}),
    ];
    entries.extend(doc.entries(patient));
    json!({
        "resourceType": "Bundle",
        "id": doc_id(&format!("bundle|{}|{stamp}", doc.patient_id())),
        "identifier": {"system": "urn:ietf:rfc:3986",
                       "value": format!("urn:uuid:{}", doc_id(&format!("summary|{}|{stamp}", doc.patient_id())))},
        "type": "document",
        "timestamp": stamp,
        "entry": entries,
    })
}

/// Every source's current Patient, latest first.
fn latest_first(item: Option<&Item>) -> Vec<(SourceSystem, &Version)> {
    let Some(item) = item else {
        return Vec::new();
    };
    let mut all: Vec<(SourceSystem, &Version)> = item.live(true).collect();
    all.sort_by(|a, b| version::order(ItemKind::Patient, b.1, a.1));
    all
}

fn add_patient(builds: &mut [Build<'_>], doc: &Doc<'_>, sources: &patient::Sources<'_>) {
    let parts = [
        ("identity", patient::identity_lines(sources)),
        (
            "identity-clinical",
            patient::identifier_lines(sources, true),
        ),
        ("contact", patient::contact_lines(sources)),
    ];
    for (id, lines) in parts {
        let Some(at) = SECTIONS.iter().position(|s| s.id == id) else {
            continue;
        };
        if id != "identity-clinical" && !lines.is_empty() {
            let level = sources.iter().map(|(_, v)| level(v)).max();
            builds[at].add_entry(doc.patient_url(), level.unwrap_or(Confidentiality::N));
        }
        builds[at].lines.extend(lines);
    }
}

/// The values a section shows: answers that hold now; every present value of anything else
/// (ended markers, finished episodes and stopped medication are shown as such).
fn shown(item: &Item) -> Vec<(SourceSystem, &Version)> {
    let answer = matches!(
        item.kind(),
        ItemKind::Answer | ItemKind::ExpectedReleaseDate | ItemKind::ReleaseDestination
    );
    item.live(!answer).collect()
}

/// The confidentiality label of a value (N when it has none).
fn level(version: &Version) -> Confidentiality {
    let codes = waymark_fhir::security_codes(version.resource());
    codes
        .filter(|(system, _)| *system == CONFIDENTIALITY_SYSTEM)
        .map(|(_, code)| match code {
            "V" => Confidentiality::V,
            "R" => Confidentiality::R,
            _ => Confidentiality::N,
        })
        .max()
        .unwrap_or(Confidentiality::N)
}

fn code(level: Option<Confidentiality>) -> &'static str {
    sections::confidentiality_code(level.unwrap_or(Confidentiality::N))
}

fn composition(doc: &Doc<'_>, builds: &[Build<'_>], now: DateTime<Utc>, stamp: &str) -> Value {
    let sections: Vec<Value> = SECTIONS
        .iter()
        .zip(builds)
        .map(|(def, build)| section(def, build, now))
        .collect();
    json!({
        "resourceType": "Composition",
        "id": doc_id(&format!("composition|{}|{stamp}", doc.patient_id())),
        "meta": {"security": [{"system": DATA_CLASS_SYSTEM, "code": "identity"},
                              {"system": CONFIDENTIALITY_SYSTEM, "code": "N"}]},
        "status": "final",
        "type": {"coding": [{"system": "http://loinc.org", "code": SUMMARY_TYPE_LOINC,
                             "display": "Patient summary Document"}],
                 "text": "Person summary (health and justice)"},
        "subject": {"reference": doc.patient_url()},
        "date": stamp,
        "author": [{"display": "Waymark hub, from the source records named in each statement"}],
        "title": "Person summary",
        "section": sections,
    })
}

fn section(def: &SectionDef, build: &Build<'_>, now: DateTime<Utc>) -> Value {
    let mut lines = medication_headlines(&build.medication, now);
    lines.extend(build.lines.iter().cloned());
    lines.sort_by_key(|l| l.mark);
    let empty = lines.is_empty();
    if empty {
        lines.push(Line::new(Mark::Plain, "No information held."));
    }
    let (floor, _) = sections::class_labels(def.class);
    let level = build.level.unwrap_or(floor).max(floor);
    let mut out = json!({
        "id": def.id,
        "title": def.title,
        "extension": [sections::labels_extension(def.class, level)],
        "text": {"status": "generated", "div": xhtml(&lines)},
        "mode": "snapshot",
    });
    if let Some(map) = out.as_object_mut() {
        if !build.entries.is_empty() {
            let refs: Vec<Value> = build
                .entries
                .iter()
                .map(|u| json!({"reference": u}))
                .collect();
            map.insert("entry".into(), Value::from(refs));
        } else if empty {
            map.insert(
                "emptyReason".into(),
                json!({"coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/list-empty-reason",
                "code": "unavailable", "display": "Unavailable"}]}),
            );
        }
    }
    out
}

/// `Medication (as of 2026-03-02, SystmOne, 8 months old): 3 current items`, per source.
fn medication_headlines(meds: &[(SourceSystem, &Version)], now: DateTime<Utc>) -> Vec<Line> {
    let mut by_source: BTreeMap<SourceSystem, (usize, DateTime<Utc>)> = BTreeMap::new();
    for (s, v) in meds {
        let slot = by_source.entry(*s).or_insert((0, v.as_of));
        slot.0 += 1;
        slot.1 = slot.1.max(v.as_of);
    }
    by_source
        .into_iter()
        .map(|(s, (n, as_of))| {
            let age = match dates::age(as_of, now).as_str() {
                "today" => "today".to_owned(),
                other => format!("{other} old"),
            };
            let items = if n == 1 { "item" } else { "items" };
            let text = format!(
                "Medication (as of {}, {}, {age}): {n} current {items}",
                dates::day(as_of),
                source_name(s)
            );
            Line::new(Mark::Headline, text)
        })
        .collect()
}

fn xhtml(lines: &[Line]) -> String {
    let items: String = lines
        .iter()
        .map(|l| format!("<li class=\"{}\">{}</li>", l.mark.class(), escape(&l.text)))
        .collect();
    format!("<div xmlns=\"http://www.w3.org/1999/xhtml\"><ul>{items}</ul></div>")
}
