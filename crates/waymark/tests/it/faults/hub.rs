//! One multi-process hub for a fault test, as `processes.rs` runs it: `waymark run` processes
//! (ingest, two map, record, release, one delivery process for both subscriptions, and the API
//! when asked) on the test's own broker and database, with a mock NOMIS pushing a synthetic
//! population and two mock receivers.

use std::{
    path::Path,
    sync::Arc,
    time::{Duration, Instant},
};

use tokio::task::JoinHandle;
use waymark::embedded::demo_subscriptions;
use waymark_adapter_nomis::{Expected, MockNomis, Population, PushOptions, PushReport};
use waymark_delivery::{Subscription, mock::MockReceiver};
use waymark_store::Store;
use waymark_testkit::proxy::FaultProxy;

use super::{
    procs::Procs,
    tally::{HubCounts, Subscriber, Tally},
};
use crate::common::{SECRET, repo_root};

/// What a test runs.
pub struct Plan {
    pub bus: String,
    pub store: String,
    pub population: Population,
    /// Put a [`FaultProxy`] between the ingest process and the mock NOMIS's Prison API.
    pub proxy: bool,
    /// Also run the API stage (its address: [`Hub::api`]).
    pub api: bool,
}

impl Plan {
    /// The usual plan: a synthetic population of `people` from `seed`, no proxy, no API.
    pub fn new(bus: &str, store: &str, seed: u64, people: usize) -> Self {
        Self {
            bus: bus.to_owned(),
            store: store.to_owned(),
            population: Population::synthetic(seed, people),
            proxy: false,
            api: false,
        }
    }
}

pub struct Hub {
    pub nomis: Arc<MockNomis>,
    pub proxy: Option<FaultProxy>,
    pub receivers: [MockReceiver; 2],
    pub subs: Vec<Subscription>,
    pub store: Arc<dyn Store>,
    pub procs: Procs,
    pub expected: Expected,
    pub dir: tempfile::TempDir,
}

impl Hub {
    /// Migrates the store, starts the mocks and the processes, and waits until all are ready.
    pub async fn start(plan: Plan) -> Self {
        let store = waymark_store::open(&plan.store)
            .await
            .unwrap_or_else(|e| panic!("cannot open the test's PostgreSQL database: {e}"));
        let expected = plan.population.expected();
        let nomis = Arc::new(MockNomis::start(plan.population).await.unwrap());
        let receivers = [
            MockReceiver::start(vec![SECRET.to_owned()]).await.unwrap(),
            MockReceiver::start(vec![SECRET.to_owned()]).await.unwrap(),
        ];
        let dir = tempfile::tempdir().unwrap();
        let run = uuid::Uuid::new_v4().simple().to_string();
        let mut subs = demo_subscriptions(&receivers[0].url(), &receivers[1].url(), SECRET);
        for sub in &mut subs {
            sub.id = format!("f{}-{}", &run[..8], sub.id);
        }
        let subs_file = dir.path().join("subscriptions.json");
        std::fs::write(&subs_file, serde_json::to_string(&subs).unwrap()).unwrap();
        let args = |stage: &str| -> Vec<String> {
            let mut args: Vec<String> = ["run", "--stage", stage, "--bus", &plan.bus]
                .map(str::to_owned)
                .to_vec();
            args.extend(["--store".into(), plan.store.clone()]);
            args.extend(["--subscriptions".into(), path(&subs_file)]);
            args.extend(["--mappings".into(), path(&repo_root().join("mappings"))]);
            args
        };
        let mut procs = Procs::new(dir.path());
        for stage in ["map-1", "map-2", "record", "release", "deliver"] {
            procs.spawn(stage, &args(stage.trim_end_matches(['-', '1', '2'])));
        }
        if plan.api {
            let mut api = args("api");
            api.extend(["--port".into(), "0".into()]);
            procs.spawn("api", &api);
        }
        let mut ingest = args("ingest");
        let proxy = match plan.proxy {
            true => Some(FaultProxy::start(nomis.local_addr()).await.unwrap()),
            false => None,
        };
        let prison_api = proxy
            .as_ref()
            .map_or_else(|| nomis.base_url(), |p| format!("http://{}", p.addr()));
        ingest.extend(["--prison-api".into(), prison_api]);
        ingest.extend(["--health-port".into(), "0".into()]);
        procs.spawn("ingest", &ingest);
        procs.wait_ready(Duration::from_secs(60)).await;
        // Let every consumer subscribe (consumers start on the first receive).
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        Self {
            nomis,
            proxy,
            receivers,
            subs,
            store,
            procs,
            expected,
            dir,
        }
    }

    /// The API process's address.
    pub fn api(&self) -> std::net::SocketAddr {
        let url = self.procs.logged("api", "waymark run: api on http://");
        url.trim().parse().unwrap()
    }

    /// Pushes the whole population to the ingest process, in order, in a task of its own.
    pub fn push(&self, options: PushOptions) -> JoinHandle<PushReport> {
        self.push_paced(options, Duration::ZERO)
    }

