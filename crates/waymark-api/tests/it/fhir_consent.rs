//! Consent through the API: recorded by a role the policy lets record it, read back by id and
//! by patient, honoured by the next read, withdrawn by a new `inactive` version; malformed
//! Consents and unknown patients are 422s that quote nothing.

use serde_json::json;
use waymark_core::Role;
use waymark_store::Store;

use crate::fhir_world::{World, consent, resource_classes};

#[tokio::test]
async fn a_consent_is_recorded_read_honoured_and_withdrawn() {
    let w = World::new().await;
    let nurse = w.token(Role::CustodyHealthcare, true);
    let gp = w.token(Role::Gp, true);
    let summary = format!("/fhir/Patient/{}/$summary", w.main);
    let body = consent("gp-may-see", &w.main, "permit", "2026-03-01T09:00:00Z");

    let created = w
        .call("POST", "/fhir/Consent", Some(&nurse), Some(&body), &[])
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.json["id"], "gp-may-see");
    assert_eq!(created.json["meta"]["versionId"], "1");
    assert_eq!(
        created.json["patient"]["reference"],
        format!("Patient/{}", w.main)
    );
    assert!(
        resource_classes(&w.get(&summary, Some(&gp)).await.json).contains(&"detention".to_owned())
    );

    let read = w.get("/fhir/Consent/gp-may-see", Some(&nurse)).await;
    assert_eq!(
        (read.status, read.json["status"].as_str()),
        (200, Some("active"))
    );
    let listed = w
        .get(
            &format!("/fhir/Consent?patient=Patient/{}", w.main),
            Some(&nurse),
        )
        .await;
    assert_eq!(listed.json["entry"].as_array().unwrap().len(), 1);

    let mut withdrawal = body.clone();
    withdrawal["status"] = json!("inactive");
    let withdrawn = w
        .call(
            "POST",
            "/fhir/Consent",
            Some(&nurse),
            Some(&withdrawal),
            &[],
        )
        .await;
    assert_eq!(withdrawn.status, 200, "{}", withdrawn.text);
    assert_eq!(withdrawn.json["status"], "inactive");
    assert_eq!(withdrawn.json["meta"]["versionId"], "2");
    assert!(
        !resource_classes(&w.get(&summary, Some(&gp)).await.json).contains(&"detention".to_owned())
    );
    let stored = w.store.consents(&w.main).await.unwrap();
    assert_eq!((stored.len(), stored[0].status.as_str()), (1, "inactive"));

    let mut unknown = withdrawal.clone();
    unknown["id"] = json!("never-given");
    let none = w
        .call("POST", "/fhir/Consent", Some(&nurse), Some(&unknown), &[])
        .await;
    assert_eq!(none.status, 404);
}

#[tokio::test]
async fn bad_consents_and_roles_without_the_consent_class_are_refused() {
    let w = World::new().await;
    let nurse = w.token(Role::CustodyHealthcare, true);
    let canary = "CANARY-free-text-4471";
    let mut no_provision = consent("c-bad", &w.main, "permit", "2026-03-01T09:00:00Z");
    no_provision.as_object_mut().unwrap().remove("provision");
    no_provision["policyRule"] = json!({"text": canary});
    let bad = w
        .call(
            "POST",
            "/fhir/Consent",
            Some(&nurse),
            Some(&no_provision),
            &[],
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.text);
    assert_eq!(bad.json["resourceType"], "OperationOutcome");
    assert!(!bad.text.contains(canary));
    let stranger = consent("c-2", "no-such-person", "permit", "2026-03-01T09:00:00Z");
    let unknown = w
        .call("POST", "/fhir/Consent", Some(&nurse), Some(&stranger), &[])
        .await;
    assert_eq!(unknown.status, 422);
    let not_json = w
        .call(
            "POST",
            "/fhir/Consent",
            Some(&nurse),
            None,
            &[("content-type", "application/json")],
        )
        .await;
    assert_eq!(not_json.status, 400);
    let officer = w.token(Role::CustodyOfficer, false);
    let good = consent("c-3", &w.main, "permit", "2026-03-01T09:00:00Z");
    let refused = w
        .call("POST", "/fhir/Consent", Some(&officer), Some(&good), &[])
        .await;
    assert_eq!(refused.status, 403);
    assert!(w.store.consents(&w.main).await.unwrap().is_empty());
}
