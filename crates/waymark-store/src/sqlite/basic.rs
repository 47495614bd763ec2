//! The SQLite store's quarantine, event numbers, latest bundle and counts.

use sqlx::{Row, Sqlite, SqlitePool, Transaction};
use waymark_core::{MessageId, Sensitive};

use crate::shared::codec::to_u64;
use crate::{Counts, QuarantineEntry, QuarantineSummary, StoreError};

pub(crate) async fn quarantine(
    pool: &SqlitePool,
    entry: QuarantineEntry,
) -> Result<(), StoreError> {
    sqlx::query(crate::redrive::INSERT_OR_REOPEN)
        .bind(entry.message_id.as_str())
        .bind(entry.source.map(|s| s.as_str()))
        .bind(entry.message_type)
        .bind(entry.stage)
        .bind(entry.code)
        .bind(entry.outcome.to_string())
        .bind(entry.original.into_inner())
        .bind(entry.quarantined_at.to_rfc3339())
        .execute(pool)
        .await?;
    Ok(())
}

/// The event's number for each subscription, in order: the stored one, else the next, all in
/// one `BEGIN IMMEDIATE` transaction (so concurrent callers never share or skip a number). When
/// every subscription has its number already, nothing is written.
pub(crate) async fn event_numbers(
    pool: &SqlitePool,
    event: &MessageId,
    subscriptions: &[String],
) -> Result<Vec<u64>, StoreError> {
    if subscriptions.is_empty() {
        return Ok(Vec::new());
    }
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let mut numbers = Vec::with_capacity(subscriptions.len());
    let mut wrote = false;
    for subscription in subscriptions {
        let (n, new) = number_in(&mut tx, subscription, event).await?;
        wrote |= new;
        numbers.push(to_u64(n));
    }
    if wrote {
        tx.commit().await?;
    } else {
        tx.rollback().await?;
    }
    Ok(numbers)
}

/// The event's number for one subscription inside `tx`, and whether it was given now.
async fn number_in(
    tx: &mut Transaction<'_, Sqlite>,
    subscription: &str,
    event: &MessageId,
) -> Result<(i64, bool), StoreError> {
    let existing: Option<i64> = sqlx::query_scalar(
        "SELECT event_number FROM subscription_event WHERE subscription_id = ? AND event_id = ?",
    )
    .bind(subscription)
    .bind(event.as_str())
    .fetch_optional(&mut **tx)
    .await?;
    if let Some(n) = existing {
        return Ok((n, false));
    }
    let next: i64 = sqlx::query_scalar(
        "SELECT COALESCE(MAX(event_number), 0) + 1 FROM subscription_event \
         WHERE subscription_id = ?",
    )
    .bind(subscription)
    .fetch_one(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO subscription_event (subscription_id, event_id, event_number) VALUES (?, ?, ?)",
    )
    .bind(subscription)
    .bind(event.as_str())
    .bind(next)
    .execute(&mut **tx)
    .await?;
    Ok((next, true))
}

pub(crate) async fn quarantined(
    pool: &SqlitePool,
    limit: u32,
) -> Result<Vec<QuarantineSummary>, StoreError> {
    let sql = format!(
        "SELECT {} FROM quarantine ORDER BY quarantined_at DESC, message_id LIMIT ?",
        crate::redrive::SUMMARY_COLUMNS
    );
    let rows = sqlx::query(&sql)
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await?;
    rows.iter().map(summary_from_row).collect()
}

pub(crate) async fn latest_bundle(
    pool: &SqlitePool,
    person_id: &str,
) -> Result<Option<Sensitive<String>>, StoreError> {
    let bundle: Option<String> = sqlx::query_scalar(
        "SELECT bundle FROM record_entry WHERE person_id = ? \
         ORDER BY recorded_at DESC, message_id DESC LIMIT 1",
    )
    .bind(person_id)
    .fetch_optional(pool)
    .await?;
    Ok(bundle.map(Sensitive::new))
}

/// Active persons, entries, quarantine entries.
pub(crate) async fn counts(pool: &SqlitePool) -> Result<Counts, StoreError> {
    let row = sqlx::query(
        "SELECT (SELECT COUNT(*) FROM person WHERE merged_into IS NULL), \
         (SELECT COUNT(*) FROM record_entry), (SELECT COUNT(*) FROM quarantine)",
    )
    .fetch_one(pool)
    .await?;
    let count = |i: usize| row.try_get::<i64, _>(i).map(to_u64);
    Ok(Counts {
        persons: count(0)?,
        records: count(1)?,
        quarantined: count(2)?,
    })
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
