//! Retries exhausted → dead-lettered (`DeadLettered`, which the shell turns into the operator
//! alert) → `resend_dead_letters` → delivered; on the real embedded bus (`SqliteBus`).

use crate::common;

use std::sync::Arc;

use common::{event, eventually, releasable, subscription};
use waymark_bus::{Bus, QueueSpec, SqliteBus, dead_letter_name};
use waymark_core::Role;
use waymark_delivery::{
    DeliveryEvent, PayloadMode, mock::MockReceiver, notification_bundle, queue_name, queue_spec,
    resend_dead_letters,
};

#[tokio::test]
async fn exhausted_retries_are_dead_lettered_then_resent_on_request() {
    let dir = tempfile::tempdir().unwrap();
    let bus = Arc::new(SqliteBus::open(&dir.path().join("bus.db")).await.unwrap());
    let mock = MockReceiver::start(vec![common::secret(1)]).await.unwrap();
    let sub = subscription(&mock.url(), PayloadMode::FullResource, Role::Probation);
    let queue = queue_name(&sub.id);
    bus.declare(&QueueSpec {
        delivery_limit: 3,
        ..queue_spec(&sub)
    })
    .await
    .unwrap();
    for n in 1..=2 {
        let released = releasable(n, &sub.recipient);
        waymark_delivery::enqueue(bus.as_ref(), &sub, &event(n, n), released)
            .await
            .unwrap();
    }
    // Three failed attempts each (`Retry-After: 0` keeps the test short).
    mock.fail_next_with(6, 503, Some(0));
    let worker = common::start_worker(bus.clone(), &sub);
    let dead_queue = dead_letter_name(&queue);
    assert!(
        eventually(10, || mock.request_count() == 6).await,
        "{} requests",
        mock.request_count()
    );
    assert!(depth_reaches(&bus, &dead_queue, 2).await);
    assert!(depth_reaches(&bus, &queue, 0).await);
    assert!(mock.received().is_empty());

    assert_eq!(resend_dead_letters(bus.as_ref(), &sub.id).await.unwrap(), 2);
    assert!(eventually(10, || mock.received().len() == 2).await);
    assert_eq!(resend_dead_letters(bus.as_ref(), &sub.id).await.unwrap(), 0);
    assert!(depth_reaches(&bus, &dead_queue, 0).await);
    let events = worker.stop().await;

    let dead: Vec<u32> = events
        .iter()
        .filter_map(|e| match e {
            DeliveryEvent::DeadLettered {
                attempt, reason, ..
            } => {
                assert_eq!(reason, "http 503");
                Some(*attempt)
            }
            _ => None,
        })
        .collect();
    assert_eq!(dead, [3, 3], "one DeadLettered event each, at the limit");
    let delivered = events
        .iter()
        .filter(|e| matches!(e, DeliveryEvent::Delivered { attempt: 1, .. }))
        .count();
    assert_eq!(delivered, 2, "a resend starts counting attempts again");

    // What the subscriber sees: the same webhook-id as the first attempts, the same bundle.
    for (n, got) in (1..=2).zip(mock.received()) {
        let original = event(n, n).event_id.child(&sub.id);
        assert_eq!(got.webhook_id, original.as_str());
        let released = releasable(n, &sub.recipient);
        let bundle = notification_bundle(&sub, &event(n, n), Some(&released));
        assert_eq!(got.body, bundle, "byte-identical body");
    }
    eprintln!(
        "dead letters: 2 notifications dead-lettered after 3 attempts each, 2 resent and \
         delivered under their first webhook-id"
    );
}

/// A resent notification that dies again is resent again under a fresh child id (the bus would
/// drop a republish of the same id), still with its first webhook-id.
#[tokio::test]
async fn a_resend_can_be_repeated_after_it_dies_again() {
    let dir = tempfile::tempdir().unwrap();
    let bus = Arc::new(SqliteBus::open(&dir.path().join("bus.db")).await.unwrap());
    let mock = MockReceiver::start(vec![common::secret(1)]).await.unwrap();
    let sub = subscription(&mock.url(), PayloadMode::IdOnly, Role::Probation);
    let queue = queue_name(&sub.id);
    bus.declare(&QueueSpec {
        delivery_limit: 1,
        ..queue_spec(&sub)
    })
    .await
    .unwrap();
    let released = releasable(1, &sub.recipient);
    waymark_delivery::enqueue(bus.as_ref(), &sub, &event(1, 1), released)
        .await
        .unwrap();
    mock.fail_next_with(2, 500, Some(0));
    let worker = common::start_worker(bus.clone(), &sub);
    let dead_queue = dead_letter_name(&queue);
    assert!(depth_reaches(&bus, &dead_queue, 1).await);
    assert_eq!(resend_dead_letters(bus.as_ref(), &sub.id).await.unwrap(), 1);
    assert!(eventually(5, || mock.request_count() == 2).await);
    assert!(depth_reaches(&bus, &dead_queue, 1).await);
    assert_eq!(resend_dead_letters(bus.as_ref(), &sub.id).await.unwrap(), 1);
    assert!(eventually(5, || mock.received().len() == 1).await);
    worker.stop().await;
    let original = event(1, 1).event_id.child(&sub.id);
    assert_eq!(mock.received()[0].webhook_id, original.as_str());
    assert_eq!(mock.request_count(), 3);
}

/// Waits up to 10 s for `queue` to hold `n` messages.
async fn depth_reaches(bus: &SqliteBus, queue: &str, n: u64) -> bool {
    let until = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::time::Instant::now() < until {
        if bus.depth(queue).await.unwrap().total() == n {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    false
}
