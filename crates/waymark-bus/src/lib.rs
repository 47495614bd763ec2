//! The bus: how envelopes and stage outputs move between the five stages.
//!
//! [`Bus`] is the one trait every implementation provides (the embedded bus on SQLite,
//! [`SqliteBus`], and RabbitMQ, `RabbitBus` behind the `rabbitmq` feature, ADR 0005), with the
//! same promises: a publish returns only once the message is durable;
//! a consumer acks only after its effect is durable; an unacked message is redelivered; a message
//! that fails `delivery_limit` times, or is rejected, goes to its dead-letter queue; messages with
//! the same `key` are delivered in publish order, one at a time — within one process always, and
//! across processes on an *ordered* queue ([`QueueSpec::ordered`], the default: on RabbitMQ one
//! process consumes it, others stand by). An *unordered* queue shares its work among every
//! consuming process (competing consumers), for stages whose effect does not depend on order.
//!
//! The promises are written down as checks in `conformance` (feature `conformance`), which
//! every implementation's tests run. Where RabbitMQ cannot keep a promise the way SQLite does
//! (dedupe across processes, the count a purge returns), the difference is a named
//! `conformance::Capabilities` flag with its reason, never a silently weaker check.
//!
//! [`open`] opens a bus from a URL (`sqlite://path`, `amqp://...`), for stage processes.
//!
//! This crate must never look inside a message body: bodies are opaque, sensitive bytes.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod adapter;
#[cfg(feature = "conformance")]
pub mod conformance;
mod health;
mod message;
mod open;
mod publisher;
#[cfg(feature = "rabbitmq")]
mod rabbit;
mod sqlite;

pub use adapter::AdapterContext;
pub use health::{BusHealth, LinkState};
pub use message::{
    DELIVERY_LIMIT_REASON, Delivery, DeliveryTag, Disposition, Message, Published, QueueDepth,
    QueueSpec, X_DEATH_ATTEMPTS, X_DEATH_QUEUE, X_DEATH_REASON, dead_letter_name,
};
pub use open::open;
pub use publisher::Publisher;
#[cfg(feature = "rabbitmq")]
pub use rabbit::{RabbitBus, RabbitBusOptions};
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
    /// The queue exists on the broker with other arguments (ordering or delivery limit changed
    /// since it was declared). RabbitMQ cannot change them in place: drain the queue, delete it,
    /// and start again. Retrying will not help.
    #[error(
        "queue `{0}` exists with other arguments (ordering or delivery limit changed): drain it, \
         delete it (e.g. `rabbitmqctl delete_queue {0}`) and start again"
    )]
    QueueMismatch(String),
    /// The request can never succeed on this bus (e.g. a queue or header name over RabbitMQ's
    /// 255-byte limit, or a URL naming no known bus). Retrying will not help.
    #[error("bus request refused: {0}")]
    Invalid(String),
}

impl ErrorCode for BusError {
    fn code(&self) -> &'static str {
        match self {
            Self::UnknownQueue(_) => "bus.unknown-queue",
            Self::TooLarge { .. } => "bus.too-large",
            Self::StaleDelivery(_) => "bus.stale-delivery",
            Self::Backend(_) => "bus.backend",
            Self::Invalid(_) => "bus.invalid",
            Self::QueueMismatch(_) => "bus.queue-mismatch",
        }
    }

    fn issue_type(&self) -> IssueType {
        match self {
            Self::UnknownQueue(_) | Self::StaleDelivery(_) => IssueType::Exception,
            Self::TooLarge { .. } => IssueType::TooCostly,
            Self::Backend(_) => IssueType::Transient,
            Self::Invalid(_) | Self::QueueMismatch(_) => IssueType::Invalid,
        }
    }
}

/// A durable, at-least-once message bus.
#[async_trait]
pub trait Bus: Send + Sync + 'static {
    /// Declares a queue and its dead-letter queue (idempotent). An existing queue declared
    /// with other rules may be refused with [`BusError::QueueMismatch`] (RabbitMQ).
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
    ///
    /// On RabbitMQ the purge is a durable tombstone applied by whichever process consumes the
    /// queue, and the count is what this process removed at once (ADR 0005).
    async fn purge_key(&self, queue: &str, key: &str) -> Result<u64, BusError>;

    /// The state of the link to the backend, for the health endpoint and telemetry: up, down
    /// (publishers are waiting and retrying) or blocked (a broker alarm holds publishers).
    /// A bus with no link to lose (the embedded one) is always up.
    fn health(&self) -> BusHealth {
        BusHealth::up("embedded")
    }
}
