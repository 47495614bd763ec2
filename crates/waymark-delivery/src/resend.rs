//! `$resend`: dead-lettered notifications back onto their subscription's queue.

use std::time::Duration;

use waymark_bus::{
    Bus, BusError, Message, X_DEATH_ATTEMPTS, X_DEATH_QUEUE, X_DEATH_REASON, dead_letter_name,
};
use waymark_core::MessageId;

use crate::queue_name;

/// Bus message header holding the `webhook-id` to send, when it is not the message id (a
/// resent dead letter keeps the id its first attempts were sent with).
pub const WEBHOOK_ID_HEADER: &str = "webhook-id";
/// Bus message header counting how many times a notification was resent.
pub const RESENDS_HEADER: &str = "resends";

/// Puts every dead-lettered notification of subscription `subscription_id` back onto its queue
/// and returns how many. Only the dead letters present when it starts are moved (one that dies
/// again meanwhile waits for the next resend).
///
/// The bus de-duplicates by (queue, message id), so each resend is a new message with the child
/// id `<id>/resend-<n>`; it keeps the key, the headers (the `x-death-*` ones dropped) and the
/// body byte for byte. What the subscriber sees: the same notification bundle (same `Bundle.id`,
/// same event number) under the same `webhook-id` as its first attempts (so a receiver that did
/// store it can de-duplicate), with a new `webhook-timestamp` and signature — and after the
/// person's later notifications, which were not held back while it was dead: the event number
/// says where it belongs. Safe to repeat after a crash: a notification moved but not yet
/// removed from the dead-letter queue is republished under the same id, which the bus drops.
pub async fn resend_dead_letters(bus: &dyn Bus, subscription_id: &str) -> Result<u64, BusError> {
    let queue = queue_name(subscription_id);
    let dead = dead_letter_name(&queue);
    let waiting = match bus.depth(&dead).await {
        Ok(depth) => depth.total(),
        Err(BusError::UnknownQueue(_)) => return Ok(0),
        Err(e) => return Err(e),
    };
    let mut moved = 0;
    while moved < waiting {
        let Some(delivery) = bus.receive(&dead, Duration::ZERO).await? else {
            break;
        };
        if let Err(e) = bus.publish(&queue, resent(&delivery.message)).await {
            // Leave it dead: its lease is given back at once.
            let _ = bus.nack(&delivery, Duration::ZERO).await;
            return Err(e);
        }
        bus.ack(&delivery).await?;
        moved += 1;
    }
    Ok(moved)
}

/// The message that resends `dead`.
fn resent(dead: &Message) -> Message {
    let resends = dead
        .headers
        .get(RESENDS_HEADER)
        .and_then(|n| n.parse::<u64>().ok())
        .unwrap_or(0)
        + 1;
    let webhook_id = dead
        .headers
        .get(WEBHOOK_ID_HEADER)
        .cloned()
        .unwrap_or_else(|| dead.id.as_str().to_owned());
    let mut message = dead.clone();
    message.id = MessageId::from_stored(format!("{webhook_id}/resend-{resends}"));
    for header in [X_DEATH_QUEUE, X_DEATH_REASON, X_DEATH_ATTEMPTS] {
        message.headers.remove(header);
    }
    message.headers.insert(WEBHOOK_ID_HEADER.into(), webhook_id);
    message
        .headers
        .insert(RESENDS_HEADER.into(), resends.to_string());
    message
}
