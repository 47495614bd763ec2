//! `enqueue` and `run_deliveries` end to end, with the in-memory bus double and the mock
//! receiver on loopback.

use crate::common;

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use common::{MemBus, event, event_of, eventually, patient_id, releasable, subscription};
use waymark_bus::{Bus, Published, QueueSpec};
use waymark_core::{ErrorCode, Role};
use waymark_delivery::{
    DeliveryEvent, EnqueueError, PayloadMode, Subscription, mock::MockReceiver, queue_name,
    queue_spec,
};

async fn declared(sub: &Subscription) -> Arc<MemBus> {
    let bus = Arc::new(MemBus::new());
    bus.declare(&queue_spec(sub)).await.unwrap();
    bus
}

/// Releases patient `person`'s bundle to the subscription's recipient and enqueues event `n`.
async fn put(
    bus: &MemBus,
    sub: &Subscription,
    n: u64,
    person: u64,
) -> Result<Published, EnqueueError> {
    waymark_delivery::enqueue(
        bus,
        sub,
        &event(n, person),
        releasable(person, &sub.recipient),
    )
    .await
}

fn start(bus: &Arc<MemBus>, sub: &Subscription) -> common::Worker {
    common::start_worker(bus.clone(), sub)
}

#[tokio::test]
async fn enqueueing_the_same_event_twice_stores_one_message() {
    let sub = subscription(
        "https://example.invalid/hook",
        PayloadMode::FullResource,
        Role::Probation,
    );
    let bus = declared(&sub).await;
    assert_eq!(put(&bus, &sub, 1, 1).await.unwrap(), Published::New);
    assert_eq!(put(&bus, &sub, 1, 1).await.unwrap(), Published::Duplicate);
    let depth = bus.depth(&queue_name(&sub.id)).await.unwrap();
    assert_eq!(depth.total(), 1);
    let bodies = bus.bodies(&queue_name(&sub.id));
    let body: serde_json::Value = serde_json::from_slice(&bodies[0]).unwrap();
    assert_eq!(body["type"], "history");
    assert!(!String::from_utf8_lossy(&bodies[0]).contains("CANARY-DIAGNOSIS"));
}

#[tokio::test]
async fn enqueue_refuses_a_bundle_released_for_someone_else() {
    let sub = subscription(
        "https://example.invalid/hook",
        PayloadMode::FullResource,
        Role::Probation,
    );
    let bus = declared(&sub).await;
    let for_healthcare = releasable(1, &common::recipient(Role::PrisonHealthcare));
    let err = waymark_delivery::enqueue(bus.as_ref(), &sub, &event(1, 1), for_healthcare).await;
    assert_eq!(err.unwrap_err().code(), "delivery.recipient-mismatch");

    let other_patient = releasable(2, &sub.recipient);
    let err = waymark_delivery::enqueue(bus.as_ref(), &sub, &event(1, 1), other_patient).await;
    assert!(matches!(err, Err(EnqueueError::PatientMismatch(_))));

    let mut wrong_topic = event(1, 1);
    wrong_topic.topic = "prison.release".into();
    let released = releasable(1, &sub.recipient);
    let err = waymark_delivery::enqueue(bus.as_ref(), &sub, &wrong_topic, released).await;
    assert_eq!(err.unwrap_err().code(), "delivery.topic-mismatch");

    let mut disabled = sub.clone();
    disabled.enabled = false;
    let err = put(&bus, &disabled, 1, 1).await;
    assert_eq!(err.unwrap_err().code(), "delivery.disabled");
    assert_eq!(bus.depth(&queue_name(&sub.id)).await.unwrap().total(), 0);
}

#[tokio::test]
async fn every_event_is_delivered_once_in_per_person_order_despite_failures() {
    const EVENTS: u64 = 30;
    let mock = MockReceiver::start(vec![common::secret(1)]).await.unwrap();
    let sub = subscription(&mock.url(), PayloadMode::FullResource, Role::Probation);
    let bus = declared(&sub).await;
    for n in 1..=EVENTS {
        let person = n % 3;
        assert_eq!(put(&bus, &sub, n, person).await.unwrap(), Published::New);
    }
    mock.fail_next(3);
    let started = std::time::Instant::now();
    let worker = start(&bus, &sub);
    assert!(
        eventually(20, || mock.unique_ids().len() == EVENTS as usize).await,
        "all delivered"
    );
    let elapsed = started.elapsed();
    let events = worker.stop().await;

    assert!(mock.duplicates().is_empty());
    assert_eq!(mock.received().len(), EVENTS as usize);
    let mut last: BTreeMap<String, u64> = BTreeMap::new();
    for r in mock.received() {
        let (number, focus) = event_of(&r.body);
        let previous = last.insert(focus.clone(), number).unwrap_or(0);
        assert!(
            number > previous,
            "{focus}: event {number} after {previous}"
        );
        assert_eq!(
            r.webhook_id,
            event(number, number % 3).event_id.child(&sub.id).as_str()
        );
    }
    assert_eq!(last.len(), 3);
    assert_eq!(last[&format!("Patient/{}", patient_id(0))], 30);

    let delivered = events
        .iter()
        .filter(|e| matches!(e, DeliveryEvent::Delivered { .. }))
        .count();
    let retrying = events
        .iter()
        .filter(|e| matches!(e, DeliveryEvent::Retrying { .. }))
        .count();
    assert_eq!((delivered, retrying), (EVENTS as usize, 3));
    assert!(
        bus.nack_delays()
            .iter()
            .all(|d| *d >= Duration::from_secs(15)),
        "real backoff asked for"
    );
    assert_eq!(bus.depth(&queue_name(&sub.id)).await.unwrap().total(), 0);
    eprintln!("{EVENTS} notifications (3 failed attempts) delivered over loopback in {elapsed:?}");
}

