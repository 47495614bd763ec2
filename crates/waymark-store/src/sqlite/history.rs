//! Identity history of the SQLite store: writing and reading `identity_event` rows.

use sqlx::{Row, SqliteConnection, SqlitePool};

use crate::shared::codec::{kind_from, kind_text};
use crate::{IdentityEvent, StoreError};

/// Writes one identity event.
pub(crate) async fn write(
    conn: &mut SqliteConnection,
    event: &IdentityEvent,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO identity_event (event_id, kind, person_id, other_person_id, reference, \
         by_whom, reason, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&event.event_id)
    .bind(kind_text(event.kind))
    .bind(&event.person_id)
    .bind(&event.other_person_id)
    .bind(&event.reference)
    .bind(&event.by)
    .bind(&event.reason)
    .bind(&event.at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Persons whose merge chain leads to `?1`, and `?1` itself (a recursive CTE named `tree`).
pub(crate) const MERGE_TREE: &str = "WITH RECURSIVE tree(id) AS (SELECT ?1 UNION \
     SELECT p.person_id FROM person p JOIN tree t ON p.merged_into = t.id)";

/// The person's identity history and that of every person merged into it, oldest first.
pub(crate) async fn history(
    pool: &SqlitePool,
    person_id: &str,
) -> Result<Vec<IdentityEvent>, StoreError> {
    let sql = format!(
        "{MERGE_TREE} SELECT event_id, kind, person_id, other_person_id, reference, by_whom, \
         reason, at FROM identity_event WHERE person_id IN (SELECT id FROM tree) \
         ORDER BY at, seq"
    );
    let rows = sqlx::query(&sql).bind(person_id).fetch_all(pool).await?;
    rows.iter()
        .map(|r| {
            Ok(IdentityEvent {
                event_id: r.try_get(0)?,
                kind: kind_from(&r.try_get::<String, _>(1)?)?,
                person_id: r.try_get(2)?,
                other_person_id: r.try_get(3)?,
                reference: r.try_get(4)?,
                by: r.try_get(5)?,
                reason: r.try_get(6)?,
                at: r.try_get(7)?,
            })
        })
        .collect()
}
