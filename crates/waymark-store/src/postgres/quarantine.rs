//! The quarantine on PostgreSQL: refused messages with their exact bytes, and their re-drive.

use chrono::{DateTime, Utc};
use sqlx::{PgPool, postgres::PgRow};

use super::support::{db, get, opt_rfc3339};
use crate::shared::codec::ts;
use crate::{QuarantineEntry, QuarantineSummary, Quarantined, Resolution, StoreError};

const SUMMARY_COLUMNS: &str = "message_id, source, message_type, stage, code, outcome::text, \
     quarantined_at, resolved_at, redrive_id, resolved_by, redrives";

/// A refusal of a message whose entry was resolved re-opens it with the new reason; an
/// unresolved entry is left as it is. One statement, so it is atomic under concurrency.
const INSERT_OR_REOPEN: &str = "INSERT INTO quarantine (message_id, source, message_type, stage, \
     code, outcome, original, quarantined_at) VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8) \
     ON CONFLICT (message_id) DO UPDATE SET stage = excluded.stage, code = excluded.code, \
     outcome = excluded.outcome, resolved_at = NULL, resolved_by = NULL \
     WHERE quarantine.resolved_at IS NOT NULL";

pub(crate) async fn keep(pool: &PgPool, entry: QuarantineEntry) -> Result<(), StoreError> {
    sqlx::query(INSERT_OR_REOPEN)
        .bind(entry.message_id.as_str())
        .bind(entry.source.map(|s| s.as_str()))
        .bind(entry.message_type)
        .bind(entry.stage)
        .bind(entry.code)
        .bind(entry.outcome.to_string())
        .bind(entry.original.into_inner())
        .bind(entry.quarantined_at)
        .execute(pool)
        .await
        .map_err(db)?;
    Ok(())
}

pub(crate) async fn newest(
    pool: &PgPool,
    limit: u32,
) -> Result<Vec<QuarantineSummary>, StoreError> {
    let sql = format!(
        "SELECT {SUMMARY_COLUMNS} FROM quarantine ORDER BY quarantined_at DESC, message_id LIMIT $1"
    );
    let rows = sqlx::query(&sql)
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await
        .map_err(db)?;
    rows.iter().map(summary).collect()
}

pub(crate) async fn for_redrive(
    pool: &PgPool,
    stage: &str,
    after: Option<&str>,
    limit: u32,
) -> Result<Vec<Quarantined>, StoreError> {
    let sql = format!(
        "SELECT {SUMMARY_COLUMNS}, original FROM quarantine \
         WHERE stage = $1 AND resolved_at IS NULL \
         AND ($2::text IS NULL OR (quarantined_at, message_id) > \
              (SELECT quarantined_at, message_id FROM quarantine WHERE message_id = $2)) \
         ORDER BY quarantined_at, message_id LIMIT $3"
    );
    let rows = sqlx::query(&sql)
        .bind(stage)
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await
        .map_err(db)?;
    rows.iter()
        .map(|r| {
            Ok(Quarantined {
                summary: summary(r)?,
                original: get::<Vec<u8>>(r, 11)?.into(),
            })
        })
        .collect()
}

pub(crate) async fn entry(
    pool: &PgPool,
    message_id: &str,
) -> Result<Option<QuarantineSummary>, StoreError> {
    let sql = format!("SELECT {SUMMARY_COLUMNS} FROM quarantine WHERE message_id = $1");
    let row = sqlx::query(&sql)
        .bind(message_id)
        .fetch_optional(pool)
        .await
        .map_err(db)?;
    row.as_ref().map(summary).transpose()
}

pub(crate) async fn resolve(
    pool: &PgPool,
    message_id: &str,
    resolution: &Resolution,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE quarantine SET resolved_at = $1, redrive_id = $2, resolved_by = $3, \
         redrives = redrives + 1 WHERE message_id = $4 AND resolved_at IS NULL",
    )
    .bind(resolution.resolved_at.unwrap_or_else(Utc::now))
    .bind(resolution.redrive_id.as_str())
    .bind(&resolution.by)
    .bind(message_id)
    .execute(pool)
    .await
    .map_err(db)?;
    Ok(done.rows_affected() == 1)
}

fn summary(r: &PgRow) -> Result<QuarantineSummary, StoreError> {
    let outcome: String = get(r, 5)?;
    Ok(QuarantineSummary {
        message_id: get(r, 0)?,
        source: get(r, 1)?,
        message_type: get(r, 2)?,
        stage: get(r, 3)?,
        code: get(r, 4)?,
        outcome: serde_json::from_str(&outcome).unwrap_or(serde_json::Value::Null),
        quarantined_at: ts(get::<DateTime<Utc>>(r, 6)?),
        resolved_at: opt_rfc3339(r, 7)?,
        redrive_id: get(r, 8)?,
        resolved_by: get(r, 9)?,
        redrives: u32::try_from(get::<i64>(r, 10)?).unwrap_or(0),
    })
}
