//! Identity and the longitudinal record on PostgreSQL: reads (identifier lookups, the candidate
//! search, persons, records, entries) and the row helpers the writing transactions share.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool, postgres::PgRow};
use waymark_core::Sensitive;

use super::support::{db, get};
use crate::shared::codec::{to_i64, to_u64, ts};
use crate::shared::identity::{
    self, DEMOGRAPHICS_PER_CANDIDATE, MAX_CANDIDATES, MAX_CHAIN, endless_chain, group_candidates,
    search_keys,
};
use crate::{
    Candidate, IdentifierLink, PersonInfo, StoreError, StoredEntry, StoredRecord, StrongId,
};

/// The link of each known identifier (links move with merges, so each names an active person).
pub(crate) async fn find_by_identifiers(
    pool: &PgPool,
    ids: &[StrongId],
) -> Result<Vec<IdentifierLink>, StoreError> {
    let systems: Vec<&str> = ids.iter().map(|id| id.system.as_str()).collect();
    let values: Vec<&str> = ids.iter().map(|id| id.value.expose().as_str()).collect();
    let rows = sqlx::query(
        "SELECT DISTINCT l.system, l.value, l.person_id FROM identity_link l \
         JOIN unnest($1::text[], $2::text[]) AS q(system, value) \
           ON l.system = q.system AND l.value = q.value \
         ORDER BY l.system, l.value",
    )
    .bind(&systems)
    .bind(&values)
    .fetch_all(pool)
    .await
    .map_err(db)?;
    rows.iter()
        .map(|r| {
            Ok(IdentifierLink {
                system: get(r, 0)?,
                value: Sensitive::new(get(r, 1)?),
                person_id: get(r, 2)?,
            })
        })
        .collect()
}

/// Active persons under any of the keys, those under most keys first (then by person id), each
/// with their newest demographics (the same order as the SQLite store).
pub(crate) async fn candidates(
    pool: &PgPool,
    keys: &[String],
    limit: u32,
) -> Result<Vec<Candidate>, StoreError> {
    let keys = search_keys(keys);
    if keys.is_empty() || limit == 0 {
        return Ok(Vec::new());
    }
    let rows: Vec<(String, Option<String>)> = sqlx::query_as(
        "WITH hit AS (SELECT b.person_id, COUNT(DISTINCT b.block_key) AS hits \
           FROM person_block b JOIN person p ON p.person_id = b.person_id \
           WHERE b.block_key = ANY($1::text[]) AND p.merged_into IS NULL \
           GROUP BY b.person_id ORDER BY hits DESC, b.person_id LIMIT $2) \
         SELECT h.person_id, d.demographics FROM hit h \
         LEFT JOIN LATERAL (SELECT demographics, recorded_at, message_id \
           FROM person_demographics WHERE person_id = h.person_id \
           ORDER BY recorded_at DESC, message_id DESC LIMIT $3) d ON true \
         ORDER BY h.hits DESC, h.person_id, d.recorded_at DESC, d.message_id DESC",
    )
    .bind(&keys)
    .bind(i64::from(limit.min(MAX_CANDIDATES)))
    .bind(i64::from(DEMOGRAPHICS_PER_CANDIDATE))
    .fetch_all(pool)
    .await
    .map_err(db)?;
    Ok(group_candidates(rows))
}

pub(crate) async fn person(
    pool: &PgPool,
    person_id: &str,
) -> Result<Option<PersonInfo>, StoreError> {
    let row = sqlx::query("SELECT merged_into, created_at FROM person WHERE person_id = $1")
        .bind(person_id)
        .fetch_optional(pool)
        .await
        .map_err(db)?;
    row.map(|r| {
        Ok(PersonInfo {
            person_id: person_id.to_owned(),
            merged_into: get(&r, 0)?,
            created_at: ts(get(&r, 1)?),
        })
    })
    .transpose()
}

pub(crate) async fn person_record(
    pool: &PgPool,
    person_id: &str,
) -> Result<Option<StoredRecord>, StoreError> {
    let row = sqlx::query("SELECT version, record FROM person_record WHERE person_id = $1")
        .bind(person_id)
        .fetch_optional(pool)
        .await
        .map_err(db)?;
    row.map(|r| {
        Ok(StoredRecord {
            person_id: person_id.to_owned(),
            version: to_u64(get(&r, 0)?),
            record: Sensitive::new(get(&r, 1)?),
        })
    })
    .transpose()
}

