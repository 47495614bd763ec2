//! The SQL of the embedded bus, one function per statement or small group of statements.
//!
//! Every function runs on a connection the caller holds (usually inside a transaction), so the
//! caller decides what commits together. Times are unix milliseconds. Bodies are only ever bound
//! as parameters or copied inside SQLite; none of these functions looks at them.

use std::collections::BTreeMap;

use sqlx::SqliteConnection;
use waymark_core::{MessageId, Sensitive};

use super::backend;
use crate::{
    BusError, Delivery, DeliveryTag, Message, QueueSpec, X_DEATH_ATTEMPTS, X_DEATH_QUEUE,
    X_DEATH_REASON,
};

/// How many expired dedupe rows one prune statement deletes.
const PRUNE_BATCH: i64 = 5_000;

/// A declared queue's stored rules.
pub(super) struct StoredSpec {
    pub delivery_limit: i64,
    pub lease_ms: i64,
    pub dead_letter: String,
}

/// A message currently held by a consumer, as found by its delivery tag.
pub(super) struct Held {
    pub seq: i64,
    pub attempts: i64,
    pub delivery_limit: i64,
    pub dead_letter: String,
}

/// Records `spec` and its dead-letter queue. An explicitly declared dead-letter queue keeps its
/// own rules; an implicit one inherits them and dead-letters into itself (nothing is dropped).
pub(super) async fn declare(conn: &mut SqliteConnection, spec: &QueueSpec) -> Result<(), BusError> {
    let limit = i64::from(spec.delivery_limit.max(1));
    let lease = super::millis(spec.lease);
    let dead = spec.dead_letter_name();
    sqlx::query(
        "INSERT INTO queues (name, delivery_limit, lease_ms, dead_letter) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (name) DO UPDATE SET delivery_limit = ?2, lease_ms = ?3, dead_letter = ?4",
    )
    .bind(&spec.name)
    .bind(limit)
    .bind(lease)
    .bind(&dead)
    .execute(&mut *conn)
    .await
    .map_err(backend)?;
    sqlx::query(
        "INSERT INTO queues (name, delivery_limit, lease_ms, dead_letter) VALUES (?1, ?2, ?3, ?1)
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(&dead)
    .bind(limit)
    .bind(lease)
    .execute(&mut *conn)
    .await
    .map_err(backend)?;
    Ok(())
}

/// The rules of `queue`, or [`BusError::UnknownQueue`].
pub(super) async fn spec(conn: &mut SqliteConnection, queue: &str) -> Result<StoredSpec, BusError> {
    let row: Option<(i64, i64, String)> =
        sqlx::query_as("SELECT delivery_limit, lease_ms, dead_letter FROM queues WHERE name = ?1")
            .bind(queue)
            .fetch_optional(&mut *conn)
            .await
            .map_err(backend)?;
    let (delivery_limit, lease_ms, dead_letter) =
        row.ok_or_else(|| BusError::UnknownQueue(queue.into()))?;
    Ok(StoredSpec {
        delivery_limit,
        lease_ms,
        dead_letter,
    })
}

/// Remembers that `id` was published to `queue`. False when it already was, after `cutoff`.
pub(super) async fn remember(
    conn: &mut SqliteConnection,
    queue: &str,
    id: &MessageId,
    now: i64,
    cutoff: i64,
) -> Result<bool, BusError> {
    let done = sqlx::query(
        "INSERT INTO seen (queue, id, published_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (queue, id) DO UPDATE SET published_at = ?3 WHERE published_at < ?4",
    )
    .bind(queue)
    .bind(id.as_str())
    .bind(now)
    .bind(cutoff)
    .execute(&mut *conn)
    .await
    .map_err(backend)?;
    Ok(done.rows_affected() == 1)
}

/// Stores a new message, ready at once.
pub(super) async fn insert(
    conn: &mut SqliteConnection,
    queue: &str,
    message: &Message,
    now: i64,
) -> Result<(), BusError> {
    let headers = encode_headers(&message.headers)?;
    sqlx::query(
        "INSERT INTO messages (queue, id, key, headers, body, visible_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )
    .bind(queue)
    .bind(message.id.as_str())
    .bind(message.key.as_deref())
    .bind(headers)
    .bind(message.body.expose().as_slice())
    .bind(now)
    .execute(&mut *conn)
    .await
    .map_err(backend)?;
    Ok(())
}

/// The oldest deliverable message of `queue` (ready, retry due, or lease expired, and not behind
/// an older message with its key): its `seq` and deliveries so far.
pub(super) async fn next(
    conn: &mut SqliteConnection,
    queue: &str,
    now: i64,
) -> Result<Option<(i64, i64)>, BusError> {
    sqlx::query_as(
        "SELECT m.seq, m.attempts FROM messages m
         WHERE m.queue = ?1 AND m.visible_at <= ?2
           AND (m.key IS NULL OR NOT EXISTS (
                SELECT 1 FROM messages o WHERE o.queue = m.queue AND o.key = m.key AND o.seq < m.seq))
         ORDER BY m.seq LIMIT 1",
    )
    .bind(queue)
    .bind(now)
    .fetch_optional(&mut *conn)
    .await
    .map_err(backend)
}

/// Leases message `seq` under a new, never reused delivery tag until `until`.
pub(super) async fn lease(
    conn: &mut SqliteConnection,
    queue: &str,
    seq: i64,
    until: i64,
) -> Result<Delivery, BusError> {
    let (tag,): (i64,) = sqlx::query_as(
        "UPDATE counters SET value = value + 1 WHERE name = 'delivery_tag' RETURNING value",
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(backend)?;
    let row: (String, Option<String>, String, Vec<u8>, i64) = sqlx::query_as(
        "UPDATE messages SET tag = ?1, visible_at = ?2, attempts = attempts + 1 WHERE seq = ?3
         RETURNING id, key, headers, body, attempts",
    )
    .bind(tag)
    .bind(until)
    .bind(seq)
    .fetch_one(&mut *conn)
    .await
    .map_err(backend)?;
    let (id, key, headers, body, attempts) = row;
    let headers = decode_headers(&headers, &id)?;
    let message = Message {
        id: MessageId::from_stored(id),
        key,
        headers,
        body: Sensitive::new(body),
    };
    Ok(Delivery {
        queue: queue.to_owned(),
        tag: DeliveryTag(tag.unsigned_abs()),
        attempt: u32::try_from(attempts).unwrap_or(u32::MAX),
        message,
    })
}

/// The message `tag` still holds in `queue`, if any.
pub(super) async fn held(
    conn: &mut SqliteConnection,
    queue: &str,
    tag: DeliveryTag,
) -> Result<Option<Held>, BusError> {
    let Ok(tag) = i64::try_from(tag.0) else {
        return Ok(None);
    };
    let row: Option<(i64, i64, i64, String)> = sqlx::query_as(
        "SELECT m.seq, m.attempts, q.delivery_limit, q.dead_letter
         FROM messages m JOIN queues q ON q.name = m.queue
         WHERE m.tag = ?1 AND m.queue = ?2",
    )
    .bind(tag)
    .bind(queue)
    .fetch_optional(&mut *conn)
    .await
    .map_err(backend)?;
    Ok(
        row.map(|(seq, attempts, delivery_limit, dead_letter)| Held {
            seq,
            attempts,
            delivery_limit,
            dead_letter,
        }),
    )
}

/// Forgets the message `tag` holds. False when the tag is stale.
pub(super) async fn delete_held(
    conn: &mut SqliteConnection,
    queue: &str,
    tag: DeliveryTag,
) -> Result<bool, BusError> {
    let Ok(tag) = i64::try_from(tag.0) else {
        return Ok(false);
    };
    let done = sqlx::query("DELETE FROM messages WHERE tag = ?1 AND queue = ?2")
        .bind(tag)
        .bind(queue)
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
    Ok(done.rows_affected() == 1)
}

/// Makes message `seq` deliverable again from `at`, keeping its attempt count.
pub(super) async fn requeue(
    conn: &mut SqliteConnection,
    seq: i64,
    at: i64,
) -> Result<(), BusError> {
    sqlx::query("UPDATE messages SET tag = NULL, visible_at = ?1 WHERE seq = ?2")
        .bind(at)
        .bind(seq)
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
    Ok(())
}

/// Moves message `seq` from `from` to the end of dead-letter queue `to` (attempts reset),
/// adding the `x-death-*` headers. The body is copied inside SQLite. Run it inside a transaction: insert and delete
/// commit together, so the message is never in neither queue (nor in both).
pub(super) async fn dead_letter(
    conn: &mut SqliteConnection,
    seq: i64,
    (from, to): (&str, &str),
    reason: &str,
    now: i64,
) -> Result<(), BusError> {
    let (id, headers, attempts): (String, String, i64) =
        sqlx::query_as("SELECT id, headers, attempts FROM messages WHERE seq = ?1")
            .bind(seq)
            .fetch_one(&mut *conn)
            .await
            .map_err(backend)?;
    let mut headers = decode_headers(&headers, &id)?;
    // A message failing again in a dead-letter queue that parks into itself keeps the record of
    // its first death (which queue it came from), so it can still be replayed to the right place.
    if from != to || !headers.contains_key(X_DEATH_QUEUE) {
        headers.insert(X_DEATH_QUEUE.into(), from.into());
        headers.insert(X_DEATH_REASON.into(), reason.into());
        headers.insert(X_DEATH_ATTEMPTS.into(), attempts.to_string());
    }
    sqlx::query(
        "INSERT INTO messages (queue, id, key, headers, body, visible_at)
         SELECT ?1, id, key, ?2, body, ?3 FROM messages WHERE seq = ?4",
    )
    .bind(to)
    .bind(encode_headers(&headers)?)
    .bind(now)
    .bind(seq)
    .execute(&mut *conn)
    .await
    .map_err(backend)?;
    sqlx::query("DELETE FROM messages WHERE seq = ?1")
        .bind(seq)
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
    tracing::warn!(queue = from, dead_letter = to, id = %id, reason, attempts, "message dead-lettered");
    Ok(())
}

/// Releases every lease (the previous owner of the file is gone). Returns how many.
pub(super) async fn release_all(conn: &mut SqliteConnection, now: i64) -> Result<u64, BusError> {
    let done = sqlx::query("UPDATE messages SET tag = NULL, visible_at = ?1 WHERE tag IS NOT NULL")
        .bind(now)
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
    Ok(done.rows_affected())
}

/// Deletes dedupe rows older than `cutoff`, in batches. Returns how many.
pub(super) async fn prune_seen(conn: &mut SqliteConnection, cutoff: i64) -> Result<u64, BusError> {
    let mut total = 0;
    loop {
        let done = sqlx::query(
            "DELETE FROM seen WHERE rowid IN
             (SELECT rowid FROM seen WHERE published_at < ?1 LIMIT ?2)",
        )
        .bind(cutoff)
        .bind(PRUNE_BATCH)
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
        total += done.rows_affected();
        if done.rows_affected() < PRUNE_BATCH.unsigned_abs() {
            return Ok(total);
        }
    }
}

/// Deletes the messages of `queue` with `key` that are not in flight (not leased, or lease
/// over at `now`, matching [`depth`]'s count). Returns how many.
pub(super) async fn purge_key(
    conn: &mut SqliteConnection,
    queue: &str,
    key: &str,
    now: i64,
) -> Result<u64, BusError> {
    let done = sqlx::query(
        "DELETE FROM messages
         WHERE queue = ?1 AND key = ?2 AND NOT (tag IS NOT NULL AND visible_at > ?3)",
    )
    .bind(queue)
    .bind(key)
    .bind(now)
    .execute(&mut *conn)
    .await
    .map_err(backend)?;
    Ok(done.rows_affected())
}

/// (all messages, in flight) of `queue`.
pub(super) async fn depth(
    conn: &mut SqliteConnection,
    queue: &str,
    now: i64,
) -> Result<(i64, i64), BusError> {
    sqlx::query_as(
        "SELECT COUNT(*), COALESCE(SUM(tag IS NOT NULL AND visible_at > ?2), 0)
         FROM messages WHERE queue = ?1",
    )
    .bind(queue)
    .bind(now)
    .fetch_one(&mut *conn)
    .await
    .map_err(backend)
}

fn encode_headers(headers: &BTreeMap<String, String>) -> Result<String, BusError> {
    serde_json::to_string(headers).map_err(|e| BusError::Backend(format!("encoding headers: {e}")))
}

fn decode_headers(stored: &str, id: &str) -> Result<BTreeMap<String, String>, BusError> {
    serde_json::from_str(stored).map_err(|e| {
        BusError::Backend(format!("stored headers of message `{id}` are corrupt: {e}"))
    })
}
