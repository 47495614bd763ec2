//! Delivery benchmark: N subscriptions (1, 10, 100, 1,000) on the real embedded bus
//! (`SqliteBus`, temp dir), one delivery worker each, posting to mock receivers on loopback
//! (signature verified by each request's receiver). Two phases per N:
//!
//! - *burst*: a backlog enqueued by 4 concurrent publishers while the workers run; prints
//!   deliveries/s (enqueue start → last delivered);
//! - *paced*: one notification at a time to a rotating subscription, every 5 ms; prints
//!   publish→delivered p50 / p99 (no backlog: the hub's own latency).
//!
//! `cargo bench -p waymark-delivery --bench deliver`; `WAYMARK_BENCH_QUICK=1` for a short run.
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};
use serde_json::json;
use tokio::sync::{mpsc, watch};
use waymark_bus::{Bus, SqliteBus};
use waymark_core::{CONFIDENTIALITY_SYSTEM, DATA_CLASS_SYSTEM, MessageId, Role, SourceSystem};
use waymark_delivery::{
    EventMeta, PayloadMode, RestHook, RestHookConfig, Subscription, mock::MockReceiver, queue_spec,
    run_deliveries,
};
use waymark_policy::{Policy, Recipient, Releasable};
use waymark_profile::Validator;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw0123456789ab";

fn quick() -> bool {
    std::env::var("WAYMARK_BENCH_QUICK").is_ok_and(|v| v == "1")
}

fn recipient() -> Recipient {
    Recipient {
        organisation: "hmp-bench".into(),
        role: Role::Probation,
        registered: false,
        purpose: "continuity-of-care".into(),
    }
}

fn patient_id(n: u64) -> String {
    format!("{n:08x}-0000-4000-8000-000000000000")
}

/// A small labelled canonical bundle about patient `n`, released by the built-in policy.
fn releasable(validator: &Validator, policy: &Policy, n: u64) -> Releasable {
    let pid = patient_id(n);
    let label = json!([{ "system": DATA_CLASS_SYSTEM, "code": "identity" },
                       { "system": CONFIDENTIALITY_SYSTEM, "code": "N" }]);
    let prov = format!("{n:08x}-0000-4000-8000-000000000001");
    let bundle = json!({ "resourceType": "Bundle", "id": format!("{n:08x}-0000-4000-8000-000000000002"),
        "type": "collection", "entry": [
        { "fullUrl": format!("urn:uuid:{pid}"), "resource": { "resourceType": "Patient",
          "id": pid, "active": true, "meta": { "security": label } } },
        { "fullUrl": format!("urn:uuid:{prov}"), "resource": { "resourceType": "Provenance",
          "id": prov, "target": [{ "reference": format!("urn:uuid:{pid}") }],
          "recorded": "2024-03-01T10:00:00Z", "agent": [{ "who": { "display": "bench" } }] } },
    ]});
    let bundle = validator.validate(bundle).expect("valid bench bundle");
    policy.release(&bundle, &recipient()).expect("released")
}

/// Event `n` about patient `patient`.
fn event(n: u64, patient: u64, topic: &str) -> EventMeta {
    EventMeta {
        event_id: MessageId::derive(SourceSystem::Nomis, &format!("bench-{n}")),
        event_number: n,
        topic: topic.into(),
        timestamp: Utc::now(),
        patient_id: patient_id(patient),
    }
}

struct Setup {
    bus: Arc<SqliteBus>,
    subs: Vec<Subscription>,
    receivers: Vec<MockReceiver>,
    stop: watch::Sender<bool>,
    _dir: tempfile::TempDir,
}

async fn setup(n: usize) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let bus = Arc::new(SqliteBus::open(&dir.path().join("bus.db")).await.unwrap());
    let mut receivers = Vec::new();
    for _ in 0..n.min(10) {
        receivers.push(MockReceiver::start(vec![SECRET.into()]).await.unwrap());
    }
    let hook = RestHook::new(&RestHookConfig::default()).unwrap();
    let (stop, shutdown) = watch::channel(false);
    let (events, mut drain) = mpsc::unbounded_channel();
    tokio::spawn(async move { while drain.recv().await.is_some() {} });
    let mut subs = Vec::new();
    for i in 0..n {
        let url = receivers[i % receivers.len()].url();
        let sub = Subscription::new(
            format!("bench-{i:04}"),
            "prison.reception",
            url,
            recipient(),
            SECRET,
            PayloadMode::FullResource,
        );
        bus.declare(&queue_spec(&sub)).await.unwrap();
        let bus: Arc<dyn Bus> = bus.clone();
        tokio::spawn(run_deliveries(
            bus,
            sub.clone(),
            hook.clone(),
            events.clone(),
            shutdown.clone(),
        ));
        subs.push(sub);
    }
    Setup {
        bus,
        subs,
        receivers,
        stop,
        _dir: dir,
    }
}

