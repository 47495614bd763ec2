//! Unit tests of `policy.rs`.

use serde_json::{Value, json};
use waymark_core::ErrorCode;

use super::*;

fn builtin() -> Value {
    serde_json::from_str(BUILTIN).unwrap()
}

fn role_entry<'a>(policy: &'a mut Value, role: &str) -> &'a mut Value {
    policy["roles"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|r| r["role"] == role)
        .unwrap()
}

/// Applies `edit` to the built-in policy and expects `from_json` to fail with `code`.
fn check(edit: impl FnOnce(&mut Value), code: &str) {
    let mut policy = builtin();
    edit(&mut policy);
    let err = Policy::from_json(&policy.to_string()).unwrap_err();
    assert_eq!(err.code(), code, "{err}");
}

#[test]
fn builtin_loads_with_every_role() {
    let policy = Policy::builtin().unwrap();
    assert_eq!(policy.version(), 1);
    assert_eq!(policy.name(), "hjmd-default-role-policy");
    for role in Role::ALL {
        assert!(!policy.role(*role).unwrap().who().is_empty(), "{role}");
    }
}

#[test]
fn named_errors_for_bad_policies() {
    check(
        |p| drop(p.as_object_mut().unwrap().remove("version")),
        "policy.missing-version",
    );
    check(|p| p["version"] = json!(2), "policy.version");
    check(
        |p| p["roles"][0]["role"] = json!("sergeant"),
        "policy.unknown-role",
    );
    check(
        |p| p["roles"][0]["grants"][0]["class"] = json!("diagnosis"),
        "policy.unknown-class",
    );
    check(
        |p| p["roles"][0]["never"][0] = json!("diagnosis"),
        "policy.unknown-class",
    );
    check(
        |p| p["roles"][0]["grants"][0]["basis"] = json!("because"),
        "policy.unknown-basis",
    );
    check(
        |p| p["roles"][1]["role"] = json!("custody-officer"),
        "policy.duplicate-role",
    );
    check(
        |p| drop(p["roles"].as_array_mut().unwrap().pop()),
        "policy.missing-role",
    );
    check(|p| p["surprise"] = json!(true), "policy.malformed");
    check(
        |p| p["roles"][0]["grants"][0]["registered"] = json!(true),
        "policy.malformed",
    );
    check(
        |p| {
            let grants = role_entry(p, "probation")["grants"].as_array_mut().unwrap();
            grants.push(json!({"class": "identity", "basis": "consent"}));
        },
        "policy.duplicate-grant",
    );
    check(
        |p| {
            let grants = role_entry(p, "probation")["grants"].as_array_mut().unwrap();
            grants.push(json!({"class": "mh-clinical", "basis": "statutory-duty"}));
        },
        "policy.contradiction",
    );
    check(
        |p| {
            role_entry(p, "probation")["never"]
                .as_array_mut()
                .unwrap()
                .push(json!("medication"))
        },
        "policy.duplicate-never",
    );
    assert_eq!(
        Policy::from_json("not json").unwrap_err().code(),
        "policy.malformed"
    );
}

#[test]
fn decisions_name_their_refusal() {
    let policy = Policy::builtin().unwrap();
    let none = BTreeSet::new();
    let ld = |registered| {
        policy.decide(
            Role::LiaisonDiversion,
            registered,
            &none,
            DataClass::MhClinical,
        )
    };
    assert_eq!(ld(true), Ok(LegalBasis::DirectCare));
    assert_eq!(ld(false), Err(Refusal::RegisteredOnly));
    let gp = |consented: &BTreeSet<DataClass>| {
        policy.decide(Role::Gp, false, consented, DataClass::Detention)
    };
    assert_eq!(gp(&none), Err(Refusal::ConsentRequired));
    assert_eq!(gp(&[DataClass::Detention].into()), Ok(LegalBasis::Consent));
    let probation = policy.decide(Role::Probation, true, &none, DataClass::Medication);
    assert_eq!(probation, Err(Refusal::NotPermitted));
}

#[test]
fn probation_is_never_granted_a_clinical_class() {
    let policy = Policy::builtin().unwrap();
    let probation = policy.role(Role::Probation).unwrap();
    assert!(probation.grants().all(|g| !g.class.is_clinical()));
    let clinical: BTreeSet<DataClass> = DataClass::ALL
        .iter()
        .copied()
        .filter(|c| c.is_clinical())
        .collect();
    assert_eq!(probation.never(), &clinical);
}
