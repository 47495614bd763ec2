//! The store: persons and their identity links, the longitudinal record with provenance, the
//! quarantine, pathway events and per-subscription event numbers.
//!
//! [`Store`] is the one trait; [`SqliteStore`] is the embedded implementation (PostgreSQL comes
//! with its own implementation of the same trait). Every write is keyed by a stable id, so
//! applying the same message twice is a no-op.
//!
//! This crate must never interpret FHIR beyond what it is handed, and never log stored content.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod consent;
mod model;
mod redrive;
mod sqlite;

pub use consent::CONSENT_CHANGED;
pub use model::{
    Counts, NewConsent, NewRecord, PathwayEvent, QuarantineEntry, QuarantineSummary, Quarantined,
    RecordOutcome, Resolution, StoredConsent, StrongId,
};
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
}

impl ErrorCode for StoreError {
    fn code(&self) -> &'static str {
        match self {
            Self::Backend(_) => "store.backend",
            Self::NoIdentifier(_) => "store.no-identifier",
            Self::ConflictingIdentity(_) => "store.conflicting-identity",
        }
    }

    fn issue_type(&self) -> IssueType {
        match self {
            Self::Backend(_) => IssueType::Transient,
            Self::NoIdentifier(_) => IssueType::Required,
            Self::ConflictingIdentity(_) => IssueType::Processing,
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
    /// number on every later call.
    async fn event_number(&self, subscription: &str, event: &MessageId) -> Result<u64, StoreError>;

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

    /// Subscriptions that were given an event number for an event about the person (other than
    /// `consent.changed`): the past recipients a recall notice goes to.
    async fn past_recipients(&self, person_id: &str) -> Result<Vec<String>, StoreError>;

    /// The canonical bundle most recently recorded for the person (patient data), if any.
    async fn latest_bundle(
        &self,
        person_id: &str,
    ) -> Result<Option<waymark_core::Sensitive<String>>, StoreError>;

    /// Totals, for the demo, health and tests.
    async fn counts(&self) -> Result<Counts, StoreError>;
}
