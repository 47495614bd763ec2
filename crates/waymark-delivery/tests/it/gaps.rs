//! A receiving system that loses every 7th notification (answering 200): every gap is seen in
//! the event numbers and refilled from the `$events` answer.

use crate::common;

use std::sync::Arc;

use chrono::Utc;
use common::{MemBus, event, eventually, releasable, subscription};
use waymark_bus::Bus;
use waymark_core::Role;
use waymark_delivery::{
    DeliveryOutcome, EventMeta, PayloadMode, RestHook, RestHookConfig, events_bundle,
    mock::MockReceiver, queue_spec,
};

const EVENTS: u64 = 49;

#[tokio::test]
async fn every_seventh_lost_is_detected_and_refilled() {
    let mock = MockReceiver::start(vec![common::secret(1)]).await.unwrap();
    mock.drop_every(7);
    let sub = subscription(&mock.url(), PayloadMode::FullResource, Role::Probation);
    let bus = Arc::new(MemBus::new());
    bus.declare(&queue_spec(&sub)).await.unwrap();
    // The hub's own event log, as the store keeps it for `$events`.
    let mut log: Vec<EventMeta> = Vec::new();
    for n in 1..=EVENTS {
        let meta = event(n, n % 4);
        let released = releasable(n % 4, &sub.recipient);
        waymark_delivery::enqueue(bus.as_ref(), &sub, &meta, released)
            .await
            .unwrap();
        log.push(meta);
    }
    let worker = common::start_worker(bus.clone(), &sub);
    let kept = (EVENTS - EVENTS / 7) as usize;
    assert!(eventually(10, || mock.received().len() == kept).await);
    worker.stop().await;
    assert_eq!(mock.dropped_count(), (EVENTS / 7) as usize);

    // The last one lost (49) is seen only once the count moves on: the heartbeat carries it.
    assert_eq!(mock.gaps()[&sub.id], [7, 14, 21, 28, 35, 42]);
    let hook = RestHook::new(&RestHookConfig::default()).unwrap();
    let beat = hook.heartbeat(&sub, EVENTS, Utc::now()).await;
    assert_eq!(beat, DeliveryOutcome::Delivered { status: 200 });

    let gaps = mock.gaps();
    let missing = gaps[&sub.id].clone();
    let expected: Vec<u64> = (1..=EVENTS).filter(|n| n % 7 == 0).collect();
    assert_eq!(missing, expected, "exactly the lost ones");

    // The subscriber asks `$events` for each gap; the hub answers from its log.
    let mut refilled = 0;
    for number in &missing {
        let wanted: Vec<EventMeta> = log
            .iter()
            .filter(|e| e.event_number == *number)
            .cloned()
            .collect();
        refilled += mock.refill(&events_bundle(&sub, &wanted, EVENTS));
    }
    assert_eq!(refilled, missing.len());
    assert!(mock.gaps().is_empty(), "{:?}", mock.gaps());
    assert_eq!(
        mock.refill(&events_bundle(&sub, &log[..3], EVENTS)),
        0,
        "nothing new"
    );
    eprintln!(
        "drop-every-7th: {EVENTS} sent, {} lost, {} gaps found {missing:?}, {refilled} refilled",
        mock.dropped_count(),
        missing.len()
    );
}
