//! Graceful shutdown: `waymark run --stage all` (embedded bus and SQLite store) stopped with
//! SIGTERM mid-stream exits 0 within the units' 60 s, every worker finishing its current
//! message; started again on the same files it processes everything that was published, and
//! nothing twice (no webhook redelivered: a graceful stop leaves nothing half-done, unlike the
//! crash of `restart.rs`).

use std::{
    fs::File,
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use waymark::embedded::demo_subscriptions;
use waymark_adapter_nomis::{MockNomis, Population, PushOptions};
use waymark_delivery::mock::MockReceiver;

use crate::common::{SECRET, eventually, repo_root};

/// The units' stop timeout (`TimeoutStopSec=60`); a stop is asserted to fit in it.
const STOP_BOUND: Duration = Duration::from_secs(60);

/// `waymark run --stage all` on the files of `dir`, its stderr to `dir/<log>`.
fn start(dir: &Path, log: &str, prison_api: &str) -> Child {
    let url = |f: &str| format!("sqlite://{}", dir.join(f).display());
    Command::new(env!("CARGO_BIN_EXE_waymark"))
        .args([
            "run",
            "--stage",
            "all",
            "--port",
            "0",
            "--prison-api",
            prison_api,
        ])
        .args(["--bus", &url("bus.db"), "--store", &url("store.db")])
        .arg("--subscriptions")
        .arg(dir.join("subscriptions.json"))
        .arg("--mappings")
        .arg(repo_root().join("mappings"))
        .env("WAYMARK_DATA_DIR", dir.join("hub-data"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(File::create(dir.join(log)).unwrap())
        .spawn()
        .unwrap()
}

/// Waits for the `ready` line and returns the ingest endpoint.
async fn ready(child: &mut Child, log: &Path) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if text.contains("waymark run: ready") {
            let endpoint = text
                .lines()
                .find_map(|l| l.strip_prefix("waymark run: ingest endpoint "));
            return endpoint.expect("the ingest endpoint is logged").to_owned();
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("`waymark run` exited ({status}) before it was ready: {text}");
        }
        assert!(Instant::now() < deadline, "not ready in 60 s: {text}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// SIGTERM, then the exit code and how long the stop took.
fn terminate(child: &mut Child) -> (Option<i32>, Duration) {
    let started = Instant::now();
    let sent = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return (status.code(), started.elapsed());
        }
        if started.elapsed() > STOP_BOUND * 2 {
            let _ = child.kill();
            let _ = child.wait();
            return (None, started.elapsed());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_in_flight_work_and_a_restart_loses_nothing() {
    let population = Population::synthetic(17, 25);
    let expected = population.expected();
    let want = expected.changes * 2;
    let nomis = MockNomis::start(population).await.unwrap();
    let healthcare = MockReceiver::start(vec![SECRET.to_owned()]).await.unwrap();
    let probation = MockReceiver::start(vec![SECRET.to_owned()]).await.unwrap();
    let delivered = || healthcare.unique_ids().len() + probation.unique_ids().len();
    let dupes = || healthcare.duplicates().len() + probation.duplicates().len();
    let dir = tempfile::tempdir().unwrap();
    let subs = demo_subscriptions(&healthcare.url(), &probation.url(), SECRET);
    std::fs::write(
        dir.path().join("subscriptions.json"),
        serde_json::to_string(&subs).unwrap(),
    )
    .unwrap();

    let mut hub = start(dir.path(), "first.log", &nomis.base_url());
    let endpoint = ready(&mut hub, &dir.path().join("first.log")).await;
    let pushed = nomis.push_to(&endpoint, PushOptions::default()).await;
    assert_eq!(
        pushed.acknowledged, expected.sent,
        "every message published"
    );
    assert!(
        eventually(60, || delivered() >= want / 4).await,
        "some deliveries before the stop"
    );
    let (code, took) = terminate(&mut hub);
    let first_log = std::fs::read_to_string(dir.path().join("first.log")).unwrap();
    assert_eq!(code, Some(0), "a clean stop exits 0: {first_log}");
    assert!(took < STOP_BOUND, "stopped in {took:?}");
    assert!(first_log.contains("waymark run: stopped"), "{first_log}");
    let at_stop = delivered();
    assert!(at_stop < want, "stopped mid-stream ({at_stop} of {want})");

    let mut hub = start(dir.path(), "second.log", &nomis.base_url());
    ready(&mut hub, &dir.path().join("second.log")).await;
    let done = eventually(120, || delivered() >= want).await;
    // A moment for a duplicate, if any, to arrive.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (code, second_took) = terminate(&mut hub);
    assert!(done, "after restart: {} of {want} delivered", delivered());
    assert_eq!(code, Some(0));
    let store = waymark_store::open(&format!(
        "sqlite://{}",
        dir.path().join("store.db").display()
    ))
    .await
    .unwrap();
    let counts = store.counts().await.unwrap();
    eprintln!(
        "shutdown: {} published, SIGTERM after {at_stop} of {want} notifications, stopped in \
         {took:?} (exit 0); after restart {} unique, {} redelivered; second stop {second_took:?}",
        expected.sent,
        delivered(),
        dupes()
    );
    assert_eq!(counts.records as usize, expected.good, "each message once");
    assert_eq!(delivered(), want, "nothing lost, nothing extra");
    assert_eq!(dupes(), 0, "a graceful stop leaves no delivery half-done");
}
