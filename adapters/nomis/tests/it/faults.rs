//! Bad input and a failing bus: every notification ends as exactly one envelope or a non-2xx
//! answer the source retries; nothing panics, nothing is dropped.

use crate::common;

use std::time::Duration;

use axum::{body::Body, http::Request};
use common::{Harness, MemoryBus, RETRIES, error_code, error_status, fast_push, test_config};
use sha2::{Digest, Sha256};
use tower::ServiceExt;
use waymark_adapter_nomis::{
    FAILING_PRISONER, Faults, ListenerState, MAX_BODY_BYTES, Population, PushOptions, Pusher,
    UNKNOWN_PRISONER, UNPARSEABLE, router,
};
use waymark_core::{Envelope, MessageId, SourceSystem};

fn envelope_for<'a>(envelopes: &'a [Envelope], body: &[u8]) -> &'a Envelope {
    let found: Vec<_> = envelopes
        .iter()
        .filter(|e| e.payload.expose().as_slice() == body)
        .collect();
    assert_eq!(found.len(), 1);
    found[0]
}

#[tokio::test]
async fn a_failing_bus_gets_503_and_the_redelivery_is_published_exactly_once() {
    let harness = Harness::start(Population::synthetic(1, 1)).await;
    harness.bus.fail_next(2);
    let body = harness.mock.population().notifications()[0].body.clone();
    let report = harness.push(&[&body]).await;

    assert_eq!(report.outcomes[0].attempts, 3, "two 503s, then the ack");
    assert_eq!((report.acknowledged, report.failed), (1, 0));
    assert_eq!(harness.bus.calls().len(), 3);
    assert_eq!(harness.bus.envelopes().len(), 1);
    harness.stop().await;
}

#[tokio::test]
async fn an_outage_longer_than_the_retries_is_never_acknowledged() {
    let harness = Harness::start(Population::synthetic(1, 1)).await;
    harness.bus.fail_next(100);
    let body = harness.mock.population().notifications()[0].body.clone();
    let pusher = Pusher::new(
        harness.adapter.endpoint(),
        PushOptions {
            max_attempts: 3,
            ..fast_push()
        },
    );
    let report = pusher.push([body.as_slice()]).await;
    assert_eq!(report.outcomes[0].last_status, Some(503));
    assert_eq!(
        (report.acknowledged, report.failed, report.attempts),
        (0, 1, 3)
    );
    assert!(harness.bus.envelopes().is_empty());
    harness.stop().await;
}

#[tokio::test]
async fn each_injected_fault_is_published_with_its_documented_error() {
    let population = Population::synthetic(5, 3).with_faults(Faults { bad_events: true });
    let harness = Harness::start(population).await;
    let report = harness.push_all().await;
    assert_eq!(
        report.acknowledged, report.sent,
        "flawed notifications are still acked"
    );
    let envelopes = harness.bus.envelopes();
    let scripted = harness.mock.population().notifications();
    let by_label = |label: &str| {
        let n = scripted.iter().find(|n| n.label == label).unwrap();
        (envelope_for(&envelopes, &n.body), n.body.clone())
    };

    let (malformed, body) = by_label("malformed-json");
    assert_eq!(malformed.message_type, UNPARSEABLE);
    assert_eq!(error_code(malformed).as_deref(), Some("nomis.parse.body"));
    assert_eq!(
        malformed.context.expose()["error"]["status"],
        serde_json::Value::Null
    );
    let key = hex::encode(Sha256::digest(&body));
    assert_eq!(malformed.id, MessageId::derive(SourceSystem::Nomis, &key));
    assert_eq!(
        (malformed.event_time, malformed.content_type.as_str()),
        (None, "application/octet-stream")
    );

    let (unknown, _) = by_label("unknown-prisoner");
    assert_eq!(unknown.message_type, "EXTERNAL_MOVEMENT_RECORD-INSERTED");
    assert_eq!(
        error_code(unknown).as_deref(),
        Some("nomis.prison-api.not-found")
    );
    assert_eq!(error_status(unknown), Some(404));
    assert!(unknown.event_time.is_some());
    let unknown_path = format!("/api/prisoners/{UNKNOWN_PRISONER}/full-status");
    assert_eq!(harness.mock.hits(&unknown_path), 1, "a 404 is not retried");

    let (failing, _) = by_label("prison-api-500");
    assert_eq!(
        error_code(failing).as_deref(),
        Some("nomis.prison-api.status")
    );
    assert_eq!(error_status(failing), Some(500));
    let failing_path = format!("/api/prisoners/{FAILING_PRISONER}/full-status");
    assert_eq!(
        harness.mock.hits(&failing_path),
        1 + RETRIES as usize,
        "a 500 is retried"
    );

    let (oversized, body) = by_label("oversized");
    assert!(body.len() > 2_900_000);
    assert_eq!(oversized.message_type, "OFFENDER-UPDATED");
    assert_eq!(error_code(oversized).as_deref(), Some("nomis.too-large"));
    assert_eq!(oversized.payload.expose().len(), body.len());
    harness.stop().await;
}

fn oneshot_state(bus: &std::sync::Arc<MemoryBus>, prison_api_url: String) -> ListenerState {
    let config = test_config(prison_api_url);
    ListenerState::new(
        bus.publisher(),
        config.prison_api().unwrap(),
        config.max_enrich_bytes,
    )
}

