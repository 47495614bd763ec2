//! The release fan-out: one event to many subscriptions queues one notification each, with the
//! subscription's own event number, audits each in one chained batch, and a redelivery changes
//! no number. Prints the time per event for 1 and 50 subscriptions (a figure, not a limit).

use std::time::{Duration, Instant};

use serde_json::json;
use waymark_core::MessageId;
use waymark_delivery::{Subscription, queue_name};
use waymark_pipeline::{Handler, REDELIVERED, RELEASED, Step};
use waymark_store::{AuditLog, Store};

use crate::push::{release_delivery, rig};

const FAN: usize = 50;

fn subs(n: usize) -> Vec<Subscription> {
    (0..n)
        .map(|i| {
            serde_json::from_value(json!({
                "version": 1, "id": format!("fan-{i:02}"), "topic": "prison.reception",
                "endpoint": "http://127.0.0.1:9/",
                "recipient": {"organisation": "A81001", "role": "prison-healthcare",
                              "registered": true, "purpose": "direct-care"},
                "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw0123456789ab",
                "payload": "id-only"
            }))
            .unwrap()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_event_to_fifty_subscriptions_numbers_audits_and_queues_each_once() {
    let subs = subs(FAN);
    let ids: Vec<String> = subs.iter().map(|s| s.id.clone()).collect();
    let rig = rig(subs).await;
    // Subscription i has numbered i earlier events: its number for this one is i + 1.
    for k in 0..FAN - 1 {
        let earlier = MessageId::from_stored(format!("earlier-{k}"));
        rig.store
            .event_numbers(&earlier, &ids[k + 1..])
            .await
            .unwrap();
    }
    let expected: Vec<u64> = (1..=FAN as u64).collect();

    assert_eq!(
        rig.stage.handle(&release_delivery(&rig.event, 1)).await,
        Step::Done
    );
    let entries = rig.store.audit_entries(0, 1000).await.unwrap();
    assert_eq!(entries.len(), FAN, "one audit entry per subscription");
    let mut audited: Vec<&str> = entries
        .iter()
        .map(|e| e.record.client_id.as_deref().unwrap())
        .collect();
    audited.sort_unstable();
    assert_eq!(audited, ids, "each subscription audited once");
    assert!(entries.iter().all(|e| e.record.outcome == RELEASED));

    // Redelivered: no number changes, nothing queued twice, the repeat entries marked.
    assert_eq!(
        rig.stage.handle(&release_delivery(&rig.event, 2)).await,
        Step::Done
    );
    let numbers = rig
        .store
        .event_numbers(&rig.event.event_id, &ids)
        .await
        .unwrap();
    assert_eq!(
        numbers, expected,
        "each subscription's own number, unchanged"
    );
    let entries = rig.store.audit_entries(0, 1000).await.unwrap();
    assert!(
        entries[FAN..]
            .iter()
            .all(|e| e.record.outcome == REDELIVERED)
    );
    let verified = waymark_store::verify_log(rig.store.as_ref(), 16)
        .await
        .unwrap();
    assert_eq!(
        verified.unwrap().count,
        2 * FAN as u64,
        "the chain is whole"
    );

    for (id, number) in ids.iter().zip(&expected) {
        let queue = queue_name(id);
        assert_eq!(rig.bus.depth(&queue).await.unwrap().total(), 1, "{id}");
        let queued = rig.bus.receive(&queue, Duration::from_millis(200)).await;
        let queued = queued.unwrap().unwrap();
        let header = queued
            .message
            .headers
            .get("event-number")
            .map(String::as_str);
        assert_eq!(header, Some(number.to_string().as_str()), "{id}");
    }
}

/// The time per event of releasing `events` events to `n` subscriptions.
async fn per_event(n: usize, events: u32) -> Duration {
    let rig = rig(subs(n)).await;
    let start = Instant::now();
    for k in 0..events {
        let mut event = rig.event.clone();
        event.event_id = MessageId::from_stored(format!("timed-{k}"));
        assert_eq!(
            rig.stage.handle(&release_delivery(&event, 1)).await,
            Step::Done
        );
    }
    let audited = rig.store.audit_entries(0, 10_000).await.unwrap().len();
    assert_eq!(audited, n * events as usize, "every release audited");
    start.elapsed() / events
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fan_out_time_per_event_for_one_and_fifty_subscriptions() {
    let one = per_event(1, 5).await;
    let fifty = per_event(FAN, 5).await;
    println!(
        "release fan-out (SQLite store and bus): {:.1} ms/event to 1 subscription, \
         {:.1} ms/event to {FAN} ({:.2} ms per subscription)",
        one.as_secs_f64() * 1e3,
        fifty.as_secs_f64() * 1e3,
        fifty.as_secs_f64() * 1e3 / FAN as f64,
    );
}
