//! Publish, receive, ack; dedupe; limits; durability across a restart.

use std::{future::Future, sync::Arc, time::Duration};

use super::{
    Capabilities, DedupeScope, absent, arrives, declare, depth, message, must, publish_new,
    same_message, stale, unique_queue,
};
use crate::{Bus, BusError, Published, QueueDepth, QueueSpec};

/// The default lease of the checks that do not exercise leases.
const LEASE: Duration = Duration::from_secs(60);

/// A published message is confirmed, counted, delivered intact once (attempt 1), and gone after
/// its ack. Declaring twice is harmless.
pub async fn publish_receive_ack(bus: &dyn Bus) {
    let spec = declare(bus, "publish-receive-ack", 5, LEASE).await;
    must(bus.declare(&spec).await, "declaring the same queue again");
    let q = spec.name.as_str();
    let sent = message(q, 1).with_key("k-1").with_header("type", "adt-a01");
    publish_new(bus, q, sent.clone()).await;
    assert_eq!(
        depth(bus, q).await,
        QueueDepth {
            ready: 1,
            in_flight: 0
        },
        "depth after publish"
    );

    let delivery = arrives(bus, q, "a published message").await;
    same_message(&delivery, &sent, "publish-receive");
    assert_eq!(delivery.attempt, 1, "first delivery must be attempt 1");
    assert_eq!(delivery.queue, q, "delivery names the wrong queue");
    assert_eq!(
        depth(bus, q).await,
        QueueDepth {
            ready: 0,
            in_flight: 1
        },
        "depth in flight"
    );

    must(bus.ack(&delivery).await, "ack");
    assert_eq!(
        depth(bus, q).await,
        QueueDepth::default(),
        "depth after ack"
    );
}

/// After an ack the message is never delivered again (not even once its lease would have run
/// out), and a second ack, a nack or a reject of it are refused as stale.
pub async fn nothing_after_ack(bus: &dyn Bus) {
    let lease = Duration::from_millis(300);
    let q = declare(bus, "nothing-after-ack", 5, lease).await.name;
    publish_new(bus, &q, message(&q, 1)).await;
    let delivery = arrives(bus, &q, "a published message").await;
    must(bus.ack(&delivery).await, "ack");
    tokio::time::sleep(lease).await;
    absent(bus, &q, "an acked message came back after its lease").await;
    stale(bus.ack(&delivery).await, "acking twice");
    stale(
        bus.nack(&delivery, Duration::ZERO).await,
        "nacking after the ack",
    );
    stale(
        bus.reject(&delivery, "late").await,
        "rejecting after the ack",
    );
    absent(
        bus,
        &q,
        "a late nack or reject resurrected an acked message",
    )
    .await;
}

/// Republishing an id to a queue stores nothing, before and after the first copy is acked; the
/// same id on another queue is a different message.
pub async fn duplicate_publish_delivered_once(bus: &dyn Bus) {
    let q = declare(bus, "duplicate", 5, LEASE).await.name;
    let other = declare(bus, "duplicate-other", 5, LEASE).await.name;
    let first = message(&q, 1);
    let mut second = first.clone();
    second.body = b"a different body under the same id".to_vec().into();
    publish_new(bus, &q, first.clone()).await;
    let again = must(bus.publish(&q, second.clone()).await, "republish");
    assert_eq!(
        again,
        Published::Duplicate,
        "republishing `{}` was stored again",
        first.id
    );
    assert_eq!(
        depth(bus, &q).await.total(),
        1,
        "a duplicate publish added a message"
    );

    let delivery = arrives(bus, &q, "the deduplicated message").await;
    same_message(&delivery, &first, "the first copy must win");
    must(bus.ack(&delivery).await, "ack");
    let late = must(bus.publish(&q, second.clone()).await, "republish after ack");
    assert_eq!(
        late,
        Published::Duplicate,
        "republishing after the ack was stored again"
    );
    absent(bus, &q, "a duplicate was delivered").await;

    publish_new(bus, &other, second).await;
}

/// A message over `limit` bytes is refused with `TooLarge`, without its body in the error, and
/// nothing is stored; a small one still goes through.
pub async fn too_large_refused(bus: &dyn Bus, limit: usize) {
    let q = declare(bus, "too-large", 5, LEASE).await.name;
    let canary = "CANARY-NHS-9434765919";
    let mut big = message(&q, 1);
    let mut body = canary.as_bytes().to_vec();
    body.resize(limit + 1, b'x');
    big.body = body.into();
    let result = bus.publish(&q, big).await;
    let Err(
        error @ BusError::TooLarge {
            size, limit: said, ..
        },
    ) = &result
    else {
        panic!(
            "a {}-byte message over the {limit}-byte limit gave {result:?}",
            limit + 1
        );
    };
    assert!(
        *size > limit,
        "too-large error reports size {size}, not over {limit}"
    );
    assert_eq!(*said, limit, "too-large error reports the wrong limit");
    let text = format!("{error} {error:?}");
    assert!(
        !text.contains(canary),
        "the too-large error shows the message body"
    );
    assert_eq!(
        depth(bus, &q).await.total(),
        0,
        "a refused message was stored"
    );
    publish_new(bus, &q, message(&q, 2)).await;
}

