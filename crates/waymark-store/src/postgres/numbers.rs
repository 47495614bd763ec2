//! Per-subscription event numbers on PostgreSQL (`Store::event_numbers`).
//!
//! The numbers already given are read without a lock (a number never changes). The others are
//! given in one transaction: each subscription's counter row is locked first (an upsert that
//! changes nothing takes the row lock), in byte order of the subscription ids so two batches
//! never wait on each other in a cycle; the event is then looked up again (a concurrent first
//! numbering has committed by the time the lock is ours) and only a still-unnumbered one takes
//! the next number. A rolled-back transaction rolls its increments back: no gaps.

use std::collections::HashMap;

use sqlx::{PgConnection, PgExecutor, PgPool};
use waymark_core::MessageId;

use super::support::db;
use crate::StoreError;
use crate::shared::codec::to_u64;

/// The event's number for each subscription, in order (see the module docs).
pub(crate) async fn event_numbers(
    pool: &PgPool,
    event: &MessageId,
    subscriptions: &[String],
) -> Result<Vec<u64>, StoreError> {
    if subscriptions.is_empty() {
        return Ok(Vec::new());
    }
    let mut known = numbered(pool, event, subscriptions).await?;
    let mut missing: Vec<String> = subscriptions
        .iter()
        .filter(|s| !known.contains_key(*s))
        .cloned()
        .collect();
    missing.sort_unstable();
    missing.dedup();
    if !missing.is_empty() {
        known.extend(number_missing(pool, event, &missing).await?);
    }
    subscriptions
        .iter()
        .map(|s| {
            known
                .get(s)
                .copied()
                .ok_or_else(|| StoreError::Backend("an event number is missing".to_owned()))
        })
        .collect()
}

/// Numbers the event for `missing` (sorted, distinct) in one transaction.
async fn number_missing(
    pool: &PgPool,
    event: &MessageId,
    missing: &[String],
) -> Result<HashMap<String, u64>, StoreError> {
    let mut tx = pool.begin().await.map_err(db)?;
    for subscription in missing {
        lock_counter(&mut tx, subscription).await?;
    }
    let mut known = numbered(&mut *tx, event, missing).await?;
    for subscription in missing {
        if !known.contains_key(subscription) {
            let n = take_next(&mut tx, subscription, event).await?;
            known.insert(subscription.clone(), n);
        }
    }
    tx.commit().await.map_err(db)?;
    Ok(known)
}

/// Locks the subscription's counter row, creating it at 0 when it is new.
async fn lock_counter(conn: &mut PgConnection, subscription: &str) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO subscription_counter (subscription_id, last_number) VALUES ($1, 0) \
         ON CONFLICT (subscription_id) DO UPDATE \
         SET last_number = subscription_counter.last_number",
    )
    .bind(subscription)
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    Ok(())
}

/// Gives the event the subscription's next number (its counter row locked by the caller).
async fn take_next(
    conn: &mut PgConnection,
    subscription: &str,
    event: &MessageId,
) -> Result<u64, StoreError> {
    let next: i64 = sqlx::query_scalar(
        "UPDATE subscription_counter SET last_number = last_number + 1 \
         WHERE subscription_id = $1 RETURNING last_number",
    )
    .bind(subscription)
    .fetch_one(&mut *conn)
    .await
    .map_err(db)?;
    sqlx::query(
        "INSERT INTO subscription_event (subscription_id, event_id, event_number) \
         VALUES ($1, $2, $3)",
    )
    .bind(subscription)
    .bind(event.as_str())
    .bind(next)
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    Ok(to_u64(next))
}

/// The numbers the event has among `subscriptions`, by subscription.
async fn numbered(
    conn: impl PgExecutor<'_>,
    event: &MessageId,
    subscriptions: &[String],
) -> Result<HashMap<String, u64>, StoreError> {
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT subscription_id, event_number FROM subscription_event \
         WHERE event_id = $1 AND subscription_id = ANY($2)",
    )
    .bind(event.as_str())
    .bind(subscriptions)
    .fetch_all(conn)
    .await
    .map_err(db)?;
    Ok(rows.into_iter().map(|(s, n)| (s, to_u64(n))).collect())
}
