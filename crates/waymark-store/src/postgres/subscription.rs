//! Subscriptions on PostgreSQL (migration `0006_subscription.sql`): each write is one
//! statement, so the version check and the write are atomic (an `INSERT … ON CONFLICT` or an
//! `UPDATE … WHERE version =` takes the row lock; a concurrent writer waits and re-checks).

use chrono::Utc;
use sqlx::{PgPool, postgres::PgRow};
use waymark_core::{MessageId, Sensitive};

use super::support::{db, get};
use crate::shared::codec::{to_i64, to_u64};
use crate::{NumberedEvent, PathwayEvent, StoreError, StoredSubscription};

const COLUMNS: &str = "subscription_id, body, status, version, updated_at";

pub(crate) async fn put(
    pool: &PgPool,
    id: &str,
    body: &str,
    status: &str,
    expected: Option<u64>,
) -> Result<u64, StoreError> {
    let sql = match expected {
        None => {
            "INSERT INTO subscription (subscription_id, body, status, version, updated_at) \
             VALUES ($1, $2, $3, 1, $4) ON CONFLICT (subscription_id) DO UPDATE SET \
             body = excluded.body, status = excluded.status, version = subscription.version + 1, \
             updated_at = excluded.updated_at RETURNING version"
        }
        Some(0) => {
            "INSERT INTO subscription (subscription_id, body, status, version, updated_at) \
             VALUES ($1, $2, $3, 1, $4) ON CONFLICT (subscription_id) DO NOTHING RETURNING version"
        }
        Some(_) => {
            "UPDATE subscription SET body = $2, status = $3, version = version + 1, \
             updated_at = $4 WHERE subscription_id = $1 AND version = $5 RETURNING version"
        }
    };
    let mut query = sqlx::query_scalar(sql)
        .bind(id)
        .bind(body)
        .bind(status)
        .bind(Utc::now());
    if let Some(v) = expected.filter(|v| *v > 0) {
        query = query.bind(to_i64(v));
    }
    let version: Option<i64> = query.fetch_optional(pool).await.map_err(db)?;
    version
        .map(to_u64)
        .ok_or_else(|| StoreError::VersionConflict(id.to_owned()))
}

pub(crate) async fn one(pool: &PgPool, id: &str) -> Result<Option<StoredSubscription>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM subscription WHERE subscription_id = $1");
    let row = sqlx::query(&sql)
        .bind(id)
        .fetch_optional(pool)
        .await
        .map_err(db)?;
    row.as_ref().map(from_row).transpose()
}

pub(crate) async fn all(pool: &PgPool) -> Result<Vec<StoredSubscription>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM subscription ORDER BY subscription_id");
    let rows = sqlx::query(&sql).fetch_all(pool).await.map_err(db)?;
    rows.iter().map(from_row).collect()
}

pub(crate) async fn delete(pool: &PgPool, id: &str) -> Result<bool, StoreError> {
    let done = sqlx::query("DELETE FROM subscription WHERE subscription_id = $1")
        .bind(id)
        .execute(pool)
        .await
        .map_err(db)?;
    Ok(done.rows_affected() > 0)
}

pub(crate) async fn set_status(pool: &PgPool, id: &str, status: &str) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE subscription SET status = $2, version = version + 1, updated_at = $3 \
         WHERE subscription_id = $1",
    )
    .bind(id)
    .bind(status)
    .bind(Utc::now())
    .execute(pool)
    .await
    .map_err(db)?;
    Ok(done.rows_affected() > 0)
}

pub(crate) async fn events(
    pool: &PgPool,
    id: &str,
    since: u64,
    until: u64,
    limit: u32,
) -> Result<Vec<NumberedEvent>, StoreError> {
    let rows = sqlx::query(
        "SELECT s.event_number, e.event_id, e.person_id, e.topic, e.event_time \
         FROM subscription_event s JOIN pathway_event e ON e.event_id = s.event_id \
         WHERE s.subscription_id = $1 AND s.event_number BETWEEN $2 AND $3 \
         ORDER BY s.event_number LIMIT $4",
    )
    .bind(id)
    .bind(to_i64(since))
    .bind(to_i64(until))
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await
    .map_err(db)?;
    rows.iter()
        .map(|r| {
            Ok(NumberedEvent {
                number: to_u64(get(r, 0)?),
                event: PathwayEvent {
                    event_id: MessageId::from_stored(get::<String>(r, 1)?),
                    person_id: get(r, 2)?,
                    topic: get(r, 3)?,
                    event_time: get(r, 4)?,
                },
            })
        })
        .collect()
}

pub(crate) async fn since_start(pool: &PgPool, id: &str) -> Result<u64, StoreError> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COALESCE(MAX(event_number), 0)::bigint FROM subscription_event \
         WHERE subscription_id = $1",
    )
    .bind(id)
    .fetch_one(pool)
    .await
    .map_err(db)?;
    Ok(to_u64(n))
}

fn from_row(r: &PgRow) -> Result<StoredSubscription, StoreError> {
    Ok(StoredSubscription {
        id: get(r, 0)?,
        body: Sensitive::new(get(r, 1)?),
        status: get(r, 2)?,
        version: to_u64(get(r, 3)?),
        updated_at: get(r, 4)?,
    })
}
