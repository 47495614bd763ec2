//! The stages as separate OS processes of the built binary (`waymark run`) on RabbitMQ
//! (`WAYMARK_AMQP_URL`) and PostgreSQL (`WAYMARK_PG_URL`, a fresh database per run): one ingest,
//! two map, one record, one release, two delivery processes (shards 0/2 and 1/2). The mock NOMIS
//! pushes a synthetic population to the ingest process; two mock receivers take the
//! notifications. Proves the map work and the delivery work are shared, and that nothing is
//! processed twice. Fails, loudly, without both services.

#![allow(clippy::print_stderr)]

use crate::common;

use std::{
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, Instant},
};

use common::{SECRET, repo_root};
use waymark::{embedded::demo_subscriptions, run_cmd::Shard};
use waymark_adapter_nomis::{MockNomis, Population, PushOptions};
use waymark_delivery::{Subscription, mock::MockReceiver};

use procs::{Procs, counts};

/// The hub's fixed stage queues: this test owns them on the test broker and starts them empty.
const STAGE_QUEUES: [&str; 3] = ["waymark.ingest", "waymark.record", "waymark.release"];

#[test]
fn run_has_help_with_an_example() {
    let out = Command::new(env!("CARGO_BIN_EXE_waymark"))
        .args(["run", "--help"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && text.contains("Example:"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stages_as_processes_share_the_work_and_process_nothing_twice() {
    let amqp = std::env::var("WAYMARK_AMQP_URL").expect(
        "WAYMARK_AMQP_URL is not set: start RabbitMQ with `eval \"$(deploy/local/rabbitmq.sh)\"`",
    );
    let owner = std::env::var("WAYMARK_PG_URL").expect(
        "WAYMARK_PG_URL is not set: start PostgreSQL with deploy/local/postgres.sh and source \
         its env file",
    );
    clear_stage_queues(&amqp).await;
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let database = format!("waymark_processes_{}", &suffix[..12]);
    let store_url = procs::create_database(&owner, &database);
    let _drop = procs::DropDatabase(owner.clone(), database);
    // Migrate once, before the processes start, and keep the store to read the counts.
    let store = waymark_store::open(&store_url)
        .await
        .unwrap_or_else(|e| panic!("cannot open the fresh PostgreSQL database: {e}"));

    let population = Population::synthetic(6, 110);
    let expected = population.expected();
    assert!(expected.sent >= 300, "population too small: {expected:?}");
    let nomis = MockNomis::start(population).await.unwrap();
    let healthcare = MockReceiver::start(vec![SECRET.to_owned()]).await.unwrap();
    let probation = MockReceiver::start(vec![SECRET.to_owned()]).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let subs_file = write_subscriptions(dir.path(), &healthcare.url(), &probation.url());

    let common_args = |stage: &str| -> Vec<String> {
        let mut args = [
            "run", "--stage", stage, "--bus", &amqp, "--store", &store_url,
        ]
        .map(str::to_owned)
        .to_vec();
        args.extend(["--subscriptions".into(), subs_file.display().to_string()]);
        args.extend([
            "--mappings".into(),
            repo_root().join("mappings").display().to_string(),
        ]);
        args
    };
    let mut procs = Procs::new(dir.path());
    for name in ["map-1", "map-2"] {
        procs.spawn(name, &common_args("map"));
    }
    procs.spawn("record", &common_args("record"));
    procs.spawn("release", &common_args("release"));
    for (name, shard) in [("deliver-1", "0/2"), ("deliver-2", "1/2")] {
        let mut args = common_args("deliver");
        args.extend(["--shard".into(), shard.into()]);
        procs.spawn(name, &args);
    }
    let mut ingest = common_args("ingest");
    ingest.extend(["--prison-api".into(), nomis.base_url()]);
    procs.spawn("ingest", &ingest);
    procs.wait_ready(Duration::from_secs(40)).await;
    // Let every consumer subscribe (consumers start on the first receive).
    tokio::time::sleep(Duration::from_millis(1_500)).await;

    let started = Instant::now();
    let endpoint = procs.ingest_endpoint();
    let pushed = nomis.push_to(&endpoint, PushOptions::default()).await;
    assert_eq!(
        pushed.acknowledged, expected.sent,
        "every notification acknowledged"
    );
    // How many notifications a message raises depends on what the record held when it
    // arrived (a late reception adds history, not news), and two map processes may hand one
    // person's messages on in either order: so "nothing lost" is checked against what the
    // release stage numbered — gap-free event numbers 1..=n at each receiver, n the same for
    // both, and the release count equal to the deliveries — not against a fixed expectation.
    let delivered = settle(
        store.as_ref(),
        expected.good as u64,
        &healthcare,
        &probation,
    )
    .await;
    let took = started.elapsed();
    let in_store = store.counts().await.unwrap();
    // A moment for a duplicate, if any, to arrive before the processes stop.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let exits = procs.terminate_all(Duration::from_secs(20));
    let counts_of = |name: &str| counts(&procs.log(name));
    let (m1, m2) = (counts_of("map-1"), counts_of("map-2"));
    let (d1, d2) = (counts_of("deliver-1"), counts_of("deliver-2"));
    let recorded = counts_of("record")["recorded"];
    eprintln!(
        "{expected:?} in {took:?}; mapped {} + {}; recorded {recorded}; delivered {} + {}; \
         store {in_store:?}; receivers {} + {} unique, duplicates {:?} / {:?}",
        m1["mapped"],
        m2["mapped"],
        d1["delivered"],
        d2["delivered"],
        healthcare.unique_ids().len(),
        probation.unique_ids().len(),
        healthcare.duplicates(),
        probation.duplicates()
    );
    assert!(
        delivered,
        "not every notification was delivered in 150 s: {}",
        procs.tails()
    );
    assert!(
        exits.iter().all(|(_, code)| *code == Some(0)),
        "clean exits: {exits:?}"
    );
    assert!(
        m1["mapped"] > 0 && m2["mapped"] > 0,
        "both map processes mapped"
    );
    let good = expected.good as u64;
    assert_eq!(
        m1["mapped"] + m2["mapped"],
        good,
        "each envelope mapped once"
    );
    assert_eq!(recorded, good, "each bundle recorded once");
    assert_eq!(in_store.records, good, "each message stored once");
    assert_eq!(in_store.quarantined, expected.bad as u64);
    assert!(
        d1["delivered"] > 0 && d2["delivered"] > 0,
        "both delivery processes delivered"
    );
    let released = counts_of("release")["released"];
    let n = healthcare.unique_ids().len() as u64;
    assert_eq!(
        probation.unique_ids().len() as u64,
        n,
        "both subscribers got every change"
    );
    assert_eq!(released, 2 * n, "each released notification delivered");
    assert_eq!(
        d1["delivered"] + d2["delivered"],
        2 * n,
        "each delivered once"
    );
    // Arrival order across map processes can turn news into history (fewer notifications), and
    // with the shared synthetic people (twins, shared surnames) the identity decisions that order
    // drives can split or join a record now and then (a few more or fewer): within 10 % under,
    // 2 % over.
    let changes = expected.changes as u64;
    assert!(
        n * 100 <= changes * 102 && n * 10 >= changes * 9,
        "{n} notifications per subscriber; {changes} when every message arrives in event order"
    );
    assert!(
        healthcare.duplicates().is_empty(),
        "healthcare got duplicates"
    );
    assert!(
        probation.duplicates().is_empty(),
        "probation got duplicates"
    );
}

/// The demo's two subscriptions, with ids chosen so that shard 0/2 serves one and 1/2 the
/// other. Returns the file.
fn write_subscriptions(dir: &Path, healthcare: &str, probation: &str) -> PathBuf {
    let mut subs: Vec<Subscription> = demo_subscriptions(healthcare, probation, SECRET);
    let run = uuid::Uuid::new_v4().simple().to_string();
    for (shard, sub) in subs.iter_mut().enumerate() {
        let id = (0..)
            .map(|k| format!("p{}-{}-{k}", &run[..8], sub.id))
            .find(|id| Shard::of(id, 2) == shard as u64)
            .unwrap();
        sub.id = id;
    }
    let path = dir.join("subscriptions.json");
    std::fs::write(&path, serde_json::to_string(&subs).unwrap()).unwrap();
    path
}

/// Deletes the stage queues and their dead-letter queues, so the run starts empty (and with
/// this build's queue arguments).
async fn clear_stage_queues(amqp: &str) {
    let conn = lapin::Connection::connect(amqp, lapin::ConnectionProperties::default())
        .await
        .unwrap_or_else(|e| panic!("cannot reach the RabbitMQ broker of WAYMARK_AMQP_URL: {e}"));
    let channel = conn.create_channel().await.unwrap();
    for queue in STAGE_QUEUES {
        for name in [queue.to_owned(), format!("{queue}.dead")] {
            channel
                .queue_delete(
                    name.as_str().into(),
                    lapin::options::QueueDeleteOptions::default(),
                )
                .await
                .unwrap();
        }
    }
    let _ = conn.close(200, "cleared".into()).await;
}

/// The processes of one test, killed when dropped (a failing test leaves none behind).
mod procs {
    use std::{
        collections::BTreeMap,
        fs::File,
        path::{Path, PathBuf},
        process::{Child, Command, Stdio},
        time::{Duration, Instant},
    };

    pub struct Procs {
        dir: PathBuf,
        running: Vec<(String, Child)>,
    }

    impl Procs {
        pub fn new(dir: &Path) -> Self {
            Self {
                dir: dir.to_owned(),
                running: Vec::new(),
            }
        }

        /// Starts `waymark ARGS`, its stderr to `<name>.log`.
        pub fn spawn(&mut self, name: &str, args: &[String]) {
            let log = File::create(self.dir.join(format!("{name}.log"))).unwrap();
            let child = Command::new(env!("CARGO_BIN_EXE_waymark"))
                .args(args)
                .env("RUST_LOG", "warn")
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .unwrap();
            self.running.push((name.to_owned(), child));
        }

        pub fn log(&self, name: &str) -> String {
            std::fs::read_to_string(self.dir.join(format!("{name}.log"))).unwrap_or_default()
        }

        /// Waits until every process printed its `ready` line; panics with the logs if one
        /// exits or the time runs out.
        pub async fn wait_ready(&mut self, within: Duration) {
            let deadline = Instant::now() + within;
            loop {
                let ready = self
                    .running
                    .iter()
                    .filter(|(name, _)| self.log(name).contains("waymark run: ready"))
                    .count();
                if ready == self.running.len() {
                    return;
                }
                for (name, child) in &mut self.running {
                    if let Ok(Some(status)) = child.try_wait() {
                        let log = std::fs::read_to_string(self.dir.join(format!("{name}.log")));
                        panic!("`{name}` exited ({status}) before it was ready: {log:?}");
                    }
                }
                assert!(
                    Instant::now() < deadline,
                    "not ready in time: {}",
                    self.tails()
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }

        /// The ingest process's SNS endpoint, from its log.
        pub fn ingest_endpoint(&self) -> String {
            let log = self.log("ingest");
            let line = log
                .lines()
                .find_map(|l| l.strip_prefix("waymark run: ingest endpoint "));
            line.unwrap_or_else(|| panic!("no endpoint in the ingest log: {log}"))
                .to_owned()
        }

        /// SIGTERM to every process, then waits (up to `within`) for each; its exit code.
        pub fn terminate_all(&mut self, within: Duration) -> Vec<(String, Option<i32>)> {
            for (_, child) in &self.running {
                let _ = Command::new("kill")
                    .args(["-TERM", &child.id().to_string()])
                    .status();
            }
            let deadline = Instant::now() + within;
            let mut exits = Vec::new();
            for (name, child) in &mut self.running {
                let code = loop {
                    match child.try_wait() {
                        Ok(Some(status)) => break status.code(),
                        _ if Instant::now() >= deadline => break None,
                        _ => std::thread::sleep(Duration::from_millis(50)),
                    }
                };
                exits.push((name.clone(), code));
            }
            exits
        }

        /// The last lines of every log, for a failure message.
        pub fn tails(&self) -> String {
            let mut out = String::new();
            for (name, _) in &self.running {
                let log = self.log(name);
                let lines: Vec<&str> = log.lines().collect();
                let tail = lines[lines.len().saturating_sub(6)..].join("\n  ");
                out.push_str(&format!("\n[{name}]\n  {tail}"));
            }
            out
        }
    }

    impl Drop for Procs {
        fn drop(&mut self) {
            for (_, child) in &mut self.running {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }

    /// The counts of the last `stopped` line of a log (`mapped=3 recorded=0 ...`).
    pub fn counts(log: &str) -> BTreeMap<String, u64> {
        let line = log
            .lines()
            .rev()
            .find_map(|l| l.strip_prefix("waymark run: stopped "))
            .unwrap_or_else(|| panic!("no `stopped` line in the log: {log}"));
        line.split_whitespace()
            .filter_map(|pair| pair.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.parse().unwrap()))
            .collect()
    }

    /// A new, empty database on the test server, made with `psql` as the owner role; its URL.
    pub fn create_database(owner_url: &str, name: &str) -> String {
        let status = Command::new(psql())
            .args([owner_url, "-q", "-c", &format!("CREATE DATABASE {name}")])
            .status()
            .expect("run psql");
        assert!(
            status.success(),
            "CREATE DATABASE {name} failed (is PostgreSQL up?)"
        );
        let (base, _) = owner_url.rsplit_once('/').expect("a database in the URL");
        format!("{base}/{name}")
    }

    fn psql() -> &'static str {
        ["/usr/bin/psql", "/usr/lib/postgresql/15/bin/psql"]
            .into_iter()
            .find(|p| Path::new(p).is_file())
            .unwrap_or("psql")
    }

    /// Drops the database when the test ends, however it ends.
    pub struct DropDatabase(pub String, pub String);

    impl Drop for DropDatabase {
        fn drop(&mut self) {
            let drop = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.1);
            let _ = Command::new(psql())
                .args([&self.0, "-q", "-c", &drop])
                .status();
        }
    }
}

/// The event numbers a receiver got (`event-number` of each notification event).
fn event_numbers(receiver: &MockReceiver) -> Vec<u64> {
    fn walk(value: &serde_json::Value, out: &mut Vec<u64>) {
        match value {
            serde_json::Value::Object(map) => {
                if map.get("name").and_then(|n| n.as_str()) == Some("event-number")
                    && let Some(n) = map.get("valueString").and_then(|v| v.as_str())
                {
                    out.extend(n.parse::<u64>().ok());
                }
                map.values().for_each(|v| walk(v, out));
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for received in receiver.received() {
        walk(&received.body, &mut out);
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// Numbers 1..=n, each once.
fn gap_free(numbers: &[u64]) -> bool {
    !numbers.is_empty() && numbers.iter().copied().eq(1..=numbers.len() as u64)
}

/// Waits (up to 60 s) until every good message is recorded and both receivers hold the same
/// gap-free run of event numbers, unchanged for 3 s.
async fn settle(
    store: &dyn waymark_store::Store,
    good: u64,
    healthcare: &MockReceiver,
    probation: &MockReceiver,
) -> bool {
    let deadline = Instant::now() + Duration::from_secs(150);
    let mut stable_since: Option<(Instant, usize)> = None;
    while Instant::now() < deadline {
        let recorded = store.counts().await.map(|c| c.records).unwrap_or(0);
        let (h, p) = (event_numbers(healthcare), event_numbers(probation));
        let complete = recorded == good && gap_free(&h) && h.len() == p.len() && gap_free(&p);
        stable_since = match (complete, stable_since) {
            (true, Some((since, n))) if n == h.len() => {
                if since.elapsed() >= Duration::from_secs(3) {
                    return true;
                }
                Some((since, n))
            }
            (true, _) => Some((Instant::now(), h.len())),
            (false, _) => None,
        };
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    false
}
