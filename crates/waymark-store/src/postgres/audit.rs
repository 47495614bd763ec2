//! [`AuditLog`] on PostgreSQL: appends serialised on the head row (`FOR UPDATE`), see
//! [`crate::audit`]. Errors go through [`db`] (never a bound value).

use async_trait::async_trait;
use sqlx::{PgConnection, Row, postgres::PgRow};
use waymark_audit::{AuditEntry, AuditRecord, Head, chain};

use super::{PgStore, support::db};
use crate::{
    StoreError,
    audit::{AuditLog, AuditQuery, big, chain_all, entry_from, head_from, persons, stored_time},
};

const COLUMNS: &str = "e.sequence, e.prev_hash, e.hash, e.record";

#[async_trait]
impl AuditLog for PgStore {
    async fn append(&self, record: AuditRecord) -> Result<AuditEntry, StoreError> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        let head = read_head(&mut tx, " FOR UPDATE")
            .await?
            .ok_or(StoreError::Refused("the audit head is missing"))?;
        let entry = chain(&head, record);
        insert(&mut tx, &entry).await?;
        tx.commit().await.map_err(db)?;
        Ok(entry)
    }

    async fn append_all(&self, records: Vec<AuditRecord>) -> Result<Vec<AuditEntry>, StoreError> {
        if records.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = self.pool.begin().await.map_err(db)?;
        let head = read_head(&mut tx, " FOR UPDATE")
            .await?
            .ok_or(StoreError::Refused("the audit head is missing"))?;
        let entries = chain_all(&head, records);
        for entry in &entries {
            insert(&mut tx, entry).await?;
        }
        tx.commit().await.map_err(db)?;
        Ok(entries)
    }

    async fn audit_entries(
        &self,
        after_sequence: u64,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM audit_entry e WHERE e.sequence > $1 ORDER BY e.sequence LIMIT $2"
        );
        let rows = sqlx::query(&sql)
            .bind(big(after_sequence))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        rows.iter().map(row_entry).collect()
    }

    async fn head(&self) -> Result<Option<Head>, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(db)?;
        read_head(&mut conn, "").await
    }

    async fn search(&self, q: &AuditQuery) -> Result<Vec<AuditEntry>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM audit_entry e WHERE e.sequence > $1 \
             AND ($2::text IS NULL OR EXISTS (SELECT 1 FROM audit_person p \
                  WHERE p.person_id = $2 AND p.sequence = e.sequence)) \
             AND ($3::text IS NULL OR e.client_id = $3 OR (e.client_id IS NULL AND e.subject = $3)) \
             AND ($4::text IS NULL OR e.organisation = $4) \
             AND ($5::text IS NULL OR e.recorded_at >= $5) \
             AND ($6::text IS NULL OR e.recorded_at < $6) \
             ORDER BY e.sequence LIMIT $7"
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
            .await
            .map_err(db)?;
        rows.iter().map(row_entry).collect()
    }
}

async fn read_head(conn: &mut PgConnection, lock: &str) -> Result<Option<Head>, StoreError> {
    let sql = format!("SELECT sequence, hash FROM audit_head WHERE id = 1{lock}");
    let row = sqlx::query(&sql)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db)?;
    row.map(|r| head_from(r.try_get(0).map_err(db)?, r.try_get(1).map_err(db)?))
        .transpose()
}

/// Inserts the entry and its person rows and moves the head to it.
async fn insert(conn: &mut PgConnection, entry: &AuditEntry) -> Result<(), StoreError> {
    let r = &entry.record;
    let canonical = String::from_utf8(r.canonical())
        .map_err(|_| StoreError::Backend("an audit record is not UTF-8".to_owned()))?;
    sqlx::query(
        "INSERT INTO audit_entry (sequence, prev_hash, hash, recorded_at, subject, client_id, \
         organisation, record) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(big(entry.sequence))
    .bind(&entry.prev_hash)
    .bind(&entry.hash)
    .bind(stored_time(r.time))
    .bind(r.subject.as_deref())
    .bind(r.client_id.as_deref())
    .bind(r.organisation.as_deref())
    .bind(canonical)
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    let persons: Vec<&str> = persons(r);
    if !persons.is_empty() {
        sqlx::query("INSERT INTO audit_person (person_id, sequence) SELECT unnest($1::text[]), $2")
            .bind(&persons)
            .bind(big(entry.sequence))
            .execute(&mut *conn)
            .await
            .map_err(db)?;
    }
    sqlx::query("UPDATE audit_head SET sequence = $1, hash = $2 WHERE id = 1")
        .bind(big(entry.sequence))
        .bind(&entry.hash)
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    Ok(())
}

fn row_entry(row: &PgRow) -> Result<AuditEntry, StoreError> {
    let record: String = row.try_get(3).map_err(db)?;
    entry_from(
        row.try_get(0).map_err(db)?,
        row.try_get(1).map_err(db)?,
        row.try_get(2).map_err(db)?,
        &record,
    )
}
