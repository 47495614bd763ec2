//! `POST /ingest/{source}` without a socket: a source system pushes its native message as
//! itself; the exact bytes are on the ingest queue in the source's envelope before the 202;
//! a repeat is one message; another client, another source, an empty or oversized body, a
//! source that is never pushed and a bus that is down are refused with outcomes; every call is
//! audited.

use std::{sync::Arc, time::Duration};

use axum::{
    body::Body,
    http::{Request, header},
};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;
use waymark_api::{
    auth::{
        AuthConfig, Authenticator, IngestClient,
        dev::{DEV_ISSUER, DevToken},
    },
    ingest::MAX_INGEST_BYTES,
    router,
};
use waymark_bus::Bus;
use waymark_core::{Envelope, Role, SourceSystem};
use waymark_store::verify_log;

use crate::{fhir_world::World, quarantine::DownBus};

const EVENT: &[u8] =
    br#"{"eventId":"evt-42","sequence":42,"kind":"arrival","occurredAt":"2026-03-01T10:00:00Z"}"#;

fn client(source: SourceSystem, subject: &str) -> IngestClient {
    IngestClient {
        source,
        issuer: DEV_ISSUER.to_owned(),
        subject: Some(subject.to_owned()),
        client_id: None,
    }
}

/// A world whose auth config maps `athena-feed` to Athena and `scr-feed` to the SCR.
async fn world() -> World {
    let mut w = World::new().await;
    let mut config = w.dev.issuer.development_config();
    config.ingest = vec![
        client(SourceSystem::Athena, "athena-feed"),
        client(SourceSystem::Scr, "scr-feed"),
    ];
    let auth = Authenticator::new(config, w.dev.revocations.clone()).unwrap();
    w.state.auth = Arc::new(auth);
    w.app = router(w.state.clone());
    w
}

fn token(w: &World, subject: &str) -> String {
    let token = DevToken {
        subject: subject.to_owned(),
        role: Role::IntegrationEngineer,
        registered: false,
        organisation: "ATHENA-FORCE".to_owned(),
        ttl_secs: 600,
    };
    w.dev
        .issuer
        .issue(&token, chrono::Utc::now().timestamp())
        .unwrap()
}

async fn push(app: &axum::Router, source: &str, token: &str, body: Vec<u8>) -> (u16, Value) {
    let request = Request::post(format!("/ingest/{source}"))
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .body(Body::from(body))
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_pushes_its_message_and_it_is_on_the_ingest_queue_before_the_202() {
    let w = world().await;
    let athena = token(&w, "athena-feed");
    let (status, answer) = push(&w.app, "athena", &athena, EVENT.to_vec()).await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(answer["duplicate"], false);
    let delivery = w
        .bus
        .receive(waymark_pipeline::INGEST, Duration::ZERO)
        .await
        .unwrap()
        .expect("published before the answer");
    let envelope = Envelope::from_bytes(delivery.message.body.expose()).unwrap();
    assert_eq!(envelope.source, SourceSystem::Athena);
    assert_eq!(envelope.message_type, "arrival");
    assert_eq!(
        envelope.payload.expose().as_slice(),
        EVENT,
        "the bytes, untouched"
    );
    assert_eq!(answer["id"], envelope.id.as_str());
    w.bus.ack(&delivery).await.unwrap();

    let (status, again) = push(&w.app, "athena", &athena, EVENT.to_vec()).await;
    assert_eq!((status, &again["duplicate"]), (202, &Value::Bool(true)));
    assert_eq!(again["id"], answer["id"], "the id is the source's own key");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_that_sources_client_pushes_and_bad_bodies_are_outcomes() {
    let w = world().await;
    let athena = token(&w, "athena-feed");
    let cases = [
        ("excelicare", token(&w, "athena-feed"), EVENT.to_vec(), 403),
        ("athena", token(&w, "someone-else"), EVENT.to_vec(), 403),
        ("athena", w.dev.engineer(), EVENT.to_vec(), 403),
        ("nowhere", athena.clone(), EVENT.to_vec(), 404),
        ("athena", athena.clone(), Vec::new(), 400),
        (
            "athena",
            athena.clone(),
            vec![b' '; MAX_INGEST_BYTES + 1],
            413,
        ),
        ("scr", token(&w, "scr-feed"), EVENT.to_vec(), 422),
    ];
    let n = cases.len();
    for (source, token, body, want) in cases {
        let (status, answer) = push(&w.app, source, &token, body).await;
        assert_eq!(status, want, "{source}: {answer}");
        assert_eq!(answer["resourceType"], "OperationOutcome", "{source}");
    }
    let (status, _) = push(&w.app, "athena", "not-a-token", EVENT.to_vec()).await;
    assert_eq!(status, 401);
    let depth = w.bus.depth(waymark_pipeline::INGEST).await.unwrap();
    assert_eq!(depth.total(), 0, "nothing refused was published");
    let audited = verify_log(w.store.as_ref(), 100).await.unwrap().unwrap();
    assert_eq!(
        audited.count,
        u64::try_from(n).unwrap() + 1,
        "every call audited"
    );
}

#[tokio::test]
async fn a_bus_that_is_down_is_a_503_never_a_202() {
    let mut w = world().await;
    w.state.bus = Arc::new(DownBus(w.bus.clone()));
    w.app = router(w.state.clone());
    let (status, answer) = push(&w.app, "athena", &token(&w, "athena-feed"), EVENT.to_vec()).await;
    assert_eq!(status, 503, "{answer}");
    assert_eq!(answer["issue"][0]["code"], "transient");
}

#[test]
fn an_ingest_client_must_name_who_it_is_and_a_listed_issuer() {
    let issuer = waymark_api::auth::dev::DevIssuer::generate().unwrap();
    let with = |c: IngestClient| -> AuthConfig {
        let mut config = issuer.development_config();
        config.ingest = vec![c];
        config
    };
    assert!(with(client(SourceSystem::Athena, "a")).validate().is_ok());
    let mut nobody = client(SourceSystem::Athena, "a");
    nobody.subject = None;
    assert!(with(nobody).validate().is_err());
    let mut elsewhere = client(SourceSystem::Athena, "a");
    elsewhere.issuer = "https://unknown.example".to_owned();
    assert!(with(elsewhere).validate().is_err());
}
