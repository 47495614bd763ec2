//! Merging persons and undoing merges on PostgreSQL (the same moves as the SQLite store).
//!
//! A merge moves every row of `from` in the tables below to `into` and records each moved row's
//! key in `merge_move`; undoing it moves exactly those rows back. Both persons' rows are locked
//! `FOR UPDATE` (in id order, so two merges of the same pair cannot deadlock) before anything
//! is read, and an unmerge also locks its merge row, so a merge is undone once at most.

use sqlx::{PgConnection, PgPool};
use waymark_core::MessageId;

use super::events::insert_events;
use super::history;
use super::identity::{check_version, put_record};
use super::review;
use super::support::db;
use crate::shared::identity::{
    self, MAX_CHAIN, MOVED, merged_event, mirror, random_id, unmerged_event,
};
use crate::{IdentityEvent, MergeRequest, ReviewStatus, StoreError, UnmergeRequest};

pub(crate) async fn merge(pool: &PgPool, m: MergeRequest) -> Result<IdentityEvent, StoreError> {
    let mut tx = pool.begin().await.map_err(db)?;
    let states = lock_persons(&mut tx, &[&m.from, &m.into]).await?;
    check_merge(&mut tx, &m, &states).await?;
    if let Some(review_id) = &m.review_id {
        review::settle(&mut tx, review_id, ReviewStatus::SamePerson, &m.by, m.at).await?;
    }
    let merge_id = random_id();
    sqlx::query(
        "INSERT INTO person_merge (merge_id, from_person, into_person, merged_at) \
         VALUES ($1, $2, $3, $4)",
    )
    .bind(&merge_id)
    .bind(&m.from)
    .bind(&m.into)
    .bind(m.at)
    .execute(&mut *tx)
    .await
    .map_err(db)?;
    move_rows(&mut tx, &merge_id, &m.from, &m.into).await?;
    set_merged_into(&mut tx, &m.from, Some(&m.into)).await?;
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
    tx.commit().await.map_err(db)?;
    Ok(event)
}

/// Locks the persons' rows in id order; returns each one's `merged_into` (`None` if unknown).
async fn lock_persons(
    conn: &mut PgConnection,
    ids: &[&str],
) -> Result<Vec<(String, Option<Option<String>>)>, StoreError> {
    let mut sorted: Vec<&str> = ids.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut states = Vec::with_capacity(sorted.len());
    for id in sorted {
        let state: Option<Option<String>> =
            sqlx::query_scalar("SELECT merged_into FROM person WHERE person_id = $1 FOR UPDATE")
                .bind(id)
                .fetch_optional(&mut *conn)
                .await
                .map_err(db)?;
        states.push((id.to_owned(), state));
    }
    Ok(states)
}

/// `UnknownPerson` / `PersonNotActive` unless `id` is locked, known and active.
fn require_active(states: &[(String, Option<Option<String>>)], id: &str) -> Result<(), StoreError> {
    let state = states.iter().find(|(p, _)| p == id);
    identity::require_active(id, state.and_then(|(_, s)| s.as_ref()))
}

/// Cycles first (`into`'s chain leading to `from`), then both persons active, then versions.
async fn check_merge(
    conn: &mut PgConnection,
    m: &MergeRequest,
    states: &[(String, Option<Option<String>>)],
) -> Result<(), StoreError> {
    let mut current = m.into.clone();
    for _ in 0..MAX_CHAIN {
        if current == m.from {
            return Err(StoreError::MergeCycle(m.from.clone(), m.into.clone()));
        }
        let next: Option<Option<String>> =
            sqlx::query_scalar("SELECT merged_into FROM person WHERE person_id = $1")
                .bind(&current)
                .fetch_optional(&mut *conn)
                .await
                .map_err(db)?;
        match next {
            Some(Some(next)) => current = next,
            _ => break,
        }
    }
    require_active(states, &m.from)?;
    require_active(states, &m.into)?;
    check_version(conn, &m.from, m.expected_versions.0).await?;
    check_version(conn, &m.into, m.expected_versions.1).await
}

