//! Throughput of the Athena adapter: the mock Athena on loopback, the real embedded bus
//! (`SqliteBus` in a temp dir), the adapter polling pages of 500 until the whole feed is
//! published. Prints events per second. `cargo bench -p waymark-adapter-athena --bench throughput`
//! (`ATHENA_BENCH_PEOPLE` sets the population size, default 2000).
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use tokio::sync::watch;
use waymark_adapter_athena::{
    AdapterContext, AthenaConfig, Feed, FeedFaults, MOCK_CLIENT_ID, MOCK_CLIENT_SECRET, MockAthena,
};
use waymark_bus::{Bus, Publisher, QueueSpec, SqliteBus};

const QUEUE: &str = "waymark.ingest";

fn main() {
    let people = std::env::var("ATHENA_BENCH_PEOPLE")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(2_000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run(people));
}

async fn run(people: usize) {
    let drawn = Instant::now();
    let feed = Feed::synthetic(2024, people, FeedFaults::default());
    let events = feed.expected().unique;
    let bytes: usize = feed.items().iter().map(|i| i.body.len()).sum();
    println!(
        "athena feed: {people} people, {events} events, {:.1} MB, drawn in {:.2?}",
        bytes as f64 / 1e6,
        drawn.elapsed()
    );
    let dir = tempfile::tempdir().unwrap();
    let bus = Arc::new(SqliteBus::open(&dir.path().join("bus.db")).await.unwrap());
    bus.declare(&QueueSpec::new(QUEUE)).await.unwrap();
    let mock = MockAthena::start(feed).await.unwrap();
    let mut config = AthenaConfig::new(
        mock.base_url(),
        mock.token_url(),
        MOCK_CLIENT_ID,
        MOCK_CLIENT_SECRET,
        dir.path().join("athena.checkpoint"),
    );
    config.page_size = 500;
    config.poll_interval_ms = 60_000;
    let (stop, shutdown) = watch::channel(false);
    let cx = AdapterContext {
        publisher: Publisher::new(bus.clone(), QUEUE),
        shutdown,
    };
    let started = Instant::now();
    let adapter = config.build(cx).await.unwrap();
    let (done, ok) = adapter
        .telemetry()
        .wait_for(Duration::from_secs(600), |s| {
            s.published as usize >= events && s.caught_up >= 1
        })
        .await;
    let elapsed = started.elapsed();
    assert!(ok, "adapter did not finish: {done:?}");
    stop.send(true).unwrap();
    adapter.stopped().await.unwrap();
    let depth = bus.depth(QUEUE).await.unwrap().total();
    assert_eq!(depth as usize, events);
    println!(
        "athena adapter: {events} events in {:.2?} = {:.0} messages/s ({} pages, embedded bus)",
        elapsed,
        events as f64 / elapsed.as_secs_f64(),
        done.pages
    );
    mock.stop().await;
}
