//! What happens when a consumer fails: leases, retries, the delivery limit, dead-lettering.

use std::time::{Duration, Instant};

use super::{absent, arrives, declare, depth, message, must, publish_new, same_message, stale};
use crate::{Bus, Delivery, Disposition, Message, dead_letter_name};

/// The lease of the checks that let leases run out.
const SHORT_LEASE: Duration = Duration::from_millis(500);
/// The retry delay of the nack check.
const RETRY: Duration = Duration::from_millis(700);
/// Slack for clocks and commits when checking that a delay was respected.
const SLACK: Duration = Duration::from_millis(100);

/// A delivery dropped without an ack stays leased until its lease runs out, then comes again as
/// attempt 2; the first tag is then stale.
pub async fn redelivered_after_lease_expiry(bus: &dyn Bus) {
    let q = declare(bus, "lease-expiry", 5, SHORT_LEASE).await.name;
    let sent = message(&q, 1);
    publish_new(bus, &q, sent.clone()).await;
    let dropped = arrives(bus, &q, "a published message").await;
    let leased_at = Instant::now();
    absent(bus, &q, "redelivered while its lease was still running").await;

    let again = arrives(bus, &q, "a message whose lease ran out").await;
    same_message(&again, &sent, "redelivered after lease expiry");
    assert_eq!(
        again.attempt, 2,
        "a redelivery after lease expiry must be attempt 2"
    );
    let held = leased_at.elapsed() + SLACK;
    assert!(
        held >= SHORT_LEASE,
        "redelivered after {held:?}, before the {SHORT_LEASE:?} lease"
    );
    stale(
        bus.ack(&dropped).await,
        "acking with the tag whose lease ran out",
    );
    must(bus.ack(&again).await, "ack");
    absent(bus, &q, "an acked message came back").await;
}

/// A nacked message comes back after its retry delay, not before, as the next attempt.
pub async fn nack_redelivers_after_delay(bus: &dyn Bus) {
    let q = declare(bus, "nack-delay", 5, Duration::from_secs(60))
        .await
        .name;
    let sent = message(&q, 1);
    publish_new(bus, &q, sent.clone()).await;
    let first = arrives(bus, &q, "a published message").await;
    let disposition = must(bus.nack(&first, RETRY).await, "nack");
    let nacked_at = Instant::now();
    assert_eq!(
        disposition,
        Disposition::Requeued,
        "a first failure must be requeued"
    );
    assert_eq!(
        depth(bus, &q).await.total(),
        1,
        "a requeued message must still be counted"
    );
    absent(bus, &q, "redelivered before its retry delay").await;

    let again = arrives(bus, &q, "a nacked message after its delay").await;
    let waited = nacked_at.elapsed() + SLACK;
    assert!(
        waited >= RETRY,
        "redelivered {waited:?} after the nack, before the {RETRY:?} delay"
    );
    same_message(&again, &sent, "redelivered after nack");
    assert_eq!(
        again.attempt, 2,
        "a redelivery after a nack must be attempt 2"
    );
    stale(
        bus.nack(&first, Duration::ZERO).await,
        "nacking with a spent tag",
    );
    must(bus.ack(&again).await, "ack");
}

/// The delivery that reaches the limit and is nacked goes to `<queue>.dead`, with its headers
/// and the `x-death-*` ones; the dead-letter queue delivers it like any queue.
pub async fn delivery_limit_dead_letters(bus: &dyn Bus) {
    let q = declare(bus, "delivery-limit", 3, Duration::from_secs(60))
        .await
        .name;
    let sent = message(&q, 1)
        .with_key("k-1")
        .with_header("type", "oru-r01");
    publish_new(bus, &q, sent.clone()).await;
    for attempt in 1..=3 {
        let delivery = arrives(bus, &q, "a message under its delivery limit").await;
        assert_eq!(delivery.attempt, attempt, "attempts must count 1, 2, 3");
        let expected = if attempt < 3 {
            Disposition::Requeued
        } else {
            Disposition::DeadLettered
        };
        let disposition = must(bus.nack(&delivery, Duration::ZERO).await, "nack");
        assert_eq!(
            disposition, expected,
            "nack of attempt {attempt} with a limit of 3"
        );
    }
    absent(bus, &q, "delivered past its delivery limit").await;
    assert_eq!(
        depth(bus, &q).await.total(),
        0,
        "a dead-lettered message is still counted"
    );
    let dead = dead_lettered(bus, &q, &sent, "delivery-limit", 3).await;
    must(bus.ack(&dead).await, "ack on the dead-letter queue");
    assert_eq!(
        depth(bus, &dead_letter_name(&q)).await.total(),
        0,
        "dead-letter queue not empty"
    );
}

/// A rejected message goes to `<queue>.dead` at once, with the reason.
pub async fn reject_dead_letters(bus: &dyn Bus) {
    let q = declare(bus, "reject", 5, Duration::from_secs(60))
        .await
        .name;
    let sent = message(&q, 1).with_header("type", "adt-a01");
    publish_new(bus, &q, sent.clone()).await;
    let delivery = arrives(bus, &q, "a published message").await;
    must(bus.reject(&delivery, "unmappable-segment").await, "reject");
    absent(bus, &q, "a rejected message was delivered again").await;
    let dead = dead_lettered(bus, &q, &sent, "unmappable-segment", 1).await;
    stale(bus.ack(&delivery).await, "acking a rejected delivery");
    must(bus.ack(&dead).await, "ack on the dead-letter queue");
}

/// A message whose consumer never answers (lease runs out) `delivery_limit` times is
/// dead-lettered instead of delivered again: a message that crashes its consumer cannot loop.
pub async fn lease_expiries_count_toward_limit(bus: &dyn Bus) {
    let q = declare(bus, "lease-limit", 2, SHORT_LEASE).await.name;
    let sent = message(&q, 1);
    publish_new(bus, &q, sent.clone()).await;
    for attempt in 1..=2 {
        let delivery = arrives(bus, &q, "a message whose lease ran out").await;
        assert_eq!(
            delivery.attempt, attempt,
            "lease expiries must count as attempts"
        );
    }
    tokio::time::sleep(SHORT_LEASE + SLACK).await;
    absent(bus, &q, "delivered past its limit after lease expiries").await;
    let dead = dead_lettered(bus, &q, &sent, "delivery-limit", 2).await;
    must(bus.ack(&dead).await, "ack on the dead-letter queue");
}

/// Receives `sent` from `queue`'s dead-letter queue and checks its death headers.
async fn dead_lettered(
    bus: &dyn Bus,
    queue: &str,
    sent: &Message,
    reason: &str,
    attempts: u32,
) -> Delivery {
    let dead = dead_letter_name(queue);
    let delivery = arrives(bus, &dead, "a dead-lettered message").await;
    let mut expected = sent.clone();
    expected
        .headers
        .insert("x-death-queue".into(), queue.into());
    expected
        .headers
        .insert("x-death-reason".into(), reason.into());
    expected
        .headers
        .insert("x-death-attempts".into(), attempts.to_string());
    same_message(
        &delivery,
        &expected,
        "dead-lettered message with x-death headers",
    );
    assert_eq!(
        delivery.attempt, 1,
        "first delivery from the dead-letter queue must be attempt 1"
    );
    delivery
}