fn received(setup: &Setup) -> usize {
    setup.receivers.iter().map(|r| r.received().len()).sum()
}

async fn wait_for(setup: &Setup, total: usize) {
    let until = Instant::now() + Duration::from_secs(600);
    while received(setup) < total && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    assert!(received(setup) >= total, "not all delivered");
}

/// Deliveries per second of a backlog of `total` notifications spread over the subscriptions.
async fn burst(setup: &Setup, releasables: Vec<Releasable>) -> f64 {
    let total = releasables.len();
    let started = Instant::now();
    let mut chunks: Vec<Vec<(usize, Releasable)>> = (0..4).map(|_| Vec::new()).collect();
    for (i, r) in releasables.into_iter().enumerate() {
        chunks[i % 4].push((i, r));
    }
    let publishers: Vec<_> = chunks
        .into_iter()
        .map(|chunk| {
            let (bus, subs) = (setup.bus.clone(), setup.subs.clone());
            tokio::spawn(async move {
                for (i, released) in chunk {
                    let sub = &subs[i % subs.len()];
                    let e = event(i as u64 + 1, i as u64, &sub.topic);
                    waymark_delivery::enqueue(bus.as_ref(), sub, &e, released)
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for p in publishers {
        p.await.unwrap();
    }
    wait_for(setup, total).await;
    total as f64 / started.elapsed().as_secs_f64()
}

/// Publish→delivered latencies of `releasables.len()` notifications sent one every 5 ms.
async fn paced(setup: &Setup, first: u64, releasables: Vec<Releasable>) -> Vec<Duration> {
    let already = received(setup);
    let mut published: HashMap<String, DateTime<Utc>> = HashMap::new();
    let count = releasables.len();
    for (k, released) in releasables.into_iter().enumerate() {
        let sub = &setup.subs[k % setup.subs.len()];
        let e = event(first + k as u64, k as u64, &sub.topic);
        let at = Utc::now();
        waymark_delivery::enqueue(setup.bus.as_ref(), sub, &e, released)
            .await
            .unwrap();
        published.insert(e.event_id.child(&sub.id).as_str().to_owned(), at);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    wait_for(setup, already + count).await;
    let mut all: Vec<Duration> = setup
        .receivers
        .iter()
        .flat_map(|r| r.received())
        .filter_map(|r| {
            let at = published.get(&r.webhook_id)?;
            Some((r.received_at - *at).to_std().unwrap_or_default())
        })
        .collect();
    all.sort_unstable();
    all
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * (sorted.len().saturating_sub(1)) as f64).round() as usize;
    sorted.get(rank).copied().unwrap_or_default()
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let validator = Validator::schema_only().unwrap();
    let policy = Policy::builtin().unwrap();
    let (backlog, paced_count) = if quick() { (500, 100) } else { (2_000, 400) };
    println!(
        "deliver bench (embedded SqliteBus, loopback mock receivers{})",
        if quick() { ", quick" } else { "" }
    );
    println!(
        "{:>6} {:>9} {:>14} {:>10} {:>10}",
        "subs", "backlog", "deliveries/s", "p50", "p99"
    );
    for n in [1usize, 10, 100, 1_000] {
        let backlog = backlog.max(n);
        let first: Vec<Releasable> = (0..backlog as u64)
            .map(|i| releasable(&validator, &policy, i))
            .collect();
        let second: Vec<Releasable> = (0..paced_count)
            .map(|i| releasable(&validator, &policy, i))
            .collect();
        runtime.block_on(async {
            let setup = setup(n).await;
            let rate = burst(&setup, first).await;
            let latencies = paced(&setup, backlog as u64 + 1, second).await;
            let _ = setup.stop.send(true);
            println!(
                "{n:>6} {backlog:>9} {rate:>14.0} {:>10.2?} {:>10.2?}",
                pct(&latencies, 50.0),
                pct(&latencies, 99.0)
            );
        });
    }
}
