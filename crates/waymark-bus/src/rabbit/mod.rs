//! The RabbitMQ bus (feature `rabbitmq`): [`RabbitBus`], the [`Bus`](crate::Bus) trait on
//! durable quorum queues through lapin. ADR 0005 has the design; in short:
//! - **publish** = publish with `mandatory` on a confirm channel and wait for the broker's ack
//!   (an unroutable return means the queue does not exist). Failures and lost connections are
//!   retried with back-off on a fresh connection, so a publisher waits out a broker restart or
//!   an alarm (see [`crate::BusHealth`]) instead of failing or dropping;
//! - **receive** = take from this process's local queue ([`local`]), which a broker consumer
//!   (prefetch [`RabbitBusOptions::prefetch`], single active consumer per queue) keeps filled;
//!   acks, nacks and rejects act on the broker only once the outcome is decided;
//! - **retries** under 30 s wait in the local queue, unacked, in their place; longer ones go to
//!   shared delay queues and come back through the requeue exchange;
//! - **dead-lettering** by the bus (nack at the limit, reject, lease expiries) publishes a copy
//!   to `<queue>.dead` and then acks; the broker dead-letters (at least once) what a crashing
//!   consumer took back `delivery_limit` times (`x-delivery-limit`);
//! - **dedupe** is by message id, in this process: ids it published to a queue, and ids its
//!   consumers hold or settled; **purge** is a durable tombstone in the registry queue,
//!   broadcast to the running consumers.

mod bus;
mod codec;
mod consumer;
mod control;
mod ids;
mod link;
mod local;
mod moves;
mod ops;
mod options;
mod pause;
mod publish;
mod registry;
mod topology;

pub use options::RabbitBusOptions;

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex, MutexGuard,
        atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering},
    },
    time::{SystemTime, UNIX_EPOCH},
};

use lapin::Acker;
use tokio::sync::Notify;

use self::{control::Control, ids::RecentIds, link::Link, local::LocalQueue};

/// The RabbitMQ [`Bus`](crate::Bus). Cheap to share behind an `Arc`; one connection per bus.
pub struct RabbitBus {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for RabbitBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RabbitBus").finish_non_exhaustive()
    }
}

/// What the bus and its consumer tasks share.
pub(super) struct Inner {
    link: Link,
    control: Control,
    consumed: Mutex<HashMap<String, Arc<Consumed>>>,
    /// `queue \0 id` of what this process published.
    published: Mutex<RecentIds>,
    clock: Clock,
    tags: AtomicU64,
    closed: AtomicBool,
    /// One registry read at a time in this process (the broker lock is per connection).
    reading: tokio::sync::Mutex<()>,
}

impl Inner {
    fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Relaxed)
    }

    /// A fresh number for delivery tags, consumer generations and control tokens: unique in
    /// this process, and (seeded from the clock) across processes.
    fn next_tag(&self) -> u64 {
        self.tags.fetch_add(1, Ordering::Relaxed)
    }

    /// The local queue of `queue`, if this process consumes it.
    fn consumed(&self, queue: &str) -> Option<Arc<Consumed>> {
        lock(&self.consumed).get(queue).cloned()
    }

    /// Takes in a registry record; a tombstone is applied to the local queue at once. Returns
    /// how many messages that removed.
    async fn apply(&self, record: control::Record) -> u64 {
        match self.control.read(record) {
            Some((queue, key, at_us)) => consumer::apply_purge(self, &queue, &key, at_us).await,
            None => 0,
        }
    }

    /// Reads the whole registry again and applies it.
    async fn refresh(&self) -> Result<(), crate::BusError> {
        let _one = self.reading.lock().await;
        let session = self.link.session().await?;
        let retention = self.link.options.dedupe_retention;
        let records = registry::read_all(&session.conn, retention, self.clock.now()).await?;
        for record in records {
            self.apply(record).await;
        }
        Ok(())
    }
}

/// A queue this process consumes.
pub(super) struct Consumed {
    name: String,
    dead_letter: String,
    local: Mutex<LocalQueue<Acker>>,
    notify: Notify,
    /// Messages dropped on arrival as purged (to count a purge's stragglers).
    purged_on_arrival: AtomicU64,
}

impl Consumed {
    fn local(&self) -> MutexGuard<'_, LocalQueue<Acker>> {
        lock(&self.local)
    }

    /// Its consumer's channel (generation `generation`) died.
    fn lost(&self, generation: u64) {
        self.local().drop_generation(generation);
        self.notify.notify_waiters();
    }
}

/// Unix microseconds, strictly increasing within the process: a purge's instant is after every
/// publish this process made before it.
pub(super) struct Clock(AtomicI64);

impl Clock {
    fn new() -> Self {
        Self(AtomicI64::new(0))
    }

    pub(super) fn now(&self) -> i64 {
        let wall = wall_micros();
        let mut last = self.0.load(Ordering::Relaxed);
        loop {
            let next = wall.max(last + 1);
            match self
                .0
                .compare_exchange(last, next, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) => return next,
                Err(seen) => last = seen,
            }
        }
    }
}

fn wall_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, local::micros)
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

impl Drop for RabbitBus {
    fn drop(&mut self) {
        self.inner.closed.store(true, Ordering::Relaxed);
        let inner = Arc::clone(&self.inner);
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move { inner.link.close().await });
        }
    }
}