    /// As [`Hub::push`], waiting `gap` after each notification (a stream that lasts).
    pub fn push_paced(&self, options: PushOptions, gap: Duration) -> JoinHandle<PushReport> {
        let endpoint = self.procs.logged("ingest", "waymark run: ingest endpoint ");
        let pusher = self.nomis.pusher(endpoint, options);
        let nomis = self.nomis.clone();
        // One at a time, as `Pusher::push` does (whose iterator of borrowed bodies a spawned
        // task cannot hold).
        tokio::spawn(async move {
            let mut report = PushReport::default();
            for notification in nomis.population().notifications() {
                let outcome = pusher.push_one(&notification.body).await;
                report.sent += 1;
                report.attempts += outcome.attempts as usize;
                match outcome.acknowledged {
                    true => report.acknowledged += 1,
                    false => report.failed += 1,
                }
                report.outcomes.push(outcome);
                tokio::time::sleep(gap).await;
            }
            report
        })
    }

    /// Unique notifications at both receivers.
    pub fn delivered(&self) -> u64 {
        self.receivers
            .iter()
            .map(|r| r.unique_ids().len() as u64)
            .sum()
    }

    /// Waits (up to `within`) until every good message is recorded and each receiver holds
    /// every event numbered for it, unchanged for 3 s; whether it did. Gives up early when
    /// nothing at all changed for 20 s (the push is over by then: a stuck count stays stuck).
    pub async fn settle(&self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        let mut stable: Option<(Instant, u64)> = None;
        let mut last: (Instant, Option<(u64, u64, u64)>) = (Instant::now(), None);
        while Instant::now() < deadline && last.0.elapsed() < Duration::from_secs(20) {
            let counts = self.store.counts().await.unwrap_or_default();
            let tally = self.tally_now(None, 0).await;
            let now = Some((counts.records, counts.quarantined, tally.delivered));
            if now != last.1 {
                last = (Instant::now(), now);
            }
            let done = counts.records >= self.expected.good as u64 && tally.lost == 0;
            stable = match (done, stable) {
                (true, Some((since, n))) if n == tally.delivered => {
                    if since.elapsed() >= Duration::from_secs(3) {
                        return true;
                    }
                    Some((since, n))
                }
                (true, _) => Some((Instant::now(), tally.delivered)),
                (false, _) => None,
            };
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        false
    }

    /// The count now; `acknowledged` `None`: as if the ingest acknowledged every push.
    async fn tally_now(&self, acknowledged: Option<u64>, before_fault: u64) -> Tally {
        let counts = self.store.counts().await.unwrap_or_default();
        let mut numbered = Vec::new();
        for sub in &self.subs {
            numbered.push(self.store.events_since_start(&sub.id).await.unwrap_or(0));
        }
        let received: Vec<_> = self.receivers.iter().map(MockReceiver::received).collect();
        let subscribers: Vec<Subscriber<'_>> = received
            .iter()
            .zip(numbered)
            .map(|(received, numbered)| Subscriber { received, numbered })
            .collect();
        let hub = HubCounts {
            sent: self.expected.sent as u64,
            acknowledged: acknowledged.unwrap_or(self.expected.sent as u64),
            good: self.expected.good as u64,
            bad: self.expected.bad as u64,
            recorded: counts.records,
            quarantined: counts.quarantined,
            delivered_before_fault: before_fault,
        };
        Tally::count(hub, &subscribers)
    }

    /// The final count, after [`settle`](Self::settle).
    pub async fn tally(&self, pushed: &PushReport, before_fault: u64) -> Tally {
        assert_eq!(pushed.sent, self.expected.sent, "the whole script pushed");
        self.tally_now(Some(pushed.acknowledged as u64), before_fault)
            .await
    }

    /// What the store and the receivers hold, for a failure message.
    pub async fn diagnose(&self) -> String {
        let counts = self.store.counts().await;
        let mut out = format!("{:?}; store {counts:?}", self.expected);
        let quarantined = self.store.quarantined(20).await.unwrap_or_default();
        let codes: Vec<_> = quarantined.iter().map(|q| (&q.stage, &q.code)).collect();
        out.push_str(&format!("; quarantined (stage, code) {codes:?}"));
        for (sub, receiver) in self.subs.iter().zip(&self.receivers) {
            let numbered = self.store.events_since_start(&sub.id).await;
            let unique = receiver.unique_ids().len();
            out.push_str(&format!(
                "; {} numbered {numbered:?}, received {unique}",
                sub.id
            ));
        }
        out
    }

    /// SIGTERM to every process; panics with the logs unless each stops cleanly.
    pub fn stop(&mut self) {
        let exits = self.procs.terminate_all(Duration::from_secs(30));
        assert!(
            exits.iter().all(|(_, code)| *code == Some(0)),
            "clean exits: {exits:?}{}",
            self.procs.tails()
        );
    }
}

fn path(p: &Path) -> String {
    p.display().to_string()
}
