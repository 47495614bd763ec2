//! `SqliteStore::bulk_load`: loading test and benchmark populations of new persons fast.
//!
//! Setup only, never the measured path: the connection doing the load runs with
//! `synchronous = OFF` and a larger page cache, both restored before it goes back to the pool
//! (the next commit at `synchronous = FULL` makes the loaded pages durable with it). A batch of
//! new persons with no events and no review — whose message ids and identifiers are new — is
//! written with multi-row inserts producing exactly the rows [`Store::apply`] would write, in
//! the same order; any other batch goes through `apply`'s statements one change at a time.
//!
//! [`Store::apply`]: crate::Store::apply

use std::collections::HashSet;

use sqlx::{
    Connection, Sqlite, SqliteConnection, SqlitePool, query::Query, sqlite::SqliteArguments,
};

use super::{apply, common::rows};
use crate::shared::codec::{kind_text, ts};
use crate::shared::identity::{random_id, stage_event};
use crate::{IdentityEvent, IdentityEventKind, PersonChoice, RecordChange, StoreError};

/// The page cache of the loading connection (KiB, as `PRAGMA cache_size` takes a negative).
const LOAD_CACHE_KIB: i64 = 262_144;
/// Most parameters one statement binds (SQLite allows 32,766).
const MAX_PARAMS: usize = 30_000;
/// Most rows one insert writes: small prepared statements, reused from the statement cache.
const ROWS: usize = 200;

/// Applies `changes` in one transaction (see the module docs); returns how many were applied.
/// The connection's page cache is shrunk back and emptied afterwards, so the load leaves no
/// memory behind in the process.
pub(crate) async fn load(pool: &SqlitePool, changes: &[RecordChange]) -> Result<u64, StoreError> {
    let mut conn = pool.acquire().await?;
    let cache: i64 = sqlx::query_scalar("PRAGMA cache_size")
        .fetch_one(&mut *conn)
        .await?;
    sqlx::query("PRAGMA synchronous = OFF")
        .execute(&mut *conn)
        .await?;
    sqlx::query(&format!("PRAGMA cache_size = -{LOAD_CACHE_KIB}"))
        .execute(&mut *conn)
        .await?;
    let outcome = in_transaction(&mut conn, changes).await;
    let restored = async {
        sqlx::query("PRAGMA synchronous = FULL")
            .execute(&mut *conn)
            .await?;
        sqlx::query(&format!("PRAGMA cache_size = {cache}"))
            .execute(&mut *conn)
            .await?;
        sqlx::query("PRAGMA shrink_memory")
            .execute(&mut *conn)
            .await
    }
    .await;
    if restored.is_err() {
        conn.close_on_drop();
    }
    let applied = outcome?;
    restored?;
    Ok(applied)
}

async fn in_transaction(
    conn: &mut SqliteConnection,
    changes: &[RecordChange],
) -> Result<u64, StoreError> {
    let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
    let applied = if all_new(&mut tx, changes).await? {
        insert_new(&mut tx, changes).await?;
        changes.len() as u64
    } else {
        apply::apply_each(&mut tx, changes).await?
    };
    tx.commit().await?;
    Ok(applied)
}

/// Whether every change is a new person with no events or review, and no message id or
/// identifier is repeated in the batch or already stored.
async fn all_new(
    conn: &mut SqliteConnection,
    changes: &[RecordChange],
) -> Result<bool, StoreError> {
    let simple = changes.iter().all(|c| {
        matches!(c.person, PersonChoice::New)
            && c.expected_version == 0
            && c.events.is_empty()
            && c.review.is_none()
    });
    let mut messages = HashSet::new();
    let mut ids = HashSet::new();
    let distinct = changes.iter().all(|c| {
        messages.insert(c.message_id.as_str())
            && c.identifiers
                .iter()
                .all(|id| ids.insert((id.system.as_str(), id.value.expose().as_str())))
    });
    if !simple || !distinct {
        return Ok(false);
    }
    let messages: Vec<&str> = messages.into_iter().collect();
    for chunk in messages.chunks(MAX_PARAMS) {
        let sql = format!(
            "SELECT 1 FROM record_entry WHERE message_id IN ({}) LIMIT 1",
            vec!["?"; chunk.len()].join(", ")
        );
        let mut query = sqlx::query_scalar::<_, i64>(&sql);
        for m in chunk {
            query = query.bind(*m);
        }
        if query.fetch_optional(&mut *conn).await?.is_some() {
            return Ok(false);
        }
    }
    let ids: Vec<(&str, &str)> = ids.into_iter().collect();
    for chunk in ids.chunks(MAX_PARAMS / 2) {
        let sql = format!(
            "SELECT 1 FROM (VALUES {}) v JOIN identity_link l \
             ON l.system = v.column1 AND l.value = v.column2 LIMIT 1",
            rows(chunk.len(), 2)
        );
        let mut query = sqlx::query_scalar::<_, i64>(&sql);
        for (system, value) in chunk {
            query = query.bind(*system).bind(*value);
        }
        if query.fetch_optional(&mut *conn).await?.is_some() {
            return Ok(false);
        }
    }
    Ok(true)
}

