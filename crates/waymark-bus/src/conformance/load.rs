//! Many publishers and consumers at once: every message delivered and acked exactly once.

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex, MutexGuard},
    time::{Duration, Instant},
};

use tokio::task::JoinSet;
use waymark_core::MessageId;

use super::{ABSENT, absent, declare, depth, must};
use crate::{Bus, Delivery, Message, Published};

/// How many publish, how much, and who consumes, in a load check.
#[derive(Clone, Copy, Debug)]
struct Shape {
    /// Concurrent publisher tasks.
    publishers: u32,
    /// Messages each publishes, in order.
    per_publisher: u32,
    /// Concurrent consumer tasks.
    consumers: u32,
    /// Keys shared by the keyed (even) publishers, so that messages of one key sit close.
    keys: u32,
}
/// The whole run must finish within this.
const DEADLINE: Duration = Duration::from_secs(120);

/// What [`exactly_once_under_load`] measured.
#[derive(Clone, Copy, Debug)]
pub struct LoadReport {
    /// Messages published (and confirmed).
    pub published: u64,
    /// Deliveries received and acked.
    pub acked: u64,
    /// Published messages never delivered.
    pub lost: u64,
    /// Extra deliveries of messages already delivered.
    pub duplicated: u64,
    /// Deliveries of messages that were never published.
    pub unexpected: u64,
    /// Keyed messages delivered before an earlier message of their publisher.
    pub out_of_order: u64,
    /// Keyed messages delivered while another message of their key was in flight.
    pub key_overlaps: u64,
    /// From the first publish to the last ack.
    pub elapsed: Duration,
}

impl LoadReport {
    /// Messages published, received and acked per second.
    pub fn per_second(&self) -> f64 {
        self.acked as f64 / self.elapsed.as_secs_f64().max(f64::EPSILON)
    }
}

/// What the consumers saw, shared between them.
#[derive(Default)]
struct Seen {
    /// Ids in receive order.
    received: Vec<MessageId>,
    /// Keys of the messages currently held by a consumer.
    in_flight: HashSet<String>,
    key_overlaps: u64,
}

type Shared = Arc<Mutex<Seen>>;

fn lock(seen: &Shared) -> MutexGuard<'_, Seen> {
    seen.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// 1,000 messages from 50 concurrent publishers (half of them keyed, 2 keys between them),
/// consumed by 4 concurrent consumers while they are published: each is received and acked
/// exactly once, a key is never in flight twice, and each publisher's keyed messages arrive in
/// publish order. Panics on any loss, duplicate, stray or ordering fault; returns the figures.
pub async fn exactly_once_under_load(bus: Arc<dyn Bus>) -> LoadReport {
    let shape = Shape {
        publishers: 50,
        per_publisher: 20,
        consumers: 4,
        keys: 2,
    };
    run_load(bus, "load", shape).await
}

/// 1,000 publishers at once, 2 messages each (half of them keyed, 10 keys between them), with 4
/// consumers: the same promises as [`exactly_once_under_load`] when every publish waits on the
/// bus at the same time (the embedded bus's single writer, the broker's confirm channel).
pub async fn thousand_concurrent_publishers(bus: Arc<dyn Bus>) -> LoadReport {
    let shape = Shape {
        publishers: 1_000,
        per_publisher: 2,
        consumers: 4,
        keys: 10,
    };
    run_load(bus, "publishers-1000", shape).await
}

async fn run_load(bus: Arc<dyn Bus>, check_name: &str, shape: Shape) -> LoadReport {
    let spec = declare(bus.as_ref(), check_name, 5, Duration::from_secs(60)).await;
    let q: Arc<str> = spec.name.into();
    let total = u64::from(shape.publishers * shape.per_publisher);
    let seen = Shared::default();
    let start = Instant::now();
    let mut tasks = JoinSet::new();
    for publisher in 0..shape.publishers {
        tasks.spawn(publish_all(
            Arc::clone(&bus),
            Arc::clone(&q),
            publisher,
            shape,
        ));
    }
    for _ in 0..shape.consumers {
        let (bus, q, seen) = (Arc::clone(&bus), Arc::clone(&q), Arc::clone(&seen));
        tasks.spawn(async move { consume(bus.as_ref(), &q, &seen, total, start).await });
    }
    while let Some(done) = tasks.join_next().await {
        must(done, "a publisher or consumer task");
    }
    let elapsed = start.elapsed();
    absent(bus.as_ref(), &q, "a message delivered after all were acked").await;
    let left = depth(bus.as_ref(), &q).await.total();
    assert_eq!(
        left, 0,
        "{left} messages left in the queue after the load run"
    );

    let report = tally(&q, &lock(&seen), elapsed, shape);
    check(&report);
    report
}