async fn set_merged_into(
    conn: &mut PgConnection,
    person_id: &str,
    into: Option<&str>,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE person SET merged_into = $1 WHERE person_id = $2")
        .bind(into)
        .bind(person_id)
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    Ok(())
}

/// Moves every row of `from` to `into`, recording what moved.
async fn move_rows(
    conn: &mut PgConnection,
    merge_id: &str,
    from: &str,
    into: &str,
) -> Result<(), StoreError> {
    for (kind, table, k1, k2) in MOVED {
        sqlx::query(&format!(
            "INSERT INTO merge_move (merge_id, kind, k1, k2) \
             SELECT $1, '{kind}', {k1}, {k2} FROM {table} WHERE person_id = $2"
        ))
        .bind(merge_id)
        .bind(from)
        .execute(&mut *conn)
        .await
        .map_err(db)?;
        sqlx::query(&format!(
            "UPDATE {table} SET person_id = $2 WHERE person_id = $1"
        ))
        .bind(from)
        .bind(into)
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    }
    Ok(())
}

/// Moves the rows that moved in the merge, and are still with `into`, back to `from`.
async fn move_back(
    conn: &mut PgConnection,
    merge_id: &str,
    from: &str,
    into: &str,
) -> Result<(), StoreError> {
    for (kind, table, k1, k2) in MOVED {
        sqlx::query(&format!(
            "UPDATE {table} SET person_id = $2 WHERE person_id = $3 AND ({k1}, {k2}) IN \
             (SELECT k1, k2 FROM merge_move WHERE merge_id = $1 AND kind = '{kind}')"
        ))
        .bind(merge_id)
        .bind(from)
        .bind(into)
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    }
    Ok(())
}

/// Writes `event` (on the survivor) and its mirror on `other` (id `<event id>/from`).
async fn write_both(
    conn: &mut PgConnection,
    event: &IdentityEvent,
    other: &str,
) -> Result<(), StoreError> {
    history::write(conn, event).await?;
    history::write(conn, &mirror(event, other)).await
}

pub(crate) async fn unmerge(pool: &PgPool, u: UnmergeRequest) -> Result<IdentityEvent, StoreError> {
    let mut tx = pool.begin().await.map_err(db)?;
    let row: Option<(String, String)> =
        sqlx::query_as("SELECT from_person, into_person FROM person_merge WHERE merge_id = $1")
            .bind(&u.merge_event_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?;
    let Some((from, into)) = row else {
        return Err(StoreError::UnknownReference(u.merge_event_id));
    };
    let states = lock_persons(&mut tx, &[&from, &into]).await?;
    let undone: Option<i32> = sqlx::query_scalar(
        "SELECT 1 FROM person_merge WHERE merge_id = $1 AND unmerged_at IS NOT NULL FOR UPDATE",
    )
    .bind(&u.merge_event_id)
    .fetch_optional(&mut *tx)
    .await
    .map_err(db)?;
    if undone.is_some() {
        return Err(StoreError::Refused("the merge was undone before"));
    }
    require_active(&states, &into)?;
    check_version(&mut tx, &from, u.expected_versions.0).await?;
    check_version(&mut tx, &into, u.expected_versions.1).await?;
    move_back(&mut tx, &u.merge_event_id, &from, &into).await?;
    set_merged_into(&mut tx, &from, None).await?;
    put_record(&mut tx, &from, u.expected_versions.0, &u.records.0).await?;
    put_record(&mut tx, &into, u.expected_versions.1, &u.records.1).await?;
    let event = unmerged_event(&u, &from, &into);
    sqlx::query(
        "UPDATE person_merge SET unmerged_at = $1, unmerge_event_id = $2 WHERE merge_id = $3",
    )
    .bind(u.at)
    .bind(&event.event_id)
    .bind(&u.merge_event_id)
    .execute(&mut *tx)
    .await
    .map_err(db)?;
    write_both(&mut tx, &event, &from).await?;
    tx.commit().await.map_err(db)?;
    Ok(event)
}