/// The rows `apply` writes for new persons, many per statement.
async fn insert_new(
    conn: &mut SqliteConnection,
    changes: &[RecordChange],
) -> Result<(), StoreError> {
    let people: Vec<(String, &RecordChange)> = changes.iter().map(|c| (random_id(), c)).collect();
    let created: Vec<(&str, String)> = people
        .iter()
        .map(|(id, c)| (id.as_str(), ts(c.recorded_at)))
        .collect();
    insert(
        conn,
        "INSERT INTO person (person_id, created_at) VALUES",
        2,
        &created,
        |q, (id, at)| q.bind(id.to_string()).bind(at.clone()),
    )
    .await?;
    let events: Vec<IdentityEvent> = people
        .iter()
        .flat_map(|(id, c)| {
            let created = stage_event(c, id, IdentityEventKind::Created, "identity/created");
            let linked = (!c.identifiers.is_empty())
                .then(|| stage_event(c, id, IdentityEventKind::Linked, "identity/linked"));
            std::iter::once(created).chain(linked)
        })
        .collect();
    insert(
        conn,
        "INSERT INTO identity_event (event_id, kind, person_id, other_person_id, reference, \
         by_whom, reason, at) VALUES",
        8,
        &events,
        |q, e| {
            q.bind(e.event_id.clone())
                .bind(kind_text(e.kind))
                .bind(e.person_id.clone())
                .bind(e.other_person_id.clone())
                .bind(e.reference.clone())
                .bind(e.by.clone())
                .bind(e.reason.clone())
                .bind(e.at.clone())
        },
    )
    .await?;
    let links: Vec<(&str, &str, &str, String)> = people
        .iter()
        .flat_map(|(pid, c)| {
            c.identifiers.iter().map(move |id| {
                (
                    id.system.as_str(),
                    id.value.expose().as_str(),
                    pid.as_str(),
                    ts(c.recorded_at),
                )
            })
        })
        .collect();
    insert(
        conn,
        "INSERT OR IGNORE INTO identity_link (system, value, person_id, linked_at) VALUES",
        4,
        &links,
        |q, (s, v, p, at)| {
            q.bind(s.to_string())
                .bind(v.to_string())
                .bind(p.to_string())
                .bind(at.clone())
        },
    )
    .await?;
    let blocks: Vec<(&str, &str)> = people
        .iter()
        .flat_map(|(pid, c)| c.block_keys.iter().map(move |k| (k.as_str(), pid.as_str())))
        .collect();
    insert(
        conn,
        "INSERT OR IGNORE INTO person_block (block_key, person_id, origin_person_id) VALUES",
        3,
        &blocks,
        |q, (k, p)| {
            q.bind(k.to_string())
                .bind(p.to_string())
                .bind(p.to_string())
        },
    )
    .await?;
    let demographics: Vec<&(String, &RecordChange)> = people
        .iter()
        .filter(|(_, c)| !c.demographics.expose().is_empty())
        .collect();
    insert(
        conn,
        "INSERT INTO person_demographics (message_id, person_id, demographics, recorded_at) \
         VALUES",
        4,
        &demographics,
        |q, (pid, c)| {
            q.bind(c.message_id.as_str().to_owned())
                .bind(pid.clone())
                .bind(c.demographics.expose().clone())
                .bind(ts(c.recorded_at))
        },
    )
    .await?;
    insert(
        conn,
        "INSERT INTO record_entry (message_id, person_id, origin_person_id, source, \
         message_type, event_time, recorded_at, bundle) VALUES",
        8,
        &people,
        |q, (pid, c)| {
            q.bind(c.message_id.as_str().to_owned())
                .bind(pid.clone())
                .bind(pid.clone())
                .bind(c.source.as_str().to_owned())
                .bind(c.message_type.clone())
                .bind(c.event_time.map(ts))
                .bind(ts(c.recorded_at))
                .bind(c.bundle.expose().clone())
        },
    )
    .await?;
    insert(
        conn,
        "INSERT INTO person_record (person_id, version, record) VALUES",
        3,
        &people,
        |q, (pid, c)| {
            q.bind(pid.clone())
                .bind(1_i64)
                .bind(c.record.expose().clone())
        },
    )
    .await
}

/// `head` followed by one `(?, …)` of `arity` per item, as many items per statement as fit.
async fn insert<T>(
    conn: &mut SqliteConnection,
    head: &str,
    arity: usize,
    items: &[T],
    bind: impl for<'q> Fn(
        Query<'q, Sqlite, SqliteArguments<'q>>,
        &T,
    ) -> Query<'q, Sqlite, SqliteArguments<'q>>,
) -> Result<(), StoreError> {
    for chunk in items.chunks((MAX_PARAMS / arity).clamp(1, ROWS)) {
        let sql = format!("{head} {}", rows(chunk.len(), arity));
        let mut query = sqlx::query(&sql);
        for item in chunk {
            query = bind(query, item);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}
