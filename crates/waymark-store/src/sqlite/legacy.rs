//! `Store::record`, the first record stage's append (strong identifiers only), kept until the
//! stage moves to `Store::apply`. It writes the same tables as `apply` (an entry with its origin,
//! event 0 of the message), so either sees what the other applied.

use sqlx::{SqliteConnection, SqlitePool};

use super::common::stored_events;
use crate::shared::codec::ts;
use crate::shared::identity::{random_id, record_event, same_person};
use crate::{NewRecord, PathwayEvent, RecordOutcome, StoreError};

pub(crate) async fn record(
    pool: &SqlitePool,
    record: NewRecord,
) -> Result<RecordOutcome, StoreError> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    if let Some(event) = applied_before(&mut tx, &record).await? {
        return Ok(RecordOutcome {
            event,
            applied_now: false,
            new_person: false,
        });
    }
    let (person_id, new_person) = resolve_person(&mut tx, &record).await?;
    let event = record_event(&record, person_id);
    insert_entry(&mut tx, &record, &event).await?;
    tx.commit().await?;
    Ok(RecordOutcome {
        event,
        applied_now: true,
        new_person,
    })
}

/// The first event of a message applied before; refused when it was applied (by `apply`)
/// without raising any.
async fn applied_before(
    conn: &mut SqliteConnection,
    record: &NewRecord,
) -> Result<Option<PathwayEvent>, StoreError> {
    let events = stored_events(conn, record.message_id.as_str()).await?;
    if let Some(first) = events.into_iter().next() {
        return Ok(Some(first));
    }
    let entry: Option<i64> = sqlx::query_scalar("SELECT 1 FROM record_entry WHERE message_id = ?")
        .bind(record.message_id.as_str())
        .fetch_optional(&mut *conn)
        .await?;
    match entry {
        Some(_) => Err(StoreError::Refused(
            "the message was applied without a pathway event",
        )),
        None => Ok(None),
    }
}

/// Finds the one person every strong identifier points at, or creates one.
async fn resolve_person(
    conn: &mut SqliteConnection,
    record: &NewRecord,
) -> Result<(String, bool), StoreError> {
    if record.identifiers.is_empty() {
        return Err(StoreError::NoIdentifier(record.message_id.clone()));
    }
    let mut found: Option<String> = None;
    for id in &record.identifiers {
        let person: Option<String> = sqlx::query_scalar(
            "SELECT person_id FROM identity_link WHERE system = ? AND value = ?",
        )
        .bind(&id.system)
        .bind(id.value.expose())
        .fetch_optional(&mut *conn)
        .await?;
        found = same_person(found, person, &record.message_id)?;
    }
    let new_person = found.is_none();
    let person_id = found.unwrap_or_else(random_id);
    if new_person {
        sqlx::query("INSERT INTO person (person_id, created_at) VALUES (?, ?)")
            .bind(&person_id)
            .bind(ts(record.recorded_at))
            .execute(&mut *conn)
            .await?;
    }
    for id in &record.identifiers {
        sqlx::query(
            "INSERT OR IGNORE INTO identity_link (system, value, person_id, linked_at) \
             VALUES (?, ?, ?, ?)",
        )
        .bind(&id.system)
        .bind(id.value.expose())
        .bind(&person_id)
        .bind(ts(record.recorded_at))
        .execute(&mut *conn)
        .await?;
    }
    Ok((person_id, new_person))
}

async fn insert_entry(
    conn: &mut SqliteConnection,
    record: &NewRecord,
    event: &PathwayEvent,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO record_entry (message_id, person_id, origin_person_id, source, \
         message_type, event_time, recorded_at, bundle) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(record.message_id.as_str())
    .bind(&event.person_id)
    .bind(&event.person_id)
    .bind(record.source.as_str())
    .bind(&record.message_type)
    .bind(record.event_time.map(ts))
    .bind(ts(record.recorded_at))
    .bind(record.bundle.expose())
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO pathway_event (event_id, message_id, person_id, topic, event_time, ordinal) \
         VALUES (?, ?, ?, ?, ?, 0)",
    )
    .bind(event.event_id.as_str())
    .bind(record.message_id.as_str())
    .bind(&event.person_id)
    .bind(&event.topic)
    .bind(ts(event.event_time))
    .execute(&mut *conn)
    .await?;
    Ok(())
}
