//! Releasing canonical bundles to each role.

use crate::common;

use std::collections::BTreeSet;

use common::{bundle_json, canonical, every_class, expected, finish, id, recipient, resource};
use serde_json::json;
use waymark_core::{DataClass, Role};
use waymark_policy::{LegalBasis, Policy, PolicyError, REDACTED_CODE};

fn policy() -> Policy {
    Policy::builtin().unwrap()
}

#[test]
fn each_role_receives_exactly_its_policy_classes() {
    let policy = policy();
    let bundle = every_class(1);
    for role in Role::ALL {
        for registered in [false, true] {
            let want = expected(*role, registered, false);
            let granted: BTreeSet<DataClass> = policy
                .permitted(*role, registered, &BTreeSet::new())
                .into_keys()
                .collect();
            assert_eq!(
                granted, want,
                "policy file disagrees with dataset.md for {role}"
            );
            match policy.release(&bundle, &recipient(*role, registered)) {
                Ok(released) => {
                    assert_eq!(
                        released.released_classes(),
                        want,
                        "{role} registered={registered}"
                    );
                    let bases: BTreeSet<DataClass> =
                        released.manifest().legal_basis.keys().copied().collect();
                    assert_eq!(bases, want);
                    assert!(common::violations(&released, &want).is_empty());
                }
                Err(PolicyError::NothingReleasable { .. }) => assert!(want.is_empty(), "{role}"),
                Err(other) => panic!("{role}: {other}"),
            }
        }
    }
}

#[test]
fn probation_never_receives_a_clinical_class() {
    let released = policy()
        .release(&every_class(2), &recipient(Role::Probation, true))
        .unwrap();
    let clinical: Vec<DataClass> = released
        .released_classes()
        .into_iter()
        .filter(|c| c.is_clinical())
        .collect();
    assert!(clinical.is_empty(), "{clinical:?}");
    for r in waymark_fhir::entries(released.bundle()).filter(|r| r["resourceType"] != "Provenance")
    {
        assert!(!waymark_fhir::data_class(r).unwrap().is_clinical());
    }
}

#[test]
fn prison_healthcare_receives_everything_unredacted() {
    let bundle = every_class(3);
    let released = policy()
        .release(&bundle, &recipient(Role::PrisonHealthcare, false))
        .unwrap();
    assert_eq!(
        released.released_classes(),
        DataClass::ALL.iter().copied().collect()
    );
    assert!(released.manifest().withheld.is_empty());
    assert_eq!(
        released.bundle(),
        bundle.as_json(),
        "nothing to redact, nothing changed"
    );
    assert_eq!(released.patient_id(), id(3, 0));
}

#[test]
fn manifest_lists_each_withheld_resource_with_its_rule() {
    let bundle = every_class(4);
    let released = policy()
        .release(&bundle, &recipient(Role::Probation, false))
        .unwrap();
    let want = expected(Role::Probation, false, false);
    let mut should_withhold: Vec<(String, String)> = waymark_fhir::entries(bundle.as_json())
        .filter_map(|r| {
            let class = waymark_fhir::data_class(r)?;
            let rule = format!("role-policy:probation:not-permitted:{class}");
            (!want.contains(&class)).then(|| (r["id"].as_str().unwrap().to_owned(), rule))
        })
        .collect();
    let mut withheld: Vec<(String, String)> = released
        .manifest()
        .withheld
        .iter()
        .map(|w| (w.resource_id.clone(), w.rule.clone()))
        .collect();
    should_withhold.sort();
    withheld.sort();
    assert_eq!(withheld, should_withhold);
    assert_eq!(withheld.len(), 8, "seven clinical classes and consent");
    let w = &released.manifest().withheld[0];
    assert!(w.data_class.is_some() && !w.resource_type.is_empty());
    let manifest = serde_json::to_value(released.manifest()).unwrap();
    assert_eq!(manifest["role"], "probation");
    assert_eq!(manifest["organisation"], "test-org");
    assert_eq!(manifest["purpose"], "direct-care");
    assert_eq!(manifest["legal_basis"]["detention"], "statutory-duty");
}

#[test]
fn registered_only_and_consent_rules_are_named() {
    let policy = policy();
    let ld = policy
        .release(&every_class(5), &recipient(Role::LiaisonDiversion, false))
        .unwrap();
    let rules: BTreeSet<&str> = ld
        .manifest()
        .withheld
        .iter()
        .map(|w| w.rule.as_str())
        .collect();
    assert!(rules.contains("role-policy:liaison-diversion:registered-only:mh-clinical"));
    assert!(rules.contains("role-policy:liaison-diversion:registered-only:medication"));

    let gp = policy
        .release(&every_class(5), &recipient(Role::Gp, false))
        .unwrap();
    let rules: BTreeSet<&str> = gp
        .manifest()
        .withheld
        .iter()
        .map(|w| w.rule.as_str())
        .collect();
    assert!(rules.contains("default-deny:no-consent:gp:detention"));
    assert!(rules.contains("default-deny:no-consent:gp:risk-others"));
    assert!(rules.contains("role-policy:gp:not-permitted:safeguarding"));
}

