//! The router without a socket.

use std::sync::Arc;

use axum::{body::Body, http::Request};
use http_body_util::BodyExt;
use tower::ServiceExt;
use waymark_api::{fhir::ENDPOINTS, router};
use waymark_bus::SqliteBus;
use waymark_store::SqliteStore;

use crate::support::{Dev, repo_parts, state};

async fn get(path: &str) -> (u16, serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("s.db")).await.unwrap();
    let bus = SqliteBus::open(&dir.path().join("b.db")).await.unwrap();
    let (mappings, validator) = repo_parts();
    let dev = Dev::new();
    let app = router(state(
        Arc::new(store),
        Arc::new(bus),
        mappings,
        validator,
        &dev,
    ));
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
async fn metadata_lists_exactly_the_served_endpoints() {
    let (status, body) = get("/fhir/metadata").await;
    assert_eq!(status, 200);
    assert_eq!(body["fhirVersion"], "4.0.1");
    assert_eq!(body, waymark_api::fhir::capability_statement());
    let resources = body["rest"][0]["resource"].as_array().unwrap();
    let listed: usize = resources
        .iter()
        .map(|r| {
            r["interaction"].as_array().map_or(0, Vec::len)
                + r["operation"].as_array().map_or(0, Vec::len)
        })
        .sum();
    assert_eq!(
        listed,
        ENDPOINTS.len(),
        "one capability per served endpoint"
    );
    for endpoint in ENDPOINTS {
        let resource = resources
            .iter()
            .find(|r| r["type"] == endpoint.resource())
            .unwrap_or_else(|| panic!("{endpoint:?} not listed"));
        for (name, _) in endpoint.search_params() {
            assert!(
                resource["searchParam"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|p| p["name"] == *name),
                "{endpoint:?} {name}"
            );
        }
    }
}

#[tokio::test]
async fn every_listed_endpoint_is_routed() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("s.db")).await.unwrap();
    let bus = SqliteBus::open(&dir.path().join("b.db")).await.unwrap();
    let (mappings, validator) = repo_parts();
    let dev = Dev::new();
    let token = dev.token(waymark_core::Role::CustodyHealthcare, true, "ORG01");
    let app = router(state(
        Arc::new(store),
        Arc::new(bus),
        mappings,
        validator,
        &dev,
    ));
    for endpoint in ENDPOINTS {
        let uri = endpoint.path().replace("{id}", "x");
        let request = Request::builder()
            .method(endpoint.method())
            .uri(&uri)
            .header("authorization", format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap();
        let resp = app.clone().oneshot(request).await.unwrap();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains("no such endpoint"), "{uri} is not routed");
    }
    let (status, _) = get("/fhir/Observation").await;
    assert_eq!(status, 404, "what is not listed is not served");
}