/// Publish, receive and depth on a queue never declared fail with `UnknownQueue`.
pub async fn unknown_queue_refused(bus: &dyn Bus) {
    let q = unique_queue("never-declared");
    let unknown = |what: &str, error: Option<BusError>| match error {
        Some(BusError::UnknownQueue(name)) => assert_eq!(name, q, "{what} names the wrong queue"),
        other => panic!("{what} on an undeclared queue gave {other:?}, not unknown-queue"),
    };
    unknown("publish", bus.publish(&q, message(&q, 1)).await.err());
    unknown("receive", bus.receive(&q, Duration::ZERO).await.err());
    unknown("depth", bus.depth(&q).await.err());
}

/// Declarations, messages and acks survive closing and reopening the bus.
pub async fn persists_across_reopen<F, Fut>(open: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<dyn Bus>>,
{
    let bus = open().await;
    let spec = declare(bus.as_ref(), "persists", 5, LEASE).await;
    let q = spec.name.as_str();
    let kept = message(q, 1).with_key("k-1").with_header("type", "adt-a08");
    publish_new(bus.as_ref(), q, kept.clone()).await;
    publish_new(bus.as_ref(), q, message(q, 2)).await;
    drop(bus);

    let bus = open().await;
    assert_eq!(
        depth(bus.as_ref(), q).await.ready,
        2,
        "messages lost when the bus was reopened"
    );
    let delivery = arrives(bus.as_ref(), q, "a message published before the reopen").await;
    same_message(&delivery, &kept, "after reopen");
    assert_eq!(
        delivery.attempt, 1,
        "a never-delivered message must come as attempt 1"
    );
    must(bus.ack(&delivery).await, "ack");
    drop(bus);

    let bus = open().await;
    let delivery = arrives(bus.as_ref(), q, "the second message").await;
    assert_eq!(
        delivery.message.id,
        message(q, 2).id,
        "the acked message came back after reopen"
    );
    must(bus.ack(&delivery).await, "ack");
    assert_eq!(
        depth(bus.as_ref(), q).await.total(),
        0,
        "queue not empty after acking all"
    );
}

/// Republishing an id after the publishing process restarted: with [`DedupeScope::Durable`] the
/// bus refuses to store it again; with [`DedupeScope::Process`] it is stored again, and a
/// consumer still gets the id once.
pub async fn duplicate_publish_after_reopen<F, Fut>(open: F, capabilities: Capabilities)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<dyn Bus>>,
{
    let bus = open().await;
    let q = declare(bus.as_ref(), "dedupe-reopen", 5, LEASE).await.name;
    let first = message(&q, 1);
    publish_new(bus.as_ref(), &q, first.clone()).await;
    drop(bus);

    let bus = open().await;
    let again = must(
        bus.publish(&q, first.clone()).await,
        "republish after reopen",
    );
    let expected = match capabilities.dedupe {
        DedupeScope::Durable => Published::Duplicate,
        DedupeScope::Process => Published::New,
    };
    assert_eq!(again, expected, "republish after reopen ({capabilities:?})");
    let delivery = arrives(bus.as_ref(), &q, "the republished id").await;
    same_message(&delivery, &first, "after a republish");
    must(bus.ack(&delivery).await, "ack");
    absent(
        bus.as_ref(),
        &q,
        "an id published twice was delivered twice",
    )
    .await;
    assert_eq!(
        depth(bus.as_ref(), &q).await.total(),
        0,
        "a copy was left in the queue"
    );
}

/// A message received but not acked when its consumer's process died is delivered again by the
/// next process, at once (long lease), as attempt 2; the dead process's tag is stale.
pub async fn redelivered_after_restart<F, Fut>(open: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<dyn Bus>>,
{
    let bus = open().await;
    let spec = QueueSpec {
        name: unique_queue("restart"),
        delivery_limit: 5,
        lease: LEASE,
        ordered: true,
    };
    must(bus.declare(&spec).await, "declare");
    let q = spec.name.as_str();
    let sent = message(q, 1).with_header("type", "adt-a03");
    publish_new(bus.as_ref(), q, sent.clone()).await;
    let lost = arrives(bus.as_ref(), q, "the message before the crash").await;
    drop(bus);

    let bus = open().await;
    let delivery = arrives(bus.as_ref(), q, "a message in flight at the crash").await;
    same_message(&delivery, &sent, "redelivered after restart");
    assert_eq!(
        delivery.attempt, 2,
        "the attempt counter must keep counting across a restart"
    );
    stale(
        bus.ack(&lost).await,
        "acking with the crashed process's tag",
    );
    must(bus.ack(&delivery).await, "ack");
    absent(bus.as_ref(), q, "an acked message came back").await;
}