#[test]
fn gp_receives_detention_and_risk_to_others_only_with_consent() {
    let consents = [common::consent(
        "c1",
        "2024-01-01T00:00:00Z",
        common::provision("permit", Some(Role::Gp), &[], vec![]),
    )];
    let gp = recipient(Role::Gp, false);
    let released = policy()
        .release_with_consent(
            &every_class(6),
            &gp,
            &common::cx(&consents, "2024-06-01T00:00:00Z"),
        )
        .unwrap();
    assert_eq!(released.released_classes(), expected(Role::Gp, false, true));
    assert_eq!(
        released.manifest().legal_basis[&DataClass::Detention],
        LegalBasis::Consent
    );
    assert_eq!(
        released.manifest().legal_basis[&DataClass::MhClinical],
        LegalBasis::DirectCare
    );
}

#[test]
fn nothing_is_released_when_the_patient_is_withheld() {
    for role in [
        Role::Commissioner,
        Role::IntegrationEngineer,
        Role::PrivacyOfficer,
    ] {
        match policy().release(&every_class(7), &recipient(role, true)) {
            Err(PolicyError::NothingReleasable { role: r, rule }) => {
                assert_eq!(r, role);
                assert_eq!(rule, format!("role-policy:{role}:not-permitted:identity"));
            }
            other => panic!("{role}: {other:?}"),
        }
    }
}

#[test]
fn labels_are_carried_forward_and_the_bundle_is_marked_redacted() {
    let bundle = every_class(8);
    let released = policy()
        .release(&bundle, &recipient(Role::CustodyOfficer, false))
        .unwrap();
    let security = &released.bundle()["meta"]["security"];
    assert_eq!(
        security[0]["system"],
        "http://terminology.hl7.org/CodeSystem/v3-ObservationValue"
    );
    assert_eq!(security[0]["code"], REDACTED_CODE);
    assert_eq!(released.bundle()["type"], "collection");
    for out in waymark_fhir::entries(released.bundle()) {
        let Some(original) = waymark_fhir::entries(bundle.as_json()).find(|r| r["id"] == out["id"])
        else {
            // A derived alert: made by the policy, not carried forward.
            assert_eq!(out["resourceType"], "Flag");
            assert!(!released.manifest().derived_alerts.is_empty());
            continue;
        };
        assert_eq!(out["meta"], original["meta"], "labels carried forward");
    }
}

#[test]
fn provenance_targets_only_released_resources() {
    let released = policy()
        .release(&every_class(9), &recipient(Role::Probation, false))
        .unwrap();
    let prov = waymark_fhir::entries(released.bundle())
        .find(|r| r["resourceType"] == "Provenance")
        .unwrap();
    let targets: BTreeSet<&str> = prov["target"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["reference"].as_str())
        .collect();
    let kept: BTreeSet<&str> = released.bundle()["entry"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["resource"]["resourceType"] != "Provenance")
        .filter_map(|e| e["fullUrl"].as_str())
        .collect();
    assert_eq!(targets, kept);
    assert_eq!(
        targets.len(),
        7,
        "the Patient and six non-clinical resources"
    );
}

#[test]
fn references_to_withheld_resources_are_masked() {
    let pid = id(10, 0);
    let patient = json!({"resourceType": "Patient", "id": pid, "meta": {"security": [
        {"system": waymark_core::DATA_CLASS_SYSTEM, "code": "identity"},
        {"system": waymark_core::CONFIDENTIALITY_SYSTEM, "code": "N"}]}});
    let condition = resource("Condition", &id(10, 1), &pid, DataClass::MhClinical);
    let mut encounter = resource("Encounter", &id(10, 2), &pid, DataClass::Detention);
    encounter["diagnosis"] = json!([{"condition": {
        "reference": format!("urn:uuid:{}", id(10, 1)), "display": "CANARY-DIAGNOSIS"}}]);
    let bundle = canonical(finish(10, vec![patient, condition, encounter]));
    let released = policy()
        .release(&bundle, &recipient(Role::Probation, false))
        .unwrap();
    let text = released.bundle().to_string();
    assert!(!text.contains("CANARY-DIAGNOSIS"));
    assert!(
        !text.contains(&id(10, 1)),
        "no trace of the withheld Condition"
    );
    let enc = waymark_fhir::entries(released.bundle()).find(|r| r["resourceType"] == "Encounter");
    let masked = &enc.unwrap()["diagnosis"][0]["condition"]["extension"][0];
    assert_eq!(masked["valueCode"], "masked");
}

#[test]
fn manifest_and_errors_hold_no_patient_data() {
    let mut json = bundle_json(11, &[("Condition", DataClass::MhClinical)]);
    json["entry"][0]["resource"]["name"] = json!([{"family": "CANARYFAMILY", "given": ["Zed"]}]);
    json["entry"][1]["resource"]["code"] = json!({"text": "CANARY-TEXT"});
    let bundle = canonical(json);
    let released = policy()
        .release(&bundle, &recipient(Role::Probation, false))
        .unwrap();
    let manifest = serde_json::to_string(released.manifest()).unwrap();
    let debug = format!("{released:?}");
    for text in [manifest, debug] {
        assert!(!text.contains("CANARY"), "{text}");
    }
    let err = policy()
        .release(&bundle, &recipient(Role::Commissioner, false))
        .unwrap_err();
    assert!(!format!("{err} {err:?}").contains("CANARY"));
}
