//! [`DeliveryEvent`]: what the deliver workers report, typed telemetry.

use std::time::Duration;

use waymark_core::MessageId;

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
    /// The endpoint answered `410 Gone`: the subscription is to be switched off (the shell
    /// sets its status to `off`). The worker returns; the notification stays queued.
    Deactivated {
        /// The subscription.
        subscription: String,
        /// Why (`gone`).
        reason: String,
    },
    /// A heartbeat was sent because nothing was delivered for the heartbeat period. A failed
    /// heartbeat is a silent endpoint noticed.
    Heartbeat {
        /// The subscription.
        subscription: String,
        /// Whether the endpoint accepted it.
        delivered: bool,
        /// Why it failed, when it did.
        reason: Option<String>,
    },
    /// The endpoint refused it for good (4xx other than 410): it is in the dead-letter queue.
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
    pub(crate) fn log(&self) {
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
            Self::Deactivated {
                subscription,
                reason,
            } => {
                tracing::error!(%subscription, %reason, "endpoint gone: subscription to be switched off");
            }
            Self::Heartbeat {
                subscription,
                delivered: true,
                ..
            } => {
                tracing::debug!(%subscription, "heartbeat delivered");
            }
            Self::Heartbeat {
                subscription,
                reason,
                ..
            } => {
                let reason = reason.as_deref().unwrap_or_default();
                tracing::warn!(%subscription, %reason, "heartbeat failed: endpoint silent");
            }
        }
    }
}
