//! The person's consents: versioned FHIR `Consent` JSON, handed in by the shell (which has
//! read it with `waymark-policy`); the store reads nothing in it but `status`, which it sets
//! on withdrawal.

use chrono::{DateTime, Utc};
use sqlx::{Row, SqliteConnection, SqlitePool};
use waymark_core::{MessageId, Sensitive};

use crate::{NewConsent, PathwayEvent, StoreError, StoredConsent};

/// The topic raised when a consent is given, changed or withdrawn.
pub const CONSENT_CHANGED: &str = "consent.changed";

pub(crate) async fn put(pool: &SqlitePool, c: NewConsent) -> Result<PathwayEvent, StoreError> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let event = insert(&mut tx, &c).await?;
    tx.commit().await?;
    Ok(event)
}

/// The `consent.changed` event id of a Consent version.
fn event_id(person_id: &str, consent_id: &str, version: i64) -> MessageId {
    MessageId::from_stored(format!("consent/{person_id}/{consent_id}/v{version}"))
}

/// Stores the next version of the Consent and its pathway event, inside the caller's
/// transaction.
async fn insert(conn: &mut SqliteConnection, c: &NewConsent) -> Result<PathwayEvent, StoreError> {
    let version: i64 = sqlx::query_scalar(
        "SELECT COALESCE(MAX(version), 0) + 1 FROM consent WHERE person_id = ? AND consent_id = ?",
    )
    .bind(&c.person_id)
    .bind(&c.consent_id)
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO consent (person_id, consent_id, version, consent, status, recorded_at) \
         VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(&c.person_id)
    .bind(&c.consent_id)
    .bind(version)
    .bind(c.consent.expose())
    .bind(&c.status)
    .bind(c.recorded_at.to_rfc3339())
    .execute(&mut *conn)
    .await?;
    let event = PathwayEvent {
        event_id: event_id(&c.person_id, &c.consent_id, version),
        person_id: c.person_id.clone(),
        topic: CONSENT_CHANGED.to_owned(),
        event_time: c.recorded_at,
    };
    sqlx::query(
        "INSERT INTO pathway_event (event_id, message_id, person_id, topic, event_time) \
         VALUES (?, ?, ?, ?, ?)",
    )
    .bind(event.event_id.as_str())
    .bind(event.event_id.as_str())
    .bind(&event.person_id)
    .bind(&event.topic)
    .bind(event.event_time.to_rfc3339())
    .execute(&mut *conn)
    .await?;
    Ok(event)
}

/// The persons holding a Consent with this id, by person id.
pub(crate) async fn holders(
    pool: &SqlitePool,
    consent_id: &str,
) -> Result<Vec<String>, StoreError> {
    let rows = sqlx::query(
        "SELECT DISTINCT person_id FROM consent WHERE consent_id = ? ORDER BY person_id",
    )
    .bind(consent_id)
    .fetch_all(pool)
    .await?;
    rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
}

pub(crate) async fn current(
    pool: &SqlitePool,
    person_id: &str,
) -> Result<Vec<StoredConsent>, StoreError> {
    let rows = sqlx::query(
        "SELECT c.consent_id, c.version, c.consent, c.status, c.recorded_at FROM consent c \
         WHERE c.person_id = ? AND c.version = (SELECT MAX(version) FROM consent \
         WHERE person_id = c.person_id AND consent_id = c.consent_id) ORDER BY c.consent_id",
    )
    .bind(person_id)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(StoredConsent {
                person_id: person_id.to_owned(),
                consent_id: r.try_get(0)?,
                version: u32::try_from(r.try_get::<i64, _>(1)?).unwrap_or(0),
                consent: Sensitive::new(r.try_get(2)?),
                status: r.try_get(3)?,
                recorded_at: r.try_get(4)?,
            })
        })
        .collect()
}

/// Writes a new `inactive` version of the current one (with `status` set in the JSON too) and
/// returns its `consent.changed` event. When the current version is already inactive, writes
/// nothing and returns that version's stored event, so a caller whose follow-up effects (purge,
/// recall notices) failed can run them again. `None` when the person has no such consent.
///
/// The read, the status check and the write share one `BEGIN IMMEDIATE` transaction: of two
/// concurrent withdrawals one writes the version, the other sees it and returns its event.
pub(crate) async fn withdraw(
    pool: &SqlitePool,
    person_id: &str,
    consent_id: &str,
    at: DateTime<Utc>,
) -> Result<Option<PathwayEvent>, StoreError> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let Some(row) = sqlx::query(
        "SELECT version, consent, status FROM consent WHERE person_id = ? AND consent_id = ? \
         ORDER BY version DESC LIMIT 1",
    )
    .bind(person_id)
    .bind(consent_id)
    .fetch_optional(&mut *tx)
    .await?
    else {
        return Ok(None);
    };
    let version: i64 = row.try_get(0)?;
    let stored: String = row.try_get(1)?;
    let status: String = row.try_get(2)?;
    if status == "inactive" {
        let event = stored_event(&mut tx, &event_id(person_id, consent_id, version)).await?;
        tx.commit().await?;
        return Ok(Some(event));
    }
    let mut json: serde_json::Value =
        serde_json::from_str(&stored).unwrap_or(serde_json::Value::Null);
    if let Some(obj) = json.as_object_mut() {
        obj.insert("status".to_owned(), "inactive".into());
    }
    let consent = if json.is_null() {
        stored
    } else {
        json.to_string()
    };
    let event = insert(
        &mut tx,
        &NewConsent {
            person_id: person_id.to_owned(),
            consent_id: consent_id.to_owned(),
            status: "inactive".to_owned(),
            consent: Sensitive::new(consent),
            recorded_at: at,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Some(event))
}

/// A stored pathway event by id.
async fn stored_event(
    conn: &mut SqliteConnection,
    event_id: &MessageId,
) -> Result<PathwayEvent, StoreError> {
    let row =
        sqlx::query("SELECT person_id, topic, event_time FROM pathway_event WHERE event_id = ?")
            .bind(event_id.as_str())
            .fetch_one(&mut *conn)
            .await?;
    let event_time: String = row.try_get(2)?;
    Ok(PathwayEvent {
        event_id: event_id.clone(),
        person_id: row.try_get(0)?,
        topic: row.try_get(1)?,
        event_time: DateTime::parse_from_rfc3339(&event_time)
            .map_err(|e| StoreError::Backend(format!("stored event time: {e}")))?
            .with_timezone(&Utc),
    })
}

/// Subscriptions numbered for events about the person or about anyone merged into it.
pub(crate) async fn past_recipients(
    pool: &SqlitePool,
    person_id: &str,
) -> Result<Vec<String>, StoreError> {
    let sql = format!(
        "{} SELECT DISTINCT se.subscription_id FROM subscription_event se \
         JOIN pathway_event pe ON pe.event_id = se.event_id \
         WHERE pe.person_id IN (SELECT id FROM tree) AND pe.topic <> ?2 \
         ORDER BY se.subscription_id",
        crate::sqlite::history::MERGE_TREE
    );
    Ok(sqlx::query_scalar(&sql)
        .bind(person_id)
        .bind(CONSENT_CHANGED)
        .fetch_all(pool)
        .await?)
}
