//! The bus: how envelopes and stage outputs move between the five stages.
//!
//! [`Bus`] is the one trait every implementation provides (the embedded bus on SQLite here,
//! [`SqliteBus`]; RabbitMQ later), with the same promises: a publish returns only once the message is durable;
//! a consumer acks only after its effect is durable; an unacked message is redelivered; a message
//! that fails `delivery_limit` times, or is rejected, goes to its dead-letter queue; messages with
//! the same `key` are delivered in publish order, one at a time.
//!
//! The promises are written down as checks in `conformance` (feature `conformance`), which
//! every implementation's tests run.
//!
//! This crate must never look inside a message body: bodies are opaque, sensitive bytes.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

#[cfg(feature = "conformance")]
pub mod conformance;
mod message;
mod publisher;
mod sqlite;

pub use message::{
    DELIVERY_LIMIT_REASON, Delivery, DeliveryTag, Disposition, Message, Published, QueueDepth,
    QueueSpec, X_DEATH_ATTEMPTS, X_DEATH_QUEUE, X_DEATH_REASON, dead_letter_name,
};
pub use publisher::Publisher;
pub use sqlite::{SqliteBus, SqliteBusOptions};

use std::time::Duration;

use async_trait::async_trait;
use waymark_core::{ErrorCode, IssueType};

/// What can go wrong talking to a bus. Messages never contain message bodies.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// The queue was never declared.
    #[error("queue `{0}` is not declared")]
    UnknownQueue(String),
    /// The message is larger than the bus accepts.
    #[error("message `{id}` is {size} bytes, over the bus limit of {limit} bytes")]
    TooLarge {
        /// Message id.
        id: String,
        /// Its size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The delivery was already acked, nacked or rejected, or its lease expired.
    #[error("delivery `{0}` is no longer held by this consumer")]
    StaleDelivery(u64),
    /// The backing store or broker failed; retry later.
    #[error("bus backend failed: {0}")]
    Backend(String),
}

impl ErrorCode for BusError {
    fn code(&self) -> &'static str {
        match self {
            Self::UnknownQueue(_) => "bus.unknown-queue",
            Self::TooLarge { .. } => "bus.too-large",
            Self::StaleDelivery(_) => "bus.stale-delivery",
            Self::Backend(_) => "bus.backend",
        }
    }

    fn issue_type(&self) -> IssueType {
        match self {
            Self::UnknownQueue(_) | Self::StaleDelivery(_) => IssueType::Exception,
            Self::TooLarge { .. } => IssueType::TooCostly,
            Self::Backend(_) => IssueType::Transient,
        }
    }
}

/// A durable, at-least-once message bus.
#[async_trait]
pub trait Bus: Send + Sync + 'static {
    /// Declares a queue and its dead-letter queue (idempotent).
    async fn declare(&self, spec: &QueueSpec) -> Result<(), BusError>;

    /// Publishes and returns once the message is durable (the publisher confirm).
    /// A message whose id was already published to this queue is not stored twice.
    async fn publish(&self, queue: &str, message: Message) -> Result<Published, BusError>;

    /// Takes the next deliverable message, waiting up to `wait` for one.
    async fn receive(&self, queue: &str, wait: Duration) -> Result<Option<Delivery>, BusError>;

    /// The consumer's effect is durable: forget the message.
    async fn ack(&self, delivery: &Delivery) -> Result<(), BusError>;

    /// The consumer failed; deliver again after `retry_after`, or dead-letter the message when it
    /// has been delivered `delivery_limit` times.
    async fn nack(
        &self,
        delivery: &Delivery,
        retry_after: Duration,
    ) -> Result<Disposition, BusError>;

    /// The message can never succeed: dead-letter it now. `reason` must hold no patient data.
    async fn reject(&self, delivery: &Delivery, reason: &str) -> Result<(), BusError>;

    /// How many messages a queue holds.
    async fn depth(&self, queue: &str) -> Result<QueueDepth, BusError>;

    /// Removes every *ready* message of `queue` whose ordering key is `key` — deliverable now,
    /// waiting for a retry, or whose lease ran out — and returns how many. Messages in flight
    /// (received, lease running) are left to finish: their consumer acks, nacks or rejects them
    /// as usual. Only `queue` is touched: its dead-letter queue keeps what it holds unless it is
    /// itself the `queue` named. The ids stay remembered, so republishing a purged id within the
    /// dedupe window is still a no-op. Used to withdraw a person's undelivered notifications.
    async fn purge_key(&self, queue: &str, key: &str) -> Result<u64, BusError>;
}
