//! The audit trail's persistence: [`AuditLog`], implemented by both stores (tables of
//! `migrations*/0005_audit.sql`), [`open_audit`] by URL, and [`verify_log`], which checks a
//! whole stored log page by page against its stored head.
//!
//! An append reads the head, chains the record ([`waymark_audit::chain`]; a batch, each record
//! in order), inserts the entry and its person index rows and moves the head, in one transaction serialised on the head
//! (SQLite: the write lock and `BEGIN IMMEDIATE`; PostgreSQL: the head row `FOR UPDATE`), so
//! two appends can never fork the chain. Rows are append-only (triggers on both; on
//! PostgreSQL the runtime role also lacks UPDATE, DELETE and TRUNCATE on them).

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use waymark_audit::{AuditEntry, AuditRecord, Head, Tamper, TamperKind, Verified, Verifier, chain};

use crate::{StoreError, open::StoreUrl};

/// A privacy officer's search: every given condition must hold; pages by sequence.
#[derive(Clone, Debug, Default)]
pub struct AuditQuery {
    /// Entries about this person.
    pub person_id: Option<String>,
    /// Entries of this client (its client id or, without one, its token subject).
    pub client: Option<String>,
    /// Entries of this organisation.
    pub organisation: Option<String>,
    /// Entries recorded at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Entries recorded before this time.
    pub until: Option<DateTime<Utc>>,
    /// Entries after this sequence (0 for the first page; the last sequence of a page for the
    /// next).
    pub after_sequence: u64,
    /// At most this many entries.
    pub limit: u32,
}

/// The append-only, hash-chained audit log.
#[async_trait]
pub trait AuditLog: Send + Sync + 'static {
    /// Appends `record` as the next entry (its time cut to the microsecond) and returns it.
    /// When this fails, nothing was written: the caller must not return data.
    async fn append(&self, record: AuditRecord) -> Result<AuditEntry, StoreError>;

    /// Appends `records` as the next entries, chained in their order, in **one** transaction
    /// serialised on the head like [`AuditLog::append`], and returns them: all are written or
    /// none. An empty batch writes nothing.
    async fn append_all(&self, records: Vec<AuditRecord>) -> Result<Vec<AuditEntry>, StoreError>;

    /// Entries with a sequence above `after_sequence`, in sequence order, at most `limit`.
    async fn audit_entries(
        &self,
        after_sequence: u64,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, StoreError>;

    /// The stored head; `None` when its row is gone (the migration creates it: tampering).
    async fn head(&self) -> Result<Option<Head>, StoreError>;

    /// Entries matching `query`, in sequence order.
    async fn search(&self, query: &AuditQuery) -> Result<Vec<AuditEntry>, StoreError>;
}

/// Opens the audit log of the store a URL names (see [`crate::open`]), applying migrations.
pub async fn open_audit(url: &str) -> Result<Arc<dyn AuditLog>, StoreError> {
    match StoreUrl::parse(url)? {
        StoreUrl::Sqlite(path) => Ok(Arc::new(crate::SqliteStore::open(&path).await?)),
        #[cfg(feature = "postgres")]
        StoreUrl::Postgres(url) => Ok(Arc::new(crate::PgStore::connect(&url).await?)),
        #[cfg(not(feature = "postgres"))]
        StoreUrl::Postgres(_) => Err(StoreError::Refused(
            "this build has no PostgreSQL store (feature `postgres`)",
        )),
    }
}

/// Checks the whole stored log, `page` entries at a time, against the stored head. The outer
/// error is the store's (unreadable); the inner one the tampering found.
pub async fn verify_log(
    log: &dyn AuditLog,
    page: u32,
) -> Result<Result<Verified, Tamper>, StoreError> {
    let head = log.head().await?;
    let mut verifier = Verifier::default();
    let mut after = 0;
    loop {
        let entries = log.audit_entries(after, page.max(1)).await?;
        let Some(last) = entries.last() else { break };
        after = last.sequence;
        for entry in &entries {
            if let Err(tamper) = verifier.push(entry) {
                return Ok(Err(tamper));
            }
        }
    }
    let Some(head) = head else {
        return Ok(Err(Tamper {
            sequence: 0,
            kind: TamperKind::HeadMismatch,
        }));
    };
    Ok(verifier.finish(&head))
}

/// `records` chained after `head`, in order (pure: the backends insert what it returns).
pub(crate) fn chain_all(head: &Head, records: Vec<AuditRecord>) -> Vec<AuditEntry> {
    let mut head = head.clone();
    records
        .into_iter()
        .map(|record| {
            let entry = chain(&head, record);
            head = Head {
                sequence: entry.sequence,
                hash: entry.hash.clone(),
            };
            entry
        })
        .collect()
}

/// The time as stored in `recorded_at` (sortable text, the record's own form).
pub(crate) fn stored_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// An entry from its stored columns. A record that no longer reads (changed outside the hub)
/// becomes a stand-in with outcome `audit.unreadable` at the Unix epoch: its hash cannot match,
/// so verification reports the entry as modified, and an export shows it rather than hiding it.
pub(crate) fn entry_from(
    sequence: i64,
    prev_hash: String,
    hash: String,
    record: &str,
) -> Result<AuditEntry, StoreError> {
    let record = AuditRecord::from_json(record).unwrap_or_else(|_| {
        tracing::warn!(sequence, "an audit entry does not read as a record");
        AuditRecord::new(DateTime::UNIX_EPOCH, "", "", "audit.unreadable", 0)
    });
    Ok(AuditEntry {
        sequence: u64::try_from(sequence)
            .map_err(|_| StoreError::Backend("an audit sequence is negative".to_owned()))?,
        prev_hash,
        hash,
        record,
    })
}

/// The head from its stored columns.
pub(crate) fn head_from(sequence: i64, hash: String) -> Result<Head, StoreError> {
    let sequence = u64::try_from(sequence)
        .map_err(|_| StoreError::Backend("the audit head's sequence is negative".to_owned()))?;
    Ok(Head { sequence, hash })
}

/// The person ids of a record, once each.
pub(crate) fn persons(record: &AuditRecord) -> Vec<&str> {
    let mut ids: Vec<&str> = record.person_ids.iter().map(String::as_str).collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// `u64` as a database integer (saturating).
pub(crate) fn big(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
