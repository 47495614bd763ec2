//! (a) The broker killed (`rabbitmq.sh restart`: `kill -9` of its VM, then a start) three times
//! while a few thousand records flow through the hub: nothing lost, nothing duplicated, and
//! the time to steady throughput after each kill printed.

use std::time::{Duration, Instant};

use super::{
    first_deliveries,
    hub::{Hub, Plan},
    in_flight, long, patient_push, rate,
    services::{Broker, Database},
    time_to_steady,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn broker_killed_three_times_mid_stream_loses_and_duplicates_nothing() {
    let (people, kills) = if long() { (1_500, 5) } else { (900, 3) };
    let broker = Broker::fresh(0).await;
    let db = Database::create();
    let mut hub = Hub::start(Plan::new(&broker.url, &db.url, 13, people)).await;
    let started = Instant::now();
    let push = hub.push(patient_push());
    first_deliveries(&hub, &broker, 100, "the first kill").await;
    let before = hub.delivered();
    for kill in 1..=kills {
        let baseline = rate(&hub, Duration::from_secs(2)).await;
        assert!(
            in_flight(&hub, &push).await,
            "nothing in flight at kill {kill}: the stream ended and the hub caught up"
        );
        let down = Instant::now();
        broker.restart().await;
        let restart = down.elapsed();
        let again = time_to_steady(&hub, baseline, Duration::from_secs(60)).await;
        let again = again.map_or_else(|| "not within 60 s".to_owned(), |t| format!("{t:.1?}"));
        eprintln!(
            "faults: broker kill {kill}/{kills}: broker back in {restart:.1?}, steady throughput \
             ({baseline:.0}/s before) again {again} after it was back"
        );
    }
    let pushed = push.await.unwrap();
    let settled = hub.settle(super::settle_time()).await;
    let tally = hub.tally(&pushed, before).await;
    let took = started.elapsed();
    let diagnosis = hub.diagnose().await;
    hub.stop();
    eprintln!(
        "faults: broker killed {kills}x during {} records ({} notifications) in {took:.0?}: {}",
        hub.expected.sent,
        tally.delivered,
        tally.line()
    );
    assert!(
        settled,
        "not settled (in time, or 20 s without change): {tally:?} {diagnosis}{}",
        hub.procs.tails()
    );
    assert!(tally.clean(), "{tally:?}");
}
