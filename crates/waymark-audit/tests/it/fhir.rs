//! The AuditEvent export passes the R4 schema (`Validator::schema_only`).

use chrono::DateTime;
use serde_json::json;
use waymark_audit::{AuditRecord, ClassDecision, Head, chain, searchset, to_audit_event};
use waymark_core::Sensitive;
use waymark_profile::Validator;

fn full_record() -> AuditRecord {
    let t = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
    let mut r = AuditRecord::new(
        t,
        "GET",
        "/fhir/Patient/p-1/$summary?_format=x",
        "allowed",
        200,
    );
    r.subject = Some("user-1".into());
    r.client_id = Some("probation-app".into());
    r.organisation = Some("X1234".into());
    r.role = Some("probation".into());
    r.registered = Some(false);
    r.auth_method = Some("bearer-jwt".into());
    r.source_address = Some("10.1.2.3".into());
    r.person_ids = vec!["p-1".into()];
    r.released = vec![ClassDecision {
        class: "risk-self".into(),
        rule: "statutory-duty".into(),
    }];
    r.withheld = vec![ClassDecision {
        class: "mh-clinical".into(),
        rule: "role-policy:probation:not-permitted:mh-clinical".into(),
    }];
    r.break_glass_reason = Some(Sensitive::new("imminent risk".into()));
    r.correlation_id = Some("req-1".into());
    r
}

#[test]
fn audit_events_pass_the_r4_schema() {
    let denied = AuditRecord::new(
        DateTime::from_timestamp(1_700_000_001, 0).unwrap(),
        "GET",
        "/fhir/Patient?identifier=123",
        "auth.expired",
        401,
    );
    let first = chain(&Head::genesis(), full_record());
    let head = Head {
        sequence: 1,
        hash: first.hash.clone(),
    };
    let second = chain(&head, denied);
    let validator = Validator::schema_only().unwrap();
    let mut broken = to_audit_event(&first);
    broken["agent"][0]["requestor"] = json!("yes");
    assert!(
        !schema_issues(&validator, broken).is_empty(),
        "the check bites"
    );
    for entry in [&first, &second] {
        let schema = schema_issues(&validator, to_audit_event(entry));
        assert!(schema.is_empty(), "{schema:#?}");
    }
    let first_event = to_audit_event(&first);
    assert_eq!(first_event["entity"][0]["what"]["reference"], "Patient/p-1");
    assert_eq!(
        first_event["entity"][0]["securityLabel"][0]["code"],
        "risk-self"
    );
    assert_eq!(first_event["outcome"], "0");
    assert_eq!(to_audit_event(&second)["outcome"], "4");
    let text = to_audit_event(&second).to_string();
    assert!(!text.contains("123"), "query values never reach the export");
    assert_eq!(searchset([&first, &second])["total"], 2);
}

/// The issues about the event itself (schema, structure), not the Waymark bundle rules (one
/// Patient, labels, Provenance) a lone AuditEvent in a bundle cannot meet.
fn schema_issues(validator: &Validator, event: serde_json::Value) -> Vec<waymark_fhir::Issue> {
    let bundle = json!({"resourceType": "Bundle", "type": "collection",
        "entry": [{"fullUrl": "urn:uuid:9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d", "resource": event}]});
    let issues = match validator.validate(bundle) {
        Ok(_) => Vec::new(),
        Err(outcome) => outcome.issues,
    };
    issues
        .into_iter()
        .filter(|i| {
            i.location
                .as_deref()
                .is_some_and(|l| l.contains("resource"))
        })
        .filter(|i| i.rule != "profile.label")
        .collect()
}
