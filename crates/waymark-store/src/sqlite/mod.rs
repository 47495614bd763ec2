//! The embedded store on SQLite (WAL, `synchronous=FULL`: a write that returned is durable).
//!
//! Write transactions start with `BEGIN IMMEDIATE`: a deferred transaction that reads and then
//! writes fails at once with `SQLITE_BUSY` when another connection is writing, whatever the busy
//! timeout, whereas an immediate one waits for the lock. Writers are therefore serialised, which
//! is what makes the version checks of `apply`, `merge_persons` and `unmerge` race-free.
//!
//! Within one process, writers also queue on an async mutex before they ask SQLite for the
//! lock: SQLite's busy handler waits by sleeping (up to 100 ms at a time), so writers that
//! collide in SQLite lose far more time than writers that wait their turn in a fair queue.
//! Reads never take it (WAL: they run beside the writer).
//!
//! Idempotency: `record_entry`, `pathway_event` and `quarantine` are keyed by message id and
//! written with the person links in one transaction, so a redelivered message finds its entry
//! and returns the stored outcome unchanged.

mod apply;
mod audit;
mod basic;
mod bulk;
pub(crate) mod common;
pub(crate) mod history;
mod legacy;
mod merge;
mod read;
mod review;
mod subscription;

use std::{path::Path, str::FromStr, sync::Arc, time::Duration};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use tokio::sync::Mutex;
use waymark_core::{MessageId, Sensitive};

pub(crate) use basic::summary_from_row;

use crate::{
    ApplyOutcome, Candidate, Counts, IdentifierLink, IdentityEvent, MergeRequest, NewConsent,
    NewRecord, NumberedEvent, PathwayEvent, PersonInfo, QuarantineEntry, QuarantineSummary,
    Quarantined, RecordChange, RecordOutcome, Resolution, Review, ReviewDecision, Store,
    StoreError, StoredConsent, StoredEntry, StoredRecord, StoredSubscription, StrongId,
    UnmergeRequest,
};

/// The embedded store.
#[derive(Clone, Debug)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// Held by every write of this process (see the module docs).
    write: Arc<Mutex<()>>,
}

