//! (d) The source side: the ingest process reaches the NOMIS Prison API through the
//! fault-injecting proxy, which resets every connection for a while, then delays every chunk,
//! then drops new connections, mid-stream: nothing is silently lost and nothing is duplicated.
//!
//! Known gap (docs/ARCHITECTURE.md, "behind the target"): a notification whose enrichment still
//! fails after the adapter's retries is acknowledged to SNS and parked in quarantine with its
//! exact bytes (the adapter's documented behaviour), and a re-drive cannot re-enrich it yet. So
//! this test counts those separately: every record missing must be one parked in quarantine
//! (`lost == unexpected`), none may be missing without a quarantine entry. The fix — answer 503
//! on a transient enrichment failure so SNS redelivers — will make both counts 0.

use std::time::{Duration, Instant};

use waymark_adapter_nomis::Population;
use waymark_testkit::proxy::Fault;

use super::{
    hub::{Hub, Plan},
    long, patient_push,
    services::{Broker, Database},
    until,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn prison_api_resetting_and_slow_still_records_every_notification_once() {
    let (people, rounds) = if long() { (800, 3) } else { (200, 1) };
    let broker = Broker::fresh(3).await;
    let db = Database::create();
    let mut hub = Hub::start(Plan {
        bus: broker.url.clone(),
        store: db.url.clone(),
        population: Population::synthetic(23, people),
        proxy: true,
        api: false,
    })
    .await;
    let proxy = hub.proxy.take().expect("the hub's proxy");
    let started = Instant::now();
    let push = hub.push(patient_push());
    assert!(
        until(60, || hub.delivered() >= 60).await,
        "no deliveries before the faults: {}",
        hub.procs.tails()
    );
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
    // Settling means every record arrived; the parked ones never will (known gap above), so a
    // stream that stopped short by exactly the parked count has settled as far as it can.
    let short_by_parked = tally.lost > 0 && tally.lost == tally.unexpected;
    assert!(
        settled || short_by_parked,
        "not settled (in time, or 20 s without change): {tally:?} {diagnosis}{}",
        hub.procs.tails()
    );
    let parked = tally.unexpected;
    eprintln!(
        "faults: Prison API faults: {parked} acknowledged notifications parked in quarantine after          a failed enrichment (known gap), {} lost without a quarantine entry",
        tally.lost - tally.lost.min(parked)
    );
    assert_eq!(tally.duplicated, 0, "{tally:?}");
    assert_eq!(
        tally.lost, parked,
        "every record missing is parked in quarantine, none silently lost: {tally:?}"
    );
}
