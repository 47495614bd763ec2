//! Identity history on PostgreSQL: writing and reading `identity_event` rows.

use sqlx::{PgConnection, PgPool};

use super::support::{db, get};
use crate::shared::codec::{kind_from, kind_text, parse_time, ts};
use crate::{IdentityEvent, StoreError};

/// Writes one identity event.
pub(crate) async fn write(
    conn: &mut PgConnection,
    event: &IdentityEvent,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO identity_event (event_id, kind, person_id, other_person_id, reference, \
         by_whom, reason, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&event.event_id)
    .bind(kind_text(event.kind))
    .bind(&event.person_id)
    .bind(&event.other_person_id)
    .bind(&event.reference)
    .bind(&event.by)
    .bind(&event.reason)
    .bind(parse_time(&event.at)?)
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    Ok(())
}

/// Persons whose merge chain leads to `$1`, and `$1` itself (a recursive CTE named `tree`).
pub(crate) const MERGE_TREE: &str = "WITH RECURSIVE tree(id) AS (SELECT $1::text COLLATE \"C\" UNION \
     SELECT p.person_id FROM person p JOIN tree t ON p.merged_into = t.id)";

/// The person's identity history and that of every person merged into it, oldest first.
pub(crate) async fn history(
    pool: &PgPool,
    person_id: &str,
) -> Result<Vec<IdentityEvent>, StoreError> {
    let sql = format!(
        "{MERGE_TREE} SELECT event_id, kind, person_id, other_person_id, reference, by_whom, \
         reason, at FROM identity_event WHERE person_id IN (SELECT id FROM tree) \
         ORDER BY at, seq"
    );
    let rows = sqlx::query(&sql)
        .bind(person_id)
        .fetch_all(pool)
        .await
        .map_err(db)?;
    rows.iter()
        .map(|r| {
            Ok(IdentityEvent {
                event_id: get(r, 0)?,
                kind: kind_from(&get::<String>(r, 1)?)?,
                person_id: get(r, 2)?,
                other_person_id: get(r, 3)?,
                reference: get(r, 4)?,
                by: get(r, 5)?,
                reason: get(r, 6)?,
                at: ts(get(r, 7)?),
            })
        })
        .collect()
}
