//! Throughput of the SCR adapter: the mock SCR on loopback, the embedded bus (SQLite) in a temp
//! dir, every person of a synthetic population pulled once. Prints messages per second.
//!
//! `cargo bench -p waymark-adapter-scr --bench throughput` (`SCR_BENCH_PEOPLE`, default 2000).
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use tokio::sync::watch;
use waymark_adapter_scr::{AdapterContext, Faults, MockScr, ScrConfig, ScrPopulation};
use waymark_bus::{Bus, Publisher, QueueSpec, SqliteBus};

const QUEUE: &str = "waymark.ingest";

fn main() {
    let people: usize = std::env::var("SCR_BENCH_PEOPLE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(run(people));
}

async fn run(people: usize) {
    let dir = tempfile::tempdir().unwrap();
    let bus = Arc::new(SqliteBus::open(&dir.path().join("bus.db")).await.unwrap());
    bus.declare(&QueueSpec::new(QUEUE)).await.unwrap();
    let mock = MockScr::start(ScrPopulation::generate(42, people), Faults::default())
        .await
        .unwrap();
    let script = mock.pull_script();
    let mut config = ScrConfig::new(
        "127.0.0.1:0".parse().unwrap(),
        mock.base_url(),
        "bench-token",
        dir.path().join("pull.journal"),
    );
    config.workers = 16;
    let (stop, shutdown) = watch::channel(false);
    let cx = AdapterContext {
        publisher: Publisher::new(bus.clone(), QUEUE),
        shutdown,
    };
    let adapter = config.build(cx).await.unwrap();
    let handle = adapter.handle();
    let started = Instant::now();
    for request in script.iter().cloned() {
        handle.submit(request).await.unwrap();
    }
    let submitted = started.elapsed();
    while handle.status().pending > 0 {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let elapsed = started.elapsed();
    let t = handle.telemetry();
    let depth = bus.depth(QUEUE).await.unwrap().total();
    let rate = t.published as f64 / elapsed.as_secs_f64();
    println!(
        "scr throughput: {} pull requests journaled in {:.2?}; {} envelopes published \
         ({} in the bus) in {:.2?}: {rate:.0} messages/s",
        t.received, submitted, t.published, depth, elapsed,
    );
    stop.send(true).unwrap();
    adapter.stopped().await.unwrap();
    mock.stop().await;
}
