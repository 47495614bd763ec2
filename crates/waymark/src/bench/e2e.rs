//! End to end, source publish → webhook 2xx, at full durability: the maximum rate, and the
//! latency at fixed fractions of it (measured from each envelope's *intended* send time, so a
//! hub that falls behind is charged for the wait: coordinated-omission safe).

use std::{
    collections::HashMap,
    time::{Duration, Instant, SystemTime},
};

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::{
    Shared,
    fixtures::Fixtures,
    hub::{self, Backend},
    stats::{self, Percentiles},
    subs::Receivers,
};

/// Concurrent publishers feeding the ingest queue in a maximum-rate run.
pub const PUBLISHERS: usize = 16;

/// What a maximum-rate run measured.
#[derive(Clone, Debug)]
pub struct Throughput {
    /// Envelopes per second, first publish to last healthy delivery.
    pub rate: f64,
    /// CPU time of the whole process (hub, mock receivers, harness) per envelope, µs.
    pub cpu_us: f64,
    /// RSS once every envelope was published (bytes).
    pub rss_loaded: u64,
    /// RSS after the hub stopped (bytes).
    pub rss_after: u64,
    /// Notifications delivered (both subscriptions).
    pub delivered: usize,
    /// Notifications received twice.
    pub duplicates: usize,
}

impl Throughput {
    /// As JSON.
    pub fn to_json(&self, envelopes: usize) -> Value {
        json!({"envelopes": envelopes, "records_per_s": self.rate,
            "cpu_us_per_record": self.cpu_us, "rss_loaded_mib": mib(self.rss_loaded),
            "rss_after_mib": mib(self.rss_after), "notifications_delivered": self.delivered,
            "duplicates": self.duplicates})
    }
}

/// Bytes in MiB.
pub fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// The maximum rate through a hub on `backend` with `receivers`' subscriptions, after
/// `prepare` ran on its empty store.
pub async fn throughput(
    backend: &Backend,
    shared: &Shared,
    messages: &[waymark_bus::Message],
    receivers: Receivers,
    workers: usize,
    prepare: impl AsyncFnOnce(&hub::Concrete) -> anyhow::Result<()>,
) -> anyhow::Result<Throughput> {
    let run = hub::start(
        backend,
        shared,
        receivers,
        workers,
        async move |store, _| prepare(store).await,
    )
    .await?;
    let n = messages.len();
    let cpu = stats::cpu_time();
    let start = Instant::now();
    run.publish_all(messages, PUBLISHERS).await?;
    let rss_loaded = stats::rss_bytes();
    let done = run.wait_done(n, Duration::from_secs(900)).await?;
    let cpu_us = (stats::cpu_time() - cpu).as_secs_f64() * 1e6 / n as f64;
    let rate = stats::rate(n, done - start);
    let (delivered, duplicates) = (
        run.receivers.healthy_delivered(),
        run.receivers.duplicates(),
    );
    run.stop().await?;
    Ok(Throughput {
        rate,
        cpu_us,
        rss_loaded,
        rss_after: stats::rss_bytes(),
        delivered,
        duplicates,
    })
}

/// Latency at a fixed arrival rate of `rate` envelopes/s for `seconds` (at most every
/// envelope once), through a hub on `backend` with `receivers`' subscriptions. Each traced
/// envelope's latency is its first healthy delivery minus its intended send time.
pub async fn latency(
    backend: &Backend,
    shared: &Shared,
    fixtures: &Fixtures,
    receivers: Receivers,
    workers: usize,
    rate: f64,
    seconds: f64,
) -> anyhow::Result<(Percentiles, usize)> {
    let count = ((rate * seconds).ceil() as usize).clamp(1, fixtures.messages.len());
    let messages = &fixtures.messages[..count];
    let run = hub::start(backend, shared, receivers, workers, async |_, _| Ok(())).await?;
    let intended = run.publish_at_rate(messages, rate).await?;
    run.wait_done(count, Duration::from_secs(600)).await?;
    let received = run.receivers.healthy_received();
    run.stop().await?;
    let mut first: HashMap<usize, DateTime<Utc>> = HashMap::new();
    for r in &received {
        for id in provenance_ids(&r.body) {
            if let Some(&i) = fixtures.provenance.get(&id)
                && i < count
            {
                let at = first.entry(i).or_insert(r.received_at);
                *at = (*at).min(r.received_at);
            }
        }
    }
    let samples = first
        .iter()
        .map(|(&i, &at)| since(intended[i], at))
        .collect::<Vec<_>>();
    Ok((Percentiles::of(samples), count))
}

/// `at` minus `intended`, zero if the clocks disagree.
fn since(intended: SystemTime, at: DateTime<Utc>) -> Duration {
    SystemTime::from(at)
        .duration_since(intended)
        .unwrap_or(Duration::ZERO)
}

/// The ids of every Provenance anywhere in a notification.
pub fn provenance_ids(body: &Value) -> Vec<String> {
    let mut out = Vec::new();
    walk(body, &mut out);
    out
}

fn walk(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            if map.get("resourceType").and_then(Value::as_str) == Some("Provenance")
                && let Some(id) = map.get("id").and_then(Value::as_str)
            {
                out.push(id.to_owned());
            }
            map.values().for_each(|x| walk(x, out));
        }
        Value::Array(items) => items.iter().for_each(|x| walk(x, out)),
        _ => {}
    }
}
