//! The embedded store on SQLite (WAL, `synchronous=FULL`: a write that returned is durable).
//!
//! Write transactions start with `BEGIN IMMEDIATE`: a deferred transaction that reads and then
//! writes fails at once with `SQLITE_BUSY` when another connection is writing, whatever the busy
//! timeout, whereas an immediate one waits for the lock.
//!
//! Idempotency: `record_entry`, `pathway_event` and `quarantine` are keyed by message id and
//! written with the person links in one transaction, so a redelivered message finds its entry
//! and returns the stored outcome unchanged.

use std::{path::Path, str::FromStr, time::Duration};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{
    Row, SqliteConnection,
    sqlite::{
        SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
    },
};
use uuid::Uuid;
use waymark_core::MessageId;

use crate::{
    Counts, NewConsent, NewRecord, PathwayEvent, QuarantineEntry, QuarantineSummary, Quarantined,
    RecordOutcome, Resolution, Store, StoreError, StoredConsent,
};

/// The embedded store.
#[derive(Clone, Debug)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if needed) the store file and applies migrations.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str("sqlite://")?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations")
            .run(&pool)
            .await
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        Ok(Self { pool })
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn quarantine(&self, entry: QuarantineEntry) -> Result<(), StoreError> {
        sqlx::query(crate::redrive::INSERT_OR_REOPEN)
            .bind(entry.message_id.as_str())
            .bind(entry.source.map(|s| s.as_str()))
            .bind(entry.message_type)
            .bind(entry.stage)
            .bind(entry.code)
            .bind(entry.outcome.to_string())
            .bind(entry.original.into_inner())
            .bind(entry.quarantined_at.to_rfc3339())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn record(&self, record: NewRecord) -> Result<RecordOutcome, StoreError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        if let Some(event) = stored_event(&mut tx, &record.message_id).await? {
            return Ok(RecordOutcome {
                event,
                applied_now: false,
                new_person: false,
            });
        }
        let (person_id, new_person) = resolve_person(&mut tx, &record).await?;
        let event = PathwayEvent {
            event_id: record.message_id.child("event"),
            person_id,
            topic: record.topic.clone(),
            event_time: record.event_time.unwrap_or(record.recorded_at),
        };
        insert_entry(&mut tx, &record, &event).await?;
        tx.commit().await?;
        Ok(RecordOutcome {
            event,
            applied_now: true,
            new_person,
        })
    }

    async fn event_number(&self, subscription: &str, event: &MessageId) -> Result<u64, StoreError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let existing: Option<i64> = sqlx::query_scalar(
            "SELECT event_number FROM subscription_event WHERE subscription_id = ? AND event_id = ?",
        )
        .bind(subscription)
        .bind(event.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(n) = existing {
            return Ok(u64::try_from(n).unwrap_or(0));
        }
        let next: i64 = sqlx::query_scalar(
            "SELECT COALESCE(MAX(event_number), 0) + 1 FROM subscription_event \
             WHERE subscription_id = ?",
        )
        .bind(subscription)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO subscription_event (subscription_id, event_id, event_number) VALUES (?, ?, ?)",
        )
        .bind(subscription)
        .bind(event.as_str())
        .bind(next)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(u64::try_from(next).unwrap_or(0))
    }

    async fn quarantined(&self, limit: u32) -> Result<Vec<QuarantineSummary>, StoreError> {
        let sql = format!(
            "SELECT {} FROM quarantine ORDER BY quarantined_at DESC, message_id LIMIT ?",
            crate::redrive::SUMMARY_COLUMNS
        );
        let rows = sqlx::query(&sql)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(summary_from_row).collect()
    }

    async fn quarantined_for_redrive(
        &self,
        stage: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Quarantined>, StoreError> {
        crate::redrive::for_redrive(&self.pool, stage, after, limit).await
    }

    async fn quarantine_entry(
        &self,
        message_id: &str,
    ) -> Result<Option<QuarantineSummary>, StoreError> {
        crate::redrive::entry(&self.pool, message_id).await
    }

    async fn resolve_quarantined(
        &self,
        message_id: &str,
        resolution: &Resolution,
    ) -> Result<bool, StoreError> {
        crate::redrive::resolve(&self.pool, message_id, resolution).await
    }

    async fn put_consent(&self, consent: NewConsent) -> Result<PathwayEvent, StoreError> {
        crate::consent::put(&self.pool, consent).await
    }

    async fn consents(&self, person_id: &str) -> Result<Vec<StoredConsent>, StoreError> {
        crate::consent::current(&self.pool, person_id).await
    }

    async fn withdraw_consent(
        &self,
        person_id: &str,
        consent_id: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<PathwayEvent>, StoreError> {
        crate::consent::withdraw(&self.pool, person_id, consent_id, at).await
    }

    async fn past_recipients(&self, person_id: &str) -> Result<Vec<String>, StoreError> {
        crate::consent::past_recipients(&self.pool, person_id).await
    }

    async fn latest_bundle(
        &self,
        person_id: &str,
    ) -> Result<Option<waymark_core::Sensitive<String>>, StoreError> {
        let bundle: Option<String> = sqlx::query_scalar(
            "SELECT bundle FROM record_entry WHERE person_id = ? \
             ORDER BY recorded_at DESC, message_id DESC LIMIT 1",
        )
        .bind(person_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(bundle.map(waymark_core::Sensitive::new))
    }

    async fn counts(&self) -> Result<Counts, StoreError> {
        let row = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM person), (SELECT COUNT(*) FROM record_entry), \
             (SELECT COUNT(*) FROM quarantine)",
        )
        .fetch_one(&self.pool)
        .await?;
        let count = |i: usize| {
            row.try_get::<i64, _>(i)
                .map(|n| u64::try_from(n).unwrap_or(0))
        };
        Ok(Counts {
            persons: count(0)?,
            records: count(1)?,
            quarantined: count(2)?,
        })
    }
}

