//! (d) The source side: the ingest process reaches the NOMIS Prison API through the
//! fault-injecting proxy, which resets every connection for a while, then delays every chunk,
//! then drops new connections, mid-stream: nothing is silently lost and nothing is duplicated.
//!
//! A notification whose enrichment still fails after the adapter's own retries is not
//! acknowledged (the endpoint answers 503) and the pusher, like SNS, delivers it again: every
//! record arrives enriched, none is parked in quarantine.

use std::time::{Duration, Instant};

use waymark_testkit::proxy::Fault;

use super::{
    first_deliveries,
    hub::{Hub, Plan},
    long, patient_push,
    services::{Broker, Database},
};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn prison_api_resetting_and_slow_still_records_every_notification_once() {
    let (people, rounds) = if long() { (800, 3) } else { (200, 1) };
    let broker = Broker::fresh(3).await;
    let db = Database::create();
    let mut hub = Hub::start(Plan {
        proxy: true,
        ..Plan::new(&broker.url, &db.url, 23, people)
    })
    .await;
    let proxy = hub.proxy.take().expect("the hub's proxy");
    let started = Instant::now();
    let push = hub.push(patient_push());
    first_deliveries(&hub, &broker, 60, "the faults").await;
    let before = hub.delivered();
    for _ in 0..rounds {
        assert!(!push.is_finished(), "the stream ended before the faults");
        for (fault, latency) in [
            (Fault::Reset, Duration::ZERO),
            (Fault::None, Duration::from_millis(200)),
            (Fault::Drop, Duration::ZERO),
        ] {
            proxy.set_fault(fault);
            proxy.set_latency(latency);
            tokio::time::sleep(Duration::from_secs(3)).await;
        }
        proxy.set_fault(Fault::None);
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    let pushed = push.await.unwrap();
    let settled = hub.settle(super::settle_time()).await;
    let tally = hub.tally(&pushed, before).await;
    let took = started.elapsed();
    let diagnosis = hub.diagnose().await;
    hub.stop();
    let stats = proxy.stats();
    eprintln!(
        "faults: Prison API reset / slowed / dropped {rounds}x during {} records in {took:.0?} \
         ({} connections reset, {} dropped, {} forwarded): {}",
        hub.expected.sent,
        stats.reset,
        stats.dropped,
        stats.forwarded,
        tally.line()
    );
    assert!(stats.reset > 0, "the proxy reset no connection: {stats:?}");
    assert!(
        settled,
        "not settled (in time, or 20 s without change): {tally:?} {diagnosis}{}",
        hub.procs.tails()
    );
    assert_eq!(
        (tally.lost, tally.duplicated, tally.unexpected),
        (0, 0, 0),
        "{tally:?} {diagnosis}"
    );
}
