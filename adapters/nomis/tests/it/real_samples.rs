//! The real NOMIS samples, pushed by the mock serving the real fixtures, through the real adapter.

use crate::common;

use chrono::{DateTime, Utc};
use common::{Harness, fixtures_dir};
use serde_json::Value;
use sha2::{Digest, Sha256};
use waymark_adapter_nomis::Population;
use waymark_core::{Envelope, MessageId, SourceSystem};

/// (file stem, event type, event time in UTC, prison number, alert count).
const SAMPLES: &[(&str, &str, &str, &str, usize)] = &[
    (
        "bookingReassigned",
        "OFFENDER_BOOKING-REASSIGNED",
        "2020-02-25T10:48:26.606784Z",
        "A6089DX",
        1,
    ),
    (
        "externalMovementIn",
        "EXTERNAL_MOVEMENT_RECORD-INSERTED",
        "2020-01-13T11:33:23.790725Z",
        "A5089DY",
        2,
    ),
    (
        "externalMovementOut",
        "EXTERNAL_MOVEMENT_RECORD-INSERTED",
        "2020-01-13T11:33:23.790725Z",
        "A5089EY",
        0,
    ),
    (
        "imprisonmentStatusChanged",
        "IMPRISONMENT_STATUS-CHANGED",
        "2020-02-12T15:14:24.125533Z",
        "A6089DY",
        1,
    ),
    (
        "offenderDetailsChanged",
        "OFFENDER-UPDATED",
        "2020-02-25T11:24:32.935401Z",
        "A7089EY",
        2,
    ),
];

fn sample_bytes(stem: &str) -> Vec<u8> {
    std::fs::read(fixtures_dir().join(format!("{stem}.json"))).unwrap()
}

/// The id the contract prescribes, computed independently of the adapter.
fn contract_id(body: &[u8]) -> MessageId {
    let notification: Value = serde_json::from_slice(body).unwrap();
    let message = notification["Message"].as_str().unwrap();
    let key = format!(
        "{}:{}",
        notification["MessageId"].as_str().unwrap(),
        hex::encode(Sha256::digest(message.as_bytes()))
    );
    MessageId::derive(SourceSystem::Nomis, &key)
}

fn only_envelope_with_payload<'a>(envelopes: &'a [Envelope], body: &[u8]) -> &'a Envelope {
    let matching: Vec<&Envelope> = envelopes
        .iter()
        .filter(|e| e.payload.expose().as_slice() == body)
        .collect();
    assert_eq!(matching.len(), 1, "one envelope per notification");
    matching[0]
}

#[tokio::test]
async fn every_real_sample_yields_one_enriched_envelope_per_the_contract() {
    let population = Population::from_wiremock_dir(&fixtures_dir()).unwrap();
    assert_eq!(population.expected().sent, SAMPLES.len());
    let harness = Harness::start(population).await;
    let report = harness.push_all().await;
    assert_eq!((report.sent, report.acknowledged, report.failed), (5, 5, 0));
    assert_eq!(report.attempts, 5, "no redelivery was needed");

    let envelopes = harness.bus.envelopes();
    assert_eq!(envelopes.len(), SAMPLES.len());
    for &(stem, event_type, time, prison_number, alert_count) in SAMPLES {
        let body = sample_bytes(stem);
        let envelope = only_envelope_with_payload(&envelopes, &body);
        assert_eq!(envelope.source, SourceSystem::Nomis, "{stem}");
        assert_eq!(envelope.message_type, event_type, "{stem}");
        assert_eq!(
            envelope.event_time,
            Some(time.parse::<DateTime<Utc>>().unwrap()),
            "{stem}"
        );
        assert_eq!(envelope.id, contract_id(&body), "{stem}");
        assert_eq!(envelope.content_type, "application/json");
        let context = envelope.context.expose();
        assert_eq!(context["prisoner"]["nomsId"], prison_number, "{stem}");
        assert_eq!(
            context["alerts"].as_array().unwrap().len(),
            alert_count,
            "{stem}"
        );
        assert!(context.get("error").is_none(), "{stem}");
    }

    let id_of = |stem| {
        only_envelope_with_payload(&envelopes, &sample_bytes(stem))
            .id
            .clone()
    };
    assert_ne!(
        id_of("externalMovementIn"),
        id_of("externalMovementOut"),
        "shared SNS MessageId"
    );
    harness.stop().await;
}

#[tokio::test]
async fn bus_headers_name_source_and_message_type_only() {
    let population = Population::from_wiremock_dir(&fixtures_dir()).unwrap();
    let harness = Harness::start(population).await;
    harness
        .push(&[&sample_bytes("offenderDetailsChanged")])
        .await;
    let messages = harness.bus.messages();
    assert_eq!(messages.len(), 1);
    let headers = &messages[0].headers;
    assert_eq!(headers.get("source").map(String::as_str), Some("nomis"));
    assert_eq!(
        headers.get("message-type").map(String::as_str),
        Some("OFFENDER-UPDATED")
    );
    assert!(messages[0].key.is_none());
    assert!(headers.values().all(|v| !v.contains("A7089EY")));
    harness.stop().await;
}

#[tokio::test]
async fn redelivering_a_notification_yields_the_same_envelope_id() {
    let population = Population::from_wiremock_dir(&fixtures_dir()).unwrap();
    let harness = Harness::start(population).await;
    let body = sample_bytes("externalMovementIn");
    let report = harness.push(&[&body, &body, &body]).await;
    assert_eq!(report.acknowledged, 3, "a duplicate is still acknowledged");

    let calls = harness.bus.calls();
    assert_eq!(calls.len(), 3);
    assert!(calls.iter().all(|id| *id == calls[0]), "{calls:?}");
    assert_eq!(calls[0], contract_id(&body));
    assert_eq!(harness.bus.envelopes().len(), 1, "the bus stored it once");
    harness.stop().await;
}

#[tokio::test]
async fn the_mock_serves_the_wiremock_mappings_as_they_are() {
    let population = Population::from_wiremock_dir(&fixtures_dir()).unwrap();
    let harness = Harness::start(population).await;
    let base = harness.mock.base_url();
    let get = |path: &str| reqwest::get(format!("{base}{path}"));

    let ping = get("/health/ping").await.unwrap();
    assert_eq!(ping.text().await.unwrap(), "pong");
    let booking: Value = get("/api/bookings/1900835")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(booking["offenderNo"], "A6089DY");
    let paged = get("/api/prisoners/by-establishment/MDI?size=2&page=1&sort=nomsId")
        .await
        .unwrap();
    let paged: Value = paged.json().await.unwrap();
    assert_eq!(paged["number"], 1);
    let missing = get("/api/prisoners/A0000AA/full-status").await.unwrap();
    assert_eq!(missing.status().as_u16(), 404);
    assert_eq!(harness.mock.hits("/api/bookings/1900835"), 1);
    harness.stop().await;
}
