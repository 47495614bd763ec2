//! Shared test helpers: the real NOMIS mapping fixtures, hand-built canonical resources, a
//! seeded PRNG.
#![allow(dead_code)]

use std::path::Path;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use waymark_core::{CONFIDENTIALITY_SYSTEM, DATA_CLASS_SYSTEM, DataClass, SourceSystem};
use waymark_record::{
    EXPECTED_RELEASE_DATE_URL, Entry, ITEM_SYSTEM, RELEASE_DESTINATION_URL, SOURCE_EVENT_SYSTEM,
};

pub const B: &str = "https://fhir.waymark.org.uk/";

/// A message: the owned parts of an [`Entry`].
#[derive(Clone)]
pub struct Msg {
    pub id: String,
    pub source: SourceSystem,
    pub time: DateTime<Utc>,
    pub bundle: Value,
}

impl Msg {
    pub fn entry(&self) -> Entry<'_> {
        Entry {
            message_id: self.id.clone(),
            source: self.source,
            event_time: self.time,
            recorded_at: self.time + chrono::TimeDelta::seconds(30),
            bundle: &self.bundle,
        }
    }
}

pub fn t(text: &str) -> DateTime<Utc> {
    let full = if text.len() == 10 {
        format!("{text}T00:00:00Z")
    } else {
        text.to_owned()
    };
    DateTime::parse_from_rfc3339(&full)
        .unwrap()
        .with_timezone(&Utc)
}

/// A real NOMIS mapping test's expected bundle, as a message (id and time from its Provenance).
pub fn fixture(name: &str) -> Msg {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../mappings/nomis/tests")
        .join(format!("{name}.expected.json"));
    let bundle: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let prov = bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["resource"])
        .find(|r| r["resourceType"] == "Provenance")
        .unwrap()
        .clone();
    Msg {
        id: prov["entity"][0]["what"]["identifier"]["value"]
            .as_str()
            .unwrap()
            .to_owned(),
        source: SourceSystem::Nomis,
        time: t(prov["occurredDateTime"].as_str().unwrap()),
        bundle,
    }
}

