//! The SQLite store against the shared conformance suite, one fresh database file per check.

use std::sync::Arc;

use sqlx::sqlite::{SqliteConnectOptions, SqlitePool};
use tempfile::TempDir;
use waymark_store::{AuditLog, SqliteStore, Store, conformance::AuditBackdoor};

/// A fresh, empty store in a temp dir (kept as long as the check runs).
async fn fresh() -> (TempDir, Arc<dyn Store>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(&dir.path().join("store.db"))
        .await
        .expect("open store");
    (dir, Arc::new(store))
}

/// A fresh store's audit log, and a second connection to its file for the checks' direct
/// access: SQLite has no roles, so the "hub" and the "owner" are the same connection, and only
/// the triggers guard the audit rows.
async fn fresh_audit() -> (TempDir, Arc<dyn AuditLog>, Arc<dyn AuditBackdoor>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("store.db");
    let store = SqliteStore::open(&path).await.expect("open store");
    let pool = SqlitePool::connect_with(SqliteConnectOptions::new().filename(&path))
        .await
        .expect("second connection");
    (dir, Arc::new(store), Arc::new(SqliteDoor(pool)))
}

struct SqliteDoor(SqlitePool);

#[async_trait::async_trait]
impl AuditBackdoor for SqliteDoor {
    async fn as_hub(&self, sql: &str) -> Result<(), String> {
        self.as_owner(sql).await
    }

    async fn as_owner(&self, sql: &str) -> Result<(), String> {
        sqlx::query(sql)
            .execute(&self.0)
            .await
            .map(drop)
            .map_err(|e| e.to_string())
    }

    async fn disarm(&self) -> Result<(), String> {
        let triggers: Vec<String> = sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name LIKE 'audit%'",
        )
        .fetch_all(&self.0)
        .await
        .map_err(|e| e.to_string())?;
        assert_eq!(triggers.len(), 6, "the migration's six guards");
        for name in triggers {
            self.as_owner(&format!("DROP TRIGGER {name}")).await?;
        }
        Ok(())
    }
}

waymark_store::store_conformance_tests!(fresh, audit = fresh_audit);
