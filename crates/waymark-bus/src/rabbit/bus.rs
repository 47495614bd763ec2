//! [`RabbitBus`]'s [`Bus`] operations; the helpers they share are in `ops`.

use std::time::{Duration, Instant};

use async_trait::async_trait;

use super::{
    RabbitBus, codec,
    control::{Record, Rules},
    local::{Take, settle::Outcome},
    lock, moves,
    publish::{self, Routed},
    registry,
    topology::SHORTEST_TIER,
};
use crate::{
    Bus, BusError, BusHealth, DELIVERY_LIMIT_REASON, Delivery, Disposition, Message, Published,
    QueueDepth, QueueSpec,
};

/// How long writing a registry record may wait for the broker.
const REGISTRY_PATIENCE: Duration = Duration::from_secs(60);

#[async_trait]
impl Bus for RabbitBus {
    async fn declare(&self, spec: &QueueSpec) -> Result<(), BusError> {
        let session = self
            .inner
            .link
            .session_within(self.options().publish_patience)
            .await?;
        {
            // One declarer at a time across processes (the broker lock), and within this
            // process never beside a registry read on the same connection (not re-entrant).
            let _one = self.inner.reading.lock().await;
            let lock = registry::BrokerLock::take(&session.conn).await?;
            let declared = super::topology::declare_queue(&session.conn, spec).await;
            lock.release().await;
            declared?;
        }
        self.inner.link.remember(spec);
        let dead = spec.dead_letter_name();
        let rules = Rules::of(spec);
        let at_us = self.inner.clock.now();
        let mut records = vec![Record::Spec {
            queue: spec.name.clone(),
            rules: rules.clone(),
            at_us,
        }];
        // An implicit dead-letter queue inherits the rules and dead-letters into itself.
        if self.inner.control.rules(&dead).is_none() {
            let rules = Rules {
                dead_letter: dead.clone(),
                ..rules
            };
            records.push(Record::Spec {
                queue: dead,
                rules,
                at_us,
            });
        }
        for record in records {
            registry::append(&self.inner.link, &record, REGISTRY_PATIENCE).await?;
            self.inner.apply(record).await;
        }
        tracing::debug!(queue = %spec.name, "queue declared");
        Ok(())
    }

    async fn publish(&self, queue: &str, message: Message) -> Result<Published, BusError> {
        let (size, limit) = (codec::size(&message), self.options().max_message_size);
        if size > limit {
            return Err(BusError::TooLarge {
                id: message.id.to_string(),
                size,
                limit,
            });
        }
        codec::short(queue)?;
        let seen = format!("{queue}\0{}", message.id.as_str());
        if lock(&self.inner.published).contains(&seen, Instant::now()) {
            tracing::debug!(queue, id = %message.id, "duplicate publish ignored");
            return Ok(Published::Duplicate);
        }
        let meta = codec::Meta {
            enqueued_us: self.inner.clock.now(),
            ..codec::Meta::default()
        };
        let properties = codec::encode(&message, &meta)?;
        let patience = self.options().publish_patience;
        let body = message.body.expose();
        match publish::confirmed(&self.inner.link, ("", queue), &properties, body, patience).await?
        {
            Routed::NoRoute => Err(BusError::UnknownQueue(queue.to_owned())),
            Routed::Stored => {
                lock(&self.inner.published).insert(&seen, Instant::now());
                tracing::debug!(queue, id = %message.id, "message published");
                Ok(Published::New)
            }
        }
    }

