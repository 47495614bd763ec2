//! Throughput of the ExceliCare adapter: the mock sender on loopback, the real adapter, the
//! embedded bus (SQLite in a temp dir). MLLP is stop-and-wait (one message, then its ACK), so
//! one connection measures latency-bound throughput; several mocks on their own connections
//! measure how the adapter scales. Run: `cargo bench -p waymark-adapter-excelicare --bench
//! throughput`.
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use std::{sync::Arc, time::Instant};

use tokio::sync::watch;
use waymark_adapter_excelicare::{
    AdapterContext, ExcelicareConfig, MockExcelicare, Script, SendOptions,
};
use waymark_bus::{Bus, Publisher, QueueSpec, SqliteBus};

const QUEUE: &str = "waymark.ingest";

async fn run(senders: u64, people: usize) {
    let dir = tempfile::tempdir().unwrap();
    let bus = Arc::new(SqliteBus::open(&dir.path().join("bus.db")).await.unwrap());
    bus.declare(&QueueSpec::new(QUEUE)).await.unwrap();
    let (stop, shutdown) = watch::channel(false);
    let cx = AdapterContext {
        publisher: Publisher::new(bus.clone(), QUEUE),
        shutdown,
    };
    let adapter = ExcelicareConfig::new("127.0.0.1:0".parse().unwrap())
        .build(cx)
        .await
        .unwrap();
    let mocks: Vec<MockExcelicare> = (0..senders)
        .map(|seed| MockExcelicare::new(Script::synthetic(100 + seed, people)))
        .collect();
    let total: usize = mocks.iter().map(|m| m.script().items().len()).sum();
    let bytes: usize = mocks
        .iter()
        .flat_map(|m| m.script().items())
        .map(|i| i.bytes.len())
        .sum();
    let started = Instant::now();
    let runs: Vec<_> = mocks
        .iter()
        .cloned()
        .map(|mock| {
            let addr = adapter.local_addr;
            tokio::spawn(async move { mock.send_all(addr, SendOptions::default()).await })
        })
        .collect();
    let mut accepted = 0;
    for run in runs {
        accepted += run.await.unwrap().accepted;
    }
    let elapsed = started.elapsed().as_secs_f64();
    assert_eq!(accepted, total);
    let depth = bus.depth(QUEUE).await.unwrap();
    assert_eq!(depth.ready, total as u64);
    println!(
        "excelicare throughput: {senders} sender(s), {total} messages ({} KiB), {elapsed:.2} s, \
         {:.0} messages/s, mean {:.2} ms per message per sender",
        bytes / 1024,
        total as f64 / elapsed,
        elapsed * 1000.0 * senders as f64 / total as f64
    );
    stop.send_replace(true);
    adapter.stopped().await.unwrap();
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run(1, 600));
    runtime.block_on(run(4, 150));
}
