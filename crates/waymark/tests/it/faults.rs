//! Whole-hub fault tests (issue 13): `waymark run` processes on RabbitMQ and PostgreSQL, a mock
//! NOMIS pushing a synthetic population and two mock receivers, while a fault hits mid-stream —
//! the broker killed (a), a stage worker `kill -9`ed (b), PostgreSQL restarted (c), the Prison
//! API reached through a resetting, slow proxy (d), a broker memory alarm (e). Each prints the
//! Jepsen-style line `faults: ... lost=0 duplicated=0 recovered=N unexpected=0 ...` (see
//! [`tally`]) and asserts nothing lost, duplicated or unexpected.
//!
//! Each test has its own broker (`WAYMARK_AMQP_FAULTS_PORT`, default 5675, plus 0..4) and its
//! own database or cluster, so its faults disturb no other test; it fails loudly when they
//! cannot start (`deploy/local/rabbitmq.sh` and `deploy/local/postgres.sh` must work, and
//! `WAYMARK_PG_URL` be set). `WAYMARK_LONG=1` runs the long variants (more records, more
//! faults).

#![allow(clippy::print_stderr)]

mod alarm;
mod broker;
mod hub;
mod postgres;
mod procs;
mod services;
mod source;
mod tally;
mod worker;

use std::time::{Duration, Instant};

use waymark_adapter_nomis::PushOptions;

use hub::Hub;

/// `WAYMARK_LONG=1`: the long variants.
fn long() -> bool {
    std::env::var("WAYMARK_LONG").is_ok_and(|v| v == "1")
}

/// How long the hub may take to catch up after the push: longer for the long variants,
/// whose backlog a single record process works through at a few dozen a second.
fn settle_time() -> Duration {
    Duration::from_secs(if long() { 600 } else { 120 })
}

/// An SNS-like pusher that keeps retrying through an outage: 10 attempts, the backoff
/// doubling from 200 ms (about 100 s in all, besides the attempts' own timeouts).
fn patient_push() -> PushOptions {
    PushOptions {
        max_attempts: 10,
        backoff: Duration::from_millis(200),
        timeout: Duration::from_secs(15),
    }
}

/// Waits (up to `secs`) until `check` holds; whether it did.
async fn until(secs: u64, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if check() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    check()
}

/// Waits until the hub has delivered `n` notifications, up to 120 s (a loaded machine starts
/// six processes and a fresh broker slowly; it takes a few seconds when quiet), and prints how
/// long that took. Panics, with each process's last lines and the broker's queues, when it
/// has not.
async fn first_deliveries(hub: &Hub, broker: &services::Broker, n: u64, before: &str) {
    let started = Instant::now();
    if until(120, || hub.delivered() >= n).await {
        eprintln!(
            "faults: first {n} notifications delivered {:.1?} after the push began",
            started.elapsed()
        );
        return;
    }
    panic!(
        "fewer than {n} notifications delivered ({}) in 120 s, before {before}: {}\n[broker queues]\n{}",
        hub.delivered(),
        hub.procs.tails(),
        broker.queues().await
    );
}

/// Whether the stream is still on its way: the pusher still pushing, or records not yet
/// recorded (a fault then hits work in flight, the point of the test).
async fn in_flight<T>(hub: &Hub, push: &tokio::task::JoinHandle<T>) -> bool {
    let recorded = hub.store.counts().await.unwrap_or_default().records;
    !push.is_finished() || recorded < hub.expected.good as u64
}

/// Notifications delivered per second over the last `window`.
async fn rate(hub: &Hub, window: Duration) -> f64 {
    let before = hub.delivered();
    tokio::time::sleep(window).await;
    (hub.delivered() - before) as f64 / window.as_secs_f64()
}

/// How long after now deliveries run at half `baseline` (per second) again, measured over
/// 1 s windows, up to `max`; `None` when they did not within it.
async fn time_to_steady(hub: &Hub, baseline: f64, max: Duration) -> Option<Duration> {
    let started = Instant::now();
    while started.elapsed() < max {
        if rate(hub, Duration::from_secs(1)).await >= baseline / 2.0 {
            return Some(started.elapsed());
        }
    }
    None
}
