//! PostgreSQL stopped and restarted under a running `PgStore`: operations fail with
//! `StoreError::Backend` (transient) meanwhile, then succeed again on the same store (the pool
//! reconnects), and nothing is lost or applied twice.
//!
//! The test runs its **own** cluster (through `deploy/local/postgres.sh`, on a free loopback
//! port, in a temp state folder) so stopping it cannot disturb the other tests. It fails loudly
//! when the script cannot start one.

use std::{
    path::PathBuf,
    process::Command,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};
use serde_json::json;
use waymark_core::{ErrorCode, IssueType, MessageId, Sensitive, SourceSystem};
use waymark_store::{
    ApplyOutcome, NewEvent, PersonChoice, PgOptions, PgStore, RecordChange, Store, StoreError,
    StrongId,
};

const CANARY: &str = "CANARY-7f3e";
const TOTAL: usize = 120;

/// A cluster of this test's own; stopped and removed on drop.
struct OwnCluster {
    dir: PathBuf,
    port: u16,
    url: String,
}

impl OwnCluster {
    fn start() -> Self {
        let base = std::env::var("WAYMARK_SERVICES_DIR")
            .unwrap_or_else(|_| "/tmp/waymark-services".into());
        let dir = PathBuf::from(base).join(format!("pg-restart-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("state dir");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut cluster = Self {
            dir,
            port,
            url: String::new(),
        };
        let out = cluster.script("start");
        cluster.url = out
            .lines()
            .find_map(|l| l.strip_prefix("export WAYMARK_PG_URL="))
            .expect("postgres.sh printed WAYMARK_PG_URL")
            .to_owned();
        cluster
    }

    /// Runs `postgres.sh <command>` for this cluster; panics with its output when it fails.
    fn script(&self, command: &str) -> String {
        let script =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../deploy/local/postgres.sh");
        let out = Command::new("bash")
            .arg(&script)
            .arg(command)
            .env("WAYMARK_SERVICES_DIR", &self.dir)
            .env("WAYMARK_PG_PORT", self.port.to_string())
            .output()
            .expect("run deploy/local/postgres.sh");
        assert!(
            out.status.success(),
            "postgres.sh {command} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for OwnCluster {
    fn drop(&mut self) {
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.script("stop")));
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000 + secs, 0).expect("time")
}

/// Message `i`: a new person with the canary in its identifier.
fn change(i: usize) -> RecordChange {
    let key = format!("restart-{i}");
    let secs = i64::try_from(i).expect("small");
    RecordChange {
        message_id: MessageId::derive(SourceSystem::Nomis, &key),
        source: SourceSystem::Nomis,
        message_type: "OFFENDER-UPDATED".to_owned(),
        event_time: Some(at(secs)),
        recorded_at: at(secs),
        bundle: Sensitive::new(json!({"bundle-of": key}).to_string()),
        person: PersonChoice::New,
        identifiers: vec![StrongId {
            system: "https://fhir.waymark.org.uk/Id/nomis-prison-number".to_owned(),
            value: Sensitive::new(format!("{CANARY}-{i}")),
        }],
        demographics: Sensitive::new(json!({"name": CANARY}).to_string()),
        block_keys: vec![format!("{CANARY}-key")],
        expected_version: 0,
        record: Sensitive::new(json!({"record": key}).to_string()),
        events: vec![NewEvent {
            topic: "record.updated".to_owned(),
            event_time: at(secs),
            detail: json!({}),
        }],
        review: None,
    }
}

/// Applies message `i`, retrying transient failures for up to a minute; counts the failures.
async fn apply_retrying(store: &dyn Store, i: usize) -> usize {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut failures = 0;
    loop {
        match store.apply(change(i)).await {
            Ok(_) => return failures,
            Err(e) => {
                assert_transient(&e);
                failures += 1;
                assert!(
                    Instant::now() < deadline,
                    "message {i} still failing after 60 s: {e}"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// A backend error, transient, that quotes no patient value.
fn assert_transient(e: &StoreError) {
    assert!(
        matches!(e, StoreError::Backend(_)),
        "expected a backend error, got {e:?}"
    );
    assert_eq!(e.issue_type(), IssueType::Transient);
    assert!(
        !e.to_string().contains(CANARY),
        "the error quotes a value: {e}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_server_fails_transiently_then_nothing_is_lost() {
    let cluster = OwnCluster::start();
    let options = PgOptions {
        max_connections: 4,
        acquire_timeout: Duration::from_secs(2),
        migrate: true,
    };
    let store: Arc<dyn Store> = Arc::new(
        PgStore::connect_with(&cluster.url, &options)
            .await
            .expect("connect"),
    );
    for i in 0..40 {
        store.apply(change(i)).await.expect("apply before the stop");
    }

    // Down: every operation fails, as a transient backend error.
    cluster.script("stop");
    let down = store
        .apply(change(40))
        .await
        .expect_err("apply while the server is down");
    assert_transient(&down);
    assert_transient(&store.counts().await.expect_err("counts while down"));

    // Up again: the same store works (the pool reconnects).
    cluster.script("start");
    let failures_after_start = apply_retrying(store.as_ref(), 40).await;

    // Restarted while a writer runs: it retries through the gap.
    let progress = Arc::new(AtomicUsize::new(41));
    let writer = {
        let (store, progress) = (Arc::clone(&store), Arc::clone(&progress));
        tokio::spawn(async move {
            let mut failures = 0;
            for i in 41..TOTAL {
                failures += apply_retrying(store.as_ref(), i).await;
                progress.store(i + 1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
            failures
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let restart = tokio::task::spawn_blocking(move || {
        cluster.script("restart");
        cluster
    });
    let cluster = restart.await.expect("restart");
    let done_at_restart = progress.load(Ordering::SeqCst);
    assert!(
        done_at_restart < TOTAL,
        "the writer finished before the restart: not mid-run"
    );
    let failures_during_restart = writer.await.expect("writer");

    // Nothing lost, nothing twice.
    let counts = store.counts().await.expect("counts after");
    assert_eq!(
        (counts.persons, counts.records),
        (TOTAL as u64, TOTAL as u64)
    );
    for i in 0..TOTAL {
        let again = store.apply(change(i)).await.expect("re-apply");
        assert!(
            matches!(again, ApplyOutcome::AlreadyApplied { .. }),
            "message {i} applied twice"
        );
    }
    println!(
        "restart: {TOTAL} applied, 0 lost, 0 duplicated; {failures_after_start} transient failures \
         after the start, {failures_during_restart} during the restart (at message {done_at_restart})"
    );
    drop(cluster);
}
