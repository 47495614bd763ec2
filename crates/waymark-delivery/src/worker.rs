//! The deliver worker: receive → send → ack / nack / reject, one subscription's queue.

use std::{sync::Arc, time::Duration};

use chrono::Utc;
use tokio::sync::{mpsc::UnboundedSender, watch};
use waymark_bus::{Bus, BusError, Delivery, Disposition};
use waymark_core::{ErrorCode, MessageId};

use crate::{DeliveryOutcome, RestHook, Subscription, queue_name};

/// How long one `receive` waits for a message; also the worst-case shutdown latency when idle.
const RECEIVE_WAIT: Duration = Duration::from_millis(500);
/// Pause after a bus failure before trying again.
const BUS_PAUSE: Duration = Duration::from_secs(1);

/// What happened to one delivery attempt. Typed telemetry: ids, counts and reasons, never
/// patient data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeliveryEvent {
    /// The endpoint accepted the notification, and it was acked.
    Delivered {
        /// The subscription.
        subscription: String,
        /// The bus message id (= `webhook-id`).
        message_id: MessageId,
        /// 1 on first delivery, then 2, 3, ...
        attempt: u32,
    },
    /// The attempt failed and the notification will be retried.
    Retrying {
        /// The subscription.
        subscription: String,
        /// The bus message id.
        message_id: MessageId,
        /// The attempt that failed.
        attempt: u32,
        /// How long until the next attempt.
        after: Duration,
        /// Why it failed.
        reason: String,
    },
    /// The attempt failed and the delivery limit was reached: it is in the dead-letter queue.
    DeadLettered {
        /// The subscription.
        subscription: String,
        /// The bus message id.
        message_id: MessageId,
        /// The last attempt.
        attempt: u32,
        /// Why the last attempt failed.
        reason: String,
    },
    /// The endpoint refused it for good (410, other 4xx): it is in the dead-letter queue.
    Rejected {
        /// The subscription.
        subscription: String,
        /// The bus message id.
        message_id: MessageId,
        /// The attempt.
        attempt: u32,
        /// Why.
        reason: String,
    },
}

impl DeliveryEvent {
    /// Logs the event (ids, reasons and counts only).
    fn log(&self) {
        match self {
            Self::Delivered {
                subscription,
                message_id,
                attempt,
            } => {
                tracing::info!(%subscription, %message_id, attempt, "delivery succeeded");
            }
            Self::Retrying {
                subscription,
                message_id,
                attempt,
                after,
                reason,
            } => {
                tracing::warn!(%subscription, %message_id, attempt, ?after, %reason, "delivery will be retried");
            }
            Self::DeadLettered {
                subscription,
                message_id,
                attempt,
                reason,
            } => {
                tracing::error!(%subscription, %message_id, attempt, %reason, "delivery dead-lettered");
            }
            Self::Rejected {
                subscription,
                message_id,
                attempt,
                reason,
            } => {
                tracing::error!(%subscription, %message_id, attempt, %reason, "delivery rejected by endpoint");
            }
        }
    }
}

/// Delivers one subscription's queue until `shutdown` turns `true` (or its sender is dropped).
///
/// The caller declares the queue first with [`queue_spec`](crate::queue_spec). Each message is
/// signed with `webhook-id` = the bus message id (stable across retries, so receivers can
/// de-duplicate) and acked on `Delivered`, nacked with the retry delay on `Retry`, rejected
/// (dead-lettered) on `Rejected`; every outcome is sent to `events`. A disabled subscription
/// delivers nothing and returns at once; its queue is kept. The delivery in hand is finished
/// before shutting down.
pub async fn run_deliveries(
    bus: Arc<dyn Bus>,
    sub: Subscription,
    hook: RestHook,
    events: UnboundedSender<DeliveryEvent>,
    shutdown: watch::Receiver<bool>,
) {
    if !sub.enabled {
        return;
    }
    let queue = queue_name(&sub.id);
    while !stopping(&shutdown) {
        match bus.receive(&queue, RECEIVE_WAIT).await {
            Ok(Some(delivery)) => {
                let event = deliver(bus.as_ref(), &sub, &hook, &delivery).await;
                if let Some(event) = event {
                    event.log();
                    // A dropped receiver only means nobody is listening.
                    let _ = events.send(event);
                }
            }
            Ok(None) => {}
            Err(e) => {
                bus_failed("receive", &sub.id, &e);
                tokio::time::sleep(BUS_PAUSE).await;
            }
        }
    }
}

fn stopping(shutdown: &watch::Receiver<bool>) -> bool {
    *shutdown.borrow() || shutdown.has_changed().is_err()
}

/// One attempt at one delivery; `None` when the bus failed to record the outcome (the message
/// is then redelivered when its lease ends).
async fn deliver(
    bus: &dyn Bus,
    sub: &Subscription,
    hook: &RestHook,
    delivery: &Delivery,
) -> Option<DeliveryEvent> {
    let message_id = delivery.message.id.clone();
    let attempt = delivery.attempt;
    let body = delivery.message.body.expose();
    let subscription = sub.id.clone();
    match hook
        .send_attempt(sub, message_id.as_str(), body, Utc::now(), attempt)
        .await
    {
        DeliveryOutcome::Delivered { .. } => {
            if let Err(e) = bus.ack(delivery).await {
                // It was delivered; the redelivery that follows is de-duplicated by webhook-id.
                bus_failed("ack", &sub.id, &e);
            }
            Some(DeliveryEvent::Delivered {
                subscription,
                message_id,
                attempt,
            })
        }
        DeliveryOutcome::Retry { after, reason } => match bus.nack(delivery, after).await {
            Ok(Disposition::Requeued) => Some(DeliveryEvent::Retrying {
                subscription,
                message_id,
                attempt,
                after,
                reason,
            }),
            Ok(Disposition::DeadLettered) => Some(DeliveryEvent::DeadLettered {
                subscription,
                message_id,
                attempt,
                reason,
            }),
            Err(e) => {
                bus_failed("nack", &sub.id, &e);
                None
            }
        },
        DeliveryOutcome::Rejected { reason } => match bus.reject(delivery, &reason).await {
            Ok(()) => Some(DeliveryEvent::Rejected {
                subscription,
                message_id,
                attempt,
                reason,
            }),
            Err(e) => {
                bus_failed("reject", &sub.id, &e);
                None
            }
        },
    }
}

fn bus_failed(operation: &str, subscription: &str, e: &BusError) {
    tracing::warn!(operation, subscription, code = e.code(), error = %e, "delivery bus operation failed");
}