/// Panics on any fault the report counts.
fn check(report: &LoadReport) {
    let faults = [
        ("lost", report.lost),
        ("duplicated", report.duplicated),
        ("unexpected", report.unexpected),
        ("out of order", report.out_of_order),
        (
            "delivered while their key was in flight",
            report.key_overlaps,
        ),
    ];
    for (fault, count) in faults {
        assert_eq!(count, 0, "{count} messages {fault} under load ({report:?})");
    }
}

/// The id of message `n` of `publisher`.
fn id(queue: &str, publisher: u32, n: u32) -> MessageId {
    MessageId::from_stored(format!("{queue}/{publisher}/{n}"))
}

/// Whether `publisher` keys its messages.
fn keyed(publisher: u32) -> bool {
    publisher.is_multiple_of(2)
}

/// One publisher: its messages in order, keyed for even publishers.
async fn publish_all(bus: Arc<dyn Bus>, queue: Arc<str>, publisher: u32, shape: Shape) {
    for n in 0..shape.per_publisher {
        let mut message = Message::new(id(&queue, publisher, n), vec![b'x'; 512]);
        if keyed(publisher) {
            message = message.with_key(format!("k{}", publisher / 2 % shape.keys));
        }
        let published = must(bus.publish(&queue, message).await, "publish under load");
        assert_eq!(
            published,
            Published::New,
            "a fresh id was taken for a duplicate"
        );
    }
}

/// One consumer: receives, holds briefly and acks until every message has been received.
async fn consume(bus: &dyn Bus, queue: &str, seen: &Shared, total: u64, start: Instant) {
    let received = || lock(seen).received.len() as u64;
    while received() < total {
        let late = start.elapsed() >= DEADLINE;
        assert!(
            !late,
            "load run not done in {DEADLINE:?}: {} received",
            received()
        );
        let Some(delivery) = must(bus.receive(queue, ABSENT).await, "receive under load") else {
            continue;
        };
        took(seen, &delivery);
        tokio::time::sleep(Duration::from_millis(2)).await;
        // The key is released before the ack: its next message cannot be received before it.
        if let Some(key) = &delivery.message.key {
            lock(seen).in_flight.remove(key);
        }
        must(bus.ack(&delivery).await, "ack under load");
    }
}

/// Records a delivery, and whether its key was already in flight.
fn took(seen: &Shared, delivery: &Delivery) {
    let mut seen = lock(seen);
    seen.received.push(delivery.message.id.clone());
    if let Some(key) = &delivery.message.key
        && !seen.in_flight.insert(key.clone())
    {
        seen.key_overlaps += 1;
    }
}

/// Counts lost, duplicated, unexpected and out-of-order deliveries.
fn tally(queue: &str, seen: &Seen, elapsed: Duration, shape: Shape) -> LoadReport {
    let mut counts: HashMap<&MessageId, u64> = HashMap::new();
    seen.received
        .iter()
        .for_each(|id| *counts.entry(id).or_default() += 1);
    let expected: HashSet<MessageId> = (0..shape.publishers)
        .flat_map(|p| (0..shape.per_publisher).map(move |n| id(queue, p, n)))
        .collect();
    let lost = expected
        .iter()
        .filter(|id| !counts.contains_key(id))
        .count();
    let unexpected = counts.keys().filter(|id| !expected.contains(id)).count();
    let first_seen: HashMap<&MessageId, usize> = seen
        .received
        .iter()
        .enumerate()
        .rev()
        .map(|(at, id)| (id, at))
        .collect();
    let at = |p, n| {
        first_seen
            .get(&id(queue, p, n))
            .copied()
            .unwrap_or(usize::MAX)
    };
    let out_of_order = (0..shape.publishers)
        .filter(|&p| keyed(p))
        .flat_map(|p| (1..shape.per_publisher).map(move |n| (p, n)))
        .filter(|&(p, n)| at(p, n - 1) > at(p, n))
        .count();
    LoadReport {
        published: expected.len() as u64,
        acked: seen.received.len() as u64,
        lost: lost as u64,
        duplicated: counts.values().map(|&c| c - 1).sum(),
        unexpected: unexpected as u64,
        out_of_order: out_of_order as u64,
        key_overlaps: seen.key_overlaps,
        elapsed,
    }
}
