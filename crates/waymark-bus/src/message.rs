//! The values that cross the [`Bus`](crate::Bus) trait.

use std::{collections::BTreeMap, time::Duration};

use waymark_core::{MessageId, Sensitive};

/// A queue and its delivery rules.
#[derive(Clone, Debug)]
pub struct QueueSpec {
    /// Queue name, e.g. `waymark.map`.
    pub name: String,
    /// Deliveries (first included) before a failing message is dead-lettered: the delivery
    /// that reaches the limit and is nacked dead-letters it, and so does a lease running out
    /// that many times (its consumer keeps dying). At least 1.
    pub delivery_limit: u32,
    /// How long a received, unacked message is held before it is redelivered.
    pub lease: Duration,
    /// Whether messages of one key must be handled one at a time, in publish order, *across
    /// processes*. Every bus keeps per-key order among the consumers of one process. An
    /// ordered queue also keeps it across processes: on RabbitMQ it has a single active
    /// consumer, so a second process on it is a standby. An unordered queue (`false`) shares its
    /// work among every consuming process (competing consumers): two messages of one key may
    /// then be handled at the same time by two processes, so only a stage whose effect does not
    /// depend on order (stateless, or merged order-independently) may use one. The embedded bus
    /// is one process, so it keeps per-key order either way. Changing it on an existing
    /// RabbitMQ queue needs the queue drained and deleted first ([`BusError::QueueMismatch`]).
    ///
    /// [`BusError::QueueMismatch`]: crate::BusError::QueueMismatch
    pub ordered: bool,
}

impl QueueSpec {
    /// An ordered queue with the default limits: 5 deliveries, a 60 s lease.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            delivery_limit: 5,
            lease: Duration::from_secs(60),
            ordered: true,
        }
    }

    /// The same queue, its work shared among processes without cross-process per-key order
    /// (see [`ordered`](Self::ordered)).
    pub fn unordered(self) -> Self {
        Self {
            ordered: false,
            ..self
        }
    }

    /// The name of this queue's dead-letter queue.
    pub fn dead_letter_name(&self) -> String {
        dead_letter_name(&self.name)
    }
}

/// The dead-letter queue of `queue`.
pub fn dead_letter_name(queue: &str) -> String {
    format!("{queue}.dead")
}

/// Header a dead-lettered message carries: the queue it died in (where a replay sends it back).
pub const X_DEATH_QUEUE: &str = "x-death-queue";
/// Header a dead-lettered message carries: why — [`DELIVERY_LIMIT_REASON`] or a reject's reason.
pub const X_DEATH_REASON: &str = "x-death-reason";
/// Header a dead-lettered message carries: how many times it had been delivered.
pub const X_DEATH_ATTEMPTS: &str = "x-death-attempts";
/// The `x-death-reason` of a message that failed `delivery_limit` times.
pub const DELIVERY_LIMIT_REASON: &str = "delivery-limit";

/// A message to publish.
#[derive(Clone, Debug)]
pub struct Message {
    /// Stable id; a republish with the same id is a no-op.
    pub id: MessageId,
    /// Ordering key: messages with the same key are delivered one at a time, in publish order.
    /// Must not contain patient data (use a hash or a hub-generated id).
    pub key: Option<String>,
    /// Small metadata, no patient data (message type, source, content type).
    pub headers: BTreeMap<String, String>,
    /// The body: opaque, sensitive bytes.
    pub body: Sensitive<Vec<u8>>,
}

impl Message {
    /// A message with no key and no headers.
    pub fn new(id: MessageId, body: Vec<u8>) -> Self {
        Self {
            id,
            key: None,
            headers: BTreeMap::new(),
            body: Sensitive::new(body),
        }
    }

    /// Sets the ordering key.
    pub fn with_key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// Adds a header.
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.insert(name.into(), value.into());
        self
    }
}

/// Identifies one delivery of one message to one consumer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DeliveryTag(pub u64);

/// A message handed to a consumer, to be acked, nacked or rejected.
#[derive(Clone, Debug)]
pub struct Delivery {
    /// The queue it came from.
    pub queue: String,
    /// This delivery.
    pub tag: DeliveryTag,
    /// 1 on first delivery, then 2, 3, ...
    pub attempt: u32,
    /// The message.
    pub message: Message,
}

/// What a publish did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Published {
    /// Stored; it will be delivered.
    New,
    /// A message with this id was already published to this queue; nothing was stored.
    Duplicate,
}

/// What a nack did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Disposition {
    /// It will be delivered again.
    Requeued,
    /// The delivery limit was reached: it is in the dead-letter queue.
    DeadLettered,
}

/// The contents of a queue.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueueDepth {
    /// Deliverable now or after a retry delay.
    pub ready: u64,
    /// Received and not yet acked.
    pub in_flight: u64,
}

impl QueueDepth {
    /// Everything the queue holds.
    pub fn total(self) -> u64 {
        self.ready + self.in_flight
    }
}
