//! The conformance suite every [`Bus`] implementation must pass (feature `conformance`).
//!
//! Each check is a `pub async fn` that drives a bus through one promise of the trait and panics
//! with a message naming the broken promise. Checks declare their own uniquely named queues, so
//! they can share one bus. The restart checks take an `open` function instead of a bus: each call
//! must connect to the *same* durable bus again, as a new process would; dropping the returned
//! bus without acking stands in for a crash. An implementation's tests call every check (see
//! `tests/it/sqlite.rs` for the embedded bus).
//!
//! Timing: leases and retry delays are a few hundred milliseconds; "nothing arrives" is checked
//! with short waits, "it arrives" with long ones that return as soon as the message does.
//!
//! Where implementations must differ, the check takes the bus's [`Capabilities`], and each
//! difference is a named flag with its reason — the only way a check may expect less.

mod basic;
mod capabilities;
mod failure;
mod load;
mod ordering;
mod purge;
mod restart;
mod sharing;
mod tally;

pub use basic::{
    duplicate_publish_after_reopen, duplicate_publish_delivered_once, nothing_after_ack,
    persists_across_reopen, publish_receive_ack, redelivered_after_restart, too_large_refused,
    unknown_queue_refused,
};
pub use capabilities::{Capabilities, DedupeScope, PurgeScope};
pub use failure::{
    delivery_limit_dead_letters, lease_expiries_count_toward_limit, nack_redelivers_after_delay,
    redelivered_after_lease_expiry, reject_dead_letters,
};
pub use load::{LoadReport, exactly_once_under_load, thousand_concurrent_publishers};
pub use ordering::per_key_order;
pub use purge::purge_key_removes_ready_only;
pub use restart::{RestartShape, Restartable, survives_restarts};
pub use sharing::unordered_queue_shares_work;
pub use tally::RestartReport;

use std::{
    fmt::Display,
    sync::atomic::{AtomicU64, Ordering},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use waymark_core::MessageId;

use crate::{Bus, BusError, Delivery, Message, QueueDepth, QueueSpec};

/// How long a check waits for a message it expects.
const ARRIVES: Duration = Duration::from_secs(5);
/// How long a check waits to be sure a message does not arrive.
const ABSENT: Duration = Duration::from_millis(200);

/// A queue name no other check (or earlier run against the same broker) uses.
fn unique_queue(check: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let run = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros());
    format!(
        "conformance.{check}.{run}.{}",
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// The value, or a panic saying what failed.
fn must<T, E: Display>(result: Result<T, E>, what: &str) -> T {
    result.unwrap_or_else(|error| panic!("{what} failed: {error}"))
}

/// Declares a fresh queue for `check` with the given rules.
async fn declare(bus: &dyn Bus, check: &str, delivery_limit: u32, lease: Duration) -> QueueSpec {
    let spec = QueueSpec {
        name: unique_queue(check),
        delivery_limit,
        lease,
        ordered: true,
    };
    must(bus.declare(&spec).await, "declare");
    spec
}

/// Message number `n` of `queue`, with a recognisable body.
fn message(queue: &str, n: u32) -> Message {
    let id = MessageId::from_stored(format!("{queue}/{n}"));
    Message::new(id, format!("body {n} of {queue}").into_bytes())
}

/// Publishes and insists the bus stored it as new.
async fn publish_new(bus: &dyn Bus, queue: &str, message: Message) {
    let id = message.id.clone();
    let published = must(bus.publish(queue, message).await, "publish");
    assert_eq!(
        published,
        crate::Published::New,
        "first publish of `{id}` was not stored as new"
    );
}

/// Receives a message that must arrive.
async fn arrives(bus: &dyn Bus, queue: &str, what: &str) -> Delivery {
    let delivery = must(bus.receive(queue, ARRIVES).await, "receive");
    delivery
        .unwrap_or_else(|| panic!("{what}: nothing was delivered from `{queue}` in {ARRIVES:?}"))
}

/// Insists nothing is deliverable for a short while.
async fn absent(bus: &dyn Bus, queue: &str, what: &str) {
    if let Some(delivery) = must(bus.receive(queue, ABSENT).await, "receive") {
        let (id, attempt) = (&delivery.message.id, delivery.attempt);
        panic!("{what}: `{id}` (attempt {attempt}) was delivered from `{queue}`");
    }
}

/// Insists the delivery carries message `expected` (id, key, headers and body).
fn same_message(delivery: &Delivery, expected: &Message, what: &str) {
    let got = &delivery.message;
    assert_eq!(got.id, expected.id, "{what}: wrong message delivered");
    assert_eq!(got.key, expected.key, "{what}: key of `{}` changed", got.id);
    assert_eq!(
        got.headers, expected.headers,
        "{what}: headers of `{}` changed",
        got.id
    );
    let same_body = got.body.expose() == expected.body.expose();
    assert!(
        same_body,
        "{what}: body of `{}` changed (contents not shown)",
        got.id
    );
}

/// The depth of `queue`.
async fn depth(bus: &dyn Bus, queue: &str) -> QueueDepth {
    must(bus.depth(queue).await, "depth")
}

/// Insists an ack, nack or reject was refused as stale.
fn stale<T: std::fmt::Debug>(result: Result<T, BusError>, what: &str) {
    match result {
        Err(BusError::StaleDelivery(_)) => {}
        other => panic!("{what}: expected a stale-delivery error, got {other:?}"),
    }
}
