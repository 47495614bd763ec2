//! The resources of the summary document: each item value once, under a document id, with its
//! references pointing inside the document, and one Provenance per source message.

use std::collections::{BTreeMap, BTreeSet};

use chrono::SecondsFormat;
use serde_json::{Value, json};
use uuid::Uuid;
use waymark_core::SourceSystem;

use super::text;
use crate::version::Version;

/// Namespace of the v5 ids of summary resources.
const DOC_NAMESPACE: Uuid = Uuid::from_u128(0x0b7e_53a1_c2d4_4e6f_9a10_3b5c_7d8e_f201);
const NOT_INCLUDED: &str = "not included in this summary";

/// A deterministic document id.
pub(crate) fn doc_id(name: &str) -> String {
    Uuid::new_v5(&DOC_NAMESPACE, name.as_bytes()).to_string()
}

struct Included<'a> {
    id: String,
    source: SourceSystem,
    version: &'a Version,
}

/// The resources gathered so far.
pub(crate) struct Doc<'a> {
    included: Vec<Included<'a>>,
    ids: BTreeSet<String>,
    by_original: BTreeMap<(SourceSystem, String), String>,
    patient_ids: BTreeSet<String>,
    patient_id: String,
    patient_sources: Vec<(SourceSystem, &'a Version)>,
}

impl<'a> Doc<'a> {
    /// `patient_versions`: every kept Patient version (their ids are rewritten to the
    /// document's Patient); `patient_sources`: the current ones the Patient is merged from.
    pub(crate) fn new(
        patient_versions: impl Iterator<Item = &'a Version>,
        patient_sources: Vec<(SourceSystem, &'a Version)>,
    ) -> Self {
        let patient_ids: BTreeSet<String> = patient_versions
            .filter_map(|v| v.resource()["id"].as_str().map(str::to_owned))
            .collect();
        let names: Vec<String> = patient_sources
            .iter()
            .map(|(s, v)| format!("{s}|{}", v.message_id))
            .collect();
        Self {
            included: Vec::new(),
            ids: BTreeSet::new(),
            by_original: BTreeMap::new(),
            patient_ids,
            patient_id: doc_id(&format!("patient|{}", names.join("|"))),
            patient_sources,
        }
    }

    /// The document Patient's full URL.
    pub(crate) fn patient_url(&self) -> String {
        format!("urn:uuid:{}", self.patient_id)
    }

    pub(crate) fn patient_id(&self) -> &str {
        &self.patient_id
    }

    /// Includes a value (once); returns its full URL.
    pub(crate) fn include(&mut self, source: SourceSystem, version: &'a Version) -> String {
        let original = version.resource()["id"].as_str().unwrap_or_default();
        let ty = version.resource()["resourceType"]
            .as_str()
            .unwrap_or_default();
        let id = doc_id(&format!("{source}|{}|{ty}|{original}", version.message_id));
        if self.ids.insert(id.clone()) {
            self.by_original
                .insert((source, original.to_owned()), id.clone());
            self.included.push(Included {
                id: id.clone(),
                source,
                version,
            });
        }
        format!("urn:uuid:{id}")
    }

    /// The bundle entries of the included resources, then one Provenance per source message.
    pub(crate) fn entries(&self, patient: Value) -> Vec<Value> {
        let mut out = vec![entry(&self.patient_id, patient)];
        let mut provenance: BTreeMap<(SourceSystem, &str), (&Version, Vec<String>)> =
            BTreeMap::new();
        for (source, version) in &self.patient_sources {
            let key = (*source, version.message_id.as_str());
            let slot = provenance.entry(key).or_insert((version, Vec::new()));
            slot.1.push(self.patient_url());
        }
        for inc in &self.included {
            let mut resource = inc.version.resource().clone();
            self.rewrite(inc.source, &mut resource);
            if let Some(map) = resource.as_object_mut() {
                map.insert("id".into(), json!(inc.id));
                let meta = map.entry("meta").or_insert_with(|| json!({}));
                if let Some(meta) = meta.as_object_mut() {
                    let uri = source_uri(inc.source, &inc.version.message_id);
                    meta.insert("source".into(), json!(uri));
                }
            }
            out.push(entry(&inc.id, resource));
            let key = (inc.source, inc.version.message_id.as_str());
            let slot = provenance.entry(key).or_insert((inc.version, Vec::new()));
            slot.1.push(format!("urn:uuid:{}", inc.id));
        }
        for ((source, _), (version, targets)) in provenance {
            let p = provenance_resource(source, version, &targets);
            let id = p["id"].as_str().unwrap_or_default().to_owned();
            out.push(entry(&id, p));
        }
        out
    }

    /// Points `urn:uuid:` references at the document's resources; one to nothing included keeps
    /// only a display.
    fn rewrite(&self, source: SourceSystem, value: &mut Value) {
        match value {
            Value::Array(items) => items.iter_mut().for_each(|v| self.rewrite(source, v)),
            Value::Object(map) => {
                let target = map
                    .get("reference")
                    .and_then(Value::as_str)
                    .and_then(|r| r.strip_prefix("urn:uuid:"))
                    .map(|id| self.resolve(source, id));
                match target {
                    Some(Some(url)) => {
                        map.insert("reference".into(), json!(url));
                    }
                    Some(None) => {
                        map.remove("reference");
                        map.entry("display").or_insert_with(|| json!(NOT_INCLUDED));
                    }
                    None => map.values_mut().for_each(|v| self.rewrite(source, v)),
                }
            }
            _ => {}
        }
    }

    fn resolve(&self, source: SourceSystem, id: &str) -> Option<String> {
        if self.patient_ids.contains(id) {
            return Some(self.patient_url());
        }
        let doc = self.by_original.get(&(source, id.to_owned()))?;
        Some(format!("urn:uuid:{doc}"))
    }
}

fn entry(id: &str, resource: Value) -> Value {
    json!({ "fullUrl": format!("urn:uuid:{id}"), "resource": resource })
}

fn source_uri(source: SourceSystem, message_id: &str) -> String {
    format!("https://fhir.waymark.org.uk/source/{source}#{message_id}")
}

fn provenance_resource(source: SourceSystem, version: &Version, targets: &[String]) -> Value {
    let id = doc_id(&format!("provenance|{source}|{}", version.message_id));
    let time = |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(SecondsFormat::AutoSi, true);
    json!({
        "resourceType": "Provenance",
        "id": id,
        "target": targets.iter().map(|t| json!({"reference": t})).collect::<Vec<_>>(),
        "occurredDateTime": time(version.event_time),
        "recorded": time(version.recorded_at),
        "agent": [{
            "type": {"coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/provenance-participant-type",
                "code": "author"}]},
            "who": {
                "identifier": {"system": "https://fhir.waymark.org.uk/Id/source-system",
                               "value": source.as_str()},
                "display": text::source_name(source)}
        }],
        "entity": [{"role": "source", "what": {"identifier": {
            "system": "https://fhir.waymark.org.uk/Id/envelope", "value": version.message_id}}}]
    })
}
