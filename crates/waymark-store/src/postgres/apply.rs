//! `Store::apply` on PostgreSQL: one message's change in one transaction, all or nothing.
//!
//! Locks, in this order: the advisory locks of the message id and of every identifier (a
//! redelivery waits for the first delivery and then finds its entry; two messages bringing the
//! same new identifier cannot both link it), then the person's row `FOR UPDATE` (two changes of
//! one person with the same expected version: the second waits, then sees the new version and
//! fails with `VersionConflict`).

use sqlx::{PgConnection, PgPool};
use waymark_core::MessageId;

use super::events::{insert_events, stored_events};
use super::history;
use super::identity::{check_version, insert_person, lock_active, put_record, survivor};
use super::support::{db, identifier_key, lock_keys, message_key};
use crate::shared::codec::candidates_text;
use crate::shared::identity::{random_id, stage_event};
use crate::{ApplyOutcome, IdentityEventKind, NewReview, PersonChoice, RecordChange, StoreError};

/// Applies one change in its own transaction.
pub(crate) async fn apply(pool: &PgPool, change: RecordChange) -> Result<ApplyOutcome, StoreError> {
    let mut tx = pool.begin().await.map_err(db)?;
    let outcome = apply_in(&mut tx, &change).await?;
    tx.commit().await.map_err(db)?;
    Ok(outcome)
}

/// Applies changes in one transaction with the same statements as [`apply`] (for bulk loads);
/// a failing change rolls the whole batch back. Returns how many were applied now.
pub(crate) async fn apply_many(pool: &PgPool, changes: &[RecordChange]) -> Result<u64, StoreError> {
    let mut tx = pool.begin().await.map_err(db)?;
    let mut applied = 0;
    for change in changes {
        if matches!(
            apply_in(&mut tx, change).await?,
            ApplyOutcome::Applied { .. }
        ) {
            applied += 1;
        }
    }
    tx.commit().await.map_err(db)?;
    Ok(applied)
}

async fn apply_in(
    conn: &mut PgConnection,
    change: &RecordChange,
) -> Result<ApplyOutcome, StoreError> {
    let mut keys = vec![message_key(change.message_id.as_str())];
    keys.extend(
        change
            .identifiers
            .iter()
            .map(|id| identifier_key(&id.system, id.value.expose())),
    );
    lock_keys(conn, &keys).await?;
    if let Some(outcome) = already_applied(conn, &change.message_id).await? {
        return Ok(outcome);
    }
    let (person_id, new_person) = match &change.person {
        PersonChoice::Existing(id) => {
            // Two statements: under READ COMMITTED a row lock re-reads only the locked row, so
            // the version must be read by a statement that starts after the lock is held.
            lock_active(conn, id).await?;
            check_version(conn, id, change.expected_version).await?;
            (id.clone(), false)
        }
        PersonChoice::New if change.expected_version != 0 => {
            return Err(StoreError::VersionConflict(random_id()));
        }
        PersonChoice::New => (random_id(), true),
    };
    check_identifiers(conn, change, &person_id).await?;
    if new_person {
        insert_person(conn, &person_id, change.recorded_at).await?;
        let created = stage_event(
            change,
            &person_id,
            IdentityEventKind::Created,
            "identity/created",
        );
        history::write(conn, &created).await?;
    }
    link_all(conn, change, &person_id).await?;
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
    conn: &mut PgConnection,
    message_id: &MessageId,
) -> Result<Option<ApplyOutcome>, StoreError> {
    let owner: Option<String> =
        sqlx::query_scalar("SELECT person_id FROM record_entry WHERE message_id = $1")
            .bind(message_id.as_str())
            .fetch_optional(&mut *conn)
            .await
            .map_err(db)?;
    let Some(owner) = owner else {
        return Ok(None);
    };
    Ok(Some(ApplyOutcome::AlreadyApplied {
        person_id: survivor(conn, &owner).await?,
        events: stored_events(conn, message_id.as_str()).await?,
    }))
}

