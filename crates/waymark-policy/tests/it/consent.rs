//! Consent, refusal, withdrawal, break-glass and derived alerts, end to end through
//! `Policy::release_with_consent`.

use crate::common;

use std::collections::BTreeSet;

use common::{at, consent, cx, every_class, provision, recipient};
use serde_json::{Value, json};
use waymark_core::{DataClass, Role};
use waymark_policy::{
    BreakGlass, BreakGlassStatus, ConsentDecision, LegalBasis, Policy, PolicyError, ReleaseContext,
    consent::evaluate,
};
use waymark_profile::Validator;

const NOW: &str = "2024-06-01T12:00:00Z";

fn policy() -> Policy {
    Policy::builtin().unwrap()
}

fn rules(r: &waymark_policy::Releasable) -> BTreeSet<String> {
    r.manifest()
        .withheld
        .iter()
        .map(|w| w.rule.clone())
        .collect()
}

/// "My GP may see my health information but not that I was detained."
fn gp_but_not_detention(id: &str, date: &str) -> Value {
    let deny_detention = provision("deny", None, &[DataClass::Detention], vec![]);
    consent(
        id,
        date,
        provision("permit", Some(Role::Gp), &[], vec![deny_detention]),
    )
}

#[test]
fn specific_consent_gp_sees_health_and_risk_but_not_detention() {
    let consents = [gp_but_not_detention("c1", "2024-01-01T00:00:00Z")];
    let gp = recipient(Role::Gp, false);
    let r = policy()
        .release_with_consent(&every_class(1), &gp, &cx(&consents, NOW))
        .unwrap();
    let classes = r.released_classes();
    assert!(classes.contains(&DataClass::MhClinical));
    assert!(classes.contains(&DataClass::RiskOthers), "base permit");
    assert!(!classes.contains(&DataClass::Detention), "nested deny");
    assert!(rules(&r).contains("consent:refused:c1:detention"));
    assert_eq!(
        r.manifest().legal_basis[&DataClass::RiskOthers],
        LegalBasis::Consent
    );
    assert_eq!(
        r.manifest().consent[&DataClass::Detention],
        ConsentDecision::Deny("c1".into())
    );
}

#[test]
fn no_consent_is_default_deny_recorded_with_its_rule() {
    let gp = recipient(Role::Gp, false);
    let r = policy()
        .release_with_consent(&every_class(2), &gp, &cx(&[], NOW))
        .unwrap();
    let rules = rules(&r);
    assert!(rules.contains("default-deny:no-consent:gp:detention"));
    assert!(rules.contains("default-deny:no-consent:gp:risk-others"));
    assert_eq!(
        r.manifest().consent[&DataClass::Detention],
        ConsentDecision::NoConsent
    );
}

#[test]
fn refusal_withholds_whatever_the_basis_except_statutory_duty() {
    // Refuses everyone everything but identity.
    let everything_but_identity: Vec<DataClass> = DataClass::ALL
        .iter()
        .copied()
        .filter(|c| *c != DataClass::Identity)
        .collect();
    let refusal = [consent(
        "r1",
        "2024-01-01T00:00:00Z",
        provision("deny", None, &everything_but_identity, vec![]),
    )];
    let p = policy();
    let gp = p
        .release_with_consent(
            &every_class(3),
            &recipient(Role::Gp, false),
            &cx(&refusal, NOW),
        )
        .unwrap();
    assert_eq!(
        gp.released_classes(),
        [DataClass::Identity].into(),
        "direct-care refused"
    );
    assert!(rules(&gp).contains("consent:refused:r1:mh-clinical"));
    let prison = p
        .release_with_consent(
            &every_class(3),
            &recipient(Role::PrisonOfficer, false),
            &cx(&refusal, NOW),
        )
        .unwrap();
    assert_eq!(
        prison.released_classes(),
        [DataClass::Identity].into(),
        "care-of-the-state"
    );
    let custody = p
        .release_with_consent(
            &every_class(3),
            &recipient(Role::CustodyOfficer, false),
            &cx(&refusal, NOW),
        )
        .unwrap();
    assert!(
        custody.released_classes().contains(&DataClass::RiskSelf),
        "statutory duty"
    );
    assert_eq!(
        custody.manifest().consent[&DataClass::RiskSelf],
        ConsentDecision::Deny("r1".into())
    );
}

