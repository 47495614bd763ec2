//! Reads of identity and the longitudinal record on SQLite: identifier lookups, the candidate
//! search, persons, records and entries.

use sqlx::{Row, SqlitePool};
use waymark_core::Sensitive;

use super::common::rows;
use crate::shared::codec::{parse_time, to_u64};
use crate::shared::identity::{
    DEMOGRAPHICS_PER_CANDIDATE, MAX_CANDIDATES, MAX_KEYS, group_candidates, search_keys,
};
use crate::{
    Candidate, IdentifierLink, PersonInfo, StoreError, StoredEntry, StoredRecord, StrongId,
};

/// The link of each known identifier. Links move with merges, so each names an active person.
/// (A join from the `VALUES` rows, so every SQLite version searches the primary key.)
pub(crate) async fn find_by_identifiers(
    pool: &SqlitePool,
    ids: &[StrongId],
) -> Result<Vec<IdentifierLink>, StoreError> {
    let mut links = Vec::new();
    for chunk in ids.chunks(MAX_KEYS / 2) {
        let sql = format!(
            "SELECT DISTINCT l.system, l.value, l.person_id FROM (VALUES {}) v \
             JOIN identity_link l ON l.system = v.column1 AND l.value = v.column2 \
             ORDER BY l.system, l.value",
            rows(chunk.len(), 2)
        );
        let mut query = sqlx::query(&sql);
        for id in chunk {
            query = query.bind(&id.system).bind(id.value.expose());
        }
        for r in query.fetch_all(pool).await? {
            links.push(IdentifierLink {
                system: r.try_get(0)?,
                value: Sensitive::new(r.try_get(1)?),
                person_id: r.try_get(2)?,
            });
        }
    }
    Ok(links)
}

/// Active persons under any of the keys, those under most keys first (then by person id), each
/// with their newest demographics. One statement: the person set, then at most
/// [`DEMOGRAPHICS_PER_CANDIDATE`] demographics rows per person through the person index.
pub(crate) async fn candidates(
    pool: &SqlitePool,
    keys: &[String],
    limit: u32,
) -> Result<Vec<Candidate>, StoreError> {
    let keys = search_keys(keys);
    if keys.is_empty() || limit == 0 {
        return Ok(Vec::new());
    }
    let sql = format!(
        "WITH hit AS (SELECT b.person_id, COUNT(DISTINCT b.block_key) AS hits \
           FROM person_block b JOIN person p ON p.person_id = b.person_id \
           WHERE b.block_key IN ({}) AND p.merged_into IS NULL \
           GROUP BY b.person_id ORDER BY hits DESC, b.person_id LIMIT ?) \
         SELECT h.person_id, d.demographics FROM hit h \
         LEFT JOIN person_demographics d ON d.message_id IN \
           (SELECT message_id FROM person_demographics WHERE person_id = h.person_id \
            ORDER BY recorded_at DESC, message_id DESC LIMIT {DEMOGRAPHICS_PER_CANDIDATE}) \
         ORDER BY h.hits DESC, h.person_id, d.recorded_at DESC, d.message_id DESC",
        vec!["?"; keys.len()].join(", ")
    );
    let mut query = sqlx::query_as::<_, (String, Option<String>)>(&sql);
    for key in keys {
        query = query.bind(key);
    }
    let rows = query
        .bind(i64::from(limit.min(MAX_CANDIDATES)))
        .fetch_all(pool)
        .await?;
    Ok(group_candidates(rows))
}

pub(crate) async fn person(
    pool: &SqlitePool,
    person_id: &str,
) -> Result<Option<PersonInfo>, StoreError> {
    let row = sqlx::query("SELECT merged_into, created_at FROM person WHERE person_id = ?")
        .bind(person_id)
        .fetch_optional(pool)
        .await?;
    row.map(|r| {
        Ok(PersonInfo {
            person_id: person_id.to_owned(),
            merged_into: r.try_get(0)?,
            created_at: r.try_get(1)?,
        })
    })
    .transpose()
}

pub(crate) async fn person_record(
    pool: &SqlitePool,
    person_id: &str,
) -> Result<Option<StoredRecord>, StoreError> {
    let row = sqlx::query("SELECT version, record FROM person_record WHERE person_id = ?")
        .bind(person_id)
        .fetch_optional(pool)
        .await?;
    row.map(|r| {
        Ok(StoredRecord {
            person_id: person_id.to_owned(),
            version: to_u64(r.try_get(0)?),
            record: Sensitive::new(r.try_get(1)?),
        })
    })
    .transpose()
}

/// The person's entries by source event time (the recorded time when the source gave none),
/// then message id.
pub(crate) async fn entries(
    pool: &SqlitePool,
    person_id: &str,
) -> Result<Vec<StoredEntry>, StoreError> {
    let rows = sqlx::query(
        "SELECT message_id, person_id, origin_person_id, source, message_type, event_time, \
         recorded_at, bundle FROM record_entry WHERE person_id = ? \
         ORDER BY COALESCE(event_time, recorded_at), message_id",
    )
    .bind(person_id)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            let event_time: Option<String> = r.try_get(5)?;
            Ok(StoredEntry {
                message_id: r.try_get(0)?,
                person_id: r.try_get(1)?,
                origin_person_id: r.try_get(2)?,
                source: r.try_get(3)?,
                message_type: r.try_get(4)?,
                event_time: event_time.as_deref().map(parse_time).transpose()?,
                recorded_at: parse_time(&r.try_get::<String, _>(6)?)?,
                bundle: Sensitive::new(r.try_get(7)?),
            })
        })
        .collect()
}
