//! Work sharing: an unordered queue's messages are shared among the consuming processes.

use std::{
    collections::HashSet,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use super::{message, must, publish_new, unique_queue};
use crate::{Bus, QueueSpec};

/// Messages published in the check.
const MESSAGES: u32 = 300;
/// Distinct ordering keys among them.
const KEYS: u32 = 10;
/// How long the two consumers have to drain the queue.
const DRAIN: Duration = Duration::from_secs(30);

/// Two bus instances on one backend stand in for two processes. Both consume one *unordered*
/// queue ([`QueueSpec::unordered`]) while keyed messages are published to it: both must get a
/// share of the work, and no message may be effected twice (each id is effected, then acked).
///
/// Only for buses that can be opened twice on one backend (RabbitMQ); the embedded bus is one
/// process by design.
pub async fn unordered_queue_shares_work(first: Arc<dyn Bus>, second: Arc<dyn Bus>) {
    let spec = QueueSpec::new(unique_queue("shared")).unordered();
    must(first.declare(&spec).await, "declare (first process)");
    must(second.declare(&spec).await, "declare (second process)");
    let q: Arc<str> = spec.name.into();
    // Subscribe both before publishing, so neither starts with the whole backlog.
    for bus in [&first, &second] {
        let early = must(bus.receive(&q, Duration::from_millis(300)).await, "receive");
        assert!(
            early.is_none(),
            "work shared: a fresh queue delivered a message"
        );
    }
    for n in 0..MESSAGES {
        publish_new(
            first.as_ref(),
            &q,
            message(&q, n).with_key(format!("k{}", n % KEYS)),
        )
        .await;
    }
    let effected = Arc::new(Mutex::new(HashSet::new()));
    let a = tokio::spawn(consume(first, Arc::clone(&q), Arc::clone(&effected)));
    let b = tokio::spawn(consume(second, Arc::clone(&q), Arc::clone(&effected)));
    let (a, b) = (
        must(a.await, "first consumer"),
        must(b.await, "second consumer"),
    );
    let total = effected.lock().unwrap_or_else(|p| p.into_inner()).len();
    assert_eq!(
        total, MESSAGES as usize,
        "work shared: {total} of {MESSAGES} messages effected"
    );
    assert_eq!(
        a + b,
        MESSAGES as usize,
        "work shared: a message was effected twice"
    );
    assert!(
        a > 0 && b > 0,
        "work shared: one process did all the work on an unordered queue ({a} / {b})"
    );
}

/// Receives, effects (records the id, refusing a second effect) and acks until every message
/// is effected or the time runs out; returns how many this consumer effected.
async fn consume(bus: Arc<dyn Bus>, q: Arc<str>, effected: Arc<Mutex<HashSet<String>>>) -> usize {
    let deadline = Instant::now() + DRAIN;
    let mut mine = 0;
    while Instant::now() < deadline {
        let done = effected.lock().unwrap_or_else(|p| p.into_inner()).len() >= MESSAGES as usize;
        if done {
            break;
        }
        let Some(delivery) = must(bus.receive(&q, Duration::from_millis(200)).await, "receive")
        else {
            continue;
        };
        let id = delivery.message.id.to_string();
        let first = effected
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id.clone());
        assert!(first, "work shared: `{id}` was effected twice");
        mine += 1;
        // A little work per message, so the broker spreads deliveries over both consumers.
        tokio::time::sleep(Duration::from_millis(1)).await;
        must(bus.ack(&delivery).await, "ack");
    }
    mine
}