impl SqliteStore {
    /// Opens (creating if needed) the store file and applies migrations.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str("sqlite://")?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations")
            .run(&pool)
            .await
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        Ok(Self {
            pool,
            write: Arc::new(Mutex::new(())),
        })
    }

    /// Applies many changes in **one** transaction, writing exactly the rows of
    /// [`Store::apply`] (so the tables and indexes are those of production): new persons with
    /// multi-row inserts, anything else with `apply`'s own statements. For loading test and
    /// benchmark populations only: the loading connection runs with `synchronous = OFF` (restored
    /// to `FULL` before it returns to the pool), one failing change rolls back the whole batch,
    /// and the batch holds the write lock throughout. Returns how many changes were applied now.
    pub async fn bulk_load(&self, changes: Vec<RecordChange>) -> Result<u64, StoreError> {
        let _turn = self.write.lock().await;
        bulk::load(&self.pool, &changes).await
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn quarantine(&self, entry: QuarantineEntry) -> Result<(), StoreError> {
        let _turn = self.write.lock().await;
        basic::quarantine(&self.pool, entry).await
    }

    async fn record(&self, record: NewRecord) -> Result<RecordOutcome, StoreError> {
        let _turn = self.write.lock().await;
        legacy::record(&self.pool, record).await
    }

    async fn event_numbers(
        &self,
        event: &MessageId,
        subscriptions: &[String],
    ) -> Result<Vec<u64>, StoreError> {
        let _turn = self.write.lock().await;
        basic::event_numbers(&self.pool, event, subscriptions).await
    }

    async fn quarantined(&self, limit: u32) -> Result<Vec<QuarantineSummary>, StoreError> {
        basic::quarantined(&self.pool, limit).await
    }

    async fn quarantined_for_redrive(
        &self,
        stage: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Quarantined>, StoreError> {
        crate::redrive::for_redrive(&self.pool, stage, after, limit).await
    }

    async fn quarantine_entry(
        &self,
        message_id: &str,
    ) -> Result<Option<QuarantineSummary>, StoreError> {
        crate::redrive::entry(&self.pool, message_id).await
    }

    async fn resolve_quarantined(
        &self,
        message_id: &str,
        resolution: &Resolution,
    ) -> Result<bool, StoreError> {
        let _turn = self.write.lock().await;
        crate::redrive::resolve(&self.pool, message_id, resolution).await
    }

    async fn put_consent(&self, consent: NewConsent) -> Result<PathwayEvent, StoreError> {
        let _turn = self.write.lock().await;
        crate::consent::put(&self.pool, consent).await
    }

    async fn consents(&self, person_id: &str) -> Result<Vec<StoredConsent>, StoreError> {
        crate::consent::current(&self.pool, person_id).await
    }

    async fn withdraw_consent(
        &self,
        person_id: &str,
        consent_id: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<PathwayEvent>, StoreError> {
        let _turn = self.write.lock().await;
        crate::consent::withdraw(&self.pool, person_id, consent_id, at).await
    }

    async fn past_recipients(&self, person_id: &str) -> Result<Vec<String>, StoreError> {
        crate::consent::past_recipients(&self.pool, person_id).await
    }

    async fn consent_holders(&self, consent_id: &str) -> Result<Vec<String>, StoreError> {
        crate::consent::holders(&self.pool, consent_id).await
    }

    async fn latest_bundle(
        &self,
        person_id: &str,
    ) -> Result<Option<Sensitive<String>>, StoreError> {
        basic::latest_bundle(&self.pool, person_id).await
    }

    async fn counts(&self) -> Result<Counts, StoreError> {
        basic::counts(&self.pool).await
    }

    async fn find_by_identifiers(
        &self,
        ids: &[StrongId],
    ) -> Result<Vec<IdentifierLink>, StoreError> {
        read::find_by_identifiers(&self.pool, ids).await
    }

    async fn candidates(&self, keys: &[String], limit: u32) -> Result<Vec<Candidate>, StoreError> {
        read::candidates(&self.pool, keys, limit).await
    }

    async fn person(&self, person_id: &str) -> Result<Option<PersonInfo>, StoreError> {
        read::person(&self.pool, person_id).await
    }

    async fn person_record(&self, person_id: &str) -> Result<Option<StoredRecord>, StoreError> {
        read::person_record(&self.pool, person_id).await
    }

    async fn entries(&self, person_id: &str) -> Result<Vec<StoredEntry>, StoreError> {
        read::entries(&self.pool, person_id).await
    }

    async fn apply(&self, change: RecordChange) -> Result<ApplyOutcome, StoreError> {
        let _turn = self.write.lock().await;
        apply::apply(&self.pool, change).await
    }

    async fn reviews(&self, open_only: bool, limit: u32) -> Result<Vec<Review>, StoreError> {
        review::list(&self.pool, open_only, limit).await
    }

    async fn review(&self, review_id: &str) -> Result<Option<Review>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        review::get(&mut conn, review_id).await
    }

    async fn decide_review(
        &self,
        review_id: &str,
        decision: ReviewDecision,
    ) -> Result<Review, StoreError> {
        let _turn = self.write.lock().await;
        review::decide(&self.pool, review_id, decision).await
    }

    async fn merge_persons(&self, merge: MergeRequest) -> Result<IdentityEvent, StoreError> {
        let _turn = self.write.lock().await;
        merge::merge(&self.pool, merge).await
    }

    async fn unmerge(&self, unmerge: UnmergeRequest) -> Result<IdentityEvent, StoreError> {
        let _turn = self.write.lock().await;
        merge::unmerge(&self.pool, unmerge).await
    }

    async fn identity_history(&self, person_id: &str) -> Result<Vec<IdentityEvent>, StoreError> {
        history::history(&self.pool, person_id).await
    }

    async fn put_subscription(
        &self,
        id: &str,
        body: &str,
        status: &str,
        expected_version: Option<u64>,
    ) -> Result<u64, StoreError> {
        let _turn = self.write.lock().await;
        subscription::put(&self.pool, id, body, status, expected_version).await
    }

    async fn subscription(&self, id: &str) -> Result<Option<StoredSubscription>, StoreError> {
        subscription::one(&self.pool, id).await
    }

    async fn subscriptions(&self) -> Result<Vec<StoredSubscription>, StoreError> {
        subscription::all(&self.pool).await
    }

    async fn delete_subscription(&self, id: &str) -> Result<bool, StoreError> {
        let _turn = self.write.lock().await;
        subscription::delete(&self.pool, id).await
    }

    async fn set_subscription_status(&self, id: &str, status: &str) -> Result<bool, StoreError> {
        let _turn = self.write.lock().await;
        subscription::set_status(&self.pool, id, status).await
    }

    async fn subscription_events(
        &self,
        id: &str,
        since: u64,
        until: u64,
        limit: u32,
    ) -> Result<Vec<NumberedEvent>, StoreError> {
        subscription::events(&self.pool, id, since, until, limit).await
    }

    async fn events_since_start(&self, id: &str) -> Result<u64, StoreError> {
        subscription::since_start(&self.pool, id).await
    }
}
