//! The handle an adapter is given: it can publish to one queue and nothing else.

use std::sync::Arc;

use crate::{Bus, BusError, Message, Published};

/// Publishes to one queue of a bus.
#[derive(Clone)]
pub struct Publisher {
    bus: Arc<dyn Bus>,
    queue: String,
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher")
            .field("queue", &self.queue)
            .finish_non_exhaustive()
    }
}

impl Publisher {
    /// A publisher to `queue` (which must be declared).
    pub fn new(bus: Arc<dyn Bus>, queue: impl Into<String>) -> Self {
        Self {
            bus,
            queue: queue.into(),
        }
    }

    /// Publishes; returns once the message is durable.
    pub async fn publish(&self, message: Message) -> Result<Published, BusError> {
        self.bus.publish(&self.queue, message).await
    }
}
