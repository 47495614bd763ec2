//! The person's consents on PostgreSQL: versioned FHIR `Consent` JSON (see `crate::consent`).
//!
//! A version number is the highest stored one plus one; the advisory lock of (person, consent
//! id) is taken before that read, so two concurrent writers of one Consent queue up: versions
//! stay gap-free, and of two concurrent withdrawals one writes, the other returns its event.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use waymark_core::{MessageId, Sensitive};

use super::support::{consent_key, db, get, lock_keys};
use crate::shared::codec::ts;
use crate::{CONSENT_CHANGED, NewConsent, PathwayEvent, StoreError, StoredConsent};

pub(crate) async fn put(pool: &PgPool, c: NewConsent) -> Result<PathwayEvent, StoreError> {
    let mut tx = pool.begin().await.map_err(db)?;
    lock_keys(&mut tx, &[consent_key(&c.person_id, &c.consent_id)]).await?;
    let event = insert(&mut tx, &c).await?;
    tx.commit().await.map_err(db)?;
    Ok(event)
}

/// The `consent.changed` event id of a Consent version (as the SQLite store names it).
fn event_id(person_id: &str, consent_id: &str, version: i64) -> MessageId {
    MessageId::from_stored(format!("consent/{person_id}/{consent_id}/v{version}"))
}

/// Stores the next version and its pathway event, inside the caller's locked transaction.
async fn insert(conn: &mut PgConnection, c: &NewConsent) -> Result<PathwayEvent, StoreError> {
    let version: i64 = sqlx::query_scalar(
        "SELECT COALESCE(MAX(version), 0) + 1 FROM consent WHERE person_id = $1 AND consent_id = $2",
    )
    .bind(&c.person_id)
    .bind(&c.consent_id)
    .fetch_one(&mut *conn)
    .await
    .map_err(db)?;
    sqlx::query(
        "INSERT INTO consent (person_id, consent_id, version, consent, status, recorded_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&c.person_id)
    .bind(&c.consent_id)
    .bind(version)
    .bind(c.consent.expose())
    .bind(&c.status)
    .bind(c.recorded_at)
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    let event = PathwayEvent {
        event_id: event_id(&c.person_id, &c.consent_id, version),
        person_id: c.person_id.clone(),
        topic: CONSENT_CHANGED.to_owned(),
        event_time: c.recorded_at,
    };
    super::record::insert_event(conn, event.event_id.as_str(), &event).await?;
    Ok(event)
}

/// The persons holding a Consent with this id, by person id.
pub(crate) async fn holders(pool: &PgPool, consent_id: &str) -> Result<Vec<String>, StoreError> {
    let rows = sqlx::query(
        "SELECT DISTINCT person_id FROM consent WHERE consent_id = $1 ORDER BY person_id",
    )
    .bind(consent_id)
    .fetch_all(pool)
    .await
    .map_err(db)?;
    rows.iter().map(|r| get(r, 0)).collect()
}

pub(crate) async fn current(
    pool: &PgPool,
    person_id: &str,
) -> Result<Vec<StoredConsent>, StoreError> {
    let rows = sqlx::query(
        "SELECT DISTINCT ON (consent_id) consent_id, version, consent, status, recorded_at \
         FROM consent WHERE person_id = $1 ORDER BY consent_id, version DESC",
    )
    .bind(person_id)
    .fetch_all(pool)
    .await
    .map_err(db)?;
    rows.iter()
        .map(|r| {
            Ok(StoredConsent {
                person_id: person_id.to_owned(),
                consent_id: get(r, 0)?,
                version: u32::try_from(get::<i64>(r, 1)?).unwrap_or(0),
                consent: Sensitive::new(get(r, 2)?),
                status: get(r, 3)?,
                recorded_at: ts(get::<DateTime<Utc>>(r, 4)?),
            })
        })
        .collect()
}

/// Writes a new `inactive` version of the current one (status set in the JSON too) and returns
/// its event; a Consent already inactive returns the event of that version and writes nothing.
pub(crate) async fn withdraw(
    pool: &PgPool,
    person_id: &str,
    consent_id: &str,
    at: DateTime<Utc>,
) -> Result<Option<PathwayEvent>, StoreError> {
    let mut tx = pool.begin().await.map_err(db)?;
    lock_keys(&mut tx, &[consent_key(person_id, consent_id)]).await?;
    let Some(row) = sqlx::query(
        "SELECT version, consent, status FROM consent WHERE person_id = $1 AND consent_id = $2 \
         ORDER BY version DESC LIMIT 1",
    )
    .bind(person_id)
    .bind(consent_id)
    .fetch_optional(&mut *tx)
    .await
    .map_err(db)?
    else {
        return Ok(None);
    };
    let version: i64 = get(&row, 0)?;
    let stored: String = get(&row, 1)?;
    let status: String = get(&row, 2)?;
    if status == "inactive" {
        let event = stored_event(&mut tx, &event_id(person_id, consent_id, version)).await?;
        tx.commit().await.map_err(db)?;
        return Ok(Some(event));
    }
    let withdrawn = NewConsent {
        person_id: person_id.to_owned(),
        consent_id: consent_id.to_owned(),
        status: "inactive".to_owned(),
        consent: Sensitive::new(inactive_json(stored)),
        recorded_at: at,
    };
    let event = insert(&mut tx, &withdrawn).await?;
    tx.commit().await.map_err(db)?;
    Ok(Some(event))
}

/// The Consent JSON with `status` set to `inactive` (unchanged when it is not an object).
fn inactive_json(stored: String) -> String {
    let mut json: serde_json::Value =
        serde_json::from_str(&stored).unwrap_or(serde_json::Value::Null);
    match json.as_object_mut() {
        Some(obj) => {
            obj.insert("status".to_owned(), "inactive".into());
            json.to_string()
        }
        None => stored,
    }
}

async fn stored_event(
    conn: &mut PgConnection,
    event_id: &MessageId,
) -> Result<PathwayEvent, StoreError> {
    let row =
        sqlx::query("SELECT person_id, topic, event_time FROM pathway_event WHERE event_id = $1")
            .bind(event_id.as_str())
            .fetch_one(&mut *conn)
            .await
            .map_err(db)?;
    Ok(PathwayEvent {
        event_id: event_id.clone(),
        person_id: get(&row, 0)?,
        topic: get(&row, 1)?,
        event_time: get(&row, 2)?,
    })
}

/// Subscriptions numbered for events about the person or about anyone merged into it.
pub(crate) async fn past_recipients(
    pool: &PgPool,
    person_id: &str,
) -> Result<Vec<String>, StoreError> {
    let sql = format!(
        "{} SELECT DISTINCT se.subscription_id FROM subscription_event se \
         JOIN pathway_event pe ON pe.event_id = se.event_id \
         WHERE pe.person_id IN (SELECT id FROM tree) AND pe.topic <> $2 \
         ORDER BY se.subscription_id",
        super::history::MERGE_TREE
    );
    sqlx::query_scalar(&sql)
        .bind(person_id)
        .bind(CONSENT_CHANGED)
        .fetch_all(pool)
        .await
        .map_err(db)
}
