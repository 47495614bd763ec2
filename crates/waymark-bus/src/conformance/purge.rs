//! Purging a key: ready messages go, in-flight ones finish, the dead-letter queue is kept.

use std::time::Duration;

use super::{Capabilities, PurgeScope};
use super::{absent, arrives, declare, depth, message, must, publish_new};
use crate::{Bus, BusError, Published, QueueDepth};

/// `purge_key` removes exactly the ready messages of its key from the named queue and counts
/// them: a message of the key in flight is left to be acked, other keys and unkeyed messages
/// stay, the dead-letter queue keeps the key's dead message until it is the queue named, a
/// purged id is still remembered, and an undeclared queue is refused.
///
/// With [`PurgeScope::Tombstone`], purging the dead-letter queue (which this bus does not
/// consume) may count 0; the purged message must still never be delivered from it.
pub async fn purge_key_removes_ready_only(bus: &dyn Bus, capabilities: Capabilities) {
    let spec = declare(bus, "purge-key", 5, Duration::from_secs(60)).await;
    let q = spec.name.as_str();
    let dead = spec.dead_letter_name();
    let [d1, p1, p2, p3, o1, n1] = [
        message(q, 1).with_key("p"),
        message(q, 2).with_key("p"),
        message(q, 3).with_key("p"),
        message(q, 4).with_key("p"),
        message(q, 5).with_key("o"),
        message(q, 6),
    ];
    publish_new(bus, q, d1.clone()).await;
    let delivery = arrives(bus, q, "the key's first message").await;
    must(bus.reject(&delivery, "purge check").await, "reject");
    for m in [&p1, &p2, &p3, &o1, &n1] {
        publish_new(bus, q, m.clone()).await;
    }
    let held = arrives(bus, q, "the key's next message").await;
    assert_eq!(
        held.message.id, p1.id,
        "purge: wrong message delivered first"
    );

    let purged = must(bus.purge_key(q, "p").await, "purge_key");
    assert_eq!(
        purged, 2,
        "purge: expected the key's 2 ready messages removed"
    );
    assert_eq!(
        depth(bus, q).await,
        QueueDepth {
            ready: 2,
            in_flight: 1
        },
        "purge: other keys, unkeyed messages and the in-flight one must stay"
    );
    assert_eq!(
        must(bus.purge_key(q, "nobody").await, "purge_key"),
        0,
        "purging an absent key removed something"
    );
    assert_eq!(
        depth(bus, &dead).await.ready,
        1,
        "purging a queue touched its dead-letter queue"
    );

    must(
        bus.ack(&held).await,
        "ack of the in-flight message after the purge",
    );
    for expected in [&o1, &n1] {
        let delivery = arrives(bus, q, "a message of another key or none").await;
        assert_eq!(
            delivery.message.id, expected.id,
            "purge: expected `{}` next",
            expected.id
        );
        must(bus.ack(&delivery).await, "ack");
    }
    absent(bus, q, "a purged message was delivered").await;
    let again = must(bus.publish(q, p2.clone()).await, "republish");
    assert_eq!(again, Published::Duplicate, "a purged id was forgotten");

    let purged_dead = must(
        bus.purge_key(&dead, "p").await,
        "purge_key of the dead-letter queue",
    );
    match capabilities.purge {
        PurgeScope::Immediate => {
            assert_eq!(purged_dead, 1, "naming the dead-letter queue purges it")
        }
        PurgeScope::Tombstone => {
            assert!(purged_dead <= 1, "purged {purged_dead}, more than it held")
        }
    }
    absent(bus, &dead, "a purged dead-lettered message was delivered").await;
    assert_eq!(
        depth(bus, &dead).await.total(),
        0,
        "dead-letter queue not purged"
    );
    match bus
        .purge_key("conformance.purge-key.never-declared", "p")
        .await
    {
        Err(BusError::UnknownQueue(_)) => {}
        other => panic!("purging an undeclared queue: expected unknown-queue, got {other:?}"),
    }
}
