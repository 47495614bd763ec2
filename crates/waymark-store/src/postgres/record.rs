//! Appending records by strong identifier (`Store::record`), the latest bundle, totals.
//!
//! `record` takes the advisory locks of its message id and of its identifiers before it reads:
//! a redelivered message waits for the first delivery's transaction and then finds its entry,
//! and two messages that introduce the same new identifier cannot create two persons.

use sqlx::{PgConnection, PgPool};
use waymark_core::Sensitive;

use super::support::{count, db, identifier_key, lock_keys, message_key};
use crate::shared::identity::{random_id, record_event, same_person};
use crate::{Counts, NewRecord, PathwayEvent, RecordOutcome, StoreError};

pub(crate) async fn record(pool: &PgPool, record: NewRecord) -> Result<RecordOutcome, StoreError> {
    let mut tx = pool.begin().await.map_err(db)?;
    let mut keys = vec![message_key(record.message_id.as_str())];
    keys.extend(
        record
            .identifiers
            .iter()
            .map(|id| identifier_key(&id.system, id.value.expose())),
    );
    lock_keys(&mut tx, &keys).await?;
    if let Some(event) = event_of_message(&mut tx, record.message_id.as_str()).await? {
        return Ok(RecordOutcome {
            event,
            applied_now: false,
            new_person: false,
        });
    }
    let (person_id, new_person) = resolve_person(&mut tx, &record).await?;
    let event = record_event(&record, person_id);
    insert_entry(&mut tx, &record, &event).await?;
    tx.commit().await.map_err(db)?;
    Ok(RecordOutcome {
        event,
        applied_now: true,
        new_person,
    })
}

/// The first event of a message applied before; refused when it was applied (by `apply`)
/// without raising any (as the SQLite store).
async fn event_of_message(
    conn: &mut PgConnection,
    message_id: &str,
) -> Result<Option<PathwayEvent>, StoreError> {
    let events = super::events::stored_events(conn, message_id).await?;
    if let Some(first) = events.into_iter().next() {
        return Ok(Some(first));
    }
    let entry: Option<i32> = sqlx::query_scalar("SELECT 1 FROM record_entry WHERE message_id = $1")
        .bind(message_id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db)?;
    match entry {
        Some(_) => Err(StoreError::Refused(
            "the message was applied without a pathway event",
        )),
        None => Ok(None),
    }
}

/// Finds the one person every strong identifier points at, or creates one.
async fn resolve_person(
    conn: &mut PgConnection,
    record: &NewRecord,
) -> Result<(String, bool), StoreError> {
    if record.identifiers.is_empty() {
        return Err(StoreError::NoIdentifier(record.message_id.clone()));
    }
    let mut found: Option<String> = None;
    for id in &record.identifiers {
        let person: Option<String> = sqlx::query_scalar(
            "SELECT person_id FROM identity_link WHERE system = $1 AND value = $2",
        )
        .bind(&id.system)
        .bind(id.value.expose())
        .fetch_optional(&mut *conn)
        .await
        .map_err(db)?;
        found = same_person(found, person, &record.message_id)?;
    }
    let new_person = found.is_none();
    let person_id = found.unwrap_or_else(random_id);
    if new_person {
        super::identity::insert_person(conn, &person_id, record.recorded_at).await?;
    }
    for id in &record.identifiers {
        super::identity::link(
            conn,
            &id.system,
            id.value.expose(),
            &person_id,
            record.recorded_at,
        )
        .await?;
    }
    Ok((person_id, new_person))
}

async fn insert_entry(
    conn: &mut PgConnection,
    record: &NewRecord,
    event: &PathwayEvent,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO record_entry (message_id, person_id, origin_person_id, source, \
         message_type, event_time, recorded_at, bundle) VALUES ($1, $2, $2, $3, $4, $5, $6, $7)",
    )
    .bind(record.message_id.as_str())
    .bind(&event.person_id)
    .bind(record.source.as_str())
    .bind(&record.message_type)
    .bind(record.event_time)
    .bind(record.recorded_at)
    .bind(record.bundle.expose())
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    insert_event(conn, record.message_id.as_str(), event).await
}

/// Stores a pathway event raised by `message_id`.
pub(crate) async fn insert_event(
    conn: &mut PgConnection,
    message_id: &str,
    event: &PathwayEvent,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO pathway_event (event_id, message_id, person_id, topic, event_time) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(event.event_id.as_str())
    .bind(message_id)
    .bind(&event.person_id)
    .bind(&event.topic)
    .bind(event.event_time)
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    Ok(())
}

pub(crate) async fn latest_bundle(
    pool: &PgPool,
    person_id: &str,
) -> Result<Option<Sensitive<String>>, StoreError> {
    let bundle: Option<String> = sqlx::query_scalar(
        "SELECT bundle FROM record_entry WHERE person_id = $1 \
         ORDER BY recorded_at DESC, message_id DESC LIMIT 1",
    )
    .bind(person_id)
    .fetch_optional(pool)
    .await
    .map_err(db)?;
    Ok(bundle.map(Sensitive::new))
}

pub(crate) async fn counts(pool: &PgPool) -> Result<Counts, StoreError> {
    let row = sqlx::query(
        "SELECT (SELECT COUNT(*) FROM person WHERE merged_into IS NULL), \
         (SELECT COUNT(*) FROM record_entry), \
         (SELECT COUNT(*) FROM quarantine)",
    )
    .fetch_one(pool)
    .await
    .map_err(db)?;
    Ok(Counts {
        persons: count(&row, 0)?,
        records: count(&row, 1)?,
        quarantined: count(&row, 2)?,
    })
}
