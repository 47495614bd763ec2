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
pub async fn declare_all(bus: &dyn Bus, subscriptions: &[Subscription]) -> Result<(), BusError> {
    for name in [INGEST, RECORD, RELEASE] {
        let spec = QueueSpec {
            delivery_limit: STAGE_DELIVERY_LIMIT,
            ..QueueSpec::new(name)
        };
        bus.declare(&spec).await?;
    }
    for sub in subscriptions {
        bus.declare(&waymark_delivery::queue_spec(sub)).await?;
    }
    Ok(())
}
