//! The person in the summary: one Patient merged from every source's demographics, and the
//! identity, local clinical id and contact lines read from them.

use serde_json::{Map, Value, json};
use waymark_core::{CONFIDENTIALITY_SYSTEM, DATA_CLASS_SYSTEM, SourceSystem};

use super::lines::{Line, Mark, prov, provs};
use super::text;
use crate::version::Version;

const B: &str = "https://fhir.waymark.org.uk/Id/";
const INTERPRETER: &str =
    "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSCommunication";

/// Every source's current Patient, latest first.
pub(crate) type Sources<'a> = [(SourceSystem, &'a Version)];

type Holders<'a> = Vec<(SourceSystem, &'a Version)>;

fn local_clinical(identifier: &Value) -> bool {
    identifier["system"].as_str() == Some(&format!("{B}local-clinical-id"))
}

fn identifier_label(system: &str) -> &'static str {
    match system.strip_prefix(B) {
        _ if system == "https://fhir.nhs.uk/Id/nhs-number" => "NHS number",
        Some("pnc-id") => "PNC ID",
        Some("cro-number") => "CRO number",
        Some("nomis-prison-number") => "Prison number",
        Some("nomis-booking-id") => "Prison booking number",
        Some("custody-record-number") => "Custody record number",
        Some("local-clinical-id") => "Local clinical id",
        _ => "Other identifier",
    }
}

/// The document's Patient: identifiers and names of every source (local clinical ids left
/// out: they are `identity-clinical`), the rest from the latest source that has it.
pub(crate) fn merged(sources: &Sources<'_>, id: &str, confidentiality: &str) -> Value {
    let mut patient = Map::new();
    patient.insert("resourceType".into(), json!("Patient"));
    patient.insert("id".into(), json!(id));
    let security = json!([{"system": DATA_CLASS_SYSTEM, "code": "identity"},
                          {"system": CONFIDENTIALITY_SYSTEM, "code": confidentiality}]);
    patient.insert("meta".into(), json!({ "security": security }));
    let mut identifiers: Vec<Value> = Vec::new();
    let mut names: Vec<Value> = Vec::new();
    for (_, v) in sources {
        let r = v.resource();
        let ids = r["identifier"].as_array().into_iter().flatten();
        for i in ids.filter(|i| !local_clinical(i)) {
            push_new(&mut identifiers, i);
        }
        for n in r["name"].as_array().into_iter().flatten() {
            push_new(&mut names, n);
        }
    }
    for (key, list) in [("identifier", identifiers), ("name", names)] {
        if !list.is_empty() {
            patient.insert(key.into(), Value::from(list));
        }
    }
    for key in [
        "gender",
        "birthDate",
        "telecom",
        "address",
        "communication",
        "extension",
    ] {
        if let Some(value) = sources.iter().find_map(|(_, v)| v.resource().get(key)) {
            patient.insert(key.into(), value.clone());
        }
    }
    Value::Object(patient)
}

fn push_new(list: &mut Vec<Value>, value: &Value) {
    if value.is_object() && !list.contains(value) {
        list.push(value.clone());
    }
}

/// Name, aliases, date of birth (discrepancies shown), sex and justice identifiers.
pub(crate) fn identity_lines(sources: &Sources<'_>) -> Vec<Line> {
    let Some((latest_source, latest)) = sources.first() else {
        return Vec::new();
    };
    let mut lines = Vec::new();
    let all_names: Vec<&Value> = sources
        .iter()
        .flat_map(|(_, v)| v.resource()["name"].as_array().into_iter().flatten())
        .collect();
    let main = all_names
        .iter()
        .find(|n| n["use"] == "official")
        .or_else(|| all_names.first());
    let main_text = main.and_then(|n| text::name(n));
    if let Some(name) = &main_text {
        lines.push(Line::new(
            Mark::Plain,
            format!("Name: {name} ({})", provs(sources)),
        ));
    }
    let mut aliases: Vec<String> = all_names.iter().filter_map(|n| text::name(n)).collect();
    aliases.retain(|a| Some(a) != main_text.as_ref());
    aliases.sort();
    aliases.dedup();
    if !aliases.is_empty() {
        let text = format!("Also known as: {} ({})", aliases.join("; "), provs(sources));
        lines.push(Line::new(Mark::Plain, text));
    }
    lines.extend(birth_date_line(sources));
    if let Some(sex) = latest.resource()["gender"].as_str() {
        let text = format!(
            "Sex: {} ({})",
            text::clip(sex, 20),
            prov(*latest_source, latest)
        );
        lines.push(Line::new(Mark::Plain, text));
    }
    lines.extend(identifier_lines(sources, false));
    lines
}

