//! Subscriptions on SQLite (migration `0006_subscription.sql`): each write is one statement,
//! so the version check and the write are atomic.

use chrono::Utc;
use sqlx::{Row, SqlitePool, sqlite::SqliteRow};
use waymark_core::{MessageId, Sensitive};

use crate::shared::codec::{parse_time, to_i64, to_u64, ts};
use crate::{NumberedEvent, PathwayEvent, StoreError, StoredSubscription};

const COLUMNS: &str = "subscription_id, body, status, version, updated_at";

pub(crate) async fn put(
    pool: &SqlitePool,
    id: &str,
    body: &str,
    status: &str,
    expected: Option<u64>,
) -> Result<u64, StoreError> {
    let sql = match expected {
        None => {
            "INSERT INTO subscription (subscription_id, body, status, version, updated_at) \
             VALUES (?1, ?2, ?3, 1, ?4) ON CONFLICT (subscription_id) DO UPDATE SET \
             body = excluded.body, status = excluded.status, version = subscription.version + 1, \
             updated_at = excluded.updated_at RETURNING version"
        }
        Some(0) => {
            "INSERT INTO subscription (subscription_id, body, status, version, updated_at) \
             VALUES (?1, ?2, ?3, 1, ?4) ON CONFLICT (subscription_id) DO NOTHING RETURNING version"
        }
        Some(_) => {
            "UPDATE subscription SET body = ?2, status = ?3, version = version + 1, \
             updated_at = ?4 WHERE subscription_id = ?1 AND version = ?5 RETURNING version"
        }
    };
    let mut query = sqlx::query_scalar(sql)
        .bind(id)
        .bind(body)
        .bind(status)
        .bind(ts(Utc::now()));
    if let Some(v) = expected.filter(|v| *v > 0) {
        query = query.bind(to_i64(v));
    }
    let version: Option<i64> = query.fetch_optional(pool).await?;
    version
        .map(to_u64)
        .ok_or_else(|| StoreError::VersionConflict(id.to_owned()))
}

pub(crate) async fn one(
    pool: &SqlitePool,
    id: &str,
) -> Result<Option<StoredSubscription>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM subscription WHERE subscription_id = ?");
    let row = sqlx::query(&sql).bind(id).fetch_optional(pool).await?;
    row.as_ref().map(from_row).transpose()
}

pub(crate) async fn all(pool: &SqlitePool) -> Result<Vec<StoredSubscription>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM subscription ORDER BY subscription_id");
    let rows = sqlx::query(&sql).fetch_all(pool).await?;
    rows.iter().map(from_row).collect()
}

pub(crate) async fn delete(pool: &SqlitePool, id: &str) -> Result<bool, StoreError> {
    let done = sqlx::query("DELETE FROM subscription WHERE subscription_id = ?")
        .bind(id)
        .execute(pool)
        .await?;
    Ok(done.rows_affected() > 0)
}

pub(crate) async fn set_status(
    pool: &SqlitePool,
    id: &str,
    status: &str,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE subscription SET status = ?, version = version + 1, updated_at = ? \
         WHERE subscription_id = ?",
    )
    .bind(status)
    .bind(ts(Utc::now()))
    .bind(id)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() > 0)
}

pub(crate) async fn events(
    pool: &SqlitePool,
    id: &str,
    since: u64,
    until: u64,
    limit: u32,
) -> Result<Vec<NumberedEvent>, StoreError> {
    let rows = sqlx::query(
        "SELECT s.event_number, e.event_id, e.person_id, e.topic, e.event_time \
         FROM subscription_event s JOIN pathway_event e ON e.event_id = s.event_id \
         WHERE s.subscription_id = ? AND s.event_number BETWEEN ? AND ? \
         ORDER BY s.event_number LIMIT ?",
    )
    .bind(id)
    .bind(to_i64(since))
    .bind(to_i64(until))
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(NumberedEvent {
                number: to_u64(r.try_get(0)?),
                event: PathwayEvent {
                    event_id: MessageId::from_stored(r.try_get::<String, _>(1)?),
                    person_id: r.try_get(2)?,
                    topic: r.try_get(3)?,
                    event_time: parse_time(&r.try_get::<String, _>(4)?)?,
                },
            })
        })
        .collect()
}

pub(crate) async fn since_start(pool: &SqlitePool, id: &str) -> Result<u64, StoreError> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COALESCE(MAX(event_number), 0) FROM subscription_event WHERE subscription_id = ?",
    )
    .bind(id)
    .fetch_one(pool)
    .await?;
    Ok(to_u64(n))
}

fn from_row(r: &SqliteRow) -> Result<StoredSubscription, StoreError> {
    Ok(StoredSubscription {
        id: r.try_get(0)?,
        body: Sensitive::new(r.try_get(1)?),
        status: r.try_get(2)?,
        version: to_u64(r.try_get(3)?),
        updated_at: parse_time(&r.try_get::<String, _>(4)?)?,
    })
}
