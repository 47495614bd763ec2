//! Throughput of the adapter against the mock SystmOne on loopback, publishing to the embedded
//! bus (SQLite in a temp dir): every record of a synthetic population pulled once.
//!
//! `cargo bench -p waymark-adapter-systmone --bench throughput` (people: `WAYMARK_BENCH_PEOPLE`,
//! default 2000; workers: `WAYMARK_BENCH_WORKERS`, default 4).
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use std::{sync::Arc, time::Instant};

use chrono::Utc;
use tokio::sync::watch;
use waymark_adapter_systmone::{
    AdapterContext, MockSystmOne, PullRequest, SystmOneConfig, mock::MockFaults,
};
use waymark_bus::{Bus, Publisher, QueueSpec, SqliteBus};

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let people = env_or("WAYMARK_BENCH_PEOPLE", 2_000);
    let workers = env_or("WAYMARK_BENCH_WORKERS", 4);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(run(people, workers));
}

async fn run(people: usize, workers: usize) {
    let dir = tempfile::tempdir().unwrap();
    let bus = Arc::new(SqliteBus::open(&dir.path().join("bus.db")).await.unwrap());
    bus.declare(&QueueSpec::new("waymark.ingest"))
        .await
        .unwrap();
    let mock = MockSystmOne::synthetic(7, people, &MockFaults::default())
        .await
        .unwrap();
    let numbers = mock.data().pullable();
    let mut config =
        SystmOneConfig::new("127.0.0.1:0".parse().unwrap(), mock.base_url(), dir.path());
    config.poll_changes = false;
    config.workers = workers;
    let (stop, shutdown) = watch::channel(false);
    let cx = AdapterContext {
        publisher: Publisher::new(bus.clone(), "waymark.ingest"),
        shutdown,
    };
    let adapter = config.build(cx).await.unwrap();
    let handle = adapter.handle();
    let started = Instant::now();
    for nhs in &numbers {
        handle
            .pull(PullRequest::new(nhs, "prison-reception", Utc::now()).unwrap())
            .await
            .unwrap();
    }
    let journaled = started.elapsed();
    loop {
        let stats = handle.journal_stats();
        if stats.pending == 0 && stats.in_flight == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let elapsed = started.elapsed();
    let published = bus.depth("waymark.ingest").await.unwrap().ready;
    let bytes: usize = numbers
        .iter()
        .map(|n| mock.data().record(n).unwrap().body.len())
        .sum();
    println!(
        "systmone throughput: {published} records ({} KiB of bundles) from {people} people, {workers} workers: \
         {:.0} messages/s end to end ({:.2} s); journaling alone {:.0} requests/s",
        bytes / 1024,
        published as f64 / elapsed.as_secs_f64(),
        elapsed.as_secs_f64(),
        numbers.len() as f64 / journaled.as_secs_f64(),
    );
    assert_eq!(published as usize, numbers.len());
    stop.send(true).unwrap();
    adapter.stopped().await.unwrap();
}
