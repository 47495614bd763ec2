//! The hub's queues. The topology is fixed: configuration adds subscriptions, not edges.

use waymark_bus::{Bus, BusError, QueueSpec};
use waymark_delivery::Subscription;

/// Envelopes from the adapters.
pub const INGEST: &str = "waymark.ingest";
/// Canonical bundles from the map stage.
pub const RECORD: &str = "waymark.record";
/// Pathway events from the record stage.
pub const RELEASE: &str = "waymark.release";

/// Deliveries before a stage-queue message is dead-lettered. Stages quarantine invalid input
/// and ack it, so only transient faults (store or bus down) are retried; with the stages'
/// backoff capped at 60 s this rides out an outage of about 16 hours rather than seconds.
pub const STAGE_DELIVERY_LIMIT: u32 = 1_000;

/// Declares every stage queue and one delivery queue per subscription.
///
/// Which queues keep per-key order across processes ([`QueueSpec::ordered`]):
/// - `waymark.ingest` (map) is **unordered**: mapping is stateless, so every map process gets a
///   share of the envelopes;
/// - `waymark.record` is **unordered**: the record merges by the source's event time (the
///   result does not depend on arrival order) and applies with an optimistic version check, so
///   concurrent record processes are safe;
/// - `waymark.release` and each subscription's delivery queue are **ordered**: a person's
///   notifications must reach a subscriber in order, so one process consumes each (others stand
///   by); delivery scales by sharding subscriptions across processes instead.
pub async fn declare_all(bus: &dyn Bus, subscriptions: &[Subscription]) -> Result<(), BusError> {
    for (name, ordered) in [(INGEST, false), (RECORD, false), (RELEASE, true)] {
        let spec = QueueSpec {
            delivery_limit: STAGE_DELIVERY_LIMIT,
            ordered,
            ..QueueSpec::new(name)
        };
        bus.declare(&spec).await?;
    }
    for sub in subscriptions {
        bus.declare(&waymark_delivery::queue_spec(sub)).await?;
    }
    Ok(())
}
