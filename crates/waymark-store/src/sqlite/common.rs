//! Helpers shared by the SQLite store's transactions: times, persons, versions, records and
//! pathway events.

use sqlx::{Row, SqliteConnection};
use waymark_core::{MessageId, Sensitive};

use crate::shared::codec::{parse_time, to_i64, to_u64, ts};
use crate::shared::identity::{self, MAX_CHAIN, endless_chain, pathway_events};
use crate::{NewEvent, PathwayEvent, StoreError};

/// `None` when the person is unknown, else `Some(merged_into)`.
pub(crate) async fn person_state(
    conn: &mut SqliteConnection,
    person_id: &str,
) -> Result<Option<Option<String>>, StoreError> {
    Ok(
        sqlx::query_scalar("SELECT merged_into FROM person WHERE person_id = ?")
            .bind(person_id)
            .fetch_optional(&mut *conn)
            .await?,
    )
}

/// The person, if known and active; else `UnknownPerson` or `PersonNotActive`.
pub(crate) async fn require_active(
    conn: &mut SqliteConnection,
    person_id: &str,
) -> Result<(), StoreError> {
    let state = person_state(conn, person_id).await?;
    identity::require_active(person_id, state.as_ref())
}

/// The active person at the end of `person_id`'s merge chain (at most [`MAX_CHAIN`] steps).
pub(crate) async fn survivor(
    conn: &mut SqliteConnection,
    person_id: &str,
) -> Result<String, StoreError> {
    let mut current = person_id.to_owned();
    for _ in 0..MAX_CHAIN {
        match person_state(conn, &current).await? {
            Some(Some(next)) => current = next,
            _ => return Ok(current),
        }
    }
    Err(endless_chain(person_id))
}

/// The version of the person's record (0 before the first).
pub(crate) async fn version(
    conn: &mut SqliteConnection,
    person_id: &str,
) -> Result<u64, StoreError> {
    let v: Option<i64> =
        sqlx::query_scalar("SELECT version FROM person_record WHERE person_id = ?")
            .bind(person_id)
            .fetch_optional(&mut *conn)
            .await?;
    Ok(v.map_or(0, to_u64))
}

/// `VersionConflict` unless the person's record is at `expected`.
pub(crate) async fn check_version(
    conn: &mut SqliteConnection,
    person_id: &str,
    expected: u64,
) -> Result<(), StoreError> {
    if version(conn, person_id).await? == expected {
        Ok(())
    } else {
        Err(StoreError::VersionConflict(person_id.to_owned()))
    }
}

/// Stores the person's record as version `previous + 1`.
pub(crate) async fn put_record(
    conn: &mut SqliteConnection,
    person_id: &str,
    previous: u64,
    record: &Sensitive<String>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO person_record (person_id, version, record) VALUES (?, ?, ?) \
         ON CONFLICT (person_id) DO UPDATE SET version = excluded.version, \
         record = excluded.record",
    )
    .bind(person_id)
    .bind(to_i64(previous.saturating_add(1)))
    .bind(record.expose())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Stores `events` as the pathway events of `message_id` on the person, in order, with ids
/// `MessageId(message_id).child("event/<i>")`.
pub(crate) async fn insert_events(
    conn: &mut SqliteConnection,
    message_id: &MessageId,
    person_id: &str,
    events: &[NewEvent],
) -> Result<Vec<PathwayEvent>, StoreError> {
    let raised = pathway_events(message_id, person_id, events);
    for (i, event) in raised.iter().enumerate() {
        sqlx::query(
            "INSERT INTO pathway_event (event_id, message_id, person_id, topic, event_time, \
             ordinal) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(event.event_id.as_str())
        .bind(message_id.as_str())
        .bind(person_id)
        .bind(&event.topic)
        .bind(ts(event.event_time))
        .bind(i64::try_from(i).unwrap_or(i64::MAX))
        .execute(&mut *conn)
        .await?;
    }
    Ok(raised)
}

/// The pathway events a message raised, in order.
pub(crate) async fn stored_events(
    conn: &mut SqliteConnection,
    message_id: &str,
) -> Result<Vec<PathwayEvent>, StoreError> {
    let rows = sqlx::query(
        "SELECT event_id, person_id, topic, event_time FROM pathway_event WHERE message_id = ? \
         ORDER BY ordinal, event_id",
    )
    .bind(message_id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(PathwayEvent {
                event_id: MessageId::from_stored(r.try_get::<String, _>(0)?),
                person_id: r.try_get(1)?,
                topic: r.try_get(2)?,
                event_time: parse_time(&r.try_get::<String, _>(3)?)?,
            })
        })
        .collect()
}

/// `(?, ?), (?, ?)`: `n` rows of `arity` parameters, for `VALUES` and row-value `IN` lists.
pub(crate) fn rows(n: usize, arity: usize) -> String {
    let one = format!("({})", vec!["?"; arity].join(", "));
    vec![one; n].join(", ")
}
