//! Quarantine re-drive queries of the SQLite store (see [`crate::Store`]).

use chrono::Utc;
use sqlx::{Row, SqlitePool};

use crate::StoreError;
use crate::model::{QuarantineSummary, Quarantined, Resolution};
use crate::sqlite::summary_from_row;

pub(crate) const SUMMARY_COLUMNS: &str = "message_id, source, message_type, stage, code, outcome, \
     quarantined_at, resolved_at, redrive_id, resolved_by, redrives";

/// A refusal of a message whose entry was resolved re-opens it with the new reason; an
/// unresolved entry is left as it is (a redelivered refusal is a no-op). The original bytes, the
/// first quarantine time (the re-drive order) and the re-drive count are kept.
pub(crate) const INSERT_OR_REOPEN: &str = "INSERT INTO quarantine (message_id, source, \
     message_type, stage, code, outcome, original, quarantined_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) \
     ON CONFLICT (message_id) DO UPDATE SET stage = excluded.stage, code = excluded.code, \
     outcome = excluded.outcome, resolved_at = NULL, resolved_by = NULL \
     WHERE quarantine.resolved_at IS NOT NULL";

pub(crate) async fn for_redrive(
    pool: &SqlitePool,
    stage: &str,
    after: Option<&str>,
    limit: u32,
) -> Result<Vec<Quarantined>, StoreError> {
    let sql = format!(
        "SELECT {SUMMARY_COLUMNS}, original FROM quarantine \
         WHERE stage = ?1 AND resolved_at IS NULL \
         AND (?2 IS NULL OR (quarantined_at, message_id) > \
              (SELECT quarantined_at, message_id FROM quarantine WHERE message_id = ?2)) \
         ORDER BY quarantined_at, message_id LIMIT ?3"
    );
    let rows = sqlx::query(&sql)
        .bind(stage)
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await?;
    rows.iter()
        .map(|r| {
            let original: Vec<u8> = r.try_get(11)?;
            Ok(Quarantined {
                summary: summary_from_row(r)?,
                original: original.into(),
            })
        })
        .collect()
}

pub(crate) async fn entry(
    pool: &SqlitePool,
    message_id: &str,
) -> Result<Option<QuarantineSummary>, StoreError> {
    let sql = format!("SELECT {SUMMARY_COLUMNS} FROM quarantine WHERE message_id = ?");
    let row = sqlx::query(&sql)
        .bind(message_id)
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(summary_from_row).transpose()
}

pub(crate) async fn resolve(
    pool: &SqlitePool,
    message_id: &str,
    resolution: &Resolution,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE quarantine SET resolved_at = ?, redrive_id = ?, resolved_by = ?, \
         redrives = redrives + 1 WHERE message_id = ? AND resolved_at IS NULL",
    )
    .bind(resolution.resolved_at.unwrap_or_else(Utc::now).to_rfc3339())
    .bind(resolution.redrive_id.as_str())
    .bind(&resolution.by)
    .bind(message_id)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}
