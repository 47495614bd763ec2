//! The CloudEvents signal mode, the handshake, and the `$status` / `$events` bundles.

use crate::common;

use std::sync::Arc;

use chrono::Utc;
use common::{MemBus, event, eventually, patient_id, releasable, subscription};
use serde_json::Value;
use waymark_bus::Bus;
use waymark_core::Role;
use waymark_delivery::{
    DeliveryOutcome, EventFacts, Filter, FilterName, PayloadMode, RestHook, RestHookConfig,
    SubscriptionStatus, events_bundle, mock::MockReceiver, queue_spec, status_bundle,
};

fn param<'a>(bundle: &'a Value, entry: usize, name: &str) -> &'a Value {
    bundle["entry"][entry]["resource"]["parameter"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap()
}

/// A signal subscription gets a CloudEvents 1.0 JSON body naming the event type and the
/// Patient, never a resource, sent as `application/cloudevents+json` and signed as usual.
#[tokio::test]
async fn signal_mode_sends_cloudevents_with_type_and_subject_only() {
    let mock = MockReceiver::start(vec![common::secret(1)]).await.unwrap();
    let sub = subscription(&mock.url(), PayloadMode::Signal, Role::PrisonHealthcare);
    let bus = Arc::new(MemBus::new());
    bus.declare(&queue_spec(&sub)).await.unwrap();
    let released = releasable(5, &sub.recipient);
    waymark_delivery::enqueue(bus.as_ref(), &sub, &event(3, 5), released)
        .await
        .unwrap();
    let worker = common::start_worker(bus.clone(), &sub);
    assert!(eventually(5, || mock.received().len() == 1).await);
    worker.stop().await;
    let got = &mock.received()[0];
    assert_eq!(got.content_type, "application/cloudevents+json");
    let ce = &got.body;
    assert_eq!(ce["specversion"], "1.0");
    assert_eq!(ce["id"], got.webhook_id.as_str());
    assert_eq!(ce["id"], event(3, 5).event_id.child(&sub.id).as_str());
    assert_eq!(ce["source"], "https://fhir.waymark.org.uk");
    assert_eq!(ce["type"], "uk.org.waymark.prison.reception");
    assert_eq!(ce["subject"], format!("Patient/{}", patient_id(5)));
    assert_eq!(ce["time"], "2024-03-01T10:00:03.000Z");
    assert_eq!(ce["datacontenttype"], "application/json");
    assert_eq!(ce["data"]["subscription"], sub.id.as_str());
    assert_eq!(ce["data"]["eventNumber"], 3);
    let text = ce.to_string();
    assert!(!text.contains("CANARY-DIAGNOSIS") && !text.contains("self-harm"));
    assert!(!text.contains("resourceType"), "no resources: {text}");
    assert!(
        mock.gaps()[&sub.id] == [1, 2],
        "event numbers still reveal gaps"
    );
}

/// The handshake on creation reaches the endpoint signed, typed `handshake`, and is filed apart
/// from notifications; in signal mode it is a CloudEvent too. A wrong secret is refused.
#[tokio::test]
async fn handshake_is_signed_and_recognised() {
    let mock = MockReceiver::start(vec![common::secret(1)]).await.unwrap();
    let hook = RestHook::new(&RestHookConfig::default()).unwrap();
    let mut sub = subscription(&mock.url(), PayloadMode::IdOnly, Role::Probation);
    sub.status = SubscriptionStatus::Requested;
    let outcome = hook.handshake(&sub, Utc::now()).await;
    assert_eq!(outcome, DeliveryOutcome::Delivered { status: 200 });
    let shake = &mock.handshakes()[0];
    assert_eq!(param(&shake.body, 0, "type")["valueCode"], "handshake");
    assert_eq!(param(&shake.body, 0, "status")["valueCode"], "requested");
    assert_eq!(shake.webhook_id, shake.body["id"].as_str().unwrap());
    assert!(mock.received().is_empty());

    let signal = subscription(&mock.url(), PayloadMode::Signal, Role::Probation);
    assert_eq!(
        hook.handshake(&signal, Utc::now()).await,
        DeliveryOutcome::Delivered { status: 200 }
    );
    let shake = &mock.handshakes()[1];
    assert_eq!(shake.body["type"], "uk.org.waymark.subscription.handshake");
    assert_eq!(shake.content_type, "application/cloudevents+json");

    let mut wrong = sub.clone();
    wrong.secret = common::secret(2).into();
    let outcome = hook.handshake(&wrong, Utc::now()).await;
    assert_eq!(
        outcome,
        DeliveryOutcome::Rejected {
            reason: "http 401".into()
        }
    );
    assert_eq!(mock.handshakes().len(), 2);
}

#[test]
fn status_and_events_bundles_have_the_backport_shape() {
    let sub = subscription(
        "https://h.example/x",
        PayloadMode::FullResource,
        Role::Probation,
    );
    let status = status_bundle(&sub, 42);
    assert_eq!(status["type"], "searchset");
    assert_eq!(param(&status, 0, "type")["valueCode"], "query-status");
    assert_eq!(param(&status, 0, "status")["valueCode"], "active");
    assert_eq!(
        param(&status, 0, "events-since-subscription-start")["valueString"],
        "42"
    );
    assert_eq!(
        param(&status, 0, "subscription")["valueReference"]["reference"],
        "Subscription/hmp-test-reception"
    );

    let events = [event(7, 1), event(8, 2)];
    let answer = events_bundle(&sub, &events, 9);
    assert_eq!(answer["type"], "history");
    assert_eq!(param(&answer, 0, "type")["valueCode"], "query-event");
    assert_eq!(
        answer["entry"].as_array().unwrap().len(),
        1,
        "id-only: no resources"
    );
    let parts: Vec<&Value> = answer["entry"][0]["resource"]["parameter"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["name"] == "notification-event")
        .collect();
    assert_eq!(parts.len(), 2);
    assert_eq!(parts[1]["part"][0]["valueString"], "8");
    assert_eq!(
        parts[1]["part"][2]["valueReference"]["reference"],
        format!("Patient/{}", patient_id(2))
    );
    assert_eq!(answer, events_bundle(&sub, &events, 9), "deterministic");
    let mut off = sub.clone();
    off.enabled = false;
    assert_eq!(
        param(&status_bundle(&off, 0), 0, "status")["valueCode"],
        "off"
    );
}

#[test]
fn filters_narrow_what_matches() {
    let mut sub = subscription("https://h.example/x", PayloadMode::IdOnly, Role::Probation);
    let facts = EventFacts {
        establishment: Some("LEI".into()),
        identifiers: vec![(
            "https://fhir.nhs.uk/Id/nhs-number".into(),
            "9434765919".into(),
        )],
    };
    assert!(sub.matches(&facts), "no filters: every event");
    sub.filters.push(Filter {
        name: FilterName::Establishment,
        value: "LEI".to_owned().into(),
    });
    assert!(sub.matches(&facts));
    assert!(!sub.matches(&EventFacts::default()));
    sub.filters.push(Filter {
        name: FilterName::PatientIdentifier,
        value: "https://fhir.nhs.uk/Id/nhs-number|9434765870"
            .to_owned()
            .into(),
    });
    assert!(!sub.matches(&facts), "every filter must match");
    assert!(sub.validate().is_ok());
}
