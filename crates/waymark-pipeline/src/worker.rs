//! One loop shape for every stage: receive, handle, then ack / retry / dead-letter.

use std::{sync::Arc, time::Duration};

use async_trait::async_trait;
use tokio::sync::watch;
use waymark_bus::{Bus, Delivery};

/// What to do with a delivery after handling it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// The effect is durable (including "quarantined"): ack.
    Done,
    /// A transient failure (store or bus down): deliver again later.
    Retry(Duration),
}

/// A stage's handler of one delivery.
#[async_trait]
pub trait Handler: Send + Sync + 'static {
    /// Handles one delivery. Invalid input is quarantined inside and returns [`Step::Done`].
    async fn handle(&self, delivery: &Delivery) -> Step;
}

/// Runs a handler over a queue until `shutdown` turns true.
pub async fn run_worker(
    bus: Arc<dyn Bus>,
    queue: &'static str,
    handler: Arc<dyn Handler>,
    mut shutdown: watch::Receiver<bool>,
) {
    while !*shutdown.borrow() {
        let received = tokio::select! {
            r = bus.receive(queue, Duration::from_millis(500)) => r,
            _ = shutdown.changed() => break,
        };
        match received {
            Ok(Some(delivery)) => {
                settle(bus.as_ref(), &delivery, handler.handle(&delivery).await).await
            }
            Ok(None) => {}
            Err(err) => {
                tracing::warn!(queue, error = %err, "receive failed; backing off");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

async fn settle(bus: &dyn Bus, delivery: &Delivery, step: Step) {
    let result = match step {
        Step::Done => bus.ack(delivery).await,
        Step::Retry(after) => bus.nack(delivery, after).await.map(|_| ()),
    };
    if let Err(err) = result {
        // The message stays leased and will be redelivered: at-least-once, never lost.
        tracing::warn!(queue = %delivery.queue, error = %err, "settling a delivery failed");
    }
}

/// The retry delay for a transient failure on a given attempt: 1 s, 2 s, 4 s ... up to 60 s.
pub(crate) fn transient_backoff(attempt: u32) -> Duration {
    Duration::from_secs(1u64 << attempt.saturating_sub(1).min(6)).min(Duration::from_secs(60))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        assert_eq!(transient_backoff(1), Duration::from_secs(1));
        assert_eq!(transient_backoff(3), Duration::from_secs(4));
        assert_eq!(transient_backoff(30), Duration::from_secs(60));
    }
}
