//! The embedded bus against the shared conformance suite, on real SQLite files in temp dirs,
//! plus the checks only the embedded bus can make (wake-ups, options).

use std::{
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use tempfile::TempDir;
use waymark_bus::{
    Bus, DELIVERY_LIMIT_REASON, Disposition, Message, Published, QueueSpec, SqliteBus,
    SqliteBusOptions,
    conformance::{self, Capabilities},
};
use waymark_core::MessageId;

/// A bus in a fresh file; keep the dir alive as long as the bus.
async fn fresh() -> (TempDir, Arc<dyn Bus>) {
    fresh_with(SqliteBusOptions::default()).await
}

async fn fresh_with(options: SqliteBusOptions) -> (TempDir, Arc<dyn Bus>) {
    let dir = tempfile::tempdir().unwrap();
    let bus = SqliteBus::open_with(&dir.path().join("bus.db"), options)
        .await
        .unwrap();
    (dir, Arc::new(bus))
}

/// A function that opens the same file again each time, as a restarted process would.
fn reopener(path: PathBuf) -> impl Fn() -> std::pin::Pin<Box<dyn Future<Output = Arc<dyn Bus>>>> {
    move || {
        let path = path.clone();
        Box::pin(async move { Arc::new(SqliteBus::open(&path).await.unwrap()) as Arc<dyn Bus> })
    }
}

fn db(dir: &TempDir) -> PathBuf {
    dir.path().join("bus.db")
}

#[tokio::test]
async fn publish_receive_ack() {
    let (_dir, bus) = fresh().await;
    conformance::publish_receive_ack(bus.as_ref()).await;
}

#[tokio::test]
async fn nothing_after_ack() {
    let (_dir, bus) = fresh().await;
    conformance::nothing_after_ack(bus.as_ref()).await;
}

#[tokio::test]
async fn duplicate_publish_delivered_once() {
    let (_dir, bus) = fresh().await;
    conformance::duplicate_publish_delivered_once(bus.as_ref()).await;
}

#[tokio::test]
async fn too_large_refused_at_default_limit() {
    let (_dir, bus) = fresh().await;
    conformance::too_large_refused(bus.as_ref(), 32 * 1024 * 1024).await;
}

#[tokio::test]
async fn too_large_refused_at_configured_limit() {
    let options = SqliteBusOptions {
        max_message_size: 4096,
        ..SqliteBusOptions::default()
    };
    let (_dir, bus) = fresh_with(options).await;
    conformance::too_large_refused(bus.as_ref(), 4096).await;
}

#[tokio::test]
async fn unknown_queue_refused() {
    let (_dir, bus) = fresh().await;
    conformance::unknown_queue_refused(bus.as_ref()).await;
}

#[tokio::test]
async fn persists_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    conformance::persists_across_reopen(reopener(db(&dir))).await;
}

#[tokio::test]
async fn duplicate_publish_after_reopen() {
    let dir = tempfile::tempdir().unwrap();
    conformance::duplicate_publish_after_reopen(reopener(db(&dir)), Capabilities::EMBEDDED).await;
}

#[tokio::test]
async fn redelivered_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    conformance::redelivered_after_restart(reopener(db(&dir))).await;
}

#[tokio::test]
async fn redelivered_after_lease_expiry() {
    let (_dir, bus) = fresh().await;
    conformance::redelivered_after_lease_expiry(bus.as_ref()).await;
}

#[tokio::test]
async fn nack_redelivers_after_delay() {
    let (_dir, bus) = fresh().await;
    conformance::nack_redelivers_after_delay(bus.as_ref()).await;
}

#[tokio::test]
async fn delivery_limit_dead_letters() {
    let (_dir, bus) = fresh().await;
    conformance::delivery_limit_dead_letters(bus.as_ref()).await;
}

#[tokio::test]
async fn reject_dead_letters() {
    let (_dir, bus) = fresh().await;
    conformance::reject_dead_letters(bus.as_ref()).await;
}

#[tokio::test]
async fn lease_expiries_count_toward_limit() {
    let (_dir, bus) = fresh().await;
    conformance::lease_expiries_count_toward_limit(bus.as_ref()).await;
}

#[tokio::test]
async fn per_key_order() {
    let (_dir, bus) = fresh().await;
    conformance::per_key_order(bus.as_ref()).await;
}

