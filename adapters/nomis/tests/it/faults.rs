//! Bad input, a failing bus and a failing Prison API: every notification ends as exactly one
//! envelope or a non-2xx answer the source retries; nothing panics, nothing is dropped, and a
//! Prison API outage delays notifications (503) instead of parking them unenriched.

use crate::common;

use std::time::Duration;

use axum::{body::Body, http::Request};
use chrono::Utc;
use common::{Harness, MemoryBus, RETRIES, error_code, error_status, fast_push, test_config};
use sha2::{Digest, Sha256};
use tower::ServiceExt;
use waymark_adapter_nomis::{
    FAILING_PRISONER, Faults, ListenerState, MAX_BODY_BYTES, Population, PushOptions, Pusher,
    UNKNOWN_PRISONER, UNPARSEABLE, offline_envelope, parse_notification, router,
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

    let (failing, _) = by_label("prison-api-403");
    assert_eq!(
        error_code(failing).as_deref(),
        Some("nomis.prison-api.status")
    );
    assert_eq!(error_status(failing), Some(403));
    let failing_path = format!("/api/prisoners/{FAILING_PRISONER}/full-status");
    assert_eq!(harness.mock.hits(&failing_path), 1, "a 403 is not retried");
    let s = harness.adapter.telemetry().snapshot();
    assert_eq!((s.retried, s.enrich_deferred, s.flawed), (0, 0, 4), "{s:?}");

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
async fn an_unreachable_prison_api_gets_503_and_an_unusable_prison_number_is_published() {
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let closed_url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let bus = MemoryBus::new();
    let config = test_config(closed_url);
    let api = config.prison_api().unwrap();
    let telemetry = api.telemetry().clone();
    let app = router(ListenerState::new(
        bus.publisher(),
        api,
        config.max_enrich_bytes,
    ));
    let unreachable = r#"{"eventType":"OFFENDER-UPDATED","offenderIdDisplay":"A1234BC"}"#;
    let response = app
        .clone()
        .oneshot(sns_post("Notification", notification(unreachable)))
        .await;
    assert_eq!(response.unwrap().status().as_u16(), 503, "not acked");
    assert!(bus.calls().is_empty(), "nothing published");

    let unresolvable = [
        r#"{"eventType":"OFFENDER-UPDATED","offenderIdDisplay":"../../admin"}"#,
        r#"{"eventType":"OFFENDER-UPDATED"}"#,
    ];
    for message in unresolvable {
        let response = app
            .clone()
            .oneshot(sns_post("Notification", notification(message)))
            .await;
        assert_eq!(response.unwrap().status().as_u16(), 200);
    }
    let envelopes = bus.envelopes();
    assert_eq!(envelopes.len(), unresolvable.len());
    for envelope in &envelopes {
        assert_eq!(error_code(envelope).as_deref(), Some("nomis.unresolvable"));
        assert_eq!(envelope.message_type, "OFFENDER-UPDATED");
        assert_eq!(error_status(envelope), None);
    }
    let s = telemetry.snapshot();
    assert_eq!(
        (s.enrich_deferred, s.unacked, s.published),
        (1, 0, 2),
        "{s:?}"
    );
    assert_eq!(s.retried, u64::from(RETRIES));
}

/// The `full-status` path a notification's enrichment asks for (the body names the prisoner).
fn full_status_path(body: &[u8]) -> String {
    let notification = parse_notification(body).unwrap();
    let number = notification.event.prison_number.unwrap();
    format!("/api/prisoners/{}/full-status", number.expose())
}

#[tokio::test]
async fn a_prison_api_outage_gets_503_until_it_ends_then_one_enriched_envelope() {
    let harness = Harness::start(Population::synthetic(1, 1)).await;
    let script = harness.mock.population().notifications();
    let body = script
        .iter()
        .find(|n| {
            parse_notification(&n.body)
                .unwrap()
                .event
                .prison_number
                .is_some()
        })
        .unwrap()
        .body
        .clone();
    let path = full_status_path(&body);
    let per_delivery = 1 + RETRIES as usize;
    harness.mock.fail_next(path.clone(), 2 * per_delivery, 503);
    let once = PushOptions {
        max_attempts: 1,
        ..fast_push()
    };
    let pusher = Pusher::new(harness.adapter.endpoint(), once);
    for delivery in 1..=2 {
        let outcome = pusher.push_one(&body).await;
        assert_eq!(outcome.last_status, Some(503), "delivery {delivery}");
        assert!(harness.bus.calls().is_empty(), "nothing published yet");
        assert_eq!(harness.mock.hits(&path), delivery * per_delivery);
    }
    let s = harness.adapter.telemetry().snapshot();
    assert_eq!(
        (s.enrich_deferred, s.published, s.flawed),
        (2, 0, 0),
        "{s:?}"
    );

    let outcome = pusher.push_one(&body).await;
    assert_eq!(outcome.last_status, Some(200), "the redelivery is acked");
    let envelopes = harness.bus.envelopes();
    assert_eq!(envelopes.len(), 1);
    let envelope = &envelopes[0];
    assert_eq!(error_code(envelope), None, "enriched, not parked");
    assert!(envelope.context.expose()["prisoner"].is_object());
    assert!(envelope.context.expose()["alerts"].is_array());
    assert_eq!(envelope.payload.expose(), &body);
    let id = offline_envelope(body.clone(), Utc::now(), serde_json::Value::Null).id;
    assert_eq!(envelope.id, id, "the same message id");
    println!(
        "outage: 2 deliveries answered 503 ({} Prison API requests), the third enriched",
        2 * per_delivery
    );
    harness.stop().await;
}

#[tokio::test]
async fn every_notification_arrives_enriched_through_a_prison_api_outage() {
    let harness = Harness::start(Population::synthetic(3, 6)).await;
    harness.mock.fail_next("/api/", 12, 503);
    harness.mock.fail_next("/api/", 3, 429);
    let patient = PushOptions {
        max_attempts: 12,
        ..fast_push()
    };
    let report = harness
        .mock
        .push_to(&harness.adapter.endpoint(), patient)
        .await;
    assert_eq!((report.acknowledged, report.failed), (report.sent, 0));
    let envelopes = harness.bus.envelopes();
    assert_eq!(
        envelopes.len(),
        report.sent,
        "one envelope per notification"
    );
    for envelope in &envelopes {
        assert_eq!(error_code(envelope), None, "{}", envelope.message_type);
        assert!(envelope.context.expose()["prisoner"].is_object());
    }
    let s = harness.adapter.telemetry().snapshot();
    let redelivered = (report.attempts - report.sent) as u64;
    assert!(s.enrich_deferred > 0, "{s:?}");
    assert_eq!(s.enrich_deferred, redelivered, "every 503 was a deferral");
    assert_eq!((s.flawed, s.unacked), (0, 0));
    println!(
        "outage: {} notifications, {} deliveries deferred (503), {} Prison API retries, all enriched",
        report.sent, s.enrich_deferred, s.retried
    );
    harness.stop().await;
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
