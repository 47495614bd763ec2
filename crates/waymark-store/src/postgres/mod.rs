//! The store on PostgreSQL ([`PgStore`]): the same tables as the SQLite store
//! (`migrations_pg/`, applied at connect), the same answers, the same guarantees.
//!
//! Transactions run at READ COMMITTED and take explicit locks before they read what they
//! decide on: the person's row `FOR UPDATE` (so of two concurrent changes of one person with the
//! same expected version exactly one wins), a subscription's counter row (gap-free event
//! numbers), and transaction-scoped advisory locks where the decision is about a row that does
//! not exist yet (a message not yet applied, an identifier not yet linked, a Consent's next
//! version). Errors never quote a bound value (see [`support::db`]).

mod apply;
mod audit;
mod consent;
mod events;
mod history;
mod identity;
mod merge;
mod numbers;
mod quarantine;
mod record;
mod review;
mod schema;
mod subscription;
mod support;

use std::{str::FromStr, time::Duration};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{
    PgPool,
    postgres::{PgConnectOptions, PgPoolOptions},
};
use waymark_core::{MessageId, Sensitive};

use crate::{
    ApplyOutcome, Candidate, Counts, IdentifierLink, IdentityEvent, MergeRequest, NewConsent,
    NewRecord, NumberedEvent, PathwayEvent, PersonInfo, QuarantineEntry, QuarantineSummary,
    Quarantined, RecordChange, RecordOutcome, Resolution, Review, ReviewDecision, Store,
    StoreError, StoredConsent, StoredEntry, StoredRecord, StoredSubscription, StrongId,
    UnmergeRequest,
};
use schema::{check_migrated, migrator};
use support::db;
pub(crate) use support::db as db_error;

/// How [`PgStore::connect_with`] connects.
#[derive(Clone, Debug)]
pub struct PgOptions {
    /// Connections in the pool.
    pub max_connections: u32,
    /// How long an operation waits for a connection (while the server is down, operations
    /// fail with [`StoreError::Backend`] after this long).
    pub acquire_timeout: Duration,
    /// Apply the migrations (needs the owner role). When false, the schema is only checked to
    /// be up to date, so the hub can run as a role with data rights only (`waymark_hub`).
    pub migrate: bool,
}

impl Default for PgOptions {
    fn default() -> Self {
        Self {
            max_connections: 8,
            acquire_timeout: Duration::from_secs(10),
            migrate: true,
        }
    }
}

/// The store on PostgreSQL.
#[derive(Clone, Debug)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Connects to `url` (`postgres://user:password@host:port/database`), applies the
    /// migrations and keeps a pool. A pool whose server restarted reconnects by itself.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(url, &PgOptions::default()).await
    }

    /// [`PgStore::connect`] with explicit options.
    pub async fn connect_with(url: &str, options: &PgOptions) -> Result<Self, StoreError> {
        let connect = PgConnectOptions::from_str(url)
            .map_err(|_| StoreError::Backend("the PostgreSQL URL is not valid".to_owned()))?;
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections)
            .acquire_timeout(options.acquire_timeout)
            .test_before_acquire(true)
            .connect_with(connect)
            .await
            .map_err(db)?;
        if options.migrate {
            migrator().run(&pool).await.map_err(|e| db(e.into()))?;
        } else {
            check_migrated(&pool).await?;
        }
        Ok(Self { pool })
    }

    /// Applies many changes in **one** transaction, with exactly the statements of
    /// [`Store::apply`]. For loading test and benchmark populations only: one failing change
    /// rolls back the whole batch. Returns how many changes were applied now. Each change holds
    /// one advisory lock per message and identifier until the batch commits: keep batches
    /// within the server's lock table (`max_locks_per_transaction` × `max_connections`; 5,000
    /// changes of two identifiers fit the project's test server).
    pub async fn bulk_load(&self, changes: Vec<RecordChange>) -> Result<u64, StoreError> {
        apply::apply_many(&self.pool, &changes).await
    }

    /// Closes the pool: waits for connections in use to be returned.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

#[async_trait]
impl Store for PgStore {
    async fn quarantine(&self, entry: QuarantineEntry) -> Result<(), StoreError> {
        quarantine::keep(&self.pool, entry).await
    }

    async fn record(&self, record: NewRecord) -> Result<RecordOutcome, StoreError> {
        record::record(&self.pool, record).await
    }

