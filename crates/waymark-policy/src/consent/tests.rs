//! Reading Consents: every malformed shape is a named error, never a panic.

use serde_json::{Value, json};
use waymark_core::{DATA_CLASS_SYSTEM, ErrorCode};

use super::*;

fn valid() -> Value {
    json!({
        "resourceType": "Consent", "id": "c1", "status": "active",
        "scope": {"coding": [{"system": CONSENT_SCOPE_SYSTEM, "code": PATIENT_PRIVACY}]},
        "dateTime": "2024-01-01",
        "provision": {"type": "permit",
            "actor": [{"role": {"coding": [{"system": RECIPIENT_ROLE_SYSTEM, "code": "gp"}]},
                       "reference": {"identifier": {"value": "A81001"}}}],
            "provision": [{"securityLabel": [{"system": DATA_CLASS_SYSTEM, "code": "detention"}]}]}
    })
}

fn code_of(edit: impl FnOnce(&mut Value)) -> &'static str {
    let mut v = valid();
    edit(&mut v);
    Consent::from_json(&v).unwrap_err().code()
}

#[test]
fn reads_a_specific_consent() {
    let c = Consent::from_json(&valid()).unwrap();
    assert_eq!(c.status, ConsentStatus::Active);
    assert_eq!(c.provision.kind, ProvisionType::Permit);
    assert_eq!(c.provision.actors[0].role, Some(Role::Gp));
    assert_eq!(
        c.provision.actors[0].organisation.as_deref(),
        Some("A81001")
    );
    // A nested provision without a type is the exception to its parent.
    assert_eq!(c.provision.provisions[0].kind, ProvisionType::Deny);
    assert_eq!(c.provision.provisions[0].classes, [DataClass::Detention]);
}

#[test]
fn malformed_consents_are_named_errors() {
    assert_eq!(
        code_of(|v| v["resourceType"] = json!("Patient")),
        "consent.not-a-consent"
    );
    assert_eq!(
        code_of(|v| v["id"] = json!("has spaces")),
        "consent.missing-id"
    );
    assert_eq!(code_of(|v| v["status"] = json!("maybe")), "consent.status");
    assert_eq!(
        code_of(|v| v["scope"]["coding"][0]["code"] = json!("research")),
        "consent.scope"
    );
    assert_eq!(
        code_of(|v| v["provision"] = json!(null)),
        "consent.no-provision"
    );
    assert_eq!(
        code_of(|v| v["provision"]["type"] = json!("perhaps")),
        "consent.provision-type"
    );
    assert_eq!(
        code_of(|v| v["provision"]
            .as_object_mut()
            .unwrap()
            .remove("type")
            .map(drop)
            .unwrap()),
        "consent.provision-type"
    );
    let bad_class = json!([{"system": DATA_CLASS_SYSTEM, "code": "diagnosis"}]);
    assert_eq!(
        code_of(|v| v["provision"]["securityLabel"] = bad_class),
        "consent.unknown-data-class"
    );
    assert_eq!(
        code_of(|v| v["provision"]["actor"][0]["role"]["coding"][0]["code"] = json!("judge")),
        "consent.unknown-role"
    );
    assert_eq!(
        code_of(|v| v["dateTime"] = json!("yesterday")),
        "consent.date"
    );
    assert_eq!(
        code_of(|v| v["provision"]["period"] = json!({"end": 3})),
        "consent.date"
    );
    assert_eq!(
        code_of(|v| v["provision"]["actor"] = json!({})),
        "consent.wrong-type"
    );
    let mut deep = json!({"type": "deny"});
    for _ in 0..20 {
        deep = json!({"type": "permit", "provision": [deep]});
    }
    assert_eq!(code_of(|v| v["provision"] = deep), "consent.too-deep");
    assert_eq!(
        Consent::from_json(&json!("not even an object")).unwrap_err(),
        ConsentError::NotAConsent
    );
}

#[test]
fn errors_hold_no_free_text() {
    let mut v = valid();
    v["status"] = json!("SECRET-STATUS-TEXT");
    let err = Consent::from_json(&v).unwrap_err().to_string();
    assert!(!err.contains("SECRET"), "{err}");
}

#[test]
fn unreadable_consents_are_named_by_id_or_position() {
    let gp = Recipient {
        organisation: "A81001".into(),
        role: Role::Gp,
        registered: false,
        purpose: "direct-care".into(),
    };
    let now = Utc::now();
    let bad = json!({"resourceType": "Consent", "id": "c7"});
    assert_eq!(
        evaluate(&[valid(), bad], &gp, DataClass::Identity, now),
        ConsentDecision::Unreadable("c7".into())
    );
    let anonymous = json!({"resourceType": "Consent", "id": "bad id!"});
    assert_eq!(
        evaluate(&[anonymous], &gp, DataClass::Identity, now),
        ConsentDecision::Unreadable("#0".into())
    );
    assert_eq!(
        evaluate(&[], &gp, DataClass::Identity, now),
        ConsentDecision::NoConsent
    );
    assert_eq!(
        evaluate(&[valid()], &gp, DataClass::Detention, now),
        ConsentDecision::Deny("c1".into())
    );
    assert_eq!(
        evaluate(&[valid()], &gp, DataClass::Identity, now),
        ConsentDecision::Permit("c1".into())
    );
}
