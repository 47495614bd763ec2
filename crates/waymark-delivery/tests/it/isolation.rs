//! Isolation: 100 subscriptions on one embedded bus; one endpoint slow (seconds), one failing.
//! The healthy ones' publish→delivered latency is measured without and then with the bad ones,
//! in the same test; only a generous bound is asserted (the slow one is not in their path).

use crate::common;

use std::{collections::HashMap, sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use common::{Worker, event, eventually, percentile, releasable, start_worker, subscription};
use waymark_bus::{Bus, SqliteBus};
use waymark_core::Role;
use waymark_delivery::{PayloadMode, Subscription, mock::MockReceiver, queue_spec};

const SUBSCRIPTIONS: usize = 100;
const ROUNDS: u64 = 4;

struct Bench {
    bus: Arc<SqliteBus>,
    subs: Vec<Subscription>,
    healthy: MockReceiver,
    slow: MockReceiver,
    failing: MockReceiver,
    published: HashMap<(String, u64), DateTime<Utc>>,
}

impl Bench {
    /// Publishes `ROUNDS` events to every subscription starting at event `first`.
    async fn publish(&mut self, first: u64) {
        for n in first..first + ROUNDS {
            for sub in &self.subs {
                let released = releasable(n, &sub.recipient);
                let at = Utc::now();
                waymark_delivery::enqueue(self.bus.as_ref(), sub, &event(n, n), released)
                    .await
                    .unwrap();
                self.published.insert((sub.id.clone(), n), at);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The healthy subscriptions' publish→delivered latencies of events `first..first+ROUNDS`.
    fn latencies(&self, first: u64) -> Vec<Duration> {
        let mut all: Vec<Duration> = self
            .healthy
            .received()
            .iter()
            .filter_map(|r| {
                let (number, _) = common::event_of(&r.body);
                let sub =
                    r.body["entry"][0]["resource"]["parameter"][0]["valueReference"]["reference"]
                        .as_str()?
                        .strip_prefix("Subscription/")?
                        .to_owned();
                let at = self.published.get(&(sub, number))?;
                (first..first + ROUNDS)
                    .contains(&number)
                    .then(|| (r.received_at - *at).to_std().unwrap_or_default())
            })
            .collect();
        all.sort_unstable();
        all
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_and_a_failing_endpoint_do_not_delay_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let bus = Arc::new(SqliteBus::open(&dir.path().join("bus.db")).await.unwrap());
    let secrets = || vec![common::secret(1)];
    let healthy = MockReceiver::start(secrets()).await.unwrap();
    let slow = MockReceiver::start(secrets()).await.unwrap();
    let failing = MockReceiver::start(secrets()).await.unwrap();
    let mut subs = Vec::new();
    for i in 0..SUBSCRIPTIONS {
        let url = match i {
            0 => slow.url(),
            1 => failing.url(),
            _ => healthy.url(),
        };
        let mut sub = subscription(&url, PayloadMode::IdOnly, Role::Probation);
        sub.id = format!("iso-{i:03}");
        bus.declare(&queue_spec(&sub)).await.unwrap();
        subs.push(sub);
    }
    let workers: Vec<Worker> = subs.iter().map(|s| start_worker(bus.clone(), s)).collect();
    let mut bench = Bench {
        bus,
        subs,
        healthy,
        slow,
        failing,
        published: HashMap::new(),
    };
    let per_phase = (SUBSCRIPTIONS - 2) * ROUNDS as usize;

    bench.publish(1).await;
    assert!(eventually(30, || bench.healthy.received().len() == per_phase).await);
    let baseline = bench.latencies(1);

    bench.slow.go_slow(Duration::from_secs(3));
    bench.failing.go_down(true);
    bench.publish(1 + ROUNDS).await;
    assert!(eventually(30, || bench.healthy.received().len() == 2 * per_phase).await);
    let with_bad = bench.latencies(1 + ROUNDS);
    assert_eq!((baseline.len(), with_bad.len()), (per_phase, per_phase));
    assert!(
        bench.failing.request_count() >= 1,
        "the failing one was tried"
    );
    assert!(bench.healthy.duplicates().is_empty());

    let (b50, b99) = (percentile(&baseline, 50.0), percentile(&baseline, 99.0));
    let (w50, w99) = (percentile(&with_bad, 50.0), percentile(&with_bad, 99.0));
    let slow_delivered = bench.slow.received().len();
    for worker in workers {
        drop(worker.stop);
        worker.task.abort();
    }
    assert!(
        w99 < b99 + Duration::from_secs(1),
        "healthy p99 {w99:?} vs {b99:?}"
    );
    eprintln!(
        "isolation: {SUBSCRIPTIONS} subscriptions, {per_phase} healthy deliveries per phase; \
         p50 {b50:?} → {w50:?} ({:.2}x), p99 {b99:?} → {w99:?} ({:.2}x) with 1 slow (3 s, \
         {slow_delivered} delivered meanwhile) and 1 failing ({} refused attempts)",
        w50.as_secs_f64() / b50.as_secs_f64().max(1e-9),
        w99.as_secs_f64() / b99.as_secs_f64().max(1e-9),
        bench.failing.request_count(),
    );
}
