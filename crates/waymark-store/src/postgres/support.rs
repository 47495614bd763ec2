//! What every PostgreSQL query needs: errors that never carry bound values, row access, locks.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, Row, postgres::PgRow};

use crate::StoreError;
use crate::shared::codec::{to_u64, ts};

/// A sqlx error as a [`StoreError::Backend`] that names what failed (SQLSTATE, constraint,
/// kind) but never quotes a value: a database error's message or detail may include the bound
/// value that caused it, which is patient data.
pub(crate) fn db(e: sqlx::Error) -> StoreError {
    StoreError::Backend(describe(&e))
}

fn describe(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(d) => {
            let code = d.code().map(|c| c.into_owned()).unwrap_or_default();
            let constraint = d
                .constraint()
                .map(|c| format!(" on `{c}`"))
                .unwrap_or_default();
            format!("postgres: {} (SQLSTATE {code}){constraint}", class(&code))
        }
        sqlx::Error::ColumnDecode { index, .. } => {
            format!("postgres: cannot decode column {index}")
        }
        sqlx::Error::Decode(_) => "postgres: cannot decode a value".to_owned(),
        sqlx::Error::Encode(_) => "postgres: cannot encode a value".to_owned(),
        other => format!("postgres: {other}"),
    }
}

/// The SQLSTATE class, in words.
fn class(code: &str) -> &'static str {
    match code.get(..2) {
        Some("08") => "connection failure",
        Some("23") => "integrity constraint violated",
        Some("25") => "invalid transaction state",
        Some("28") => "authorisation failed",
        Some("40") => "transaction rolled back",
        Some("42") => "access rule or syntax error",
        Some("53") => "insufficient resources",
        Some("57") => "server shutting down or operator intervention",
        Some("58") => "system error",
        _ => "database error",
    }
}

/// Column `i` of a row.
pub(crate) fn get<'r, T>(row: &'r PgRow, i: usize) -> Result<T, StoreError>
where
    T: sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
{
    row.try_get(i).map_err(db)
}

/// An optional time column as RFC 3339.
pub(crate) fn opt_rfc3339(row: &PgRow, i: usize) -> Result<Option<String>, StoreError> {
    Ok(get::<Option<DateTime<Utc>>>(row, i)?.map(ts))
}

/// A count column as `u64` (never negative).
pub(crate) fn count(row: &PgRow, i: usize) -> Result<u64, StoreError> {
    Ok(to_u64(get(row, i)?))
}

/// Takes the transaction-scoped advisory locks of `keys` (e.g. `msg:<id>`, `id:<system>|<value>`),
/// always in the same order (by their 64-bit hash), so two transactions that need overlapping
/// sets queue up instead of deadlocking. They are released at commit or rollback. Used where a
/// write depends on the absence of a row (a message not yet applied, an identifier not yet
/// linked, a consent's next version), which no row lock can cover.
pub(crate) async fn lock_keys(conn: &mut PgConnection, keys: &[String]) -> Result<(), StoreError> {
    if keys.is_empty() {
        return Ok(());
    }
    // One round trip: the subquery (DISTINCT, so never flattened) yields the hashes sorted,
    // and the outer projection takes each lock as its row comes out, in that order.
    sqlx::query(
        "SELECT pg_advisory_xact_lock(h) FROM (SELECT DISTINCT hashtextextended(k, 0) AS h \
         FROM unnest($1::text[]) AS k ORDER BY h) AS sorted",
    )
    .bind(keys)
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    Ok(())
}

/// The lock key of a message id.
pub(crate) fn message_key(message_id: &str) -> String {
    format!("msg:{message_id}")
}

/// The lock key of a strong identifier.
pub(crate) fn identifier_key(system: &str, value: &str) -> String {
    format!("id:{system}\u{1f}{value}")
}

/// The lock key of a person's Consent.
pub(crate) fn consent_key(person_id: &str, consent_id: &str) -> String {
    format!("consent:{person_id}\u{1f}{consent_id}")
}

#[cfg(test)]
mod tests {
    use sqlx::{Connection, Executor};

    use super::*;

    /// A real unique violation and a real bad cast, each with a canary value: the mapped error
    /// names the SQLSTATE and the constraint, never the value (PostgreSQL puts it in the detail
    /// and in the message of a failed cast). Needs `WAYMARK_PG_URL`.
    #[tokio::test]
    async fn errors_never_quote_bound_values() {
        let url = std::env::var("WAYMARK_PG_URL")
            .expect("WAYMARK_PG_URL is not set: run deploy/local/postgres.sh and source its env");
        let mut conn = PgConnection::connect(&url)
            .await
            .expect("PostgreSQL unreachable");
        conn.execute("CREATE TEMP TABLE canary (v TEXT CONSTRAINT canary_key PRIMARY KEY)")
            .await
            .expect("temp table");
        let insert = "INSERT INTO canary (v) VALUES ($1)";
        sqlx::query(insert)
            .bind("CANARY-9431")
            .execute(&mut conn)
            .await
            .expect("first");
        let duplicate = sqlx::query(insert)
            .bind("CANARY-9431")
            .execute(&mut conn)
            .await;
        let text = db(duplicate.expect_err("duplicate")).to_string();
        assert!(
            text.contains("23505") && text.contains("canary_key"),
            "{text}"
        );
        assert!(!text.contains("CANARY-9431"), "{text}");
        let cast = sqlx::query("SELECT $1::bigint")
            .bind("CANARY-77")
            .execute(&mut conn)
            .await;
        let text = db(cast.expect_err("cast")).to_string();
        assert!(
            text.contains("22P02") && !text.contains("CANARY-77"),
            "{text}"
        );
    }
}
