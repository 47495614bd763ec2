//! `$everything` is every stored entry of the person released through the policy, not the
//! summary document only: two entries recorded for one person give both entries' resources
//! and the summary's (each resource once), and the audit row names the classes released.

use waymark_core::Role;
use waymark_store::{AuditLog, Store};

use crate::fhir_world::{MAIN_PRISON_NUMBER, World};

fn resources<'a>(bundle: &'a serde_json::Value, kind: &str) -> Vec<&'a serde_json::Value> {
    bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["resource"])
        .filter(|r| r["resourceType"] == kind)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn everything_is_every_stored_entry_released() {
    let w = World::new().await;
    let second = w
        .record_as("real-offender-details-changed", MAIN_PRISON_NUMBER)
        .await;
    assert_eq!(second, w.main, "the second entry is the same person's");
    let nurse = w.token(Role::CustodyHealthcare, true);
    let uri = format!("/fhir/Patient/{}/$everything", w.main);
    let answer = w.get(&uri, Some(&nurse)).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.json["type"], "searchset");
    assert!(answer.json.get("total").is_none());
    let ids: Vec<&str> = answer.json["entry"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["resource"]["id"].as_str())
        .collect();
    let stored = w.store.entries(&w.main).await.unwrap();
    assert_eq!(stored.len(), 2);
    for entry in &stored {
        let bundle: serde_json::Value = serde_json::from_str(entry.bundle.expose()).unwrap();
        let provenance = resources(&bundle, "Provenance")[0]["id"].as_str().unwrap();
        assert!(ids.contains(&provenance), "every stored entry's resources");
    }
    println!(
        "$everything: {} resources from the summary and {} stored entries",
        ids.len(),
        stored.len()
    );
    assert_eq!(
        resources(&answer.json, "Composition").len(),
        1,
        "and the summary document's"
    );
    assert!(!resources(&answer.json, "Patient").is_empty());
    let mut urls: Vec<&str> = answer.json["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["fullUrl"].as_str().unwrap())
        .collect();
    let all = urls.len();
    urls.sort_unstable();
    urls.dedup();
    assert_eq!(urls.len(), all, "each resource once");

    let rows = w.store.audit_entries(0, 10).await.unwrap();
    let row = &rows.last().unwrap().record;
    assert_eq!(row.person_ids, vec![w.main.clone()]);
    assert!(row.released.iter().any(|c| c.class == "identity"));
    let log: &dyn AuditLog = w.store.as_ref();
    assert!(log.head().await.unwrap().is_some());
}
