//! The PostgreSQL store against the shared conformance suite, one fresh database per check,
//! plus what only PostgreSQL has: the runtime role, errors that never quote a value.
//!
//! Needs `WAYMARK_PG_URL` (see `deploy/local/postgres.sh`); fails loudly without it.

use crate::pg_support;

use pg_support::fresh;

waymark_store::store_conformance_tests!(fresh, audit = fresh_audit);

/// A fresh store's audit log (migrated by the owner), and direct access as the runtime role
/// (`WAYMARK_PG_HUB_URL`) and as the owner, for the audit checks.
async fn fresh_audit() -> (
    pg_support::FreshDb,
    std::sync::Arc<dyn waymark_store::AuditLog>,
    std::sync::Arc<dyn waymark_store::conformance::AuditBackdoor>,
) {
    let db = pg_support::FreshDb::create().await;
    let store = PgStore::connect(&db.url)
        .await
        .expect("connect and migrate");
    let door = PgDoor {
        owner: db.url.clone(),
        hub: hub_url(&db.name),
    };
    (db, std::sync::Arc::new(store), std::sync::Arc::new(door))
}

struct PgDoor {
    owner: String,
    hub: String,
}

async fn run_as(url: &str, sql: &str) -> Result<(), String> {
    let mut conn = PgConnection::connect(url)
        .await
        .map_err(|e| e.to_string())?;
    let done = conn.execute(sql).await.map(drop).map_err(|e| e.to_string());
    let _ = conn.close().await;
    done
}

#[async_trait::async_trait]
impl waymark_store::conformance::AuditBackdoor for PgDoor {
    async fn as_hub(&self, sql: &str) -> Result<(), String> {
        run_as(&self.hub, sql).await
    }

    async fn as_owner(&self, sql: &str) -> Result<(), String> {
        run_as(&self.owner, sql).await
    }

    async fn disarm(&self) -> Result<(), String> {
        run_as(
            &self.owner,
            "ALTER TABLE audit_entry DISABLE TRIGGER USER; \
             ALTER TABLE audit_person DISABLE TRIGGER USER; \
             ALTER TABLE audit_head DISABLE TRIGGER USER",
        )
        .await
    }
}

/// The runtime role appends (it may insert entries and move the head forward) but holds no
/// UPDATE, DELETE or TRUNCATE right on the entries: refused by privilege, before any trigger.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hub_role_appends_but_cannot_rewrite_the_audit_log() {
    use waymark_store::AuditLog as _;
    let db = pg_support::FreshDb::create().await;
    PgStore::connect(&db.url)
        .await
        .expect("migrate")
        .close()
        .await;
    let as_hub = PgOptions {
        migrate: false,
        ..PgOptions::default()
    };
    let hub = PgStore::connect_with(&hub_url(&db.name), &as_hub)
        .await
        .expect("the hub role connects");
    let t = chrono::DateTime::from_timestamp(1_700_000_000, 0).expect("time");
    let record = waymark_audit::AuditRecord::new(t, "GET", "/health", "allowed", 200);
    hub.append(record.clone()).await.expect("the hub appends");
    hub.append(record).await.expect("and again");
    hub.close().await;
    let mut conn = PgConnection::connect(&hub_url(&db.name))
        .await
        .expect("connect");
    for sql in [
        "UPDATE audit_entry SET hash = prev_hash",
        "DELETE FROM audit_entry",
        "TRUNCATE audit_entry",
        "DELETE FROM audit_person",
        "DELETE FROM audit_head",
        "ALTER TABLE audit_entry DISABLE TRIGGER USER",
    ] {
        let refused = conn.execute(sql).await.expect_err(sql);
        let text = refused.to_string();
        assert!(
            text.contains("permission denied") || text.contains("must be owner"),
            "{sql}: {text}"
        );
    }
    let _ = conn.close().await;
}

use sqlx::{Connection, Executor, PgConnection};
use waymark_core::{MessageId, Sensitive, SourceSystem};
use waymark_store::{PgOptions, PgStore, QuarantineEntry, Store, StoreError};