#[test]
fn withdrawal_stops_the_next_release() {
    let given = provision("permit", Some(Role::Gp), &[], vec![]);
    let mut c = consent("c1", "2024-01-01T00:00:00Z", given.clone());
    let gp = recipient(Role::Gp, false);
    let p = policy();
    let before = p
        .release_with_consent(&every_class(4), &gp, &cx(std::slice::from_ref(&c), NOW))
        .unwrap();
    assert!(before.released_classes().contains(&DataClass::Detention));
    // Withdrawn by status.
    c["status"] = json!("inactive");
    let after = p
        .release_with_consent(&every_class(4), &gp, &cx(std::slice::from_ref(&c), NOW))
        .unwrap();
    assert!(!after.released_classes().contains(&DataClass::Detention));
    // Withdrawn by a later deny; a permit given later still re-grants.
    c["status"] = json!("active");
    let later_deny = consent(
        "c2",
        "2024-03-01T00:00:00Z",
        provision("deny", Some(Role::Gp), &[DataClass::Detention], vec![]),
    );
    let both = [c.clone(), later_deny.clone()];
    let denied = evaluate(&both, &gp, DataClass::Detention, at(NOW));
    assert_eq!(denied, ConsentDecision::Deny("c2".into()));
    let regiven = consent("c3", "2024-05-01T00:00:00Z", given);
    let three = [c, later_deny, regiven];
    assert_eq!(
        evaluate(&three, &gp, DataClass::Detention, at(NOW)),
        ConsentDecision::Permit("c3".into())
    );
}

#[test]
fn consent_period_purpose_and_organisation_are_respected() {
    let mut p = provision("permit", Some(Role::Gp), &[DataClass::Detention], vec![]);
    p["period"] = json!({"start": "2024-01-01", "end": "2024-03-31"});
    p["purpose"] = json!([{"system": "https://fhir.waymark.org.uk/CodeSystem/purpose", "code": "direct-care"}]);
    p["actor"][0]["reference"] = json!({"identifier": {"value": "test-org"}});
    let c = [consent("c1", "2024-01-01T00:00:00Z", p)];
    let gp = recipient(Role::Gp, false);
    let d = |who: &waymark_policy::Recipient, now: &str| {
        evaluate(&c, who, DataClass::Detention, at(now))
    };
    assert_eq!(
        d(&gp, "2024-03-31T23:00:00Z"),
        ConsentDecision::Permit("c1".into())
    );
    assert_eq!(d(&gp, "2024-04-01T00:00:00Z"), ConsentDecision::NoConsent);
    let mut other_org = gp.clone();
    other_org.organisation = "another-practice".into();
    assert_eq!(
        d(&other_org, "2024-02-01T00:00:00Z"),
        ConsentDecision::NoConsent
    );
    let mut other_purpose = gp.clone();
    other_purpose.purpose = "research".into();
    assert_eq!(
        d(&other_purpose, "2024-02-01T00:00:00Z"),
        ConsentDecision::NoConsent
    );
}

#[test]
fn an_unreadable_consent_counts_as_a_refusal() {
    let mut bad = gp_but_not_detention("c9", "2024-01-01T00:00:00Z");
    bad["provision"]["securityLabel"] =
        json!([{"system": waymark_core::DATA_CLASS_SYSTEM, "code": "diagnosis"}]);
    let gp = recipient(Role::Gp, false);
    let r = policy()
        .release_with_consent(&every_class(5), &gp, &cx(std::slice::from_ref(&bad), NOW))
        .unwrap_err();
    // Identity is refused too (it might have been), so nothing is releasable.
    assert!(
        matches!(r, PolicyError::NothingReleasable { ref rule, .. } if rule == "default-deny:consent-unreadable:c9")
    );
}

fn glass(until: &str) -> BreakGlass {
    BreakGlass {
        reason: "unconscious in cell, clinician needs medication history".into(),
        until: at(until),
    }
}

#[test]
fn break_glass_overrides_refusal_for_a_permitted_role_until_it_expires() {
    let refusal = [consent(
        "r1",
        "2024-01-01T00:00:00Z",
        provision(
            "deny",
            None,
            &[DataClass::Medication, DataClass::MhClinical],
            vec![],
        ),
    )];
    let p = policy();
    let nurse = recipient(Role::CustodyHealthcare, true);
    let bg = glass("2024-06-01T13:00:00Z");
    fn with<'a>(consents: &'a [Value], bg: &'a BreakGlass) -> ReleaseContext<'a> {
        ReleaseContext {
            consents,
            now: at(NOW),
            break_glass: Some(bg),
        }
    }
    let r = p
        .release_with_consent(&every_class(6), &nurse, &with(&refusal, &bg))
        .unwrap();
    assert!(r.released_classes().contains(&DataClass::Medication));
    assert_eq!(
        r.manifest().legal_basis[&DataClass::Medication],
        LegalBasis::VitalInterests
    );
    let record = r.manifest().break_glass.as_ref().unwrap();
    assert_eq!(record.status, BreakGlassStatus::Active);
    assert_eq!(
        record.overridden,
        vec![DataClass::MhClinical, DataClass::Medication]
    );
    assert!(r.privacy_officer_alert());
    assert!(
        !format!("{bg:?}").contains("unconscious"),
        "the reason is never in Debug output"
    );

    let expired = glass("2024-06-01T11:59:59Z");
    let r = p
        .release_with_consent(&every_class(6), &nurse, &with(&refusal, &expired))
        .unwrap();
    assert!(!r.released_classes().contains(&DataClass::Medication));
    assert_eq!(
        r.manifest().break_glass.as_ref().unwrap().status,
        BreakGlassStatus::Expired
    );
    assert!(r.privacy_officer_alert(), "an attempt is reviewed too");
}