#[tokio::test]
async fn purge_key_removes_ready_only() {
    let (_dir, bus) = fresh().await;
    conformance::purge_key_removes_ready_only(bus.as_ref(), Capabilities::EMBEDDED).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn exactly_once_under_load() {
    let (_dir, bus) = fresh().await;
    let report = conformance::exactly_once_under_load(bus).await;
    eprintln!(
        "sqlite bus load: {} published, {} acked; lost {}, duplicated {}, unexpected {}, \
         out of order {}, key overlaps {}; {:.2?} = {:.0} msgs/s publish+receive+ack",
        report.published,
        report.acked,
        report.lost,
        report.duplicated,
        report.unexpected,
        report.out_of_order,
        report.key_overlaps,
        report.elapsed,
        report.per_second(),
    );
}

/// The file is created with WAL journaling, and reopening it (the migration already applied)
/// keeps the declared queue.
#[tokio::test]
async fn file_uses_wal_and_reopens() {
    let dir = tempfile::tempdir().unwrap();
    let path = db(&dir);
    let bus = SqliteBus::open(&path).await.unwrap();
    bus.declare(&QueueSpec::new("wal")).await.unwrap();
    assert!(
        Path::new(&format!("{}-wal", path.display())).exists(),
        "no WAL file beside {path:?}"
    );
    bus.close().await;
    let again = SqliteBus::open(&path).await.unwrap();
    assert_eq!(
        again.depth("wal").await.unwrap().total(),
        0,
        "declared queue lost on reopen"
    );
}

/// An id is deduplicated within the retention window only; expired `seen` rows are pruned when
/// the file is opened.
#[tokio::test]
async fn dedupe_forgets_after_retention() {
    let retention = Duration::from_millis(300);
    let options = SqliteBusOptions {
        dedupe_retention: retention,
        ..SqliteBusOptions::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let bus = SqliteBus::open_with(&db(&dir), options.clone())
        .await
        .unwrap();
    bus.declare(&QueueSpec::new("dedupe")).await.unwrap();
    let message =
        |n: u32| Message::new(MessageId::from_stored(format!("dedupe/{n}")), vec![n as u8]);
    for n in 0..3 {
        assert_eq!(
            bus.publish("dedupe", message(n)).await.unwrap(),
            Published::New
        );
    }
    assert_eq!(
        bus.publish("dedupe", message(0)).await.unwrap(),
        Published::Duplicate
    );
    tokio::time::sleep(retention + Duration::from_millis(100)).await;
    assert_eq!(
        bus.publish("dedupe", message(0)).await.unwrap(),
        Published::New,
        "not forgotten"
    );
    bus.close().await;

    let bus = SqliteBus::open_with(&db(&dir), options).await.unwrap();
    bus.close().await;
    let remembered = count_seen(&db(&dir)).await;
    assert_eq!(
        remembered, 1,
        "expired dedupe rows not pruned on open (only the republish is recent)"
    );
}

/// The number of rows in the dedupe table, read straight from the file.
async fn count_seen(path: &Path) -> i64 {
    use sqlx::{Connection, SqliteConnection};
    let mut conn = SqliteConnection::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM seen")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    count
}

/// A message failing in a dead-letter queue is parked again at the end of that same queue (the
/// embedded bus never drops it), keeping the record of where it first died.
#[tokio::test]
async fn dead_letter_queue_parks_failures_in_itself() {
    let (_dir, bus) = fresh().await;
    let spec = QueueSpec {
        delivery_limit: 1,
        ..QueueSpec::new("parks")
    };
    bus.declare(&spec).await.unwrap();
    let id = MessageId::from_stored("parks/1");
    bus.publish("parks", Message::new(id.clone(), vec![7]))
        .await
        .unwrap();
    let first = bus.receive("parks", Duration::ZERO).await.unwrap().unwrap();
    assert_eq!(
        bus.nack(&first, Duration::ZERO).await.unwrap(),
        Disposition::DeadLettered
    );

    let dead = spec.dead_letter_name();
    let parked = bus.receive(&dead, Duration::ZERO).await.unwrap().unwrap();
    assert_eq!(
        bus.nack(&parked, Duration::ZERO).await.unwrap(),
        Disposition::DeadLettered
    );
    assert_eq!(
        bus.depth(&dead).await.unwrap().ready,
        1,
        "the parked message was lost"
    );
    let again = bus.receive(&dead, Duration::ZERO).await.unwrap().unwrap();
    assert_eq!(again.message.id, id);
    assert_eq!(again.attempt, 1, "parking again starts the count afresh");
    let headers = &again.message.headers;
    assert_eq!(
        headers.get("x-death-queue").map(String::as_str),
        Some("parks")
    );
    assert_eq!(
        headers.get("x-death-reason").map(String::as_str),
        Some(DELIVERY_LIMIT_REASON)
    );
    bus.ack(&again).await.unwrap();
}