#[tokio::test]
async fn a_failing_endpoint_is_retried_then_delivered() {
    let mock = MockReceiver::start(vec![common::secret(1)]).await.unwrap();
    let sub = subscription(&mock.url(), PayloadMode::IdOnly, Role::Probation);
    let bus = declared(&sub).await;
    put(&bus, &sub, 1, 1).await.unwrap();
    mock.fail_next(2);
    let worker = start(&bus, &sub);
    assert!(eventually(10, || mock.unique_ids().len() == 1).await);
    let events = worker.stop().await;
    let attempts: Vec<(u32, bool)> = events
        .iter()
        .map(|e| match e {
            DeliveryEvent::Retrying {
                attempt, reason, ..
            } => {
                assert_eq!(reason, "http 503");
                (*attempt, false)
            }
            DeliveryEvent::Delivered { attempt, .. } => (*attempt, true),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(attempts, [(1, false), (2, false), (3, true)]);
    assert_eq!(mock.request_count(), 3);
}

#[tokio::test]
async fn exhausted_retries_are_dead_lettered_and_client_errors_rejected() {
    let mock = MockReceiver::start(vec![common::secret(1)]).await.unwrap();
    let sub = subscription(&mock.url(), PayloadMode::IdOnly, Role::Probation);
    let bus = Arc::new(MemBus::new());
    let queue = queue_name(&sub.id);
    bus.declare(&QueueSpec {
        delivery_limit: 3,
        ..QueueSpec::new(queue.clone())
    })
    .await
    .unwrap();
    for n in 1..=2 {
        put(&bus, &sub, n, 1).await.unwrap();
    }
    mock.fail_next(3);
    mock.fail_next_with(1, 404, None);
    let worker = start(&bus, &sub);
    assert!(eventually(10, || bus.dead_letters(&queue).len() == 2).await);
    let events = worker.stop().await;
    assert!(
        matches!(&events[2], DeliveryEvent::DeadLettered { attempt: 3, reason, .. } if reason == "http 503")
    );
    assert!(
        matches!(&events[3], DeliveryEvent::Rejected { attempt: 1, reason, .. } if reason == "http 404")
    );
    assert_eq!(events.len(), 4);
    assert!(mock.received().is_empty());
    assert_eq!(bus.dead_letters(&queue)[1].1, "http 404");
}

#[tokio::test]
async fn a_disabled_subscription_delivers_nothing_and_keeps_its_queue() {
    let mock = MockReceiver::start(vec![common::secret(1)]).await.unwrap();
    let sub = subscription(&mock.url(), PayloadMode::IdOnly, Role::Probation);
    let bus = declared(&sub).await;
    put(&bus, &sub, 1, 1).await.unwrap();
    let mut disabled = sub.clone();
    disabled.enabled = false;
    let events = start(&bus, &disabled).stop().await;
    assert!(events.is_empty());
    assert_eq!(bus.depth(&queue_name(&sub.id)).await.unwrap().total(), 1);
}

/// A recall reaches a subscription on another topic, carries only the Patient reference (no
/// resources, even in `full-resource` mode), keys on the Patient and purges with it; any other
/// topic is still refused.
#[tokio::test]
async fn a_recall_reaches_any_topic_and_carries_no_data() {
    let sub = subscription(
        "https://example.invalid/hook",
        PayloadMode::FullResource,
        Role::Probation,
    );
    assert_ne!(sub.topic, waymark_delivery::RECALL_TOPIC);
    let bus = declared(&sub).await;
    let mut recall = event(2, 1);
    recall.topic = waymark_delivery::RECALL_TOPIC.into();
    let released = releasable(1, &sub.recipient);
    let err = waymark_delivery::enqueue(bus.as_ref(), &sub, &recall, released).await;
    assert_eq!(err.unwrap_err().code(), "delivery.topic-mismatch");

    let released = releasable(1, &sub.recipient);
    let sent = waymark_delivery::enqueue_recall(bus.as_ref(), &sub, &recall, released).await;
    assert_eq!(sent.unwrap(), Published::New);
    let bodies = bus.bodies(&queue_name(&sub.id));
    let body: serde_json::Value = serde_json::from_slice(&bodies[0]).unwrap();
    let entries = body["entry"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "a recall carries the status entry only");
    assert_eq!(entries[0]["resource"]["resourceType"], "Parameters");
    let text = String::from_utf8_lossy(&bodies[0]);
    assert!(text.contains(&format!("Patient/{}", patient_id(1))));
    assert!(text.contains(waymark_delivery::RECALL_TOPIC));

    let not_a_recall = event(3, 1);
    let released = releasable(1, &sub.recipient);
    let err = waymark_delivery::enqueue_recall(bus.as_ref(), &sub, &not_a_recall, released).await;
    assert_eq!(err.unwrap_err().code(), "delivery.topic-mismatch");
    let other_patient = releasable(2, &sub.recipient);
    let err = waymark_delivery::enqueue_recall(bus.as_ref(), &sub, &recall, other_patient).await;
    assert!(matches!(err, Err(EnqueueError::PatientMismatch(_))));

    let queue = queue_name(&sub.id);
    assert_eq!(bus.purge_key(&queue, &patient_id(1)).await.unwrap(), 1);
    assert_eq!(bus.depth(&queue).await.unwrap().total(), 0);
}
