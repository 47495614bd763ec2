//! `Store::apply` on SQLite: one message's change, in the caller's `BEGIN IMMEDIATE`
//! transaction, all or nothing.

use sqlx::{SqliteConnection, SqlitePool};
use waymark_core::MessageId;

use super::common::{
    check_version, insert_events, put_record, require_active, rows, stored_events, survivor,
};
use super::history;
use crate::shared::codec::{candidates_text, ts};
use crate::shared::identity::{random_id, stage_event};
use crate::{ApplyOutcome, IdentityEventKind, NewReview, PersonChoice, RecordChange, StoreError};

/// Applies one change in its own transaction.
pub(crate) async fn apply(
    pool: &SqlitePool,
    change: RecordChange,
) -> Result<ApplyOutcome, StoreError> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let outcome = apply_in(&mut tx, &change).await?;
    tx.commit().await?;
    Ok(outcome)
}

/// Applies changes one by one with the same statements as [`apply`], in the caller's
/// transaction (for bulk loads). A failing change fails the whole batch.
pub(crate) async fn apply_each(
    conn: &mut SqliteConnection,
    changes: &[RecordChange],
) -> Result<u64, StoreError> {
    let mut applied = 0;
    for change in changes {
        if matches!(
            apply_in(&mut *conn, change).await?,
            ApplyOutcome::Applied { .. }
        ) {
            applied += 1;
        }
    }
    Ok(applied)
}

/// The change, inside the caller's transaction. On an error the caller rolls back.
async fn apply_in(
    conn: &mut SqliteConnection,
    change: &RecordChange,
) -> Result<ApplyOutcome, StoreError> {
    if let Some(outcome) = already_applied(conn, &change.message_id).await? {
        return Ok(outcome);
    }
    let (person_id, new_person) = match &change.person {
        PersonChoice::Existing(id) => {
            require_active(conn, id).await?;
            (id.clone(), false)
        }
        PersonChoice::New => (random_id(), true),
    };
    if !new_person {
        check_version(conn, &person_id, change.expected_version).await?;
    } else if change.expected_version != 0 {
        return Err(StoreError::VersionConflict(person_id));
    }
    check_identifiers(conn, change, &person_id).await?;
    if new_person {
        create_person(conn, change, &person_id).await?;
    }
    link(conn, change, &person_id).await?;
    index(conn, change, &person_id).await?;
    insert_entry(conn, change, &person_id).await?;
    put_record(conn, &person_id, change.expected_version, &change.record).await?;
    let events = insert_events(conn, &change.message_id, &person_id, &change.events).await?;
    let review_id = match &change.review {
        Some(review) => Some(open_review(conn, change, &person_id, review).await?),
        None => None,
    };
    Ok(ApplyOutcome::Applied {
        person_id,
        new_person,
        events,
        review_id,
    })
}

/// The stored outcome of a message applied before (by `apply` or by `record`).
async fn already_applied(
    conn: &mut SqliteConnection,
    message_id: &MessageId,
) -> Result<Option<ApplyOutcome>, StoreError> {
    let owner: Option<String> =
        sqlx::query_scalar("SELECT person_id FROM record_entry WHERE message_id = ?")
            .bind(message_id.as_str())
            .fetch_optional(&mut *conn)
            .await?;
    let Some(owner) = owner else {
        return Ok(None);
    };
    Ok(Some(ApplyOutcome::AlreadyApplied {
        person_id: survivor(conn, &owner).await?,
        events: stored_events(conn, message_id.as_str()).await?,
    }))
}

/// Most rows one multi-row statement binds (well under SQLite's 32,766 parameters).
const ROWS: usize = 200;

/// `ConflictingIdentity` when an identifier is linked to someone else.
async fn check_identifiers(
    conn: &mut SqliteConnection,
    change: &RecordChange,
    person_id: &str,
) -> Result<(), StoreError> {
    for chunk in change.identifiers.chunks(ROWS) {
        let sql = format!(
            "SELECT 1 FROM (VALUES {}) v JOIN identity_link l \
             ON l.system = v.column1 AND l.value = v.column2 WHERE l.person_id <> ? LIMIT 1",
            rows(chunk.len(), 2)
        );
        let mut query = sqlx::query_scalar::<_, i64>(&sql);
        for id in chunk {
            query = query.bind(&id.system).bind(id.value.expose());
        }
        if query
            .bind(person_id)
            .fetch_optional(&mut *conn)
            .await?
            .is_some()
        {
            return Err(StoreError::ConflictingIdentity(change.message_id.clone()));
        }
    }
    Ok(())
}

