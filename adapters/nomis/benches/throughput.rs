//! Throughput of the NOMIS adapter: the mock NOMIS on loopback (Prison API and SNS pusher), the
//! real embedded bus (`SqliteBus` in a temp dir), the adapter enriching and publishing every
//! notification of a synthetic population. Prints messages per second, first with one delivery
//! at a time (the mock's pusher as it is), then with several pushers at once (SNS delivers
//! concurrently). `cargo bench -p waymark-adapter-nomis --bench throughput`
//! (`NOMIS_BENCH_PEOPLE` sets the population size, default 1000; `NOMIS_BENCH_PUSHERS` the
//! concurrent pushers, default 8).
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use std::{sync::Arc, time::Instant};

use tokio::sync::watch;
use waymark_adapter_nomis::{
    AdapterContext, MockNomis, NomisConfig, Population, PushOptions, PushReport,
};
use waymark_bus::{Bus, Publisher, QueueSpec, SqliteBus};

const QUEUE: &str = "waymark.ingest";

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let people = setting("NOMIS_BENCH_PEOPLE", 1_000);
    let pushers = setting("NOMIS_BENCH_PUSHERS", 8).max(1);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let drawn = Instant::now();
        let population = Population::synthetic(2024, people);
        let sent = population.notifications().len();
        let bytes: usize = population
            .notifications()
            .iter()
            .map(|n| n.body.len())
            .sum();
        println!(
            "nomis population: {people} people, {sent} notifications, {:.1} MB, drawn in {:.2?}",
            bytes as f64 / 1e6,
            drawn.elapsed()
        );
        let mock = MockNomis::start(population).await.unwrap();
        run(&mock, 1).await;
        if pushers > 1 {
            run(&mock, pushers).await;
        }
        mock.stop().await;
    });
}

/// One run on a fresh bus: `pushers` pushers each delivering their share of the script.
async fn run(mock: &MockNomis, pushers: usize) {
    let dir = tempfile::tempdir().unwrap();
    let bus = Arc::new(SqliteBus::open(&dir.path().join("bus.db")).await.unwrap());
    bus.declare(&QueueSpec::new(QUEUE)).await.unwrap();
    let (stop, shutdown) = watch::channel(false);
    let cx = AdapterContext {
        publisher: Publisher::new(bus.clone(), QUEUE),
        shutdown,
    };
    let config = NomisConfig::new("127.0.0.1:0".parse().unwrap(), mock.base_url());
    let adapter = config.build(cx).await.unwrap();
    let endpoint = adapter.endpoint();

    let started = Instant::now();
    let report = push(mock, &endpoint, pushers).await;
    let elapsed = started.elapsed();
    let sent = mock.population().notifications().len();
    assert_eq!((report.sent, report.acknowledged), (sent, sent));
    let depth = bus.depth(QUEUE).await.unwrap().total();
    assert_eq!(depth as usize, sent);
    let s = adapter.telemetry().snapshot();
    stop.send(true).unwrap();
    adapter.stopped().await.unwrap();
    println!(
        "nomis adapter, {pushers} pusher(s): {sent} notifications in {elapsed:.2?} = {:.0} messages/s \
         ({} deliveries, {} published, embedded bus)",
        sent as f64 / elapsed.as_secs_f64(),
        report.attempts,
        s.published,
    );
}

/// Splits the script into `pushers` interleaved shares and delivers them concurrently.
async fn push(mock: &MockNomis, endpoint: &str, pushers: usize) -> PushReport {
    let bodies: Vec<Vec<u8>> = mock
        .population()
        .notifications()
        .iter()
        .map(|n| n.body.clone())
        .collect();
    let bodies = Arc::new(bodies);
    let tasks: Vec<_> = (0..pushers)
        .map(|k| {
            let pusher = mock.pusher(endpoint, PushOptions::default());
            let bodies = bodies.clone();
            tokio::spawn(async move {
                let share = bodies.iter().skip(k).step_by(pushers);
                pusher.push(share.map(Vec::as_slice)).await
            })
        })
        .collect();
    let mut total = PushReport::default();
    for task in tasks {
        let report = task.await.unwrap();
        total.sent += report.sent;
        total.acknowledged += report.acknowledged;
        total.failed += report.failed;
        total.attempts += report.attempts;
    }
    total
}
