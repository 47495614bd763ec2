//! What the runner adds to every bundle a program produces: `Bundle.meta.source` and the
//! Provenance (CONTRACTS: "a Provenance naming the source system and envelope id").

use chrono::SecondsFormat;
use serde_json::{Value, json};
use waymark_core::SourceSystem;

use crate::{EnvelopeMeta, MappingHeader};

/// `Provenance.entity.what.identifier.system` of the envelope id.
pub const ENVELOPE_ID_SYSTEM: &str = "https://fhir.waymark.org.uk/Id/envelope";
/// `Provenance.agent.who.identifier.system` of the source system.
pub const SOURCE_SYSTEM_ID_SYSTEM: &str = "https://fhir.waymark.org.uk/Id/source-system";
/// `Bundle.meta.source` is this, then `<source>#<envelope id>`.
pub const META_SOURCE_BASE: &str = "https://fhir.waymark.org.uk/source/";

/// Adds `meta.source` and the Provenance to `bundle`. Errors describe the output's shape only.
pub(crate) fn complete(
    bundle: &mut Value,
    envelope: &EnvelopeMeta,
    header: &MappingHeader,
) -> Result<(), &'static str> {
    let Some(map) = bundle.as_object_mut() else {
        return Err("the output is not a JSON object");
    };
    if map.get("resourceType").and_then(Value::as_str) != Some("Bundle") {
        return Err("the output is not a Bundle");
    }
    let entries = map.entry("entry").or_insert_with(|| json!([]));
    let Some(entries) = entries.as_array_mut() else {
        return Err("`Bundle.entry` is not an array");
    };
    let mut targets = Vec::with_capacity(entries.len());
    for entry in entries.iter() {
        if entry["resource"]["resourceType"] == "Provenance" {
            return Err("the output has a Provenance of its own; the runner adds it");
        }
        let url = entry["fullUrl"]
            .as_str()
            .ok_or("an entry has no `fullUrl`")?;
        targets.push(json!({"reference": url}));
    }
    let id = envelope.id.child("provenance");
    let mut provenance = json!({
        "resourceType": "Provenance",
        "id": id.as_str(),
        "target": targets,
        "recorded": envelope.received_at.to_rfc3339_opts(SecondsFormat::AutoSi, true),
        "policy": [header.policy()],
        "agent": [{
            "type": {"coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/provenance-participant-type",
                "code": "author",
            }]},
            "who": {
                "identifier": {"system": SOURCE_SYSTEM_ID_SYSTEM, "value": envelope.source.as_str()},
                "display": display(envelope.source),
            },
        }],
        "entity": [{
            "role": "source",
            "what": {"identifier": {"system": ENVELOPE_ID_SYSTEM, "value": envelope.id.as_str()}},
        }],
    });
    if let Some(t) = &envelope.event_time {
        provenance["occurredDateTime"] = json!(t.to_rfc3339_opts(SecondsFormat::AutoSi, true));
    }
    entries.push(json!({"fullUrl": format!("urn:uuid:{}", id.as_str()), "resource": provenance}));
    let meta = map.entry("meta").or_insert_with(|| json!({}));
    let Some(meta) = meta.as_object_mut() else {
        return Err("`Bundle.meta` is not an object");
    };
    let source = format!("{META_SOURCE_BASE}{}#{}", envelope.source, envelope.id);
    meta.insert("source".into(), Value::String(source));
    Ok(())
}

/// How a source system is named in Provenance.
fn display(source: SourceSystem) -> &'static str {
    match source {
        SourceSystem::Athena => "Athena (police custody record)",
        SourceSystem::Excelicare => "ExceliCare (custody healthcare record)",
        SourceSystem::Systmone => "SystmOne (prison healthcare record)",
        SourceSystem::Nomis => "NOMIS (prison record, HMPPS)",
        SourceSystem::Scr => "NHS Summary Care Record",
    }
}
