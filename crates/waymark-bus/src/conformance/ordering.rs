//! Per-key ordering: one message per key at a time, in publish order.

use std::time::Duration;

use super::{absent, arrives, declare, depth, message, must, publish_new};
use crate::{Bus, Disposition, Message};

/// With keys interleaved, a key's next message waits while its predecessor is in flight or
/// waiting for a retry, other keys and unkeyed messages go ahead, and unkeyed messages may be in
/// flight together.
pub async fn per_key_order(bus: &dyn Bus) {
    let q = declare(bus, "per-key", 5, Duration::from_secs(60))
        .await
        .name;
    let q = q.as_str();
    let [a1, a2, b1, n1, n2, b2] = [
        message(q, 1).with_key("a"),
        message(q, 2).with_key("a"),
        message(q, 3).with_key("b"),
        message(q, 4),
        message(q, 5),
        message(q, 6).with_key("b"),
    ];
    for m in [&a1, &a2, &b1, &n1, &n2, &b2] {
        publish_new(bus, q, m.clone()).await;
    }
    let next = async |expected: &Message, what: &str| {
        let delivery = arrives(bus, q, what).await;
        let (got, want) = (&delivery.message.id, &expected.id);
        assert_eq!(
            got, want,
            "per-key order: expected `{want}` ({what}), got `{got}`"
        );
        delivery
    };
    let d_a1 = next(&a1, "a's first").await;
    let d_b1 = next(&b1, "b's first, while a's second waits behind a's first").await;
    let d_n1 = next(&n1, "the first unkeyed").await;
    let d_n2 = next(&n2, "the second unkeyed, while the first is in flight").await;
    absent(
        bus,
        q,
        "a key's second message went while its first was in flight",
    )
    .await;

    let retry = Duration::from_millis(600);
    let disposition = must(bus.nack(&d_b1, retry).await, "nack");
    assert_eq!(
        disposition,
        Disposition::Requeued,
        "a first failure must be requeued"
    );
    absent(
        bus,
        q,
        "a key's second message overtook its first waiting for a retry",
    )
    .await;

    must(bus.ack(&d_a1).await, "ack");
    let d_a2 = next(&a2, "a's second, once a's first is acked").await;
    let d_b1 = next(&b1, "b's first again, after its retry delay").await;
    assert_eq!(d_b1.attempt, 2, "the retried message must be attempt 2");
    absent(
        bus,
        q,
        "b's second went while b's first was in flight again",
    )
    .await;
    must(bus.ack(&d_b1).await, "ack");
    let d_b2 = next(&b2, "b's second, once b's first is acked").await;

    for delivery in [d_a2, d_b2, d_n1, d_n2] {
        must(bus.ack(&delivery).await, "ack");
    }
    assert_eq!(
        depth(bus, q).await.total(),
        0,
        "queue not empty after acking all"
    );
}
