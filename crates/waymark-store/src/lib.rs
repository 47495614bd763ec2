//! The store: persons and their identity links, the longitudinal record with provenance, the
//! quarantine, pathway events, subscriptions and per-subscription event numbers.
//!
//! [`Store`] is the one trait; [`SqliteStore`] is the embedded implementation (PostgreSQL comes
//! with its own implementation of the same trait). Every write is keyed by a stable id, so
//! applying the same message twice is a no-op.
//!
//! This crate must never interpret FHIR beyond what it is handed, and never log stored content.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod audit;
pub mod backup;
#[cfg(feature = "conformance")]
pub mod conformance;
mod consent;
mod model;
mod open;
mod person;
#[cfg(feature = "postgres")]
mod postgres;
mod redrive;
mod shared;
mod sqlite;

pub use audit::{AuditLog, AuditQuery, open_audit, verify_log};
pub use consent::CONSENT_CHANGED;
pub use model::{
    Counts, NewConsent, NewRecord, NumberedEvent, PathwayEvent, QuarantineEntry, QuarantineSummary,
    Quarantined, RecordOutcome, Resolution, StoredConsent, StoredSubscription, StrongId,
};
pub use open::open;
pub use person::{
    ApplyOutcome, Candidate, IdentifierLink, IdentityEvent, IdentityEventKind, MergeRequest,
    NewEvent, NewReview, PersonChoice, PersonInfo, RecordChange, Review, ReviewCandidate,
    ReviewDecision, ReviewStatus, StoredEntry, StoredRecord, UnmergeRequest,
};
#[cfg(feature = "postgres")]
pub use postgres::{PgOptions, PgStore};
pub use sqlite::SqliteStore;

use async_trait::async_trait;
use waymark_core::{ErrorCode, IssueType, MessageId};

/// What can go wrong in a store. Messages never contain stored content.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database failed; retry later.
    #[error("store backend failed: {0}")]
    Backend(String),
    /// The record names no strong identifier, so it cannot be linked to a person.
    #[error("record `{0}` carries no strong identifier")]
    NoIdentifier(MessageId),
    /// Two strong identifiers in one record point at two different persons.
    #[error("record `{0}` links identifiers that belong to two different persons")]
    ConflictingIdentity(MessageId),
    /// The person's record (or the subscription) named changed since the caller read it:
    /// re-read and retry. For a subscription, also: created when it exists, or changed when it
    /// does not.
    #[error("`{0}` changed since it was read")]
    VersionConflict(String),
    /// No such person.
    #[error("person `{0}` is not known")]
    UnknownPerson(String),
    /// The person was merged into another and can no longer be changed directly.
    #[error("person `{0}` is merged into another person")]
    PersonNotActive(String),
    /// The merge would make a person part of itself.
    #[error("merging `{0}` into `{1}` would create a cycle")]
    MergeCycle(String, String),
    /// No such review item, or no such merge to undo.
    #[error("`{0}` is not known")]
    UnknownReference(String),
    /// The request contradicts the stored state (e.g. deciding a review as `open`, undoing a
    /// merge twice).
    #[error("refused: {0}")]
    Refused(&'static str),
}

impl ErrorCode for StoreError {
    fn code(&self) -> &'static str {
        match self {
            Self::Backend(_) => "store.backend",
            Self::NoIdentifier(_) => "store.no-identifier",
            Self::ConflictingIdentity(_) => "store.conflicting-identity",
            Self::VersionConflict(_) => "store.version-conflict",
            Self::UnknownPerson(_) => "store.unknown-person",
            Self::PersonNotActive(_) => "store.person-not-active",
            Self::MergeCycle(..) => "store.merge-cycle",
            Self::UnknownReference(_) => "store.unknown-reference",
            Self::Refused(_) => "store.refused",
        }
    }

    fn issue_type(&self) -> IssueType {
        match self {
            Self::Backend(_) | Self::VersionConflict(_) => IssueType::Transient,
            Self::NoIdentifier(_) => IssueType::Required,
            Self::ConflictingIdentity(_) | Self::MergeCycle(..) | Self::Refused(_) => {
                IssueType::Processing
            }
            Self::UnknownPerson(_) | Self::UnknownReference(_) => IssueType::NotFound,
            Self::PersonNotActive(_) => IssueType::Processing,
        }
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        Self::Backend(e.to_string())
    }
}