#[test]
fn break_glass_never_grants_what_the_role_is_not_granted() {
    let p = policy();
    let bg = glass("2030-01-01T00:00:00Z");
    let cx = ReleaseContext {
        consents: &[],
        now: at(NOW),
        break_glass: Some(&bg),
    };
    // Custody officers may not break glass at all, and never see mh-clinical.
    let officer = p
        .release_with_consent(
            &every_class(7),
            &recipient(Role::CustodyOfficer, false),
            &cx,
        )
        .unwrap();
    assert!(!officer.released_classes().contains(&DataClass::MhClinical));
    assert_eq!(
        officer.manifest().break_glass.as_ref().unwrap().status,
        BreakGlassStatus::NotPermittedForRole
    );
    // A non-registered L&D practitioner may not; a registered one may.
    assert!(!p.may_break_glass(Role::LiaisonDiversion, false));
    assert!(p.may_break_glass(Role::LiaisonDiversion, true));
    // GP may not break glass: consent-based detention stays withheld.
    let gp = p
        .release_with_consent(&every_class(7), &recipient(Role::Gp, false), &cx)
        .unwrap();
    assert!(!gp.released_classes().contains(&DataClass::Detention));
}

const CANARIES: [&str; 3] = [
    "CANARY-DIAGNOSIS-7731",
    "CANARY-DRUG-5520",
    "CANARY-NARRATIVE-9914",
];

/// The profile package's full-dataset fixture, with canaries in the withheld clinical items.
fn planted() -> Value {
    let text = include_str!("../../../waymark-profile/tests/fixtures/valid/full-dataset.json");
    let mut bundle: Value = serde_json::from_str(text).unwrap();
    for entry in bundle["entry"].as_array_mut().unwrap() {
        let r = &mut entry["resource"];
        match r["resourceType"].as_str().unwrap() {
            "Condition" => r["code"]["text"] = json!(CANARIES[0]),
            "MedicationStatement" => r["medicationCodeableConcept"]["text"] = json!(CANARIES[1]),
            "Observation" if waymark_fhir::data_class(r) == Some(DataClass::MhClinical) => {
                r["valueString"] = json!(CANARIES[2]);
            }
            _ => {}
        }
    }
    bundle
}

#[test]
fn derived_alerts_share_the_risk_not_the_detail_and_stay_valid() {
    let validator = Validator::r4().unwrap();
    let canonical = validator.validate(planted()).unwrap();
    for role in [Role::CustodyOfficer, Role::PrisonOfficer] {
        let r = policy()
            .release(&canonical, &recipient(role, false))
            .unwrap();
        let alerts = &r.manifest().derived_alerts;
        let kind = if role == Role::CustodyOfficer {
            "custody"
        } else {
            "prison"
        };
        assert!(
            alerts.contains(&format!("derived-alert:mh-concern-{kind}")),
            "{alerts:?}"
        );
        assert!(
            alerts.contains(&format!("derived-alert:medication-{kind}")),
            "{alerts:?}"
        );
        let text = r.bundle().to_string();
        for canary in CANARIES {
            assert!(!text.contains(canary), "{canary} leaked to {role}");
        }
        let flags: Vec<&Value> = waymark_fhir::entries(r.bundle())
            .filter(|f| {
                f["code"]["text"]
                    .as_str()
                    .is_some_and(|t| t.contains("healthcare"))
            })
            .collect();
        assert_eq!(flags.len(), 2);
        for f in flags {
            let keys: BTreeSet<&str> = f.as_object().unwrap().keys().map(String::as_str).collect();
            assert_eq!(
                keys,
                ["code", "id", "meta", "resourceType", "status", "subject"].into()
            );
        }
        validator
            .validate(r.bundle().clone())
            .unwrap_or_else(|oo| panic!("released bundle invalid: {}", oo.to_json()));
    }
    // Nothing derived for a role that sees the detail, nor when nothing clinical was withheld.
    let nurse = policy()
        .release(&canonical, &recipient(Role::CustodyHealthcare, true))
        .unwrap();
    assert!(nurse.manifest().derived_alerts.is_empty());
    let seen = nurse.bundle().to_string();
    assert!(
        CANARIES.iter().all(|c| seen.contains(c)),
        "the canaries are planted and visible to healthcare"
    );
}

#[test]
fn a_refusal_raises_no_derived_alert() {
    let validator = Validator::r4().unwrap();
    let canonical = validator.validate(planted()).unwrap();
    let refusal = [consent(
        "r1",
        "2024-01-01T00:00:00Z",
        provision("deny", None, &[DataClass::RiskSelf], vec![]),
    )];
    // Prison officers receive risk-self on care-of-the-state, which a refusal sets aside: so
    // the risk-self alert is not released either.
    let r = policy()
        .release_with_consent(
            &canonical,
            &recipient(Role::PrisonOfficer, false),
            &cx(&refusal, NOW),
        )
        .unwrap();
    assert!(
        !r.manifest()
            .derived_alerts
            .contains(&"derived-alert:mh-concern-prison".to_owned())
    );
    assert!(
        r.manifest()
            .derived_alerts
            .contains(&"derived-alert:medication-prison".to_owned())
    );
}
