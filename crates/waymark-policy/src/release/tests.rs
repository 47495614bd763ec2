//! Unit tests of `release.rs`.

use serde_json::json;
use waymark_core::{CONFIDENTIALITY_SYSTEM, DATA_CLASS_SYSTEM};

use super::*;

fn everyone_sees_everything() -> Recipient {
    Recipient {
        organisation: "org".into(),
        role: Role::PrisonHealthcare,
        registered: true,
        purpose: "direct-care".into(),
    }
}

fn labelled(kind: &str, id: &str, class: &str) -> Value {
    json!({"fullUrl": format!("urn:uuid:{id}"), "resource": {"resourceType": kind, "id": id,
        "meta": {"security": [{"system": DATA_CLASS_SYSTEM, "code": class},
                              {"system": CONFIDENTIALITY_SYSTEM, "code": "N"}]}}})
}

#[test]
fn default_deny_without_a_readable_data_class() {
    let policy = Policy::builtin().unwrap();
    let who = everyone_sees_everything();
    let decisions = policy.decide_classes(&who, &ReleaseContext::without_consent(Utc::now()));
    let unlabelled = json!({"resourceType": "Observation", "id": "o1", "meta": {"security": [
        {"system": CONFIDENTIALITY_SYSTEM, "code": "N"}]}});
    let decision = Policy::decide_resource(&decisions, &unlabelled);
    let rule = "default-deny:no-data-class".to_owned();
    assert_eq!(decision, Decision::Withhold { class: None, rule });
    let unknown = labelled("Observation", "o2", "diagnosis");
    assert!(matches!(
        Policy::decide_resource(&decisions, &unknown["resource"]),
        Decision::Withhold { class: None, .. }
    ));
    let known = labelled("Observation", "o3", "mh-clinical");
    assert!(matches!(
        Policy::decide_resource(&decisions, &known["resource"]),
        Decision::Release {
            class: Some(DataClass::MhClinical),
            ..
        }
    ));
}

#[test]
fn an_unlabelled_resource_is_withheld_even_from_a_role_that_sees_everything() {
    let policy = Policy::builtin().unwrap();
    let mut unlabelled = labelled("Observation", "o1", "x");
    unlabelled["resource"]["meta"] = json!({});
    let bundle = json!({"resourceType": "Bundle", "type": "collection", "entry": [
        labelled("Patient", "p1", "identity"),
        unlabelled,
        labelled("Flag", "f1", "risk-self"),
        {"fullUrl": "urn:uuid:v1", "resource": {"resourceType": "Provenance", "id": "v1",
            "target": [{"reference": "urn:uuid:p1"}, {"reference": "urn:uuid:o1"},
                       {"reference": "urn:uuid:f1"}]}},
    ]});
    let released = policy
        .release_json(
            &bundle,
            &everyone_sees_everything(),
            &ReleaseContext::without_consent(Utc::now()),
        )
        .unwrap();
    let withheld = &released.manifest().withheld;
    assert_eq!(withheld.len(), 1);
    assert_eq!(withheld[0].resource_id, "o1");
    assert_eq!(withheld[0].rule, "default-deny:no-data-class");
    let ids: Vec<&str> = waymark_fhir::entries(released.bundle())
        .filter_map(|r| r["id"].as_str())
        .collect();
    assert_eq!(ids, ["p1", "f1", "v1"]);
    let targets = &released.bundle()["entry"][2]["resource"]["target"];
    assert_eq!(
        targets,
        &json!([{"reference": "urn:uuid:p1"}, {"reference": "urn:uuid:f1"}])
    );
    assert_eq!(released.bundle()["meta"]["security"][0]["code"], "REDACTED");
}

#[test]
fn no_patient_is_an_error() {
    let policy = Policy::builtin().unwrap();
    let bundle = json!({"resourceType": "Bundle", "entry": [labelled("Flag", "f1", "risk-self")]});
    let err = policy.release_json(
        &bundle,
        &everyone_sees_everything(),
        &ReleaseContext::without_consent(Utc::now()),
    );
    assert!(matches!(err, Err(PolicyError::NoPatient)));
}

#[test]
fn a_release_is_re_keyed_on_the_hub_person_id() {
    let policy = Policy::builtin().unwrap();
    let mut flag = labelled("Flag", "f1", "risk-self");
    flag["resource"]["subject"] = json!({"reference": "urn:uuid:p1"});
    let bundle = json!({"resourceType": "Bundle", "type": "collection", "entry": [
        labelled("Patient", "p1", "identity"),
        flag,
    ]});
    let cx = ReleaseContext::without_consent(Utc::now());
    let released = policy
        .release_json(&bundle, &everyone_sees_everything(), &cx)
        .unwrap();
    assert_eq!(released.patient_id(), "p1");
    let manifest_before = released.manifest().withheld.len();
    let person = "5b0c2f3e-8d0e-4f5e-9a39-7f1d2c3b4a59";
    let released = released.for_person(person);
    assert_eq!(released.patient_id(), person);
    let entries = released.bundle()["entry"].as_array().unwrap();
    assert_eq!(entries[0]["resource"]["id"], person);
    assert_eq!(entries[0]["fullUrl"], format!("urn:uuid:{person}"));
    assert_eq!(
        entries[1]["resource"]["subject"]["reference"],
        format!("urn:uuid:{person}")
    );
    assert_eq!(
        entries[1]["resource"]["id"], "f1",
        "other resources keep their ids"
    );
    assert_eq!(released.manifest().withheld.len(), manifest_before);
    assert!(!released.bundle().to_string().contains("p1\""));
}
