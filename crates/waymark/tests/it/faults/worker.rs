//! (b) Stage worker processes `kill -9`ed mid-stream and started again — a map process (its
//! work is shared with another) and the only record process (the effect-applying stage):
//! nothing lost, nothing duplicated.

use std::time::{Duration, Instant};

use super::{
    first_deliveries,
    hub::{Hub, Plan},
    in_flight, long, patient_push,
    services::{Broker, Database},
};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn worker_processes_killed_mid_stream_lose_and_duplicate_nothing() {
    let (people, rounds) = if long() { (800, 3) } else { (200, 1) };
    let broker = Broker::fresh(1).await;
    let db = Database::create();
    let mut hub = Hub::start(Plan::new(&broker.url, &db.url, 17, people)).await;
    let started = Instant::now();
    let push = hub.push(patient_push());
    first_deliveries(&hub, &broker, 60, "the first kill").await;
    let before = hub.delivered();
    let mut killed = 0;
    for _ in 0..rounds {
        for name in ["record", "map-1"] {
            assert!(
                in_flight(&hub, &push).await,
                "nothing in flight at a kill: the stream ended and the hub caught up"
            );
            hub.procs.kill9(name);
            killed += 1;
            tokio::time::sleep(Duration::from_millis(500)).await;
            hub.procs.respawn(name);
            hub.procs.wait_ready(Duration::from_secs(60)).await;
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
    let pushed = push.await.unwrap();
    let settled = hub.settle(super::settle_time()).await;
    let tally = hub.tally(&pushed, before).await;
    let took = started.elapsed();
    let diagnosis = hub.diagnose().await;
    hub.stop();
    eprintln!(
        "faults: {killed} worker processes kill -9ed (record, map) during {} records in \
         {took:.0?}: {}",
        hub.expected.sent,
        tally.line()
    );
    assert!(
        settled,
        "not settled (in time, or 20 s without change): {tally:?} {diagnosis}{}",
        hub.procs.tails()
    );
    assert!(tally.clean(), "{tally:?}");
}
