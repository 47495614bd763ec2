//! The embedded durable bus: every queue in one SQLite file, owned by one process.
//!
//! **Tables.** `queues` holds each declared queue's rules (delivery limit, lease, dead-letter
//! queue). `messages` holds every message a queue still holds, one row each: `seq` (the rowid)
//! is publish order, `attempts` counts deliveries, `tag` is the current delivery tag while in
//! flight, and `visible_at` is when the row may be delivered (again) — the publish time, the
//! retry time after a nack, or the end of the lease while in flight. Acked rows are deleted.
//! `seen` remembers each (queue, message id) published within the dedupe retention window.
//! `counters` hands out delivery tags. The schema is an embedded sqlx migration (see `schema`).
//!
//! **Why the promises hold.**
//! - *Publish = confirm*: a publish is one transaction, and with `synchronous=FULL` the commit
//!   returns only once the WAL is on disk.
//! - *Unacked = redelivered*: a delivery is a lease (`tag` set, `visible_at` = lease end). When
//!   the lease runs out the row matches the "deliverable" query again; on [`SqliteBus::open`]
//!   every lease a previous (crashed) process left is released at once. `attempts` is never
//!   reset, so it keeps counting across both.
//! - *Stale tags*: tags come from a durable counter and are never reused, so an ack with an old
//!   tag (acked already, or leased again under a new tag) matches no row → `StaleDelivery`.
//! - *Dead-lettering loses nothing*: the copy into `<queue>.dead` and the delete are one
//!   transaction; the body is copied by SQLite and never enters Rust. A message whose lease
//!   expired `delivery_limit` times (a consumer that crashes on it) is dead-lettered when it
//!   would be delivered once more, so a poison message cannot crash-loop the hub.
//! - *Dedupe*: the `seen` row for (queue, id) is written in the publish transaction; a second
//!   publish within the retention window stores nothing.
//! - *Purge*: `purge_key` deletes, in one transaction, the rows of the key that are not leased
//!   (`tag` null, or lease over); a leased row is left to its consumer.
//! - *Per-key order*: a keyed message is deliverable only when no older row with its key is
//!   left in the queue — in flight, delayed or ready — so keys go one at a time, in `seq` order.
//!
//! **Waiting costs nothing.** A `receive` with nothing deliverable sleeps until the earliest
//! moment something on its queue can come due (a retry's time, a lease's end) or until a
//! publish, ack, nack or reject in this process wakes it — it does not poll (see `wait`).
//!
//! One connection serialises all operations of the process (SQLite has a single writer anyway).
//! Two processes must not open the same file: each would release the other's leases (and a
//! publish from the other would not wake this one's receivers).

mod schema;
mod store;
mod wait;