    async fn receive(&self, queue: &str, wait: Duration) -> Result<Option<Delivery>, BusError> {
        let consumed = self.consume(queue).await?;
        let deadline = Instant::now() + wait.min(Duration::from_secs(365 * 24 * 3600));
        loop {
            let notified = consumed.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let take = consumed.local().take(Instant::now(), self.inner.next_tag());
            let wake = match take {
                Take::Deliver(delivery) => return Ok(Some(delivery)),
                Take::DeadLetter(tag, moving) => {
                    moves::dead_letter(&self.inner, &consumed, tag, *moving, DELIVERY_LIMIT_REASON)
                        .await?;
                    continue;
                }
                Take::Nothing(wake) => wake,
            };
            let now = Instant::now();
            if now >= deadline {
                return Ok(None);
            }
            let until = wake.map_or(deadline, |w| w.min(deadline));
            let pause = until
                .saturating_duration_since(now)
                .max(Duration::from_millis(1));
            let _ = tokio::time::timeout(pause, notified).await;
        }
    }

    async fn ack(&self, delivery: &Delivery) -> Result<(), BusError> {
        let (consumed, begun) = self.begin(delivery)?;
        let ok = super::link::ack(&begun.moving.acker).await;
        let outcome = if ok { Outcome::Gone } else { Outcome::Failed };
        consumed
            .local()
            .finish(delivery.tag.0, outcome, Instant::now());
        consumed.notify.notify_waiters();
        if !ok {
            return Err(BusError::Backend(
                "ack not sent: the channel is gone; the message will be redelivered".into(),
            ));
        }
        tracing::debug!(queue = %delivery.queue, id = %delivery.message.id, "message acked");
        Ok(())
    }

    async fn nack(
        &self,
        delivery: &Delivery,
        retry_after: Duration,
    ) -> Result<Disposition, BusError> {
        let (consumed, begun) = self.begin(delivery)?;
        let tag = delivery.tag.0;
        let disposition = if begun.attempts >= begun.limit {
            moves::dead_letter(
                &self.inner,
                &consumed,
                tag,
                begun.moving,
                DELIVERY_LIMIT_REASON,
            )
            .await?;
            Disposition::DeadLettered
        } else if retry_after < SHORTEST_TIER {
            consumed.local().finish(
                tag,
                Outcome::RetryAt(Instant::now() + retry_after),
                Instant::now(),
            );
            Disposition::Requeued
        } else {
            let due = moves::due(&self.inner, retry_after);
            moves::park(&self.inner, &consumed, tag, begun.moving, due).await?;
            Disposition::Requeued
        };
        consumed.notify.notify_waiters();
        tracing::debug!(queue = %delivery.queue, id = %delivery.message.id, ?disposition, "message nacked");
        Ok(disposition)
    }

    async fn reject(&self, delivery: &Delivery, reason: &str) -> Result<(), BusError> {
        let (consumed, begun) = self.begin(delivery)?;
        moves::dead_letter(&self.inner, &consumed, delivery.tag.0, begun.moving, reason).await?;
        consumed.notify.notify_waiters();
        Ok(())
    }

    async fn depth(&self, queue: &str) -> Result<QueueDepth, BusError> {
        let (ready, _) = self
            .passive(queue)
            .await?
            .ok_or_else(|| BusError::UnknownQueue(queue.to_owned()))?;
        let (local_ready, in_flight) = self
            .inner
            .consumed(queue)
            .map_or((0, 0), |c| c.local().depth(Instant::now()));
        Ok(QueueDepth {
            ready: ready + local_ready,
            in_flight,
        })
    }

    async fn purge_key(&self, queue: &str, key: &str) -> Result<u64, BusError> {
        if self.passive(queue).await?.is_none() {
            return Err(BusError::UnknownQueue(queue.to_owned()));
        }
        let at_us = self.inner.clock.now();
        let record = Record::Purge {
            queue: queue.to_owned(),
            key: key.to_owned(),
            at_us,
        };
        registry::append(&self.inner.link, &record, REGISTRY_PATIENCE).await?;
        let mut purged = self.inner.apply(record).await;
        if let Some(consumed) = self.inner.consumed(queue) {
            purged += self.catch_up(&consumed).await?;
        }
        tracing::debug!(queue, purged, "ready messages of a key purged");
        Ok(purged)
    }

    fn health(&self) -> BusHealth {
        self.inner.link.health()
    }
}
