//! PostgreSQL backup and restore round trip (`pg_dump` / `pg_restore`), each in fresh
//! databases: write persons, entries, quarantine, consents; back up while the store is
//! connected; change and then destroy the database's tables; restore; read back identical
//! content. Plus the refusals. Needs `WAYMARK_PG_URL`; fails loudly without it.

use crate::backup_support;
use crate::pg_support;

use std::sync::Arc;

use backup_support::{change, change_subscriptions, populate, snapshot};
use pg_support::FreshDb;
use sqlx::{Connection, Executor, PgConnection};
use waymark_store::backup::{self, BackupError};
use waymark_store::{PersonChoice, PgStore, Store};

async fn connect(url: &str) -> PgStore {
    PgStore::connect(url).await.expect("connect")
}

/// Closes the store's pool and drops it (a connection that was being returned to the pool
/// while it closed stays open until the pool is dropped).
async fn close(store: PgStore) {
    store.close().await;
    drop(store);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_round_trip_restores_identical_content() {
    let source = FreshDb::create().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("store.dump");

    let store = connect(&source.url).await;
    let persons = populate(&store, 12).await;
    let before = snapshot(&store, &persons).await;

    // While the store is connected: pg_dump takes a consistent snapshot.
    let made = backup::backup(&source.url, &out).await.expect("backup");
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

    // Refused while another session is connected, even with --force.
    let in_use = backup::restore(&source.url, &out, true).await;
    assert!(
        matches!(in_use, Err(BackupError::Refused(ref t)) if t.contains("connected")),
        "{in_use:?}"
    );

    // Changed after the backup, then closed: refused without --force, restored with it.
    store
        .apply(change("z9999", 999_999, PersonChoice::New, 0))
        .await
        .expect("a change after the backup");
    change_subscriptions(&store).await;
    close(store).await;
    let holds = backup::restore(&source.url, &out, false).await;
    assert!(
        matches!(holds, Err(BackupError::Refused(ref t)) if t.contains("--force")),
        "{holds:?}"
    );
    let restored = backup::restore(&source.url, &out, true)
        .await
        .expect("restore --force");
    assert_eq!(restored.counts, made.counts);
    let store = connect(&source.url).await;
    assert_eq!(
        snapshot(&store, &persons).await,
        before,
        "restored content differs"
    );
    // The restored store takes new writes (sequences and counters came back too).
    store
        .apply(change("y8888", 888_888, PersonChoice::New, 0))
        .await
        .expect("a write after the restore");
    close(store).await;

    // Destroyed: every table dropped. Restored without --force (nothing left to replace).
    let mut admin = PgConnection::connect(&source.url).await.expect("admin");
    admin
        .execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
        .await
        .expect("destroy");
    admin.close().await.expect("close");
    let rebuilt = backup::restore(&source.url, &out, false)
        .await
        .expect("restore into nothing");
    assert_eq!(rebuilt.counts, made.counts);
    let store = connect(&source.url).await;
    assert_eq!(
        snapshot(&store, &persons).await,
        before,
        "rebuilt content differs"
    );
    close(store).await;

    // Into another, brand-new database.
    let other = FreshDb::create().await;
    backup::restore(&other.url, &out, false)
        .await
        .expect("restore into a new database");
    let store: Arc<dyn Store> = Arc::new(connect(&other.url).await);
    assert_eq!(
        snapshot(store.as_ref(), &persons).await,
        before,
        "copied content differs"
    );
    println!(
        "postgres backup round trip: {} persons, {} entries, {} quarantined, {} consents; {} bytes",
        made.counts.persons,
        made.counts.records,
        made.counts.quarantined,
        made.consents,
        made.bytes
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restore_refuses_bad_backups() {
    let target = FreshDb::create().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let garbage = dir.path().join("garbage.dump");
    std::fs::write(&garbage, b"PGDMP but not really").expect("write");
    let refused = backup::restore(&target.url, &garbage, true).await;
    assert!(
        matches!(refused, Err(BackupError::BadBackup { .. })),
        "{refused:?}"
    );

    let missing = backup::restore(&target.url, &dir.path().join("nothing.dump"), true).await;
    assert!(
        matches!(missing, Err(BackupError::BadBackup { .. })),
        "{missing:?}"
    );

    // A password never appears in an error.
    let (scheme, rest) = target.url.split_once("://").expect("a URL");
    let (_, host) = rest.rsplit_once('@').expect("a user in the URL");
    let bad_url = format!("{scheme}://waymark:hunter2-secret@{host}");
    let e = backup::backup(&bad_url, &dir.path().join("x.dump"))
        .await
        .expect_err("a wrong password must fail");
    assert!(
        !e.to_string().contains("hunter2"),
        "the password leaked: {e}"
    );
}