use std::{
    path::{Path, PathBuf},
    sync::atomic::{AtomicI64, Ordering},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use async_trait::async_trait;
use sqlx::SqlitePool;
use wait::Wakers;

use crate::{
    Bus, BusError, DELIVERY_LIMIT_REASON, Delivery, Disposition, Message, Published, QueueDepth,
    QueueSpec,
};

/// How often, at most, expired dedupe rows are pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(60);

/// Settings of the embedded bus. `Default` gives the documented defaults.
#[derive(Clone, Debug)]
pub struct SqliteBusOptions {
    /// Largest message accepted, in bytes: body plus key plus header names and values.
    /// Default 32 MiB: room for an adapter's largest body (16 MiB) once base64-encoded in its
    /// envelope (about 21.4 MiB) with its context.
    pub max_message_size: usize,
    /// How long a published message id is remembered, so that republishing it to the same queue
    /// is a no-op. Default 7 days.
    pub dedupe_retention: Duration,
    /// The longest a waiting `receive` sleeps before looking again. Not a poll: a receive sleeps
    /// until the next retry or lease end on its queue comes due, and a publish, ack, nack or
    /// reject in this process wakes it at once; only one process uses the file, so nothing
    /// else can change it. This is a safety net only (due times are wall-clock, which can
    /// step). Default 30 s.
    pub poll_interval: Duration,
    /// How long to wait for a lock held by another connection to the file. Default 5 s.
    pub busy_timeout: Duration,
}

impl Default for SqliteBusOptions {
    fn default() -> Self {
        Self {
            max_message_size: 32 * 1024 * 1024,
            dedupe_retention: Duration::from_secs(7 * 24 * 60 * 60),
            poll_interval: Duration::from_secs(30),
            busy_timeout: Duration::from_secs(5),
        }
    }
}

/// The embedded durable [`Bus`] on one SQLite file.
pub struct SqliteBus {
    path: PathBuf,
    pool: SqlitePool,
    options: SqliteBusOptions,
    wakers: Wakers,
    last_prune: AtomicI64,
}

impl std::fmt::Debug for SqliteBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteBus")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl SqliteBus {
    /// Opens (creating if needed) the bus in the file at `path`, with default options.
    pub async fn open(path: &Path) -> Result<SqliteBus, BusError> {
        Self::open_with(path, SqliteBusOptions::default()).await
    }

    /// Opens the bus with `options`. Every message left in flight by a previous process is made
    /// deliverable again (its attempt count kept), and expired dedupe rows are pruned.
    pub async fn open_with(path: &Path, options: SqliteBusOptions) -> Result<SqliteBus, BusError> {
        let pool = schema::connect(path, &options).await?;
        let now = now_ms();
        let mut conn = pool.acquire().await.map_err(backend)?;
        let released = store::release_all(&mut conn, now).await?;
        let pruned = store::prune_seen(
            &mut conn,
            now.saturating_sub(millis(options.dedupe_retention)),
        )
        .await?;
        drop(conn);
        tracing::info!(path = %path.display(), released, pruned, "embedded bus opened");
        let path = path.to_owned();
        Ok(Self {
            path,
            pool,
            options,
            wakers: Wakers::default(),
            last_prune: AtomicI64::new(now),
        })
    }

    /// Closes the file cleanly, waiting for running operations. Dropping the bus also closes it.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// The options the bus was opened with.
    pub fn options(&self) -> &SqliteBusOptions {
        &self.options
    }

    /// Wakes `queue`'s waiting receivers: something may have become deliverable.
    fn wake(&self, queue: &str) {
        self.wakers.wake(queue);
    }

    /// Leases the next deliverable message of `queue`, if there is one now. A message that has
    /// already been delivered `delivery_limit` times without a nack (its consumer kept dying) is
    /// dead-lettered instead. With nothing deliverable, says when something next comes due.
    async fn try_take(&self, queue: &str) -> Result<Taken, BusError> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let spec = store::spec(&mut tx, queue).await?;
        let now = now_ms();
        let mut dead_lettered = false;
        let taken = loop {
            let Some((seq, attempts)) = store::next(&mut tx, queue, now).await? else {
                break Taken::Idle(wait::next_due(&mut tx, queue, now).await?);
            };
            if attempts < spec.delivery_limit {
                let until = now.saturating_add(spec.lease_ms);
                break Taken::Delivery(store::lease(&mut tx, queue, seq, until).await?);
            }
            let route = (queue, spec.dead_letter.as_str());
            store::dead_letter(&mut tx, seq, route, DELIVERY_LIMIT_REASON, now).await?;
            dead_lettered = true;
        };
        tx.commit().await.map_err(backend)?;
        if dead_lettered {
            self.wake(&spec.dead_letter);
        }
        if let Taken::Delivery(delivery) = &taken {
            let id = delivery.message.id.as_str();
            tracing::debug!(queue, id, attempt = delivery.attempt, "message delivered");
        }
        Ok(taken)
    }

    /// Prunes expired dedupe rows if the last prune is older than [`PRUNE_EVERY`]. Failing to
    /// prune is logged, never returned: the publish that triggered it is already durable.
    async fn maybe_prune(&self, now: i64) {
        if !self.claim_prune(now) {
            return;
        }
        let cutoff = now.saturating_sub(millis(self.options.dedupe_retention));
        let pruned = match self.pool.acquire().await {
            Ok(mut conn) => store::prune_seen(&mut conn, cutoff).await,
            Err(e) => Err(backend(e)),
        };
        match pruned {
            Ok(rows) => tracing::debug!(rows, "pruned expired dedupe rows"),
            Err(e) => tracing::warn!(error = %e, "pruning expired dedupe rows failed"),
        }
    }

    /// Whether this caller should prune now: the last prune is old enough and no one else
    /// claimed this turn.
    fn claim_prune(&self, now: i64) -> bool {
        let last = self.last_prune.load(Ordering::Relaxed);
        let due = now.saturating_sub(last) >= millis(PRUNE_EVERY);
        let (success, failure) = (Ordering::AcqRel, Ordering::Relaxed);
        due && self
            .last_prune
            .compare_exchange(last, now, success, failure)
            .is_ok()
    }

    /// Refuses a message over [`SqliteBusOptions::max_message_size`].
    fn check_size(&self, message: &Message) -> Result<(), BusError> {
        let headers: usize = message
            .headers
            .iter()
            .map(|(name, value)| name.len() + value.len())
            .sum();
        let size =
            message.body.expose().len() + message.key.as_ref().map_or(0, String::len) + headers;
        let limit = self.options.max_message_size;
        if size > limit {
            return Err(BusError::TooLarge {
                id: message.id.to_string(),
                size,
                limit,
            });
        }
        Ok(())
    }
}

