//! A worker's life beyond single deliveries: 410 Gone and heartbeats.

use crate::common;

use std::{sync::Arc, time::Duration};

use common::{MemBus, event, eventually, releasable, subscription};
use waymark_bus::Bus;
use waymark_core::Role;
use waymark_delivery::{
    DeliveryEvent, PayloadMode, Subscription, mock::MockReceiver, queue_name, queue_spec,
};

async fn declared(sub: &Subscription) -> Arc<MemBus> {
    let bus = Arc::new(MemBus::new());
    bus.declare(&queue_spec(sub)).await.unwrap();
    bus
}

async fn put(bus: &MemBus, sub: &Subscription, n: u64, person: u64) {
    let released = releasable(person, &sub.recipient);
    waymark_delivery::enqueue(bus, sub, &event(n, person), released)
        .await
        .unwrap();
}

fn start(bus: &Arc<MemBus>, sub: &Subscription) -> common::Worker {
    common::start_worker(bus.clone(), sub)
}

/// 410 Gone: the worker emits `Deactivated` and returns at once; the notification and the
/// ones behind it stay queued, nothing is dead-lettered.
#[tokio::test]
async fn gone_deactivates_and_keeps_the_queue() {
    let mock = MockReceiver::start(vec![common::secret(1)]).await.unwrap();
    let sub = subscription(&mock.url(), PayloadMode::IdOnly, Role::Probation);
    let bus = declared(&sub).await;
    for n in 1..=3 {
        put(&bus, &sub, n, n).await;
    }
    mock.fail_next_with(1, 410, None);
    let mut worker = start(&bus, &sub);
    let finished = tokio::time::timeout(Duration::from_secs(5), &mut worker.task).await;
    assert!(finished.is_ok(), "the worker returned by itself");
    let mut events = Vec::new();
    while let Ok(e) = worker.events.try_recv() {
        events.push(e);
    }
    assert_eq!(
        events,
        [DeliveryEvent::Deactivated {
            subscription: sub.id.clone(),
            reason: "gone".into()
        }]
    );
    let queue = queue_name(&sub.id);
    assert_eq!(bus.depth(&queue).await.unwrap().total(), 3);
    assert!(bus.dead_letters(&queue).is_empty());
    assert_eq!(mock.request_count(), 1);
}

/// A heartbeat goes out when nothing was delivered for the period (here 1 s, below what
/// validation allows, so the test is short), carries the event count and no data; a failed one
/// is reported as a silent endpoint.
#[tokio::test]
async fn heartbeats_go_out_when_idle_and_a_silent_endpoint_is_noticed() {
    let mock = MockReceiver::start(vec![common::secret(1)]).await.unwrap();
    let mut sub = subscription(&mock.url(), PayloadMode::FullResource, Role::Probation);
    sub.heartbeat_period = Some(1);
    let bus = declared(&sub).await;
    put(&bus, &sub, 4, 1).await;
    let worker = start(&bus, &sub);
    assert!(eventually(5, || mock.heartbeats().len() == 1).await);
    assert_eq!(mock.received().len(), 1);
    let beat = &mock.heartbeats()[0];
    assert!(
        beat.received_at - mock.received()[0].received_at >= chrono::Duration::milliseconds(900)
    );
    let params = beat.body["entry"][0]["resource"]["parameter"]
        .as_array()
        .unwrap();
    let value = |name: &str| params.iter().find(|p| p["name"] == name).unwrap().clone();
    assert_eq!(value("type")["valueCode"], "heartbeat");
    assert_eq!(value("events-since-subscription-start")["valueString"], "4");
    assert_eq!(beat.body["entry"].as_array().unwrap().len(), 1, "no data");
    assert!(!beat.body.to_string().contains("Patient/"));
    mock.go_down(true);
    assert!(eventually(5, || mock.request_count() >= 3).await);
    let events = worker.stop().await;
    let beats: Vec<(bool, Option<String>)> = events
        .iter()
        .filter_map(|e| match e {
            DeliveryEvent::Heartbeat {
                delivered, reason, ..
            } => Some((*delivered, reason.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(beats[0], (true, None));
    assert!(
        beats.contains(&(false, Some("http 503".into()))),
        "{beats:?}"
    );
    assert_eq!(
        bus.depth(&queue_name(&sub.id)).await.unwrap().total(),
        0,
        "not queued"
    );
    eprintln!("heartbeats: {beats:?}");
}