/// The hub's durable state.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Keeps a refused message with its reason (idempotent on message id: refusing an
    /// unresolved entry again changes nothing). Refusing a message whose entry was resolved
    /// (re-driven and refused again) re-opens that entry with the new reason, so a failed
    /// re-drive is never lost.
    async fn quarantine(&self, entry: QuarantineEntry) -> Result<(), StoreError>;

    /// Links the record to a person by its strong identifiers and appends it to that person's
    /// record, raising its pathway event. Applying the same message again changes nothing and
    /// returns the same outcome.
    async fn record(&self, record: NewRecord) -> Result<RecordOutcome, StoreError>;

    /// The event number of `event` for `subscription`: the next number on first call, the same
    /// number on every later call (a batch of one of [`Store::event_numbers`]).
    async fn event_number(&self, subscription: &str, event: &MessageId) -> Result<u64, StoreError> {
        let numbers = self
            .event_numbers(event, &[subscription.to_owned()])
            .await?;
        numbers
            .first()
            .copied()
            .ok_or_else(|| StoreError::Backend("no event number was given".to_owned()))
    }

    /// The event numbers of `event` for each of `subscriptions`, in their order, in **one**
    /// transaction: for each, what [`Store::event_number`] would return (the next number on
    /// first call, the same number on every later call; a subscription named twice gets one
    /// number). An empty list writes nothing.
    async fn event_numbers(
        &self,
        event: &MessageId,
        subscriptions: &[String],
    ) -> Result<Vec<u64>, StoreError>;

    /// Quarantine entries, newest first (reasons only, no content).
    async fn quarantined(&self, limit: u32) -> Result<Vec<QuarantineSummary>, StoreError>;

    /// Unresolved quarantine entries refused by `stage`, oldest first, with their original bytes
    /// (for re-drive; the bytes are patient data: never log them). `after` is the message id of
    /// the last entry of the previous page (`None` for the first page).
    async fn quarantined_for_redrive(
        &self,
        stage: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Quarantined>, StoreError>;

    /// One quarantine entry's reasons and outcome (no content), resolved or not.
    async fn quarantine_entry(
        &self,
        message_id: &str,
    ) -> Result<Option<QuarantineSummary>, StoreError>;

    /// Marks an entry resolved (re-driven), keeping it for audit, and counts the re-drive.
    /// False when it is unknown or was resolved before.
    async fn resolve_quarantined(
        &self,
        message_id: &str,
        resolution: &Resolution,
    ) -> Result<bool, StoreError>;

    /// Stores a new version of a person's Consent and raises its `consent.changed` pathway
    /// event (event id `consent/<person>/<consent id>/v<version>`).
    async fn put_consent(&self, consent: NewConsent) -> Result<PathwayEvent, StoreError>;

    /// The current version of each of the person's Consents, read now (never cached).
    async fn consents(&self, person_id: &str) -> Result<Vec<StoredConsent>, StoreError>;

    /// Withdraws a Consent: a new version with status `inactive` (in the JSON too), and a
    /// `consent.changed` pathway event, which is returned. A Consent withdrawn before returns
    /// the event of that withdrawal (so a caller can finish its purge and recall); `None` only
    /// when the person has no such Consent.
    async fn withdraw_consent(
        &self,
        person_id: &str,
        consent_id: &str,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<PathwayEvent>, StoreError>;

    /// Subscriptions that were given an event number for an event about the person, or about a
    /// person merged into it (other than `consent.changed`): the past recipients a recall
    /// notice goes to.
    async fn past_recipients(&self, person_id: &str) -> Result<Vec<String>, StoreError>;

    /// The persons holding a Consent with id `consent_id` (distinct, by person id): how the
    /// API reads a Consent by its id alone.
    async fn consent_holders(&self, consent_id: &str) -> Result<Vec<String>, StoreError>;

    /// The canonical bundle most recently recorded for the person (patient data), if any.
    async fn latest_bundle(
        &self,
        person_id: &str,
    ) -> Result<Option<waymark_core::Sensitive<String>>, StoreError>;

    /// Totals, for the demo, health and tests (persons: active ones only).
    async fn counts(&self) -> Result<Counts, StoreError>;

    // ---- identity and the longitudinal record -------------------------------------------

    /// The links of those of `ids` the store knows, each to its active (surviving) person.
    async fn find_by_identifiers(
        &self,
        ids: &[StrongId],
    ) -> Result<Vec<IdentifierLink>, StoreError>;

    /// Active persons indexed under any of `keys` (distinct, at most `limit`), those indexed
    /// under more of the keys first, then by person id; each with at most 5 demographics, newest
    /// (recorded) first. Keys move with merges, so a merged person is found as its survivor.
    /// This is also the person search of the API.
    async fn candidates(&self, keys: &[String], limit: u32) -> Result<Vec<Candidate>, StoreError>;

    /// The person: active, or merged into whom. `None` when unknown.
    async fn person(&self, person_id: &str) -> Result<Option<PersonInfo>, StoreError>;

    /// The person's merged record, `None` before the first entry.
    async fn person_record(&self, person_id: &str) -> Result<Option<StoredRecord>, StoreError>;

    /// The entries applied to the person (including those merged in), by source event time (the
    /// recorded time when the source gave none) then message id.
    async fn entries(&self, person_id: &str) -> Result<Vec<StoredEntry>, StoreError>;

    /// Applies one message's change in one transaction: creates the person if new, links the
    /// identifiers, indexes the blocking keys and demographics, appends the entry, replaces the
    /// record (checking `expected_version`), raises the events and opens the review. A message
    /// applied before (by `apply` or `record`) changes nothing and returns
    /// [`ApplyOutcome::AlreadyApplied`], whatever the repeat says; that check comes first.
    /// Identity history: `created` for a new person, `linked` when an identifier was linked to
    /// the person for the first time (ids `message_id.child("identity/created")` and
    /// `.child("identity/linked")`, by `record-stage`, reference the message). Empty
    /// demographics are not indexed.
    async fn apply(&self, change: RecordChange) -> Result<ApplyOutcome, StoreError>;

    /// Review items, oldest first; only open ones when `open_only`.
    async fn reviews(&self, open_only: bool, limit: u32) -> Result<Vec<Review>, StoreError>;

    /// One review item.
    async fn review(&self, review_id: &str) -> Result<Option<Review>, StoreError>;

    /// Records a human decision on an open review item (and an identity event). Deciding a
    /// decided item again with the same status returns it unchanged; a different status is
    /// refused. Merging is a separate [`Store::merge_persons`].
    async fn decide_review(
        &self,
        review_id: &str,
        decision: ReviewDecision,
    ) -> Result<Review, StoreError>;

    /// Merges one person into another (see [`MergeRequest`]); returns the merge's identity event
    /// (on `into`; its id names the merge). `from` gets a mirror event (id `<merge id>/from`).
    async fn merge_persons(&self, merge: MergeRequest) -> Result<IdentityEvent, StoreError>;

    /// Undoes a merge (see [`UnmergeRequest`]); returns the unmerge's identity event (on the
    /// survivor; `from` gets a mirror, id `<event id>/from`).
    async fn unmerge(&self, unmerge: UnmergeRequest) -> Result<IdentityEvent, StoreError>;

    /// The person's identity history, oldest first (by time, then as written), including that
    /// of persons merged into it (through chains) while they are merged. Empty when unknown.
    async fn identity_history(&self, person_id: &str) -> Result<Vec<IdentityEvent>, StoreError>;

    // ---- subscriptions (issue 9) ---------------------------------------------------------

    /// Stores subscription `id`: `body` (a `waymark_delivery::Subscription` as JSON, opaque
    /// here, holding the secret) and `status`, atomically checking `expected_version`: `None`
    /// writes whatever is stored (create or replace); `Some(0)` creates, and is a
    /// [`StoreError::VersionConflict`] when `id` exists; `Some(v)` replaces version `v`, and is a
    /// `VersionConflict` when `id` is at another version or does not exist. Returns the new
    /// version (1 on create, one more per change).
    async fn put_subscription(
        &self,
        id: &str,
        body: &str,
        status: &str,
        expected_version: Option<u64>,
    ) -> Result<u64, StoreError>;

    /// Subscription `id`, if it exists.
    async fn subscription(&self, id: &str) -> Result<Option<StoredSubscription>, StoreError>;

    /// Every subscription, by id (deleted ones are gone).
    async fn subscriptions(&self) -> Result<Vec<StoredSubscription>, StoreError>;

    /// Deletes subscription `id`; false when it did not exist. Its event numbers are kept, so a
    /// subscription re-created under the same id goes on numbering where it stopped.
    async fn delete_subscription(&self, id: &str) -> Result<bool, StoreError>;

    /// Sets the status of subscription `id` (one more version, whatever the status was); false
    /// when it does not exist.
    async fn set_subscription_status(&self, id: &str, status: &str) -> Result<bool, StoreError>;

    /// The events numbered for subscription `id` (by [`Store::event_number`]) with numbers
    /// `since..=until`, ascending, at most `limit`; each with its pathway event. The numbers
    /// outlive the subscription (they are answered after a delete too).
    async fn subscription_events(
        &self,
        id: &str,
        since: u64,
        until: u64,
        limit: u32,
    ) -> Result<Vec<NumberedEvent>, StoreError>;

    /// The highest event number given for subscription `id` (`eventsSinceSubscriptionStart`),
    /// 0 when none.
    async fn events_since_start(&self, id: &str) -> Result<u64, StoreError>;
}
