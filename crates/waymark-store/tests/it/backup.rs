//! SQLite backup and restore round trip: write persons, entries, quarantine, consents; back up
//! while the store is open; change and then destroy the store; restore; read back identical
//! content. Plus the refusals: a store in use, an existing store without force, bad backups.

use crate::backup_support;

use std::{path::Path, sync::Arc, time::Duration};

use backup_support::{change, change_subscriptions, populate, snapshot};
use waymark_store::backup::{self, BackupError};
use waymark_store::{PersonChoice, SqliteStore, Store};

async fn open(path: &Path) -> Arc<dyn Store> {
    Arc::new(SqliteStore::open(path).await.expect("open store"))
}

/// A restore, retried for up to 5 s while the store is still open (a store dropped just before
/// closes its connections in the background).
async fn restore_once_closed(
    url: &str,
    from: &Path,
    force: bool,
) -> Result<backup::Report, BackupError> {
    for _ in 0..50 {
        match backup::restore(url, from, force).await {
            Err(BackupError::Refused(text)) if text.contains("is open") => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            other => return other,
        }
    }
    panic!("the store stayed open 5 s after it was dropped");
}

#[tokio::test]
async fn sqlite_round_trip_restores_identical_content() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("store.db");
    let url = format!("sqlite://{}", db.display());
    let out = dir.path().join("backup.db");

    let store = open(&db).await;
    let persons = populate(store.as_ref(), 12).await;
    let before = snapshot(store.as_ref(), &persons).await;

    // While the store is open (the hub running): a consistent copy.
    let made = backup::backup(&url, &out).await.expect("backup");
    assert_eq!(made.counts, store.counts().await.expect("counts"));
    assert_eq!(
        (
            made.counts.persons,
            made.counts.records,
            made.counts.quarantined
        ),
        (11, 24, 5)
    );
    assert_eq!(made.consents, 4);
    let twice = backup::backup(&url, &out).await;
    assert!(
        matches!(twice, Err(BackupError::Refused(_))),
        "a backup overwrote a file"
    );

    // Refused while the store is open, even with --force.
    let in_use = backup::restore(&url, &out, true).await;
    assert!(
        matches!(in_use, Err(BackupError::Refused(ref t)) if t.contains("is open")),
        "{in_use:?}"
    );

    // Changed after the backup, then closed: refused without --force, restored with it.
    store
        .apply(change("z9999", 999_999, PersonChoice::New, 0))
        .await
        .expect("a change after the backup");
    change_subscriptions(store.as_ref()).await;
    drop(store);
    let exists = restore_once_closed(&url, &out, false).await;
    assert!(
        matches!(exists, Err(BackupError::Refused(ref t)) if t.contains("--force")),
        "{exists:?}"
    );
    let restored = restore_once_closed(&url, &out, true)
        .await
        .expect("restore --force");
    assert_eq!(restored.counts, made.counts);
    let store = open(&db).await;
    assert_eq!(
        snapshot(store.as_ref(), &persons).await,
        before,
        "restored content differs"
    );
    drop(store);

    // Destroyed (file and log gone): restored without --force.
    for name in ["store.db", "store.db-wal", "store.db-shm"] {
        let _ = std::fs::remove_file(dir.path().join(name));
    }
    let rebuilt = restore_once_closed(&url, &out, false)
        .await
        .expect("restore into nothing");
    assert_eq!(rebuilt.counts, made.counts);
    let store = open(&db).await;
    assert_eq!(
        snapshot(store.as_ref(), &persons).await,
        before,
        "rebuilt content differs"
    );
    println!(
        "sqlite backup round trip: {} persons, {} entries, {} quarantined, {} consents; {} bytes",
        made.counts.persons,
        made.counts.records,
        made.counts.quarantined,
        made.consents,
        made.bytes
    );
}

#[tokio::test]
async fn sqlite_restore_refuses_bad_backups() {
    let dir = tempfile::tempdir().expect("temp dir");
    let target = format!("sqlite://{}", dir.path().join("store.db").display());

    let garbage = dir.path().join("garbage.db");
    std::fs::write(&garbage, b"not a database at all, just bytes").expect("write");
    let refused = backup::restore(&target, &garbage, true).await;
    assert!(
        matches!(refused, Err(BackupError::BadBackup { .. })),
        "{refused:?}"
    );

    // A good backup cut in half.
    let db = dir.path().join("source.db");
    let store = open(&db).await;
    populate(store.as_ref(), 6).await;
    let good = dir.path().join("good.db");
    backup::backup(&format!("sqlite://{}", db.display()), &good)
        .await
        .expect("backup");
    let bytes = std::fs::read(&good).expect("read");
    let half = dir.path().join("half.db");
    std::fs::write(&half, &bytes[..bytes.len() / 2]).expect("write");
    let refused = backup::restore(&target, &half, true).await;
    assert!(
        matches!(refused, Err(BackupError::BadBackup { .. })),
        "{refused:?}"
    );

    // An SQLite file that is not a store.
    let other = dir.path().join("other.db");
    let other_url = format!("sqlite://{}?mode=rwc", other.display());
    let pool = sqlx::SqlitePool::connect(&other_url)
        .await
        .expect("other db");
    sqlx::query("CREATE TABLE t (x)")
        .execute(&pool)
        .await
        .expect("table");
    pool.close().await;
    let refused = backup::restore(&target, &other, true).await;
    assert!(
        matches!(refused, Err(BackupError::BadBackup { .. })),
        "{refused:?}"
    );
    assert!(
        !dir.path().join("store.db").exists(),
        "a refused restore left a store behind"
    );
}
