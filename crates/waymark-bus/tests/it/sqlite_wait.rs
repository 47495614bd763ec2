//! How a waiting `receive` on the embedded bus wakes: on a publish, ack or nack in this process,
//! and when a retry or a lease comes due — never by polling (the safety-net `poll_interval` is
//! set far beyond each test's bound, so a test passing by polling would take a minute).

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use tempfile::TempDir;
use waymark_bus::{Bus, Disposition, Message, QueueSpec, SqliteBus, SqliteBusOptions};
use waymark_core::MessageId;

/// The safety net, far longer than any bound asserted here.
const NET: Duration = Duration::from_secs(60);
/// Generous bound on a wake-up expected within a few hundred milliseconds (the machine is
/// shared; speed is never asserted tightly).
const PROMPT: Duration = Duration::from_secs(5);

/// A bus in a fresh file with the safety net at [`NET`]; keep the dir alive as long as the bus.
async fn fresh() -> (TempDir, Arc<dyn Bus>) {
    let options = SqliteBusOptions {
        poll_interval: NET,
        ..SqliteBusOptions::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let bus = SqliteBus::open_with(&dir.path().join("bus.db"), options)
        .await
        .unwrap();
    (dir, Arc::new(bus))
}

fn message(queue: &str, n: u32) -> Message {
    Message::new(
        MessageId::from_stored(format!("{queue}/{n}")),
        vec![1, 2, 3],
    )
    .with_key("k")
}

/// A receive waiting on an empty queue wakes at once on a publish from this process, and on the
/// ack that unblocks a key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_receive_wakes_on_publish_and_ack() {
    let (_dir, bus) = fresh().await;
    bus.declare(&QueueSpec::new("wake")).await.unwrap();

    let waiter = tokio::spawn(wait_for(Arc::clone(&bus), "wake"));
    tokio::time::sleep(Duration::from_millis(200)).await;
    bus.publish("wake", message("wake", 1)).await.unwrap();
    let (first, waited) = waiter.await.unwrap();
    assert!(waited < PROMPT, "receive woke {waited:?} after the publish");

    bus.publish("wake", message("wake", 2)).await.unwrap();
    let waiter = tokio::spawn(wait_for(Arc::clone(&bus), "wake"));
    tokio::time::sleep(Duration::from_millis(200)).await;
    bus.ack(&first).await.unwrap();
    let (second, waited) = waiter.await.unwrap();
    assert!(waited < PROMPT, "receive woke {waited:?} after the ack");
    assert_eq!(second.message.id.as_str(), "wake/2");
}

/// A receive waiting behind a held message (lease of a minute) is woken by its nack, sees the
/// new retry time and wakes again when it comes due: not before, and not at the safety net.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_receive_wakes_when_a_retry_comes_due() {
    let (_dir, bus) = fresh().await;
    let spec = QueueSpec {
        lease: NET,
        ..QueueSpec::new("retry")
    };
    bus.declare(&spec).await.unwrap();
    bus.publish("retry", message("retry", 1)).await.unwrap();
    let held = bus.receive("retry", Duration::ZERO).await.unwrap().unwrap();

    let waiter = tokio::spawn(wait_for(Arc::clone(&bus), "retry"));
    tokio::time::sleep(Duration::from_millis(200)).await;
    let delay = Duration::from_millis(400);
    let nacked = Instant::now();
    let disposition = bus.nack(&held, delay).await.unwrap();
    assert_eq!(disposition, Disposition::Requeued);
    let (again, _) = waiter.await.unwrap();
    let after_nack = nacked.elapsed();
    eprintln!("retry due {delay:?} after the nack, delivered after {after_nack:?}");
    assert_eq!(again.attempt, 2);
    // Due times are whole milliseconds of the wall clock: allow a few either way.
    assert!(
        after_nack + Duration::from_millis(5) >= delay,
        "delivered {after_nack:?} after the nack, before its retry time"
    );
    assert!(
        after_nack < PROMPT,
        "retry delivered {after_nack:?} after the nack"
    );
}

/// A receive waiting while the only message is in flight gets it back when the lease runs out
/// (the consumer died), without any wake-up from this process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_receive_wakes_when_a_lease_runs_out() {
    let (_dir, bus) = fresh().await;
    let lease = Duration::from_millis(400);
    let spec = QueueSpec {
        lease,
        ..QueueSpec::new("lease")
    };
    bus.declare(&spec).await.unwrap();
    bus.publish("lease", message("lease", 1)).await.unwrap();
    let leased = Instant::now();
    let lost = bus.receive("lease", Duration::ZERO).await.unwrap().unwrap();

    let (again, _) = wait_for(Arc::clone(&bus), "lease").await;
    let after_lease = leased.elapsed();
    eprintln!("lease of {lease:?} ran out, redelivered after {after_lease:?}");
    assert_eq!(again.message.id, lost.message.id);
    assert_eq!(again.attempt, 2);
    assert!(
        after_lease + Duration::from_millis(5) >= lease,
        "redelivered {after_lease:?} after the lease began, before it ran out"
    );
    assert!(
        after_lease < PROMPT,
        "redelivered {after_lease:?} after the lease began"
    );
}

/// A receive on a queue with nothing in it and nothing due waits out its full wait and returns
/// nothing: it neither returns early nor overstays.
#[tokio::test]
async fn idle_receive_waits_out_its_wait() {
    let (_dir, bus) = fresh().await;
    bus.declare(&QueueSpec::new("idle")).await.unwrap();
    let wait = Duration::from_millis(300);
    let start = Instant::now();
    let got = bus.receive("idle", wait).await.unwrap();
    let waited = start.elapsed();
    assert!(got.is_none(), "a delivery from an empty queue");
    assert!(
        waited >= wait,
        "returned after {waited:?}, before its wait of {wait:?}"
    );
    assert!(
        waited < PROMPT,
        "returned after {waited:?}, wait was {wait:?}"
    );
}

/// Receives from `queue`, waiting up to 30 s; returns the delivery and how long it took.
async fn wait_for(bus: Arc<dyn Bus>, queue: &str) -> (waymark_bus::Delivery, Duration) {
    let start = Instant::now();
    let delivery = bus.receive(queue, Duration::from_secs(30)).await.unwrap();
    (
        delivery.expect("a delivery before the wait ran out"),
        start.elapsed(),
    )
}
