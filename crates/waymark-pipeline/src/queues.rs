//! The hub's queues. The topology is fixed: configuration adds subscriptions, not edges.

use waymark_bus::{Bus, BusError, QueueSpec};
use waymark_delivery::Subscription;

/// Envelopes from the adapters.
pub const INGEST: &str = "waymark.ingest";
/// Canonical bundles from the map stage.
pub const RECORD: &str = "waymark.record";
/// Pathway events from the record stage.
pub const RELEASE: &str = "waymark.release";

/// Declares every stage queue and one delivery queue per subscription.
pub async fn declare_all(bus: &dyn Bus, subscriptions: &[Subscription]) -> Result<(), BusError> {
    for name in [INGEST, RECORD, RELEASE] {
        bus.declare(&QueueSpec::new(name)).await?;
    }
    for sub in subscriptions {
        bus.declare(&waymark_delivery::queue_spec(sub)).await?;
    }
    Ok(())
}