/// The runtime role's URL for database `name` (from `WAYMARK_PG_HUB_URL`, written by
/// `deploy/local/postgres.sh`).
fn hub_url(name: &str) -> String {
    let hub = std::env::var("WAYMARK_PG_HUB_URL").expect(
        "WAYMARK_PG_HUB_URL is not set: source the env file deploy/local/postgres.sh writes",
    );
    pg_support::with_database(&hub, name)
}

fn entry(key: &str) -> QuarantineEntry {
    QuarantineEntry {
        message_id: MessageId::derive(SourceSystem::Nomis, key),
        source: Some(SourceSystem::Nomis),
        message_type: None,
        stage: "map".to_owned(),
        code: "mapping.runtime".to_owned(),
        outcome: serde_json::json!({"resourceType": "OperationOutcome"}),
        original: Sensitive::new(b"raw".to_vec()),
        quarantined_at: chrono::DateTime::from_timestamp(1_700_000_000, 0).expect("time"),
    }
}

/// Migrations run as the owner; the hub runs as `waymark_hub` with data rights only: it reads
/// and writes through the store, and can neither create nor drop a table. Without the owner's
/// migrations the hub role's store refuses to start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hub_role_has_data_rights_only() {
    let db = pg_support::FreshDb::create().await;
    let as_hub = PgOptions {
        migrate: false,
        ..PgOptions::default()
    };
    let early = PgStore::connect_with(&hub_url(&db.name), &as_hub).await;
    assert!(
        matches!(early, Err(StoreError::Backend(ref t)) if t.contains("not up to date")),
        "{early:?}"
    );
    PgStore::connect(&db.url)
        .await
        .expect("migrate as the owner")
        .close()
        .await;

    let hub = PgStore::connect_with(&hub_url(&db.name), &as_hub)
        .await
        .expect("the hub role connects to a migrated database");
    hub.quarantine(entry("hub-1"))
        .await
        .expect("the hub writes");
    assert_eq!(hub.counts().await.expect("the hub reads").quarantined, 1);
    hub_manages_subscriptions(&hub).await;
    hub.close().await;

    let mut conn = PgConnection::connect(&hub_url(&db.name))
        .await
        .expect("connect as hub");
    for ddl in [
        "CREATE TABLE intruder (x int)",
        "DROP TABLE quarantine",
        "TRUNCATE person",
    ] {
        let refused = conn.execute(ddl).await;
        assert!(refused.is_err(), "the hub role may run `{ddl}`");
    }
    let _ = conn.close().await;
}

/// The runtime role creates, reads, changes and deletes subscriptions (migration 0006).
async fn hub_manages_subscriptions(hub: &PgStore) {
    let v = hub
        .put_subscription("hub-sub", "{}", "requested", Some(0))
        .await
        .expect("the hub creates a subscription");
    assert_eq!(v, 1);
    assert!(
        hub.set_subscription_status("hub-sub", "active")
            .await
            .expect("the hub changes it")
    );
    let read = hub.subscription("hub-sub").await.expect("the hub reads it");
    assert_eq!(
        read.map(|s| (s.status, s.version)),
        Some(("active".to_owned(), 2))
    );
    assert!(
        hub.delete_subscription("hub-sub")
            .await
            .expect("the hub deletes it")
    );
}

/// `waymark_store::open` picks PostgreSQL for `postgres://` and `postgresql://` URLs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_picks_postgres_by_url() {
    let db = pg_support::FreshDb::create().await;
    let store: std::sync::Arc<dyn Store> = waymark_store::open(&db.url).await.expect("open");
    store.quarantine(entry("open-1")).await.expect("write");
    let other = waymark_store::open(&db.url.replacen("postgres://", "postgresql://", 1))
        .await
        .expect("open postgresql://");
    assert_eq!(other.counts().await.expect("counts").quarantined, 1);
}