fn sns_post(kind: &str, body: Vec<u8>) -> Request<Body> {
    Request::post("/sns")
        .header("x-amz-sns-message-type", kind)
        .body(Body::from(body))
        .unwrap()
}

#[tokio::test]
async fn a_body_over_16_mib_is_refused_with_413_and_nothing_is_published() {
    let bus = MemoryBus::new();
    let app = router(oneshot_state(&bus, "http://127.0.0.1:9".into()));
    let huge = vec![b' '; MAX_BODY_BYTES + 1];
    let response = app
        .clone()
        .oneshot(sns_post("Notification", huge))
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 413);
    assert!(bus.calls().is_empty());

    let at_limit = vec![b' '; MAX_BODY_BYTES];
    let response = app
        .oneshot(sns_post("Notification", at_limit))
        .await
        .unwrap();
    assert_eq!(
        response.status().as_u16(),
        200,
        "exactly 16 MiB is accepted (and quarantined)"
    );
    assert_eq!(bus.envelopes()[0].message_type, UNPARSEABLE);
}

#[tokio::test]
async fn subscription_confirmations_are_answered_and_not_published() {
    let bus = MemoryBus::new();
    let app = router(oneshot_state(&bus, "http://127.0.0.1:9".into()));
    for kind in ["SubscriptionConfirmation", "UnsubscribeConfirmation"] {
        let body = br#"{"Type":"SubscriptionConfirmation","Token":"t"}"#.to_vec();
        let response = app.clone().oneshot(sns_post(kind, body)).await.unwrap();
        assert_eq!(response.status().as_u16(), 200);
    }
    assert!(bus.calls().is_empty());
}

#[tokio::test]
async fn a_bus_refusing_the_size_gets_413_not_an_ack() {
    let bus = MemoryBus::new();
    bus.refuse_over(10);
    let app = router(oneshot_state(&bus, "http://127.0.0.1:9".into()));
    let response = app
        .oneshot(sns_post("Notification", b"{}".to_vec()))
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 413);
    assert!(bus.envelopes().is_empty());
}

fn notification(message: &str) -> Vec<u8> {
    serde_json::json!({"Type": "Notification", "MessageId": "m-1", "Message": message})
        .to_string()
        .into_bytes()
}

#[tokio::test]
async fn an_unreachable_prison_api_and_an_unusable_prison_number_are_published_with_errors() {
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let closed_url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let bus = MemoryBus::new();
    let app = router(oneshot_state(&bus, closed_url));
    let cases = [
        (
            r#"{"eventType":"OFFENDER-UPDATED","offenderIdDisplay":"A1234BC"}"#,
            "nomis.prison-api.unreachable",
        ),
        (
            r#"{"eventType":"OFFENDER-UPDATED","offenderIdDisplay":"../../admin"}"#,
            "nomis.unresolvable",
        ),
        (r#"{"eventType":"OFFENDER-UPDATED"}"#, "nomis.unresolvable"),
    ];
    for (message, _) in cases {
        let response = app
            .clone()
            .oneshot(sns_post("Notification", notification(message)))
            .await;
        assert_eq!(response.unwrap().status().as_u16(), 200);
    }
    let envelopes = bus.envelopes();
    for ((_, code), envelope) in cases.iter().zip(&envelopes) {
        assert_eq!(error_code(envelope).as_deref(), Some(*code));
        assert_eq!(envelope.message_type, "OFFENDER-UPDATED");
        assert_eq!(error_status(envelope), None);
    }
}

#[tokio::test]
async fn hostile_bodies_never_panic_and_are_all_published() {
    let bus = MemoryBus::new();
    let app = router(oneshot_state(&bus, "http://127.0.0.1:9".into()));
    let deep = "[".repeat(100_000);
    let bodies: Vec<Vec<u8>> = vec![
        Vec::new(),
        b"null".to_vec(),
        vec![0xff, 0xfe, 0x00, 0x80],
        deep.into_bytes(),
        notification(&"{".repeat(50_000)),
        notification(
            r#"{"eventType":"OFFENDER-UPDATED","eventDatetime":"2020-13-45T99:00:00","bookingId":"x"}"#,
        ),
        notification(r#"{"eventType":"OFFENDER-UPDATED","bookingId":-5}"#),
        br#"{"Type":"Notification","MessageId":7,"Message":{}}"#.to_vec(),
    ];
    for body in &bodies {
        let response = app
            .clone()
            .oneshot(sns_post("Notification", body.clone()))
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
    }
    let envelopes = bus.envelopes();
    assert_eq!(envelopes.len(), bodies.len());
    for (body, envelope) in bodies.iter().zip(&envelopes) {
        assert_eq!(envelope.payload.expose(), body);
        assert!(error_code(envelope).is_some());
    }
    assert_eq!(
        envelopes[5].event_time, None,
        "an impossible date is dropped, not guessed"
    );
}

#[tokio::test]
async fn the_adapter_stops_on_the_shutdown_signal() {
    let harness = Harness::start(Population::synthetic(2, 1)).await;
    let endpoint = harness.adapter.endpoint();
    tokio::time::timeout(Duration::from_secs(10), harness.stop())
        .await
        .unwrap();
    let refused = reqwest::Client::new()
        .post(endpoint)
        .body("{}")
        .send()
        .await;
    assert!(refused.is_err(), "nothing listens after stop");
}