#[async_trait]
impl Bus for SqliteBus {
    async fn declare(&self, spec: &QueueSpec) -> Result<(), BusError> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        store::declare(&mut tx, spec).await?;
        tx.commit().await.map_err(backend)?;
        tracing::debug!(queue = %spec.name, "queue declared");
        Ok(())
    }

    async fn publish(&self, queue: &str, message: Message) -> Result<Published, BusError> {
        self.check_size(&message)?;
        let now = now_ms();
        let cutoff = now.saturating_sub(millis(self.options.dedupe_retention));
        let mut tx = self.pool.begin().await.map_err(backend)?;
        store::spec(&mut tx, queue).await?;
        if !store::remember(&mut tx, queue, &message.id, now, cutoff).await? {
            tx.rollback().await.map_err(backend)?;
            tracing::debug!(queue, id = %message.id, "duplicate publish ignored");
            return Ok(Published::Duplicate);
        }
        store::insert(&mut tx, queue, &message, now).await?;
        tx.commit().await.map_err(backend)?;
        tracing::debug!(queue, id = %message.id, "message published");
        self.wake(queue);
        self.maybe_prune(now).await;
        Ok(Published::New)
    }

    async fn receive(&self, queue: &str, wait: Duration) -> Result<Option<Delivery>, BusError> {
        // A wait too long to represent is as good as a year.
        let deadline = Instant::now() + wait.min(Duration::from_secs(365 * 24 * 60 * 60));
        let waker = self.wakers.of(queue);
        loop {
            // Registered before looking, so a publish between the look and the wait still wakes.
            let notified = waker.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let due = match self.try_take(queue).await? {
                Taken::Delivery(delivery) => return Ok(Some(delivery)),
                Taken::Idle(due) => due,
            };
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            let pause = wait::pause(now_ms(), due, left, self.options.poll_interval);
            let _ = tokio::time::timeout(pause, notified).await;
        }
    }

    async fn ack(&self, delivery: &Delivery) -> Result<(), BusError> {
        let mut conn = self.pool.acquire().await.map_err(backend)?;
        if !store::delete_held(&mut conn, &delivery.queue, delivery.tag).await? {
            return Err(BusError::StaleDelivery(delivery.tag.0));
        }
        drop(conn);
        tracing::debug!(queue = %delivery.queue, id = %delivery.message.id, "message acked");
        self.wake(&delivery.queue);
        Ok(())
    }

    async fn nack(
        &self,
        delivery: &Delivery,
        retry_after: Duration,
    ) -> Result<Disposition, BusError> {
        let queue = delivery.queue.as_str();
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let held = store::held(&mut tx, queue, delivery.tag).await?;
        let held = held.ok_or(BusError::StaleDelivery(delivery.tag.0))?;
        let now = now_ms();
        let disposition = if held.attempts >= held.delivery_limit {
            let route = (queue, held.dead_letter.as_str());
            store::dead_letter(&mut tx, held.seq, route, DELIVERY_LIMIT_REASON, now).await?;
            Disposition::DeadLettered
        } else {
            store::requeue(&mut tx, held.seq, now.saturating_add(millis(retry_after))).await?;
            Disposition::Requeued
        };
        tx.commit().await.map_err(backend)?;
        tracing::debug!(queue, id = %delivery.message.id, ?disposition, "message nacked");
        self.wake(queue);
        self.wake(&held.dead_letter);
        Ok(disposition)
    }

    async fn reject(&self, delivery: &Delivery, reason: &str) -> Result<(), BusError> {
        let queue = delivery.queue.as_str();
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let held = store::held(&mut tx, queue, delivery.tag).await?;
        let held = held.ok_or(BusError::StaleDelivery(delivery.tag.0))?;
        store::dead_letter(
            &mut tx,
            held.seq,
            (queue, &held.dead_letter),
            reason,
            now_ms(),
        )
        .await?;
        tx.commit().await.map_err(backend)?;
        self.wake(queue);
        self.wake(&held.dead_letter);
        Ok(())
    }

    async fn depth(&self, queue: &str) -> Result<QueueDepth, BusError> {
        let mut conn = self.pool.acquire().await.map_err(backend)?;
        store::spec(&mut conn, queue).await?;
        let (total, in_flight) = store::depth(&mut conn, queue, now_ms()).await?;
        let in_flight = in_flight.unsigned_abs();
        Ok(QueueDepth {
            ready: total.unsigned_abs().saturating_sub(in_flight),
            in_flight,
        })
    }

    async fn purge_key(&self, queue: &str, key: &str) -> Result<u64, BusError> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        store::spec(&mut tx, queue).await?;
        let purged = store::purge_key(&mut tx, queue, key, now_ms()).await?;
        tx.commit().await.map_err(backend)?;
        // Nothing becomes deliverable: every ready message of the key is gone, and whatever of
        // the key is left (in flight) still goes first.
        tracing::debug!(queue, purged, "ready messages of a key purged");
        Ok(purged)
    }
}

/// What one look at a queue found.
enum Taken {
    /// A message, now leased to the caller.
    Delivery(Delivery),
    /// Nothing deliverable; when something next comes due (unix ms), if anything is waiting on
    /// the clock.
    Idle(Option<i64>),
}

/// Maps a database error. sqlx's messages carry SQLite's text, never bound values (bodies).
fn backend(error: sqlx::Error) -> BusError {
    BusError::Backend(error.to_string())
}

/// A duration in whole milliseconds, saturating.
fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// The wall clock in unix milliseconds (persisted, so it must survive a restart).
fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, millis)
}
