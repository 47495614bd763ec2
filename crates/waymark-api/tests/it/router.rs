//! The router without a socket.

use std::sync::Arc;

use axum::{body::Body, http::Request};
use http_body_util::BodyExt;
use tower::ServiceExt;
use waymark_api::{ApiState, router};
use waymark_bus::SqliteBus;
use waymark_mapping::MappingSet;
use waymark_profile::Validator;
use waymark_store::SqliteStore;

async fn get(path: &str) -> (u16, serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("s.db")).await.unwrap();
    let bus = SqliteBus::open(&dir.path().join("b.db")).await.unwrap();
    let mappings_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../mappings");
    let app = router(ApiState {
        store: Arc::new(store),
        bus: Arc::new(bus),
        mappings: Arc::new(MappingSet::load(&mappings_dir).unwrap()),
        validator: Arc::new(Validator::r4().unwrap()),
    });
    let resp = app
        .oneshot(Request::get(path).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap())
}

#[tokio::test]
async fn health_reports_store_counts() {
    let (status, body) = get("/health").await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "ok");
    assert_eq!(body["store"]["quarantined"], 0);
}

#[tokio::test]
async fn unknown_paths_are_operation_outcomes() {
    let (status, body) = get("/nope").await;
    assert_eq!(status, 404);
    assert_eq!(body["resourceType"], "OperationOutcome");
    assert_eq!(body["issue"][0]["code"], "not-found");
}

#[tokio::test]
async fn metadata_is_a_capability_statement() {
    let (status, body) = get("/fhir/metadata").await;
    assert_eq!(status, 200);
    assert_eq!(body["fhirVersion"], "4.0.1");
}