/// The person's entries by source event time (the recorded time when the source gave none),
/// then message id.
pub(crate) async fn entries(
    pool: &PgPool,
    person_id: &str,
) -> Result<Vec<StoredEntry>, StoreError> {
    let rows = sqlx::query(
        "SELECT message_id, person_id, origin_person_id, source, message_type, event_time, \
         recorded_at, bundle FROM record_entry WHERE person_id = $1 \
         ORDER BY COALESCE(event_time, recorded_at), message_id",
    )
    .bind(person_id)
    .fetch_all(pool)
    .await
    .map_err(db)?;
    rows.iter().map(entry).collect()
}

fn entry(r: &PgRow) -> Result<StoredEntry, StoreError> {
    Ok(StoredEntry {
        message_id: get(r, 0)?,
        person_id: get(r, 1)?,
        origin_person_id: get(r, 2)?,
        source: get(r, 3)?,
        message_type: get(r, 4)?,
        event_time: get(r, 5)?,
        recorded_at: get(r, 6)?,
        bundle: Sensitive::new(get(r, 7)?),
    })
}

// ---- row helpers of the writing transactions ------------------------------------------------

/// Creates a person row.
pub(crate) async fn insert_person(
    conn: &mut PgConnection,
    person_id: &str,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO person (person_id, created_at) VALUES ($1, $2)")
        .bind(person_id)
        .bind(at)
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    Ok(())
}

/// Links an identifier to the person unless it is linked already; true when it linked now.
pub(crate) async fn link(
    conn: &mut PgConnection,
    system: &str,
    value: &str,
    person_id: &str,
    at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "INSERT INTO identity_link (system, value, person_id, linked_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (system, value) DO NOTHING",
    )
    .bind(system)
    .bind(value)
    .bind(person_id)
    .bind(at)
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    Ok(done.rows_affected() == 1)
}

/// Locks the person's row (`FOR UPDATE`) and says whether it is active: `UnknownPerson` or
/// `PersonNotActive` otherwise. Every change of a person locks its row first, so changes of
/// one person run one after the other; read the version with a later statement (a row lock
/// re-reads only the locked row, not the rows joined to it).
pub(crate) async fn lock_active(
    conn: &mut PgConnection,
    person_id: &str,
) -> Result<(), StoreError> {
    let state: Option<Option<String>> =
        sqlx::query_scalar("SELECT merged_into FROM person WHERE person_id = $1 FOR UPDATE")
            .bind(person_id)
            .fetch_optional(&mut *conn)
            .await
            .map_err(db)?;
    identity::require_active(person_id, state.as_ref())
}

/// The active person at the end of `person_id`'s merge chain (at most [`MAX_CHAIN`] steps).
pub(crate) async fn survivor(
    conn: &mut PgConnection,
    person_id: &str,
) -> Result<String, StoreError> {
    let mut current = person_id.to_owned();
    for _ in 0..MAX_CHAIN {
        let next: Option<Option<String>> =
            sqlx::query_scalar("SELECT merged_into FROM person WHERE person_id = $1")
                .bind(&current)
                .fetch_optional(&mut *conn)
                .await
                .map_err(db)?;
        match next {
            Some(Some(next)) => current = next,
            _ => return Ok(current),
        }
    }
    Err(endless_chain(person_id))
}

/// `VersionConflict` unless the person's record is at `expected` (0 before the first).
pub(crate) async fn check_version(
    conn: &mut PgConnection,
    person_id: &str,
    expected: u64,
) -> Result<(), StoreError> {
    let v: Option<i64> =
        sqlx::query_scalar("SELECT version FROM person_record WHERE person_id = $1")
            .bind(person_id)
            .fetch_optional(&mut *conn)
            .await
            .map_err(db)?;
    if v.map_or(0, to_u64) == expected {
        Ok(())
    } else {
        Err(StoreError::VersionConflict(person_id.to_owned()))
    }
}

/// Stores the person's record as version `previous + 1`.
pub(crate) async fn put_record(
    conn: &mut PgConnection,
    person_id: &str,
    previous: u64,
    record: &Sensitive<String>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO person_record (person_id, version, record) VALUES ($1, $2, $3) \
         ON CONFLICT (person_id) DO UPDATE SET version = excluded.version, record = excluded.record",
    )
    .bind(person_id)
    .bind(to_i64(previous.saturating_add(1)))
    .bind(record.expose())
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    Ok(())
}
