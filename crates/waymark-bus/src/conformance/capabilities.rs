//! Where bus implementations are allowed to differ, and why. A check that depends on one of
//! these takes the bus's [`Capabilities`]; nothing else in the suite differs between buses.

/// How far "a message id already published to this queue is not stored twice" reaches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DedupeScope {
    /// Every publisher of the bus, across restarts, within the retention window: the embedded
    /// bus records each (queue, id) in the publish transaction.
    Durable,
    /// This process: a publish of an id this process already published to the queue is a
    /// no-op, and a consumer drops a copy of an id it holds or settled; a republish from
    /// another process is stored again (`Published::New`), and the duplicate is dropped by the
    /// consuming process or, failing that, by the store's idempotency on the message id.
    /// RabbitMQ: the broker has no dedupe, and the dedupe plugin is not part of the Debian
    /// package.
    Process,
}

/// What `purge_key` can do at once, and count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PurgeScope {
    /// The messages are deleted at once wherever they are, and counted: the embedded bus runs
    /// one `DELETE` in its file.
    Immediate,
    /// The purge is a durable tombstone: whichever process consumes the queue removes the
    /// key's earlier messages before they are delivered. The count (and `depth`) covers what
    /// the purging process's own consumer holds or pulls in within its prefetch; on a queue it
    /// does not consume, the messages go when a consumer reaches them and the count is 0.
    /// RabbitMQ cannot delete messages by key.
    Tombstone,
}

/// The differences a bus declares to the suite.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capabilities {
    /// See [`DedupeScope`].
    pub dedupe: DedupeScope,
    /// See [`PurgeScope`].
    pub purge: PurgeScope,
}

impl Capabilities {
    /// The embedded bus: every promise in full.
    pub const EMBEDDED: Self = Self {
        dedupe: DedupeScope::Durable,
        purge: PurgeScope::Immediate,
    };
    /// The RabbitMQ bus (ADR 0005).
    pub const RABBITMQ: Self = Self {
        dedupe: DedupeScope::Process,
        purge: PurgeScope::Tombstone,
    };
}
