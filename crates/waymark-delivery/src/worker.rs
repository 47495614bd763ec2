//! The deliver worker: receive → send → ack / nack / reject, one subscription's queue.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use chrono::Utc;
use tokio::sync::{mpsc::UnboundedSender, watch};
use waymark_bus::{Bus, BusError, Delivery, Disposition};
use waymark_core::ErrorCode;

use crate::{
    DeliveryEvent, DeliveryOutcome, GONE, RestHook, Subscription, queue_name,
    resend::WEBHOOK_ID_HEADER,
};

/// How long one `receive` waits for a message. Long, so idle workers cost (almost) nothing: the
/// bus wakes a waiting receive when a message arrives, and shutdown interrupts the wait.
const RECEIVE_WAIT: Duration = Duration::from_secs(5);
/// Pause after a bus failure before trying again.
const BUS_PAUSE: Duration = Duration::from_secs(1);

/// Delivers one subscription's queue until `shutdown` turns `true` (or its sender is dropped),
/// or until the endpoint answers `410 Gone`.
///
/// The caller declares the queue first with [`queue_spec_for`](crate::queue_spec_for). Each
/// message is signed with `webhook-id` = the bus message id (stable across retries, so receivers
/// can de-duplicate; a resent dead letter keeps its first id, see
/// [`resend_dead_letters`](crate::resend_dead_letters)) and acked on `Delivered`, nacked with
/// the retry delay on `Retry`, rejected (dead-lettered) on `Rejected`; every outcome is sent to
/// `events`. On `410 Gone` the notification is put back and the worker emits
/// [`DeliveryEvent::Deactivated`] and returns. With a heartbeat period, a `heartbeat` is sent
/// (not through the queue) whenever nothing was delivered for that long. A subscription that is
/// not live ([`Subscription::is_live`]) delivers nothing and returns at once; its queue is kept.
/// The delivery in hand is finished before shutting down.
pub async fn run_deliveries(
    bus: Arc<dyn Bus>,
    sub: Subscription,
    hook: RestHook,
    events: UnboundedSender<DeliveryEvent>,
    mut shutdown: watch::Receiver<bool>,
) {
    if !sub.is_live() {
        return;
    }
    let queue = queue_name(&sub.id);
    let heartbeat = sub.heartbeat_period.map(Duration::from_secs);
    let mut state = WorkerState {
        last_sent: Instant::now(),
        events_since_start: 0,
    };
    let emit = |event: DeliveryEvent| {
        event.log();
        // A dropped receiver only means nobody is listening.
        let _ = events.send(event);
    };
    while !stopping(&shutdown) {
        if heartbeat.is_some_and(|period| state.last_sent.elapsed() >= period) {
            emit(send_heartbeat(&hook, &sub, &mut state).await);
        }
        let wait = heartbeat.map_or(RECEIVE_WAIT, |p| {
            p.saturating_sub(state.last_sent.elapsed())
                .clamp(Duration::from_millis(1), RECEIVE_WAIT)
        });
        let received = tokio::select! {
            received = bus.receive(&queue, wait) => received,
            // Stop waiting at once. A receive is only ever dropped here, before the worker holds
            // a delivery; a message leased at that very instant comes back when its lease ends.
            () = stop_signal(&mut shutdown) => break,
        };
        match received {
            Ok(Some(delivery)) => {
                let number = delivery.message.headers.get("event-number");
                if let Some(n) = number.and_then(|n| n.parse::<u64>().ok()) {
                    state.events_since_start = state.events_since_start.max(n);
                }
                let Some(event) = deliver(bus.as_ref(), &sub, &hook, &delivery).await else {
                    continue;
                };
                let gone = matches!(event, DeliveryEvent::Deactivated { .. });
                if matches!(event, DeliveryEvent::Delivered { .. }) {
                    state.last_sent = Instant::now();
                }
                emit(event);
                if gone {
                    return;
                }
            }
            Ok(None) => {}
            Err(e) => {
                bus_failed("receive", &sub.id, &e);
                tokio::select! {
                    () = tokio::time::sleep(BUS_PAUSE) => {}
                    () = stop_signal(&mut shutdown) => break,
                }
            }
        }
    }
}

