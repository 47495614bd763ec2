//! [`AuditLog`] on SQLite: appends under the store's write lock in `BEGIN IMMEDIATE`
//! transactions (see [`crate::audit`]).

use async_trait::async_trait;
use sqlx::{Row, Sqlite, Transaction, sqlite::SqliteRow};
use waymark_audit::{AuditEntry, AuditRecord, Head, chain};

use super::SqliteStore;
use crate::{
    StoreError,
    audit::{AuditLog, AuditQuery, big, chain_all, entry_from, head_from, persons, stored_time},
};

const COLUMNS: &str = "e.sequence, e.prev_hash, e.hash, e.record";

#[async_trait]
impl AuditLog for SqliteStore {
    async fn append(&self, record: AuditRecord) -> Result<AuditEntry, StoreError> {
        let _turn = self.write.lock().await;
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let head = read_head(&mut tx)
            .await?
            .ok_or(StoreError::Refused("the audit head is missing"))?;
        let entry = chain(&head, record);
        insert(&mut tx, &entry).await?;
        tx.commit().await?;
        Ok(entry)
    }

    async fn append_all(&self, records: Vec<AuditRecord>) -> Result<Vec<AuditEntry>, StoreError> {
        if records.is_empty() {
            return Ok(Vec::new());
        }
        let _turn = self.write.lock().await;
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let head = read_head(&mut tx)
            .await?
            .ok_or(StoreError::Refused("the audit head is missing"))?;
        let entries = chain_all(&head, records);
        for entry in &entries {
            insert(&mut tx, entry).await?;
        }
        tx.commit().await?;
        Ok(entries)
    }

    async fn audit_entries(
        &self,
        after_sequence: u64,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM audit_entry e WHERE e.sequence > ?1 ORDER BY e.sequence LIMIT ?2"
        );
        let rows = sqlx::query(&sql)
            .bind(big(after_sequence))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(row_entry).collect()
    }

    async fn head(&self) -> Result<Option<Head>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let row = sqlx::query("SELECT sequence, hash FROM audit_head WHERE id = 1")
            .fetch_optional(&mut *conn)
            .await?;
        row.map(|r| head_from(r.try_get(0)?, r.try_get(1)?))
            .transpose()
    }

    async fn search(&self, q: &AuditQuery) -> Result<Vec<AuditEntry>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM audit_entry e WHERE e.sequence > ?1 \
             AND (?2 IS NULL OR EXISTS (SELECT 1 FROM audit_person p \
                  WHERE p.person_id = ?2 AND p.sequence = e.sequence)) \
             AND (?3 IS NULL OR e.client_id = ?3 OR (e.client_id IS NULL AND e.subject = ?3)) \
             AND (?4 IS NULL OR e.organisation = ?4) \
             AND (?5 IS NULL OR e.recorded_at >= ?5) \
             AND (?6 IS NULL OR e.recorded_at < ?6) \
             ORDER BY e.sequence LIMIT ?7"
        );
        let rows = sqlx::query(&sql)
            .bind(big(q.after_sequence))
            .bind(q.person_id.as_deref())
            .bind(q.client.as_deref())
            .bind(q.organisation.as_deref())
            .bind(q.since.map(stored_time))
            .bind(q.until.map(stored_time))
            .bind(i64::from(q.limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(row_entry).collect()
    }
}

async fn read_head(tx: &mut Transaction<'_, Sqlite>) -> Result<Option<Head>, StoreError> {
    let row = sqlx::query("SELECT sequence, hash FROM audit_head WHERE id = 1")
        .fetch_optional(&mut **tx)
        .await?;
    row.map(|r| head_from(r.try_get(0)?, r.try_get(1)?))
        .transpose()
}

/// Inserts the entry and its person rows and moves the head to it.
async fn insert(tx: &mut Transaction<'_, Sqlite>, entry: &AuditEntry) -> Result<(), StoreError> {
    let r = &entry.record;
    let canonical = String::from_utf8(r.canonical())
        .map_err(|_| StoreError::Backend("an audit record is not UTF-8".to_owned()))?;
    sqlx::query(
        "INSERT INTO audit_entry (sequence, prev_hash, hash, recorded_at, subject, client_id, \
         organisation, record) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )
    .bind(big(entry.sequence))
    .bind(&entry.prev_hash)
    .bind(&entry.hash)
    .bind(stored_time(r.time))
    .bind(r.subject.as_deref())
    .bind(r.client_id.as_deref())
    .bind(r.organisation.as_deref())
    .bind(canonical)
    .execute(&mut **tx)
    .await?;
    for person in persons(r) {
        sqlx::query("INSERT INTO audit_person (person_id, sequence) VALUES (?1, ?2)")
            .bind(person)
            .bind(big(entry.sequence))
            .execute(&mut **tx)
            .await?;
    }
    sqlx::query("UPDATE audit_head SET sequence = ?1, hash = ?2 WHERE id = 1")
        .bind(big(entry.sequence))
        .bind(&entry.hash)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

fn row_entry(row: &SqliteRow) -> Result<AuditEntry, StoreError> {
    let record: String = row.try_get(3)?;
    entry_from(row.try_get(0)?, row.try_get(1)?, row.try_get(2)?, &record)
}
