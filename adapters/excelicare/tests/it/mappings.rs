//! The mock's messages through the map stage: the ER7 payload as the HL7 tree
//! (`hl7_tree`), the ExceliCare mappings, and the HJMD profile. Also keeps the mapping fixture
//! inputs (`mappings/excelicare/tests/*.input.json`) equal to what the adapter makes of the
//! mock's messages (`WAYMARK_BLESS=1` rewrites them).

use std::{collections::BTreeMap, path::PathBuf};

use chrono::Duration;
use serde_json::{Value, json};
use waymark_adapter_excelicare::{Script, Scripted, ingest};
use waymark_core::Envelope;
use waymark_mapping::{MappingInput, MappingSet};
use waymark_profile::Validator;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A mappings root holding only the ExceliCare mappings and the terminology, so other
/// sources' mappings cannot affect this test.
fn mapping_set() -> (tempfile::TempDir, MappingSet) {
    let root = tempfile::tempdir().unwrap();
    for dir in ["excelicare", "terminology"] {
        std::os::unix::fs::symlink(repo().join("mappings").join(dir), root.path().join(dir))
            .unwrap();
    }
    let set = MappingSet::load(root.path()).unwrap();
    (root, set)
}

/// What the map stage gives a mapping: the HL7 tree of the payload as `message`, read by the
/// same `MappingInput::from_envelope` the map stage calls.
fn mapping_input(envelope: &Envelope) -> MappingInput {
    MappingInput::from_envelope(envelope).expect("the map stage reads the HL7 payload")
}

fn envelope(item: &Scripted) -> Envelope {
    let at = chrono::DateTime::from_timestamp(1_735_689_600, 0).unwrap(); // 2025-01-01
    let mut ingested = ingest(item.bytes.clone(), at);
    if let Some(t) = ingested.envelope.event_time {
        ingested.envelope.received_at = t + Duration::seconds(3);
    }
    ingested.envelope
}

#[test]
fn every_mock_message_maps_to_a_valid_bundle() {
    let (_root, set) = mapping_set();
    let validator = Validator::r4().unwrap();
    let script = Script::synthetic(8, 40);
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    for item in script.items() {
        let bundle = set
            .map_input(&mapping_input(&envelope(item)))
            .unwrap_or_else(|e| panic!("{}: {e}", item.label));
        for entry in bundle["entry"].as_array().unwrap() {
            let kind = entry["resource"]["resourceType"]
                .as_str()
                .unwrap()
                .to_owned();
            *kinds.entry(kind).or_default() += 1;
        }
        if let Err(outcome) = validator.validate(bundle) {
            panic!("{}: {:?}", item.label, outcome.issues);
        }
    }
    for kind in [
        "Patient",
        "Observation",
        "Condition",
        "MedicationStatement",
        "CareTeam",
        "Provenance",
    ] {
        assert!(
            kinds.get(kind).copied().unwrap_or(0) > 0,
            "{kind}: {kinds:?}"
        );
    }
}

/// The fixture cases: a name, which scripted message, and an optional edit of its bytes.
type Pick = fn(&Scripted, &str) -> bool;
type Edit = fn(String) -> String;

const CASES: [(&str, Pick, Option<Edit>); 11] = [
    (
        "synthetic-adt-a04",
        |i, t| i.label == "adt-a04" && t.contains("^NHS^NH") && t.contains("^^^^A"),
        None,
    ),
    ("synthetic-adt-a08", |i, _| i.label == "adt-a08", None),
    (
        "synthetic-oru-r01-opiates",
        |i, t| i.label == "oru-r01" && t.contains("|COWS^") && t.contains("|MHDX^"),
        None,
    ),
    (
        "synthetic-oru-r01-alcohol",
        |i, t| i.label == "oru-r01" && t.contains("|CIWA^"),
        None,
    ),
    (
        "synthetic-ras-o17-opiate-substitution",
        |i, t| i.label == "ras-o17" && t.contains("|MTD01^"),
        None,
    ),
    (
        "synthetic-ras-o17-antidepressant",
        |i, t| i.label == "ras-o17" && t.contains("|SER50^"),
        None,
    ),
    (
        "synthetic-ref-i12-liaison-diversion",
        |i, _| i.label == "ref-i12",
        None,
    ),
    (
        "bad-wrong-version",
        |i, _| i.label == "wrong-version-2.1",
        None,
    ),
    (
        "bad-missing-control-id",
        |i, _| i.label == "missing-msh10",
        None,
    ),
    (
        "bad-no-record-number",
        |i, _| i.label == "oru-r01",
        Some(|t| t.replace("^^^EXCELICARE^PI", "^^^EXCELICARE^XX")),
    ),
    (
        "bad-unknown-referral-type",
        |i, _| i.label == "ref-i12",
        Some(|t| t.replace("|LD^Liaison and diversion^EXCREF|", "|ZZ^Unknown^EXCREF|")),
    ),
];

fn fixture_input(item: &Scripted, edit: Option<Edit>) -> Value {
    let mut item = item.clone();
    if let Some(edit) = edit {
        item.bytes = edit(String::from_utf8(item.bytes).unwrap()).into_bytes();
    }
    let input = mapping_input(&envelope(&item));
    json!({
        "envelope": input.envelope.to_json(),
        "message": input.message.expose(),
        "context": input.context.expose(),
    })
}

#[test]
fn fixture_inputs_are_what_the_adapter_makes_of_the_mock() {
    let script = Script::synthetic(7, 60).with_faults();
    let bless = std::env::var_os("WAYMARK_BLESS").is_some_and(|v| v == "1");
    let tests = repo().join("mappings/excelicare/tests");
    for (name, pick, edit) in CASES {
        let item = script
            .items()
            .iter()
            .find(|i| pick(i, &String::from_utf8_lossy(&i.bytes)))
            .unwrap_or_else(|| panic!("{name}: no such message in the script"));
        let input = fixture_input(item, edit);
        let path = tests.join(format!("{name}.input.json"));
        if bless {
            let text = serde_json::to_string_pretty(&input).unwrap() + "\n";
            std::fs::write(&path, text).unwrap();
        } else {
            let stored: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
            assert_eq!(stored, input, "{name}: run with WAYMARK_BLESS=1 to rewrite");
        }
    }
}
