//! Review items on PostgreSQL: listing, reading and deciding them.
//!
//! A decision locks the item's row (`FOR UPDATE`), so of two concurrent decisions one decides
//! and the other sees it: the same decision returns the item, another is refused.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool, postgres::PgRow};

use super::history;
use super::support::{db, get, opt_rfc3339};
use crate::shared::codec::{REVIEW_COLUMNS, candidates_from, status_from, status_text, ts};
use crate::shared::identity::{check_decision, decided, decided_event, needs_deciding};
use crate::{Review, ReviewDecision, ReviewStatus, StoreError};

fn from_row(r: &PgRow) -> Result<Review, StoreError> {
    Ok(Review {
        review_id: get(r, 0)?,
        message_id: get(r, 1)?,
        person_id: get(r, 2)?,
        reason: get(r, 3)?,
        candidates: candidates_from(&get::<String>(r, 4)?)?,
        status: status_from(&get::<String>(r, 5)?)?,
        opened_at: ts(get(r, 6)?),
        decided_by: get(r, 7)?,
        decided_at: opt_rfc3339(r, 8)?,
    })
}

pub(crate) async fn list(
    pool: &PgPool,
    open_only: bool,
    limit: u32,
) -> Result<Vec<Review>, StoreError> {
    let filter = if open_only {
        "WHERE status = 'open'"
    } else {
        ""
    };
    let sql = format!(
        "SELECT {REVIEW_COLUMNS} FROM review_item {filter} ORDER BY opened_at, review_id LIMIT $1"
    );
    let rows = sqlx::query(&sql)
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await
        .map_err(db)?;
    rows.iter().map(from_row).collect()
}

pub(crate) async fn one(pool: &PgPool, review_id: &str) -> Result<Option<Review>, StoreError> {
    let mut conn = pool.acquire().await.map_err(db)?;
    get_review(&mut conn, review_id, false).await
}

/// One review item; its row locked until the end of the transaction when `lock`.
async fn get_review(
    conn: &mut PgConnection,
    review_id: &str,
    lock: bool,
) -> Result<Option<Review>, StoreError> {
    let lock = if lock { " FOR UPDATE" } else { "" };
    let sql = format!("SELECT {REVIEW_COLUMNS} FROM review_item WHERE review_id = $1{lock}");
    let row = sqlx::query(&sql)
        .bind(review_id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db)?;
    row.as_ref().map(from_row).transpose()
}

pub(crate) async fn decide(
    pool: &PgPool,
    review_id: &str,
    decision: ReviewDecision,
) -> Result<Review, StoreError> {
    let mut tx = pool.begin().await.map_err(db)?;
    let review = settle(
        &mut tx,
        review_id,
        decision.status,
        &decision.by,
        decision.at,
    )
    .await?;
    tx.commit().await.map_err(db)?;
    Ok(review)
}

/// Decides the review inside the caller's transaction: an open item takes the decision (with a
/// `review-decided` identity event on its person); an item decided the same way is returned
/// unchanged; any other state is refused.
pub(crate) async fn settle(
    conn: &mut PgConnection,
    review_id: &str,
    status: ReviewStatus,
    by: &str,
    at: DateTime<Utc>,
) -> Result<Review, StoreError> {
    check_decision(status)?;
    let review = get_review(conn, review_id, true)
        .await?
        .ok_or_else(|| StoreError::UnknownReference(review_id.to_owned()))?;
    if !needs_deciding(review.status, status)? {
        return Ok(review);
    }
    sqlx::query(
        "UPDATE review_item SET status = $1, decided_by = $2, decided_at = $3 WHERE review_id = $4",
    )
    .bind(status_text(status))
    .bind(by)
    .bind(at)
    .bind(review_id)
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    history::write(conn, &decided_event(&review, status, by, at)).await?;
    Ok(decided(review, status, by, at))
}
