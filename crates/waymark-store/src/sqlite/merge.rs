//! Merging persons and undoing merges on SQLite.
//!
//! A merge moves every row of `from` in the tables below to `into` and records each moved row's
//! key in `merge_move`; undoing it moves exactly those rows back (rows the survivor gained after
//! the merge stay with it). Persons merged into `from` before keep pointing at `from`.

use sqlx::{SqliteConnection, SqlitePool};
use waymark_core::MessageId;

use super::common::{check_version, insert_events, person_state, put_record, require_active};
use super::{history, review};
use crate::shared::codec::ts;
use crate::shared::identity::{MAX_CHAIN, MOVED, merged_event, mirror, random_id, unmerged_event};
use crate::{IdentityEvent, MergeRequest, ReviewStatus, StoreError, UnmergeRequest};

pub(crate) async fn merge(pool: &SqlitePool, m: MergeRequest) -> Result<IdentityEvent, StoreError> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    check_merge(&mut tx, &m).await?;
    if let Some(review_id) = &m.review_id {
        review::settle(&mut tx, review_id, ReviewStatus::SamePerson, &m.by, m.at).await?;
    }
    let merge_id = random_id();
    sqlx::query(
        "INSERT INTO person_merge (merge_id, from_person, into_person, merged_at) \
         VALUES (?, ?, ?, ?)",
    )
    .bind(&merge_id)
    .bind(&m.from)
    .bind(&m.into)
    .bind(ts(m.at))
    .execute(&mut *tx)
    .await?;
    move_rows(&mut tx, &merge_id, &m.from, &m.into).await?;
    sqlx::query("UPDATE person SET merged_into = ? WHERE person_id = ?")
        .bind(&m.into)
        .bind(&m.from)
        .execute(&mut *tx)
        .await?;
    put_record(&mut tx, &m.into, m.expected_versions.1, &m.record).await?;
    insert_events(
        &mut tx,
        &MessageId::from_stored(&merge_id),
        &m.into,
        &m.events,
    )
    .await?;
    let event = merged_event(&m, merge_id);
    write_both(&mut tx, &event, &m.from).await?;
    tx.commit().await?;
    Ok(event)
}

/// Cycles first (`into`'s chain leading to `from`), then both persons active, then versions.
async fn check_merge(conn: &mut SqliteConnection, m: &MergeRequest) -> Result<(), StoreError> {
    let cycle = || StoreError::MergeCycle(m.from.clone(), m.into.clone());
    let mut current = m.into.clone();
    for _ in 0..MAX_CHAIN {
        if current == m.from {
            return Err(cycle());
        }
        match person_state(conn, &current).await? {
            Some(Some(next)) => current = next,
            _ => break,
        }
    }
    require_active(conn, &m.from).await?;
    require_active(conn, &m.into).await?;
    check_version(conn, &m.from, m.expected_versions.0).await?;
    check_version(conn, &m.into, m.expected_versions.1).await
}

/// Moves every row of `from` to `into`, recording what moved.
async fn move_rows(
    conn: &mut SqliteConnection,
    merge_id: &str,
    from: &str,
    into: &str,
) -> Result<(), StoreError> {
    for (kind, table, k1, k2) in MOVED {
        sqlx::query(&format!(
            "INSERT INTO merge_move (merge_id, kind, k1, k2) \
             SELECT ?1, '{kind}', {k1}, {k2} FROM {table} WHERE person_id = ?2"
        ))
        .bind(merge_id)
        .bind(from)
        .execute(&mut *conn)
        .await?;
        sqlx::query(&format!(
            "UPDATE {table} SET person_id = ?2 WHERE person_id = ?1"
        ))
        .bind(from)
        .bind(into)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Moves the rows that moved in the merge, and are still with `into`, back to `from`.
async fn move_back(
    conn: &mut SqliteConnection,
    merge_id: &str,
    from: &str,
    into: &str,
) -> Result<(), StoreError> {
    for (kind, table, k1, k2) in MOVED {
        sqlx::query(&format!(
            "UPDATE {table} SET person_id = ?2 WHERE person_id = ?3 AND ({k1}, {k2}) IN \
             (SELECT k1, k2 FROM merge_move WHERE merge_id = ?1 AND kind = '{kind}')"
        ))
        .bind(merge_id)
        .bind(from)
        .bind(into)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Writes `event` (on the survivor) and its mirror on `other` (id `<event id>/from`).
async fn write_both(
    conn: &mut SqliteConnection,
    event: &IdentityEvent,
    other: &str,
) -> Result<(), StoreError> {
    history::write(conn, event).await?;
    history::write(conn, &mirror(event, other)).await
}

pub(crate) async fn unmerge(
    pool: &SqlitePool,
    u: UnmergeRequest,
) -> Result<IdentityEvent, StoreError> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let row: Option<(String, String, Option<String>)> = sqlx::query_as(
        "SELECT from_person, into_person, unmerged_at FROM person_merge WHERE merge_id = ?",
    )
    .bind(&u.merge_event_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((from, into, unmerged_at)) = row else {
        return Err(StoreError::UnknownReference(u.merge_event_id));
    };
    if unmerged_at.is_some() {
        return Err(StoreError::Refused("the merge was undone before"));
    }
    require_active(&mut tx, &into).await?;
    check_version(&mut tx, &from, u.expected_versions.0).await?;
    check_version(&mut tx, &into, u.expected_versions.1).await?;
    move_back(&mut tx, &u.merge_event_id, &from, &into).await?;
    sqlx::query("UPDATE person SET merged_into = NULL WHERE person_id = ?")
        .bind(&from)
        .execute(&mut *tx)
        .await?;
    put_record(&mut tx, &from, u.expected_versions.0, &u.records.0).await?;
    put_record(&mut tx, &into, u.expected_versions.1, &u.records.1).await?;
    let event = unmerged_event(&u, &from, &into);
    sqlx::query("UPDATE person_merge SET unmerged_at = ?, unmerge_event_id = ? WHERE merge_id = ?")
        .bind(&event.at)
        .bind(&event.event_id)
        .bind(&u.merge_event_id)
        .execute(&mut *tx)
        .await?;
    write_both(&mut tx, &event, &from).await?;
    tx.commit().await?;
    Ok(event)
}