/// `ConflictingIdentity` when an identifier is linked to someone else (one statement).
async fn check_identifiers(
    conn: &mut PgConnection,
    change: &RecordChange,
    person_id: &str,
) -> Result<(), StoreError> {
    if change.identifiers.is_empty() {
        return Ok(());
    }
    let (systems, values) = identifier_columns(change);
    let taken: Option<i32> = sqlx::query_scalar(
        "SELECT 1 FROM identity_link l \
         JOIN unnest($1::text[], $2::text[]) AS q(system, value) \
           ON l.system = q.system AND l.value = q.value \
         WHERE l.person_id <> $3 LIMIT 1",
    )
    .bind(&systems)
    .bind(&values)
    .bind(person_id)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db)?;
    match taken {
        Some(_) => Err(StoreError::ConflictingIdentity(change.message_id.clone())),
        None => Ok(()),
    }
}

/// The change's identifiers as two columns (systems, values), for `unnest`.
fn identifier_columns(change: &RecordChange) -> (Vec<&str>, Vec<&str>) {
    change
        .identifiers
        .iter()
        .map(|id| (id.system.as_str(), id.value.expose().as_str()))
        .unzip()
}

/// Links the identifiers (one statement); a `linked` identity event when any was new to the
/// person.
async fn link_all(
    conn: &mut PgConnection,
    change: &RecordChange,
    person_id: &str,
) -> Result<(), StoreError> {
    if change.identifiers.is_empty() {
        return Ok(());
    }
    let (systems, values) = identifier_columns(change);
    let linked = sqlx::query(
        "INSERT INTO identity_link (system, value, person_id, linked_at) \
         SELECT system, value, $3, $4 FROM unnest($1::text[], $2::text[]) AS q(system, value) \
         ON CONFLICT (system, value) DO NOTHING",
    )
    .bind(&systems)
    .bind(&values)
    .bind(person_id)
    .bind(change.recorded_at)
    .execute(&mut *conn)
    .await
    .map_err(db)?
    .rows_affected();
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
    conn: &mut PgConnection,
    change: &RecordChange,
    person_id: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO person_block (block_key, person_id, origin_person_id) \
         SELECT DISTINCT k, $2, $2 FROM unnest($1::text[]) AS k ON CONFLICT DO NOTHING",
    )
    .bind(&change.block_keys)
    .bind(person_id)
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    if change.demographics.expose().is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO person_demographics (message_id, person_id, demographics, recorded_at) \
         VALUES ($1, $2, $3, $4)",
    )
    .bind(change.message_id.as_str())
    .bind(person_id)
    .bind(change.demographics.expose())
    .bind(change.recorded_at)
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    Ok(())
}

async fn insert_entry(
    conn: &mut PgConnection,
    change: &RecordChange,
    person_id: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO record_entry (message_id, person_id, origin_person_id, source, \
         message_type, event_time, recorded_at, bundle) VALUES ($1, $2, $2, $3, $4, $5, $6, $7)",
    )
    .bind(change.message_id.as_str())
    .bind(person_id)
    .bind(change.source.as_str())
    .bind(&change.message_type)
    .bind(change.event_time)
    .bind(change.recorded_at)
    .bind(change.bundle.expose())
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    Ok(())
}

/// Opens the review item (random id) and returns its id.
async fn open_review(
    conn: &mut PgConnection,
    change: &RecordChange,
    person_id: &str,
    review: &NewReview,
) -> Result<String, StoreError> {
    let review_id = random_id();
    let candidates = candidates_text(&review.candidates)?;
    sqlx::query(
        "INSERT INTO review_item (review_id, message_id, person_id, reason, candidates, status, \
         opened_at) VALUES ($1, $2, $3, $4, $5, 'open', $6)",
    )
    .bind(&review_id)
    .bind(change.message_id.as_str())
    .bind(person_id)
    .bind(&review.reason)
    .bind(candidates)
    .bind(change.recorded_at)
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    Ok(review_id)
}