    async fn event_numbers(
        &self,
        event: &MessageId,
        subscriptions: &[String],
    ) -> Result<Vec<u64>, StoreError> {
        numbers::event_numbers(&self.pool, event, subscriptions).await
    }

    async fn quarantined(&self, limit: u32) -> Result<Vec<QuarantineSummary>, StoreError> {
        quarantine::newest(&self.pool, limit).await
    }

    async fn quarantined_for_redrive(
        &self,
        stage: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Quarantined>, StoreError> {
        quarantine::for_redrive(&self.pool, stage, after, limit).await
    }

    async fn quarantine_entry(
        &self,
        message_id: &str,
    ) -> Result<Option<QuarantineSummary>, StoreError> {
        quarantine::entry(&self.pool, message_id).await
    }

    async fn resolve_quarantined(
        &self,
        message_id: &str,
        resolution: &Resolution,
    ) -> Result<bool, StoreError> {
        quarantine::resolve(&self.pool, message_id, resolution).await
    }

    async fn put_consent(&self, consent: NewConsent) -> Result<PathwayEvent, StoreError> {
        consent::put(&self.pool, consent).await
    }

    async fn consents(&self, person_id: &str) -> Result<Vec<StoredConsent>, StoreError> {
        consent::current(&self.pool, person_id).await
    }

    async fn withdraw_consent(
        &self,
        person_id: &str,
        consent_id: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<PathwayEvent>, StoreError> {
        consent::withdraw(&self.pool, person_id, consent_id, at).await
    }

    async fn past_recipients(&self, person_id: &str) -> Result<Vec<String>, StoreError> {
        consent::past_recipients(&self.pool, person_id).await
    }

    async fn consent_holders(&self, consent_id: &str) -> Result<Vec<String>, StoreError> {
        consent::holders(&self.pool, consent_id).await
    }

    async fn latest_bundle(
        &self,
        person_id: &str,
    ) -> Result<Option<Sensitive<String>>, StoreError> {
        record::latest_bundle(&self.pool, person_id).await
    }

    async fn counts(&self) -> Result<Counts, StoreError> {
        record::counts(&self.pool).await
    }

    async fn find_by_identifiers(
        &self,
        ids: &[StrongId],
    ) -> Result<Vec<IdentifierLink>, StoreError> {
        identity::find_by_identifiers(&self.pool, ids).await
    }

    async fn candidates(&self, keys: &[String], limit: u32) -> Result<Vec<Candidate>, StoreError> {
        identity::candidates(&self.pool, keys, limit).await
    }

    async fn person(&self, person_id: &str) -> Result<Option<PersonInfo>, StoreError> {
        identity::person(&self.pool, person_id).await
    }

    async fn person_record(&self, person_id: &str) -> Result<Option<StoredRecord>, StoreError> {
        identity::person_record(&self.pool, person_id).await
    }

    async fn entries(&self, person_id: &str) -> Result<Vec<StoredEntry>, StoreError> {
        identity::entries(&self.pool, person_id).await
    }

    async fn apply(&self, change: RecordChange) -> Result<ApplyOutcome, StoreError> {
        apply::apply(&self.pool, change).await
    }

    async fn reviews(&self, open_only: bool, limit: u32) -> Result<Vec<Review>, StoreError> {
        review::list(&self.pool, open_only, limit).await
    }

    async fn review(&self, review_id: &str) -> Result<Option<Review>, StoreError> {
        review::one(&self.pool, review_id).await
    }

    async fn decide_review(
        &self,
        review_id: &str,
        decision: ReviewDecision,
    ) -> Result<Review, StoreError> {
        review::decide(&self.pool, review_id, decision).await
    }

    async fn merge_persons(&self, merge: MergeRequest) -> Result<IdentityEvent, StoreError> {
        merge::merge(&self.pool, merge).await
    }

    async fn unmerge(&self, unmerge: UnmergeRequest) -> Result<IdentityEvent, StoreError> {
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
        subscription::put(&self.pool, id, body, status, expected_version).await
    }

    async fn subscription(&self, id: &str) -> Result<Option<StoredSubscription>, StoreError> {
        subscription::one(&self.pool, id).await
    }

    async fn subscriptions(&self) -> Result<Vec<StoredSubscription>, StoreError> {
        subscription::all(&self.pool).await
    }

    async fn delete_subscription(&self, id: &str) -> Result<bool, StoreError> {
        subscription::delete(&self.pool, id).await
    }

    async fn set_subscription_status(&self, id: &str, status: &str) -> Result<bool, StoreError> {
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
