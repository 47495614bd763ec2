//! Pathway events on PostgreSQL: the events a message raised, stored in order.

use sqlx::PgConnection;
use waymark_core::MessageId;

use super::support::{db, get};
use crate::shared::identity::pathway_events;
use crate::{NewEvent, PathwayEvent, StoreError};

/// Stores `events` as the pathway events of `message_id` on the person, in order, with ids
/// `message_id.child("event/<i>")`.
pub(crate) async fn insert_events(
    conn: &mut PgConnection,
    message_id: &MessageId,
    person_id: &str,
    events: &[NewEvent],
) -> Result<Vec<PathwayEvent>, StoreError> {
    let raised = pathway_events(message_id, person_id, events);
    for (i, event) in raised.iter().enumerate() {
        sqlx::query(
            "INSERT INTO pathway_event (event_id, message_id, person_id, topic, event_time, \
             ordinal) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(event.event_id.as_str())
        .bind(message_id.as_str())
        .bind(person_id)
        .bind(&event.topic)
        .bind(event.event_time)
        .bind(i32::try_from(i).unwrap_or(i32::MAX))
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    }
    Ok(raised)
}

/// The pathway events a message raised, in order.
pub(crate) async fn stored_events(
    conn: &mut PgConnection,
    message_id: &str,
) -> Result<Vec<PathwayEvent>, StoreError> {
    let rows = sqlx::query(
        "SELECT event_id, person_id, topic, event_time FROM pathway_event WHERE message_id = $1 \
         ORDER BY ordinal, event_id",
    )
    .bind(message_id)
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    rows.iter()
        .map(|r| {
            Ok(PathwayEvent {
                event_id: MessageId::from_stored(get::<String>(r, 0)?),
                person_id: get(r, 1)?,
                topic: get(r, 2)?,
                event_time: get(r, 3)?,
            })
        })
        .collect()
}
