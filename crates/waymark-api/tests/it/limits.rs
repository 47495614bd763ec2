//! Hostile requests at the API (oneshot through the whole router: auth, audit, handlers): a
//! body over the API's limit (`waymark_api::MAX_BODY_BYTES`, 1 MiB) is refused unread with 413,
//! a body nested 100,000 deep a 400 (serde_json stops at depth 128: no stack overflow), a huge
//! array a refusal, a query of 5,000 parameters an answer. Each fast; the figures are printed.

use std::time::{Duration, Instant};

use axum::{body::Body, http::Request};
use http_body_util::BodyExt;
use tower::ServiceExt;
use waymark_core::Role;

use crate::fhir_world::World;

/// Sends raw bytes; the status, the body and how long it took.
async fn send(
    w: &World,
    method: &str,
    uri: &str,
    token: &str,
    body: Vec<u8>,
) -> (u16, String, Duration) {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/fhir+json")
        .body(Body::from(body))
        .unwrap();
    let started = Instant::now();
    let response = w.app.clone().oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        String::from_utf8_lossy(&bytes).into_owned(),
        started.elapsed(),
    )
}

#[tokio::test]
async fn hostile_bodies_and_queries_are_refused_fast() {
    let w = World::new().await;
    let nurse = w.token(Role::CustodyHealthcare, true);
    let engineer = w.token(Role::IntegrationEngineer, true);

    let big = [
        br#"{"resourceType":"Consent","id":""#.as_slice(),
        &vec![b'x'; 3 << 20],
        b"\"}",
    ]
    .concat();
    let (status, text, took) = send(&w, "POST", "/fhir/Consent", &nurse, big.clone()).await;
    eprintln!("api: 3 MiB Consent: {status} in {took:?}");
    assert_eq!(
        status, 413,
        "refused unread past waymark_api::MAX_BODY_BYTES"
    );
    assert!(
        text.contains("OperationOutcome") && !text.contains("xxxx"),
        "{text}"
    );
    let (status, _, took) = send(
        &w,
        "POST",
        "/admin/mappings/dry-run",
        &engineer,
        big.clone(),
    )
    .await;
    eprintln!("api: 3 MiB dry-run body: {status} in {took:?}");
    assert_eq!(status, 413);
    let (status, text, took) = send(&w, "POST", "/fhir/Subscription", &engineer, big).await;
    eprintln!("api: 3 MiB Subscription: {status} in {took:?}");
    assert_eq!(status, 413);
    assert!(text.contains("api.body-too-large"), "{text}");

    let deep = vec![b'['; 100_000];
    let (status, text, took) = send(&w, "POST", "/fhir/Consent", &nurse, deep.clone()).await;
    eprintln!("api: 100,000 `[` Consent: {status} in {took:?}");
    assert_eq!(status, 400);
    assert!(text.contains("OperationOutcome"), "{text}");
    let (status, _, took) = send(&w, "POST", "/admin/mappings/dry-run", &engineer, deep).await;
    eprintln!("api: 100,000 `[` dry-run: {status} in {took:?}");
    assert!((400..500).contains(&status), "{status}");

    let array = format!(
        r#"{{"resourceType":"Consent","id":"c","category":[{}{{}}]}}"#,
        "{},".repeat(500_000)
    );
    let (status, _, took) = send(&w, "POST", "/fhir/Consent", &nurse, array.into_bytes()).await;
    eprintln!("api: Consent with a 500,000-element array: {status} in {took:?}");
    assert!((400..500).contains(&status), "{status}");

    let query: Vec<String> = (0..5_000).map(|n| format!("name=a{n}")).collect();
    let uri = format!("/fhir/Patient?birthdate=1980-01-01&{}", query.join("&"));
    let (status, _, took) = send(&w, "GET", &uri, &nurse, Vec::new()).await;
    eprintln!(
        "api: Patient search with 5,001 parameters ({} bytes): {status} in {took:?}",
        uri.len()
    );
    assert!(status < 500, "{status}");
    assert!(took < Duration::from_secs(30));
}