/// What a worker remembers between deliveries.
struct WorkerState {
    /// When a notification or heartbeat was last delivered (or a heartbeat last tried).
    last_sent: Instant,
    /// The highest event number this worker has handled (the heartbeat's count).
    events_since_start: u64,
}

async fn send_heartbeat(
    hook: &RestHook,
    sub: &Subscription,
    state: &mut WorkerState,
) -> DeliveryEvent {
    let outcome = hook
        .heartbeat(sub, state.events_since_start, Utc::now())
        .await;
    state.last_sent = Instant::now();
    let reason = match outcome {
        DeliveryOutcome::Delivered { .. } => None,
        DeliveryOutcome::Retry { reason, .. } | DeliveryOutcome::Rejected { reason } => {
            Some(reason)
        }
    };
    DeliveryEvent::Heartbeat {
        subscription: sub.id.clone(),
        delivered: reason.is_none(),
        reason,
    }
}

fn stopping(shutdown: &watch::Receiver<bool>) -> bool {
    *shutdown.borrow() || shutdown.has_changed().is_err()
}

/// Resolves once `shutdown` turns `true` or its sender is dropped.
async fn stop_signal(shutdown: &mut watch::Receiver<bool>) {
    // An error means the sender is gone: stop as well.
    let _ = shutdown.wait_for(|&stop| stop).await;
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
    let webhook_id = delivery
        .message
        .headers
        .get(WEBHOOK_ID_HEADER)
        .map_or(message_id.as_str(), String::as_str);
    let outcome = hook
        .send_attempt(sub, webhook_id, body, Utc::now(), attempt)
        .await;
    if outcome.is_gone() {
        // Keep it queued for when the subscription is switched back on.
        if let Err(e) = bus.nack(delivery, Duration::ZERO).await {
            bus_failed("nack", &sub.id, &e);
        }
        return Some(DeliveryEvent::Deactivated {
            subscription,
            reason: GONE.into(),
        });
    }
    match outcome {
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

#[cfg(test)]
mod tests {
    use tokio::sync::mpsc;
    use waymark_bus::SqliteBus;
    use waymark_core::Role;
    use waymark_policy::Recipient;

    use super::*;
    use crate::{PayloadMode, RestHookConfig, queue_spec};

    /// An idle worker (its receive waits 5 s) stops as soon as shutdown is signalled, not when
    /// the wait runs out.
    #[tokio::test]
    async fn idle_worker_stops_promptly() {
        let dir = tempfile::tempdir().unwrap();
        let bus = Arc::new(SqliteBus::open(&dir.path().join("bus.db")).await.unwrap());
        let recipient = Recipient {
            organisation: "hmp-test".into(),
            role: Role::Probation,
            registered: false,
            purpose: "continuity-of-care".into(),
        };
        let sub = Subscription::new(
            "idle-worker",
            "prison.reception",
            "http://127.0.0.1:9/hook",
            recipient,
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw0123456789ab",
            PayloadMode::FullResource,
        );
        bus.declare(&queue_spec(&sub)).await.unwrap();
        let hook = RestHook::new(&RestHookConfig::default()).unwrap();
        let (events, _drain) = mpsc::unbounded_channel();
        let (stop, shutdown) = watch::channel(false);
        let task = tokio::spawn(run_deliveries(bus, sub, hook, events, shutdown));
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(!task.is_finished(), "the worker stopped on its own");

        let asked = Instant::now();
        stop.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(2), task)
            .await
            .expect("an idle worker outlived its shutdown by 2 s (its receive wait is 5 s)")
            .unwrap();
        eprintln!("idle worker stopped {:?} after shutdown", asked.elapsed());
    }
}