async fn stored_event(
    tx: &mut SqliteConnection,
    message_id: &MessageId,
) -> Result<Option<PathwayEvent>, StoreError> {
    let row = sqlx::query(
        "SELECT event_id, person_id, topic, event_time FROM pathway_event WHERE message_id = ?",
    )
    .bind(message_id.as_str())
    .fetch_optional(&mut *tx)
    .await?;
    row.map(|r| {
        Ok(PathwayEvent {
            event_id: MessageId::from_stored(r.try_get::<String, _>(0)?),
            person_id: r.try_get(1)?,
            topic: r.try_get(2)?,
            event_time: parse_time(&r.try_get::<String, _>(3)?)?,
        })
    })
    .transpose()
}

/// Finds the one person every strong identifier points at, or creates one.
async fn resolve_person(
    tx: &mut SqliteConnection,
    record: &NewRecord,
) -> Result<(String, bool), StoreError> {
    if record.identifiers.is_empty() {
        return Err(StoreError::NoIdentifier(record.message_id.clone()));
    }
    let mut found: Option<String> = None;
    for id in &record.identifiers {
        let person: Option<String> = sqlx::query_scalar(
            "SELECT person_id FROM identity_link WHERE system = ? AND value = ?",
        )
        .bind(&id.system)
        .bind(id.value.expose())
        .fetch_optional(&mut *tx)
        .await?;
        match (&found, person) {
            (Some(a), Some(b)) if *a != b => {
                return Err(StoreError::ConflictingIdentity(record.message_id.clone()));
            }
            (None, Some(b)) => found = Some(b),
            _ => {}
        }
    }
    let new_person = found.is_none();
    let person_id = found.unwrap_or_else(new_person_id);
    if new_person {
        sqlx::query("INSERT INTO person (person_id, created_at) VALUES (?, ?)")
            .bind(&person_id)
            .bind(record.recorded_at.to_rfc3339())
            .execute(&mut *tx)
            .await?;
    }
    link_all(tx, &person_id, record).await?;
    Ok((person_id, new_person))
}

/// A new person's id: random, so it cannot be turned back into the identifier that created it
/// (a hash of a prison or NHS number could be reversed by enumerating the small number space).
fn new_person_id() -> String {
    Uuid::new_v4().to_string()
}

async fn link_all(
    tx: &mut SqliteConnection,
    person_id: &str,
    record: &NewRecord,
) -> Result<(), StoreError> {
    for id in &record.identifiers {
        sqlx::query(
            "INSERT OR IGNORE INTO identity_link (system, value, person_id, linked_at) \
             VALUES (?, ?, ?, ?)",
        )
        .bind(&id.system)
        .bind(id.value.expose())
        .bind(person_id)
        .bind(record.recorded_at.to_rfc3339())
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

async fn insert_entry(
    tx: &mut SqliteConnection,
    record: &NewRecord,
    event: &PathwayEvent,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO record_entry (message_id, person_id, source, message_type, event_time, \
         recorded_at, bundle) VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(record.message_id.as_str())
    .bind(&event.person_id)
    .bind(record.source.as_str())
    .bind(&record.message_type)
    .bind(record.event_time.map(|t| t.to_rfc3339()))
    .bind(record.recorded_at.to_rfc3339())
    .bind(record.bundle.expose())
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO pathway_event (event_id, message_id, person_id, topic, event_time) \
         VALUES (?, ?, ?, ?, ?)",
    )
    .bind(event.event_id.as_str())
    .bind(record.message_id.as_str())
    .bind(&event.person_id)
    .bind(&event.topic)
    .bind(event.event_time.to_rfc3339())
    .execute(&mut *tx)
    .await?;
    Ok(())
}

pub(crate) fn summary_from_row(
    r: &sqlx::sqlite::SqliteRow,
) -> Result<QuarantineSummary, StoreError> {
    let outcome: String = r.try_get(5)?;
    Ok(QuarantineSummary {
        message_id: r.try_get(0)?,
        source: r.try_get(1)?,
        message_type: r.try_get(2)?,
        stage: r.try_get(3)?,
        code: r.try_get(4)?,
        outcome: serde_json::from_str(&outcome).unwrap_or(serde_json::Value::Null),
        quarantined_at: r.try_get(6)?,
        resolved_at: r.try_get(7)?,
        redrive_id: r.try_get(8)?,
        resolved_by: r.try_get(9)?,
        redrives: u32::try_from(r.try_get::<i64, _>(10)?).unwrap_or(0),
    })
}

fn parse_time(text: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::Backend(format!("stored time is not RFC 3339: {e}")))
}
