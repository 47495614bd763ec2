//! Review items on SQLite: listing, reading and deciding them.

use chrono::{DateTime, Utc};
use sqlx::{Row, SqliteConnection, SqlitePool, sqlite::SqliteRow};

use super::history;
use crate::shared::codec::{REVIEW_COLUMNS, candidates_from, status_from, status_text, ts};
use crate::shared::identity::{check_decision, decided, decided_event, needs_deciding};
use crate::{Review, ReviewDecision, ReviewStatus, StoreError};

fn from_row(r: &SqliteRow) -> Result<Review, StoreError> {
    Ok(Review {
        review_id: r.try_get(0)?,
        message_id: r.try_get(1)?,
        person_id: r.try_get(2)?,
        reason: r.try_get(3)?,
        candidates: candidates_from(&r.try_get::<String, _>(4)?)?,
        status: status_from(&r.try_get::<String, _>(5)?)?,
        opened_at: r.try_get(6)?,
        decided_by: r.try_get(7)?,
        decided_at: r.try_get(8)?,
    })
}

pub(crate) async fn list(
    pool: &SqlitePool,
    open_only: bool,
    limit: u32,
) -> Result<Vec<Review>, StoreError> {
    let filter = if open_only {
        "WHERE status = 'open'"
    } else {
        ""
    };
    let sql = format!(
        "SELECT {REVIEW_COLUMNS} FROM review_item {filter} ORDER BY opened_at, review_id LIMIT ?"
    );
    let rows = sqlx::query(&sql)
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await?;
    rows.iter().map(from_row).collect()
}

pub(crate) async fn get(
    conn: &mut SqliteConnection,
    review_id: &str,
) -> Result<Option<Review>, StoreError> {
    let sql = format!("SELECT {REVIEW_COLUMNS} FROM review_item WHERE review_id = ?");
    let row = sqlx::query(&sql)
        .bind(review_id)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

pub(crate) async fn decide(
    pool: &SqlitePool,
    review_id: &str,
    decision: ReviewDecision,
) -> Result<Review, StoreError> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let review = settle(
        &mut tx,
        review_id,
        decision.status,
        &decision.by,
        decision.at,
    )
    .await?;
    tx.commit().await?;
    Ok(review)
}

/// Decides the review inside the caller's transaction: an open item takes the decision (with a
/// `review-decided` identity event on its person); an item decided the same way is returned
/// unchanged; any other state is refused.
pub(crate) async fn settle(
    conn: &mut SqliteConnection,
    review_id: &str,
    status: ReviewStatus,
    by: &str,
    at: DateTime<Utc>,
) -> Result<Review, StoreError> {
    check_decision(status)?;
    let review = get(conn, review_id)
        .await?
        .ok_or_else(|| StoreError::UnknownReference(review_id.to_owned()))?;
    if !needs_deciding(review.status, status)? {
        return Ok(review);
    }
    sqlx::query(
        "UPDATE review_item SET status = ?, decided_by = ?, decided_at = ? WHERE review_id = ?",
    )
    .bind(status_text(status))
    .bind(by)
    .bind(ts(at))
    .bind(review_id)
    .execute(&mut *conn)
    .await?;
    history::write(conn, &decided_event(&review, status, by, at)).await?;
    Ok(decided(review, status, by, at))
}
