//! The identity review queue over HTTP, without a socket: a review item raised by the record
//! stage's decision, decided by a human as the same person (a merge), then undone; every answer
//! free of demographics and identifiers.

use std::sync::Arc;

use axum::{Router, body::Body, http::Request};
use chrono::Utc;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;
use waymark_bus::SqliteBus;
use waymark_core::{MessageId, Sensitive, SourceSystem};
use waymark_store::{
    ApplyOutcome, NewReview, PersonChoice, RecordChange, ReviewCandidate, SqliteStore, Store,
    StrongId,
};

use crate::support::{Dev, repo_parts, signed_in, state};

const PRISON: &str = "https://fhir.waymark.org.uk/Id/nomis-prison-number";
const CANARY_ID: &str = "Z9876XY";

struct Hub {
    _dir: tempfile::TempDir,
    store: Arc<SqliteStore>,
    app: Router,
}

async fn hub() -> Hub {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(&dir.path().join("s.db")).await.unwrap());
    let bus = Arc::new(SqliteBus::open(&dir.path().join("b.db")).await.unwrap());
    let (mappings, validator) = repo_parts();
    let dev = Dev::new();
    let app = signed_in(
        state(store.clone(), bus, mappings, validator, &dev),
        dev.engineer(),
    );
    Hub {
        _dir: dir,
        store,
        app,
    }
}

/// Applies a change for one message about a person known by `prison`, opening `review`.
async fn apply(hub: &Hub, key: &str, prison: &str, review: Option<NewReview>) -> String {
    let change = RecordChange {
        message_id: MessageId::derive(SourceSystem::Nomis, key),
        source: SourceSystem::Nomis,
        message_type: "TEST".into(),
        event_time: Some(Utc::now()),
        recorded_at: Utc::now(),
        bundle: Sensitive::new(json!({"resourceType": "Bundle", "type": "collection"}).to_string()),
        person: PersonChoice::New,
        identifiers: vec![StrongId {
            system: PRISON.into(),
            value: Sensitive::new(prison.into()),
        }],
        demographics: Sensitive::new("{}".into()),
        block_keys: vec![format!("test:{key}")],
        expected_version: 0,
        record: Sensitive::new("{}".into()),
        events: Vec::new(),
        review,
    };
    match hub.store.apply(change).await.unwrap() {
        ApplyOutcome::Applied { person_id, .. } => person_id,
        other => panic!("{other:?}"),
    }
}

async fn call(app: &Router, method: &str, uri: &str, body: Option<Value>) -> (u16, Value) {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json")
        .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    assert!(!text.contains(CANARY_ID), "an identifier leaked: {text}");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_review_is_decided_as_the_same_person_merged_and_the_merge_undone() {
    let hub = hub().await;
    let known = apply(&hub, "m1", CANARY_ID, None).await;
    let review = NewReview {
        reason: "identity.grey-zone".into(),
        candidates: vec![ReviewCandidate {
            person_id: known.clone(),
            score: 18.5,
            breakdown: json!([{"field": "birth-date", "points": 4.5}]),
        }],
    };
    let newcomer = apply(&hub, "m2", "A1111AA", Some(review)).await;

    let (status, list) = call(&hub.app, "GET", "/admin/identity/reviews", None).await;
    assert_eq!(status, 200);
    let items = list["reviews"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["person_id"], newcomer.as_str());
    assert_eq!(items[0]["status"], "open");
    let id = items[0]["review_id"].as_str().unwrap().to_owned();

    let (status, _) = call(
        &hub.app,
        "POST",
        &format!("/admin/identity/reviews/{id}/decision"),
        Some(json!({"sameAs": "somebody-else", "reason": "checked"})),
    )
    .await;
    assert_eq!(status, 409, "only a candidate of the review can be chosen");

    let (status, decided) = call(
        &hub.app,
        "POST",
        &format!("/admin/identity/reviews/{id}/decision"),
        Some(json!({"sameAs": known, "reason": "confirmed with the nurse"})),
    )
    .await;
    assert_eq!(status, 200, "{decided}");
    assert_eq!(decided["review"]["status"], "same-person");
    let merge_id = decided["merge"]["event_id"].as_str().unwrap().to_owned();
    let lookup = StrongId {
        system: PRISON.into(),
        value: Sensitive::new("A1111AA".into()),
    };
    let links = hub
        .store
        .find_by_identifiers(std::slice::from_ref(&lookup))
        .await
        .unwrap();
    assert_eq!(
        links[0].person_id, known,
        "the newcomer's number now finds the survivor"
    );
    let (_, open) = call(&hub.app, "GET", "/admin/identity/reviews?open=true", None).await;
    assert!(open["reviews"].as_array().unwrap().is_empty());

    let (status, _) = call(
        &hub.app,
        "POST",
        &format!("/admin/identity/persons/{known}/merges/{merge_id}/undo"),
        Some(json!({"reason": "twins, not one person"})),
    )
    .await;
    assert_eq!(status, 200);
    let links = hub.store.find_by_identifiers(&[lookup]).await.unwrap();
    assert_eq!(
        links[0].person_id, newcomer,
        "the undo gives the number back"
    );
    let (status, history) = call(
        &hub.app,
        "GET",
        &format!("/admin/identity/persons/{known}/history"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let kinds: Vec<&str> = history["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"merged") && kinds.contains(&"unmerged"),
        "{kinds:?}"
    );
    let engineer = format!(
        "integration-engineer-user@{}",
        waymark_api::auth::dev::DEV_ISSUER
    );
    for event in history["events"].as_array().unwrap() {
        if ["merged", "unmerged"].contains(&event["kind"].as_str().unwrap()) {
            assert_eq!(
                event["by"],
                engineer.as_str(),
                "who decided is the principal"
            );
        }
    }
}

#[tokio::test]
async fn unknown_items_and_bad_bodies_are_outcomes_not_errors() {
    let hub = hub().await;
    let (status, body) = call(&hub.app, "GET", "/admin/identity/reviews/nope", None).await;
    assert_eq!(
        (status, body["resourceType"].as_str()),
        (404, Some("OperationOutcome"))
    );
    let (status, body) = call(
        &hub.app,
        "POST",
        "/admin/identity/merge",
        Some(json!({"from": 1})),
    )
    .await;
    assert_eq!(
        (status, body["resourceType"].as_str()),
        (400, Some("OperationOutcome"))
    );
    let (status, _) = call(
        &hub.app,
        "POST",
        "/admin/identity/merge",
        Some(json!({"from": "a", "into": "a", "reason": "y"})),
    )
    .await;
    assert_eq!(status, 409, "a merge into itself is a cycle");
    let (status, _) = call(
        &hub.app,
        "POST",
        "/admin/identity/merge",
        Some(json!({"from": "a", "into": "b", "by": "someone-else", "reason": "y"})),
    )
    .await;
    assert_eq!(status, 400, "`by` is the principal, never the body's");
    let (status, _) = call(
        &hub.app,
        "GET",
        "/admin/identity/persons/nope/history",
        None,
    )
    .await;
    assert_eq!(status, 404);
}
