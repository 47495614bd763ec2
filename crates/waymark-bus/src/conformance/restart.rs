//! Crashing the backend mid-stream: nothing lost, no effect twice, everything at risk recovered.

use std::{
    sync::{
        Arc, Mutex, MutexGuard,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use async_trait::async_trait;
use tokio::task::JoinSet;
use waymark_core::MessageId;

use super::{
    must,
    tally::{Log, RestartReport, check, tally},
    unique_queue,
};
use crate::{Bus, Message, QueueSpec};

/// A bus whose backend a check may crash and bring back while messages flow.
#[async_trait]
pub trait Restartable: Send + Sync + 'static {
    /// The bus to use now: the same one, reconnected, after a broker restart; a reopened one
    /// after the embedded bus's file was dropped and opened again.
    async fn bus(&self) -> Arc<dyn Bus>;
    /// Crashes the backend and brings it back (kill -9 and restart the broker; drop and reopen
    /// the file). Returns once it is back.
    async fn restart(&self);
}

/// How big a restart run is.
#[derive(Clone, Copy, Debug)]
pub struct RestartShape {
    /// Messages published in all (each publisher keys its own, in order).
    pub messages: u32,
    /// Crashes, spread evenly over the run.
    pub restarts: u32,
    /// Concurrent publisher tasks.
    pub publishers: u32,
    /// Concurrent consumer tasks.
    pub consumers: u32,
    /// The whole run must end within this.
    pub deadline: Duration,
    /// How long to wait after creating the queue before traffic starts: the time the backend
    /// needs to make a new queue itself durable. RabbitMQ 3.10 (Debian) was seen to bring back
    /// *empty* a quorum queue that was killed within about a second of being created (3,000
    /// confirmed messages gone; 2 s later, all kept): the hub declares its queues at start-up,
    /// so this run does the same. Zero for the embedded bus.
    pub settle: Duration,
}

type Shared = Arc<Mutex<Log>>;

fn lock(log: &Shared) -> MutexGuard<'_, Log> {
    log.lock().unwrap_or_else(|p| p.into_inner())
}

pub(super) fn id(queue: &str, publisher: u32, n: u32) -> MessageId {
    MessageId::from_stored(format!("{queue}/{publisher}/{n}"))
}

/// Publishers and consumers run while the backend is crashed `restarts` times. Publishers retry
/// a failed publish (the same message id) until it is confirmed; consumers apply each message's
/// effect to an effect store keyed by message id, then ack (a failed ack is left to
/// redelivery). Panics unless lost / duplicated effects / unexpected / out of order are 0 and
/// every message at risk at a crash was recovered; returns the counts.
pub async fn survives_restarts(
    harness: Arc<dyn Restartable>,
    shape: RestartShape,
) -> RestartReport {
    let spec = QueueSpec {
        name: unique_queue("restarts"),
        // Broker-side returns count as deliveries: leave room for a few crashes per message.
        delivery_limit: 100,
        lease: Duration::from_secs(30),
        ordered: true,
    };
    must(harness.bus().await.declare(&spec).await, "declare");
    tokio::time::sleep(shape.settle).await;
    let q: Arc<str> = spec.name.into();
    let log = Shared::default();
    let done = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let mut publishers = JoinSet::new();
    let per = shape.messages / shape.publishers.max(1);
    for p in 0..shape.publishers {
        let (h, q, log) = (Arc::clone(&harness), Arc::clone(&q), Arc::clone(&log));
        publishers.spawn(async move { publish_all(h, &q, p, per, &log).await });
    }
    let mut consumers = JoinSet::new();
    for _ in 0..shape.consumers {
        let (h, q, log, done) = (
            Arc::clone(&harness),
            Arc::clone(&q),
            Arc::clone(&log),
            Arc::clone(&done),
        );
        consumers.spawn(async move { consume(h, &q, &log, &done).await });
    }
    let total = u64::from(per * shape.publishers);
    let deadline = start + shape.deadline;
    let restarts = crash_along(harness.as_ref(), &log, total, shape.restarts, deadline).await;
    while let Some(joined) = until(deadline, publishers.join_next(), "the publishers").await {
        must(joined, "a publisher task");
    }
    wait_for_effects(&log, start, shape.deadline).await;
    done.store(true, Ordering::Relaxed);
    let grace = Instant::now() + Duration::from_secs(10);
    while let Some(joined) = until(grace, consumers.join_next(), "the consumers").await {
        must(joined, "a consumer task");
    }
    let report = tally(
        &q,
        &lock(&log),
        restarts,
        start.elapsed(),
        (shape.publishers, per),
    );
    check(&report);
    report
}

/// `future`, or a panic naming `what` when it is not done by `deadline`.
async fn until<T>(
    deadline: Instant,
    future: impl std::future::Future<Output = T>,
    what: &str,
) -> T {
    let left = deadline.saturating_duration_since(Instant::now());
    tokio::time::timeout(left, future)
        .await
        .unwrap_or_else(|_| panic!("{what} did not finish before the deadline"))
}

/// Crashes the backend each time another share of the messages has been confirmed, noting
/// which messages were at risk.
async fn crash_along(
    harness: &dyn Restartable,
    log: &Shared,
    total: u64,
    restarts: u32,
    deadline: Instant,
) -> u32 {
    let mut done = 0;
    for r in 1..=restarts {
        let due = total * u64::from(r) / u64::from(restarts + 1);
        loop {
            let confirmed = lock(log).confirmed.len() as u64;
            if confirmed >= due {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "publishing stalled before crash {r}: {confirmed} of {due} confirmed"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        {
            let mut log = lock(log);
            let risk: Vec<MessageId> = log
                .attempted
                .iter()
                .filter(|id| !log.effects.contains_key(*id))
                .cloned()
                .collect();
            log.at_risk.extend(risk);
        }
        harness.restart().await;
        done += 1;
    }
    done
}

async fn publish_all(
    harness: Arc<dyn Restartable>,
    queue: &str,
    publisher: u32,
    count: u32,
    log: &Shared,
) {
    for n in 0..count {
        let message = Message::new(
            id(queue, publisher, n),
            format!("{publisher}/{n}").into_bytes(),
        )
        .with_key(format!("k{publisher}"));
        lock(log).attempted.insert(message.id.clone());
        loop {
            let bus = harness.bus().await;
            match bus.publish(queue, message.clone()).await {
                Ok(_) => break,
                Err(_) => {
                    lock(log).retries += 1;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
        lock(log).confirmed.insert(message.id.clone());
    }
}

async fn consume(harness: Arc<dyn Restartable>, queue: &str, log: &Shared, done: &AtomicBool) {
    while !done.load(Ordering::Relaxed) {
        let bus = harness.bus().await;
        let delivery = match bus.receive(queue, Duration::from_millis(200)).await {
            Ok(Some(delivery)) => delivery,
            Ok(None) => continue,
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        {
            let mut log = lock(log);
            let id = delivery.message.id.clone();
            let applied = log.effects.entry(id.clone()).or_insert(0);
            if *applied == 0 {
                *applied = 1;
                log.first_effects.push(id);
            } else {
                log.redeliveries += 1;
            }
        }
        // The effect is durable (in the store above): ack. A failed ack is redelivered later.
        let _ = bus.ack(&delivery).await;
    }
}

/// Waits until every confirmed message has had its effect, or the deadline.
async fn wait_for_effects(log: &Shared, start: Instant, deadline: Duration) {
    loop {
        let missing = {
            let log = lock(log);
            log.confirmed
                .iter()
                .filter(|id| !log.effects.contains_key(*id))
                .count()
        };
        if missing == 0 || start.elapsed() >= deadline {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
