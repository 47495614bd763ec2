//! (e) A memory alarm on the broker (`rabbitmq.sh alarm on`, then `off`) mid-stream: the
//! ingest process's publishes are held — its health says `blocked` — rather than dropped or
//! failed, and once the alarm clears everything is recorded and delivered, nothing twice.

use std::{
    net::SocketAddr,
    time::{Duration, Instant},
};

use super::{
    first_deliveries,
    hub::{Hub, Plan},
    long, patient_push,
    services::{Broker, Database},
};
use crate::common::http_get;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_alarm_blocks_publishers_and_loses_nothing_afterwards() {
    let (people, alarms) = if long() { (800, 3) } else { (300, 1) };
    let broker = Broker::fresh(4).await;
    let db = Database::create();
    let mut hub = Hub::start(Plan::new(&broker.url, &db.url, 29, people)).await;
    let health: SocketAddr = hub
        .procs
        .logged("ingest", "waymark run: health on http://")
        .trim_end_matches("/health")
        .parse()
        .unwrap();
    let started = Instant::now();
    // Paced, so the stream outlasts the alarm command (`rabbitmqctl`, whose VM takes many
    // seconds to start on a loaded machine): the broker blocks a connection only at a publish
    // after the alarm, and an unpaced push ends in seconds.
    let push = hub.push_paced(patient_push(), Duration::from_millis(60));
    first_deliveries(&hub, &broker, 60, "the alarm").await;
    let before = hub.delivered();
    let mut held = Vec::new();
    for _ in 0..alarms {
        assert!(!push.is_finished(), "the stream ended before the alarm");
        broker.alarm(true).await;
        assert!(
            !push.is_finished(),
            "the stream ended while the alarm was being raised"
        );
        let on = Instant::now();
        let mut state = String::new();
        // The broker blocks a connection at its first publish after the alarm; on a loaded
        // machine the alarm command, that publish and the health answer each take seconds.
        while on.elapsed() < Duration::from_secs(30) && state != "blocked" {
            state = bus_state(health).await;
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        // Held for a while: the push must be waiting, not failing.
        tokio::time::sleep(Duration::from_secs(3)).await;
        let waiting = !push.is_finished();
        broker.alarm(false).await;
        held.push((state, waiting, on.elapsed()));
    }
    let pushed = push.await.unwrap();
    let settled = hub.settle(super::settle_time()).await;
    let tally = hub.tally(&pushed, before).await;
    let took = started.elapsed();
    let diagnosis = hub.diagnose().await;
    hub.stop();
    eprintln!(
        "faults: memory alarm {alarms}x during {} records in {took:.0?} (ingest health while \
         raised: {held:?}): {}",
        hub.expected.sent,
        tally.line()
    );
    for (state, waiting, _) in &held {
        assert_eq!(
            state, "blocked",
            "the ingest's bus did not report the alarm"
        );
        assert!(waiting, "the push finished (or failed) under the alarm");
    }
    assert_eq!(pushed.failed, 0, "a publisher gave up instead of waiting");
    assert!(
        settled,
        "not settled (in time, or 20 s without change): {tally:?} {diagnosis}{}",
        hub.procs.tails()
    );
    assert!(tally.clean(), "{tally:?}");
}

/// The `bus.state` of a process's `/health` (`up`, `down`, `blocked`).
async fn bus_state(addr: SocketAddr) -> String {
    let (_, body) = http_get(addr, "/health").await;
    let json: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    json["bus"]["state"].as_str().unwrap_or_default().to_owned()
}