fn birth_date_line(sources: &Sources<'_>) -> Option<Line> {
    let dated: Vec<(SourceSystem, &Version, &str)> = sources
        .iter()
        .filter_map(|(s, v)| Some((*s, *v, v.resource()["birthDate"].as_str()?)))
        .collect();
    let (_, _, first) = dated.first()?;
    if dated.iter().all(|(_, _, d)| d == first) {
        let with: Vec<(SourceSystem, &Version)> = dated.iter().map(|(s, v, _)| (*s, *v)).collect();
        let text = format!("Date of birth: {} ({})", text::when(first), provs(&with));
        return Some(Line::new(Mark::Plain, text));
    }
    let each: Vec<String> = dated
        .iter()
        .map(|(s, v, d)| {
            let as_of = crate::dates::day(v.as_of);
            format!("{}: {} ({as_of})", text::source_name(*s), text::when(d))
        })
        .collect();
    let text = format!("Date of birth: DISCREPANCY — {}", each.join(" · "));
    Some(Line::new(Mark::Discrepancy, text))
}

/// One line per identifier value (with every source that holds it); `clinical` picks the
/// local clinical ids only, else everything but them.
pub(crate) fn identifier_lines(sources: &Sources<'_>, clinical: bool) -> Vec<Line> {
    let mut seen: Vec<(String, String, Holders<'_>)> = Vec::new();
    for (s, v) in sources {
        let ids = v.resource()["identifier"].as_array().into_iter().flatten();
        for i in ids.filter(|i| local_clinical(i) == clinical) {
            let (Some(system), Some(value)) = (i["system"].as_str(), i["value"].as_str()) else {
                continue;
            };
            let label = identifier_label(system).to_owned();
            let value = text::clip(value, 40);
            match seen.iter_mut().find(|(l, x, _)| *l == label && *x == value) {
                Some((_, _, holders)) => holders.push((*s, *v)),
                None => seen.push((label, value, vec![(*s, *v)])),
            }
        }
    }
    seen.into_iter()
        .map(|(label, value, holders)| {
            Line::new(
                Mark::Plain,
                format!("{label}: {value} ({})", provs(&holders)),
            )
        })
        .collect()
}

/// Addresses, language and interpreter, from the latest source that has each.
pub(crate) fn contact_lines(sources: &Sources<'_>) -> Vec<Line> {
    let mut lines = Vec::new();
    let first_with = |key: &str| {
        sources
            .iter()
            .find(|(_, v)| v.resource().get(key).is_some())
    };
    if let Some((s, v)) = first_with("address") {
        for a in v.resource()["address"].as_array().into_iter().flatten() {
            let label = if a["use"] == "temp" {
                "Directed address"
            } else {
                "Last known address"
            };
            if let Some(text) = text::address(a) {
                lines.push(Line::new(
                    Mark::Plain,
                    format!("{label}: {text} ({})", prov(*s, v)),
                ));
            }
        }
    }
    if let Some((s, v)) = first_with("communication") {
        let langs = v.resource()["communication"]
            .as_array()
            .into_iter()
            .flatten();
        let words: Vec<String> = langs
            .filter_map(|c| text::concept(&c["language"]))
            .collect();
        if !words.is_empty() {
            let text = format!("Language: {} ({})", words.join(", "), prov(*s, v));
            lines.push(Line::new(Mark::Plain, text));
        }
    }
    if let Some((s, v, needed)) = sources
        .iter()
        .find_map(|(s, v)| Some((s, v, interpreter(v)?)))
    {
        let answer = if needed { "Yes" } else { "No" };
        let text = format!("Interpreter needed: {answer} ({})", prov(*s, v));
        lines.push(Line::new(Mark::Plain, text));
    }
    lines
}

fn interpreter(version: &Version) -> Option<bool> {
    let ext = version.resource()["extension"].as_array()?;
    let comm = ext.iter().find(|e| e["url"] == INTERPRETER)?;
    comm["extension"]
        .as_array()?
        .iter()
        .find(|e| e["url"] == "interpreterRequired")?["valueBoolean"]
        .as_bool()
}
