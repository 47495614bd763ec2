//! [`RabbitBus`]'s constructor and the helpers its [`Bus`](crate::Bus) operations share.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use lapin::{
    ErrorKind,
    options::QueueDeclareOptions,
    protocol::{AMQPErrorKind, AMQPSoftError},
    types::FieldTable,
};
use tokio::sync::Notify;

use super::{
    Clock, Consumed, Inner, RabbitBus, RabbitBusOptions, codec, consumer,
    control::{self, Rules},
    ids::RecentIds,
    link::{Link, amqp},
    local::LocalQueue,
    lock, wall_micros,
};
use crate::{BusError, Delivery, QueueSpec};

impl RabbitBus {
    /// Connects to the broker at `url` (`amqp://user:pass@host:port/vhost`), declares the shared
    /// topology and starts reading the control stream. Fails with [`BusError::Backend`] when no
    /// connection can be made within [`RabbitBusOptions::connect_patience`]; after that, a lost
    /// connection is re-established in the background and never fails the bus.
    pub async fn connect(url: &str, options: RabbitBusOptions) -> Result<RabbitBus, BusError> {
        let seed = wall_micros().max(1).unsigned_abs() << 10;
        let published = RecentIds::new(options.dedupe_capacity, options.dedupe_retention);
        let patience = options.connect_patience;
        let inner = Arc::new(Inner {
            link: Link::new(url, options),
            control: control::Control::default(),
            consumed: Mutex::new(HashMap::new()),
            published: Mutex::new(published),
            clock: Clock::new(),
            tags: AtomicU64::new(seed),
            closed: AtomicBool::new(false),
            reading: tokio::sync::Mutex::new(()),
        });
        inner.link.session_within(patience).await.map_err(|e| {
            BusError::Backend(format!("cannot reach RabbitMQ within {patience:?}: {e}"))
        })?;
        inner.refresh().await?;
        tokio::spawn(consumer::run_control(Arc::downgrade(&inner)));
        Ok(RabbitBus { inner })
    }

    /// Closes the connection: unacked messages go back to their queues.
    pub async fn close(&self) {
        self.inner.closed.store(true, Ordering::Relaxed);
        self.inner.link.close().await;
    }

    /// The options the bus was opened with.
    pub fn options(&self) -> &RabbitBusOptions {
        &self.inner.link.options
    }

    /// `Some((ready, consumers))` of `queue` at the broker, `None` when it does not exist.
    pub(super) async fn passive(&self, queue: &str) -> Result<Option<(u64, u32)>, BusError> {
        let name = codec::short(queue)?;
        let session = self
            .inner
            .link
            .session_within(self.options().publish_patience)
            .await?;
        let channel = session.conn.create_channel().await.map_err(amqp)?;
        let options = QueueDeclareOptions {
            passive: true,
            ..QueueDeclareOptions::default()
        };
        match channel
            .queue_declare(name, options, FieldTable::default())
            .await
        {
            Ok(found) => {
                super::link::close_channel(&channel, "done").await;
                Ok(Some((
                    u64::from(found.message_count()),
                    found.consumer_count(),
                )))
            }
            Err(error) if not_found(&error) => Ok(None),
            Err(error) => Err(amqp(error)),
        }
    }

    /// The local queue of `queue`, starting its consumer if this process has none yet.
    pub(super) async fn consume(&self, queue: &str) -> Result<Arc<Consumed>, BusError> {
        if let Some(consumed) = self.inner.consumed(queue) {
            return Ok(consumed);
        }
        let rules = self.rules(queue).await?;
        let options = self.options();
        let settled = RecentIds::new(options.dedupe_capacity, options.dedupe_retention);
        let fresh = Arc::new(Consumed {
            name: queue.to_owned(),
            dead_letter: rules.dead_letter.clone(),
            local: Mutex::new(LocalQueue::new(queue, rules.limit, rules.lease, settled)),
            notify: Notify::new(),
            purged_on_arrival: AtomicU64::new(0),
        });
        let mut consumed = lock(&self.inner.consumed);
        if let Some(existing) = consumed.get(queue) {
            return Ok(Arc::clone(existing));
        }
        consumed.insert(queue.to_owned(), Arc::clone(&fresh));
        drop(consumed);
        tokio::spawn(consumer::run_queue(
            Arc::downgrade(&self.inner),
            Arc::clone(&fresh),
        ));
        Ok(fresh)
    }

    /// The rules of `queue`: known here, or read from the registry, or — for a queue that
    /// exists but whose spec record is gone — the defaults, with a warning.
    pub(super) async fn rules(&self, queue: &str) -> Result<Rules, BusError> {
        if let Some(rules) = self.inner.control.rules(queue) {
            return Ok(rules);
        }
        self.inner.refresh().await?;
        if let Some(rules) = self.inner.control.rules(queue) {
            return Ok(rules);
        }
        if self.passive(queue).await?.is_none() {
            return Err(BusError::UnknownQueue(queue.to_owned()));
        }
        tracing::warn!(
            queue,
            "queue exists but its spec is unknown here: declare it in this process; using the defaults"
        );
        Ok(Rules::of(&QueueSpec::new(queue)))
    }

    /// After a purge: lets the consumer of `consumed` pull in what the broker still holds (up
    /// to its prefetch), so the messages the tombstone removes are counted. Returns how many
    /// were dropped on arrival meanwhile.
    pub(super) async fn catch_up(&self, consumed: &Consumed) -> Result<u64, BusError> {
        let before = consumed.purged_on_arrival.load(Ordering::Relaxed);
        let prefetch = usize::from(self.options().prefetch);
        let deadline = Instant::now() + Duration::from_secs(2);
        let mut empty_twice = 0;
        while Instant::now() < deadline && empty_twice < 2 {
            let (ready, _) = self.passive(&consumed.name).await?.unwrap_or((0, 0));
            let full = consumed.local().len() >= prefetch;
            empty_twice = if ready == 0 || full {
                empty_twice + 1
            } else {
                0
            };
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(consumed.purged_on_arrival.load(Ordering::Relaxed) - before)
    }

    /// Settles a delivery's start: its local queue and what it holds, or `StaleDelivery`.
    pub(super) fn begin(
        &self,
        delivery: &Delivery,
    ) -> Result<(Arc<Consumed>, super::local::settle::Begun<lapin::Acker>), BusError> {
        let stale = || BusError::StaleDelivery(delivery.tag.0);
        let consumed = self.inner.consumed(&delivery.queue).ok_or_else(stale)?;
        let begun = consumed
            .local()
            .begin(delivery.tag.0, delivery.message.id.as_str());
        let begun = begun.ok_or_else(stale)?;
        Ok((consumed, begun))
    }
}

fn not_found(error: &lapin::Error) -> bool {
    matches!(error.kind(), ErrorKind::ProtocolError(e) if *e.kind() == AMQPErrorKind::Soft(AMQPSoftError::NOTFOUND))
}