pub fn labels(class: DataClass) -> Value {
    let conf = match class {
        DataClass::MhClinical => "V",
        c if c.is_clinical() => "R",
        _ => "N",
    };
    let mut labels = vec![
        json!({"system": DATA_CLASS_SYSTEM, "code": class.code()}),
        json!({"system": CONFIDENTIALITY_SYSTEM, "code": conf}),
    ];
    match class {
        DataClass::MhClinical => labels.push(
            json!({"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "PSY"}),
        ),
        DataClass::Substance => labels.push(
            json!({"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "ETH"}),
        ),
        _ => {}
    }
    Value::from(labels)
}

fn with_labels(mut resource: Value, class: DataClass) -> Value {
    resource["meta"] = json!({ "security": labels(class) });
    resource
}

fn subject(pid: &str) -> Value {
    json!({ "reference": format!("urn:uuid:{pid}") })
}

/// A deterministic uuid-shaped id from a name.
pub fn uid(name: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    format!(
        "{:08x}-0000-4000-8000-{:012x}",
        h >> 32,
        h & 0xffff_ffff_ffff
    )
}

pub fn patient(pid: &str, family: &str, birth: &str) -> Value {
    with_labels(
        json!({"resourceType": "Patient", "id": pid, "birthDate": birth, "gender": "male",
               "identifier": [{"system": format!("{B}Id/pnc-id"), "value": "2001/0000001Z"},
                              {"system": format!("{B}Id/local-clinical-id"), "value": "EPEX-77"}],
               "name": [{"use": "official", "family": family, "given": ["Sam"]},
                        {"use": "old", "family": "Otherly", "given": ["Jo"]}]}),
        DataClass::Identity,
    )
}

/// An HJMD item Observation (`value` a code of v2-0136 / NullFlavor, or free text).
pub fn answer(
    pid: &str,
    id: &str,
    code: &str,
    value: &str,
    effective: &str,
    class: DataClass,
) -> Value {
    let value = match value {
        "Y" | "N" => {
            json!({"valueCodeableConcept": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0136", "code": value}]}})
        }
        "UNK" => {
            json!({"valueCodeableConcept": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-NullFlavor", "code": "UNK"}]}})
        }
        coded if coded.contains('|') => {
            let (system, code) = coded.split_once('|').unwrap();
            json!({"valueCodeableConcept": {"coding": [{"system": system, "code": code}]}})
        }
        text => json!({"valueString": text}),
    };
    let mut obs = json!({"resourceType": "Observation", "id": id, "status": "final",
        "code": {"coding": [{"system": ITEM_SYSTEM, "code": code}]},
        "subject": subject(pid), "effectiveDateTime": effective});
    for (k, v) in value.as_object().unwrap() {
        obs[k] = v.clone();
    }
    with_labels(obs, class)
}

pub fn flag(
    pid: &str,
    id: &str,
    ident: &str,
    class: DataClass,
    status: &str,
    start: &str,
    end: Option<&str>,
) -> Value {
    let mut period = json!({ "start": start });
    if let Some(end) = end {
        period["end"] = json!(end);
    }
    with_labels(
        json!({"resourceType": "Flag", "id": id, "status": status, "subject": subject(pid),
               "identifier": [{"system": format!("{B}Id/test-alert"), "value": ident}],
               "code": {"text": format!("Marker {ident}")}, "period": period}),
        class,
    )
}

pub struct Stay<'a> {
    pub booking: &'a str,
    pub status: &'a str,
    pub at: &'a str,
    pub earlier: &'a [&'a str],
    pub erd: Option<&'a str>,
    pub destination: Option<&'a str>,
}

pub fn prison(pid: &str, id: &str, stay: &Stay<'_>) -> Value {
    let loc = |code: &str, status: &str| {
        json!({"status": status, "location": {"identifier": {
        "system": format!("{B}Id/prison-establishment"), "value": code}}})
    };
    let here = if stay.status == "finished" {
        "completed"
    } else {
        "active"
    };
    let mut locations = vec![loc(stay.at, here)];
    locations.extend(stay.earlier.iter().map(|c| loc(c, "completed")));
    let mut enc = json!({"resourceType": "Encounter", "id": id, "status": stay.status,
        "class": {"system": format!("{B}CodeSystem/hjmd-episode-class"), "code": "prison"},
        "identifier": [{"system": format!("{B}Id/nomis-booking-id"), "value": stay.booking}],
        "subject": subject(pid), "period": {"start": "2024-05-02"}, "location": locations,
        "type": [{"text": "Remand"}]});
    let mut ext = Vec::new();
    if let Some(d) = stay.erd {
        ext.push(json!({"url": EXPECTED_RELEASE_DATE_URL, "valueDate": d}));
    }
    if let Some(d) = stay.destination {
        ext.push(json!({"url": RELEASE_DESTINATION_URL, "valueString": d}));
    }
    if !ext.is_empty() {
        enc["extension"] = Value::from(ext);
    }
    if stay.status == "finished" {
        enc["period"]["end"] = json!("2025-11-30");
    }
    with_labels(enc, DataClass::Detention)
}

pub fn custody(pid: &str, id: &str, record: &str, status: &str) -> Value {
    let mut enc = json!({"resourceType": "Encounter", "id": id, "status": status,
        "class": {"system": format!("{B}CodeSystem/hjmd-episode-class"), "code": "custody"},
        "identifier": [{"system": format!("{B}Id/custody-record-number"), "value": record}],
        "subject": subject(pid), "period": {"start": "2026-01-05T02:10:00Z"},
        "location": [{"location": {"display": "Northtown custody suite"}}],
        "reasonCode": [{"text": "Arrested: theft"}]});
    if status == "finished" {
        enc["period"]["end"] = json!("2026-01-05T14:00:00Z");
    }
    with_labels(enc, DataClass::Detention)
}

pub fn medication(
    pid: &str,
    id: &str,
    ident: &str,
    what: &str,
    class_code: &str,
    status: &str,
    asserted: &str,
) -> Value {
    with_labels(
        json!({"resourceType": "MedicationStatement", "id": id, "status": status,
               "identifier": [{"system": format!("{B}Id/test-medication"), "value": ident}],
               "category": {"coding": [{"system": format!("{B}CodeSystem/hjmd-medication-class"), "code": class_code}]},
               "medicationCodeableConcept": {"text": what}, "subject": subject(pid),
               "dateAsserted": asserted}),
        DataClass::Medication,
    )
}

pub fn diagnosis(pid: &str, id: &str, text: &str, recorded: &str) -> Value {
    with_labels(
        json!({"resourceType": "Condition", "id": id, "subject": subject(pid), "recordedDate": recorded,
               "category": [{"coding": [{"system": format!("{B}CodeSystem/hjmd-diagnosis-rank"), "code": "primary"}]}],
               "code": {"coding": [{"system": format!("{B}CodeSystem/hjmd-mh-diagnosis"), "code": "other"}], "text": text}}),
        DataClass::MhClinical,
    )
}

pub fn discharge(pid: &str, id: &str, reason: Value) -> Value {
    with_labels(
        json!({"resourceType": "Encounter", "id": id, "status": "finished",
               "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
               "identifier": [{"system": format!("{B}Id/test-discharge"), "value": id}],
               "subject": subject(pid), "period": {"start": "2026-01-01", "end": "2026-01-03"},
               "reasonCode": [reason]}),
        DataClass::PhysicalClinical,
    )
}

/// A canonical-shaped bundle of `resources`, tagged with `event`, with a Provenance.
pub fn bundle(resources: Vec<Value>, event: &str) -> Value {
    let mut entries: Vec<Value> = resources
        .into_iter()
        .map(|r| json!({"fullUrl": format!("urn:uuid:{}", r["id"].as_str().unwrap()), "resource": r}))
        .collect();
    let pid = uid(&format!("prov|{}", entries.len()));
    let targets: Vec<Value> = entries
        .iter()
        .map(|e| json!({"reference": e["fullUrl"]}))
        .collect();
    entries.push(json!({"fullUrl": format!("urn:uuid:{pid}"), "resource": {
        "resourceType": "Provenance", "id": pid, "recorded": "2026-01-01T00:00:00Z",
        "target": targets,
        "agent": [{"who": {"display": "test"}}]}}));
    json!({"resourceType": "Bundle", "type": "collection",
           "meta": {"tag": [{"system": SOURCE_EVENT_SYSTEM, "code": event}]}, "entry": entries})
}

pub fn msg(id: &str, source: SourceSystem, time: &str, resources: Vec<Value>, event: &str) -> Msg {
    Msg {
        id: id.to_owned(),
        source,
        time: t(time),
        bundle: bundle(resources, event),
    }
}

/// splitmix64: a small seeded PRNG, so every run shuffles the same way.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i + 1));
        }
    }
}