async fn create_person(
    conn: &mut SqliteConnection,
    change: &RecordChange,
    person_id: &str,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO person (person_id, created_at) VALUES (?, ?)")
        .bind(person_id)
        .bind(ts(change.recorded_at))
        .execute(&mut *conn)
        .await?;
    let event = stage_event(
        change,
        person_id,
        IdentityEventKind::Created,
        "identity/created",
    );
    history::write(conn, &event).await
}

/// Links the identifiers; a `linked` identity event when any was new to the person.
async fn link(
    conn: &mut SqliteConnection,
    change: &RecordChange,
    person_id: &str,
) -> Result<(), StoreError> {
    let mut linked = 0;
    let linked_at = ts(change.recorded_at);
    for chunk in change.identifiers.chunks(ROWS) {
        let sql = format!(
            "INSERT OR IGNORE INTO identity_link (system, value, person_id, linked_at) VALUES {}",
            rows(chunk.len(), 4)
        );
        let mut query = sqlx::query(&sql);
        for id in chunk {
            query = query.bind(&id.system).bind(id.value.expose());
            query = query.bind(person_id).bind(&linked_at);
        }
        linked += query.execute(&mut *conn).await?.rows_affected();
    }
    if linked == 0 {
        return Ok(());
    }
    let event = stage_event(
        change,
        person_id,
        IdentityEventKind::Linked,
        "identity/linked",
    );
    history::write(conn, &event).await
}

/// Blocking keys (each once per person) and the demographics, when the message carried any.
async fn index(
    conn: &mut SqliteConnection,
    change: &RecordChange,
    person_id: &str,
) -> Result<(), StoreError> {
    for chunk in change.block_keys.chunks(ROWS) {
        let sql = format!(
            "INSERT OR IGNORE INTO person_block (block_key, person_id, origin_person_id) \
             VALUES {}",
            rows(chunk.len(), 3)
        );
        let mut query = sqlx::query(&sql);
        for key in chunk {
            query = query.bind(key).bind(person_id).bind(person_id);
        }
        query.execute(&mut *conn).await?;
    }
    if change.demographics.expose().is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO person_demographics (message_id, person_id, demographics, recorded_at) \
         VALUES (?, ?, ?, ?)",
    )
    .bind(change.message_id.as_str())
    .bind(person_id)
    .bind(change.demographics.expose())
    .bind(ts(change.recorded_at))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn insert_entry(
    conn: &mut SqliteConnection,
    change: &RecordChange,
    person_id: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO record_entry (message_id, person_id, origin_person_id, source, \
         message_type, event_time, recorded_at, bundle) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(change.message_id.as_str())
    .bind(person_id)
    .bind(person_id)
    .bind(change.source.as_str())
    .bind(&change.message_type)
    .bind(change.event_time.map(ts))
    .bind(ts(change.recorded_at))
    .bind(change.bundle.expose())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Opens the review item (random id) and returns its id.
async fn open_review(
    conn: &mut SqliteConnection,
    change: &RecordChange,
    person_id: &str,
    review: &NewReview,
) -> Result<String, StoreError> {
    let review_id = random_id();
    let candidates = candidates_text(&review.candidates)?;
    sqlx::query(
        "INSERT INTO review_item (review_id, message_id, person_id, reason, candidates, status, \
         opened_at) VALUES (?, ?, ?, ?, ?, 'open', ?)",
    )
    .bind(&review_id)
    .bind(change.message_id.as_str())
    .bind(person_id)
    .bind(&review.reason)
    .bind(candidates)
    .bind(ts(change.recorded_at))
    .execute(&mut *conn)
    .await?;
    Ok(review_id)
}
