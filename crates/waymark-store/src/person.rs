//! The values of identity resolution and the longitudinal record: what the record stage hands
//! the store after it has decided (purely, in `waymark-identity` and `waymark-record`) who a
//! bundle is about and what the person's merged record becomes.
//!
//! The store never interprets the JSON it is handed here (demographics, records, event details):
//! it keeps it, indexes it by the keys it is given, and applies each change atomically.

use chrono::{DateTime, Utc};
use serde::Serialize;
use waymark_core::{MessageId, Sensitive, SourceSystem};

use crate::{PathwayEvent, StrongId};

/// A strong identifier already linked to a person (the surviving person, after merges).
#[derive(Clone, Debug)]
pub struct IdentifierLink {
    /// Identifier system URI.
    pub system: String,
    /// The value (patient data).
    pub value: Sensitive<String>,
    /// The active person it is linked to.
    pub person_id: String,
}

/// An active person found under a blocking key, with every demographics JSON recorded for them
/// (newest first, at most a handful), for the pure matcher to score.
#[derive(Clone, Debug)]
pub struct Candidate {
    /// The person.
    pub person_id: String,
    /// `waymark_identity::Demographics` JSON, one per applied entry that carried demographics.
    pub demographics: Vec<Sensitive<String>>,
}

/// A person's merged record (`waymark_record::PersonRecord` JSON) and its version.
#[derive(Clone, Debug)]
pub struct StoredRecord {
    /// The person.
    pub person_id: String,
    /// 1 after the first entry; one more per change. Used for optimistic concurrency.
    pub version: u64,
    /// The record JSON (patient data).
    pub record: Sensitive<String>,
}

/// One applied message, as kept in the person's record.
#[derive(Clone, Debug)]
pub struct StoredEntry {
    /// The envelope's message id.
    pub message_id: String,
    /// The person the entry belongs to now.
    pub person_id: String,
    /// The person it was first applied to (differs after a merge; used by unmerge).
    pub origin_person_id: String,
    /// Source system (`SourceSystem::as_str`).
    pub source: String,
    /// The source's message type.
    pub message_type: String,
    /// Source event time, when the source gave one.
    pub event_time: Option<DateTime<Utc>>,
    /// When the hub recorded it.
    pub recorded_at: DateTime<Utc>,
    /// The canonical bundle JSON (patient data).
    pub bundle: Sensitive<String>,
}

/// Whom the record stage decided the message is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PersonChoice {
    /// A person the store already holds (active).
    Existing(String),
    /// Nobody known: the store creates a person with a fresh random id.
    New,
}

/// A pathway event to raise with the change. `detail` names what changed (item keys, focus
/// resource ids, kinds) and never carries patient values: events are logged and counted.
#[derive(Clone, Debug)]
pub struct NewEvent {
    /// Topic, e.g. `prison.reception`.
    pub topic: String,
    /// Source event time.
    pub event_time: DateTime<Utc>,
    /// What changed (no patient values).
    pub detail: serde_json::Value,
}

/// A candidate a human must decide about.
#[derive(Clone, Debug, Serialize)]
pub struct ReviewCandidate {
    /// The existing person who may be the same.
    pub person_id: String,
    /// The match score.
    pub score: f64,
    /// Per-field points (field names and numbers only, never values).
    pub breakdown: serde_json::Value,
}

/// A review item raised with a change: "the person this message created may be one of these".
#[derive(Clone, Debug)]
pub struct NewReview {
    /// Why, as a stable code: `identity.grey-zone`, `identity.conflicting-identifiers`,
    /// `identity.invalid-identifier`.
    pub reason: String,
    /// The existing persons it may be.
    pub candidates: Vec<ReviewCandidate>,
}

/// Everything one message changes, applied in one transaction, idempotent by `message_id`.
#[derive(Clone, Debug)]
pub struct RecordChange {
    /// The envelope it came from.
    pub message_id: MessageId,
    /// Source system.
    pub source: SourceSystem,
    /// The source's message type.
    pub message_type: String,
    /// Source event time, when given.
    pub event_time: Option<DateTime<Utc>>,
    /// When the hub recorded it.
    pub recorded_at: DateTime<Utc>,
    /// The canonical bundle JSON.
    pub bundle: Sensitive<String>,
    /// Whom it is about.
    pub person: PersonChoice,
    /// Valid strong identifiers to link to the person. One already linked to another person
    /// makes the change fail with [`StoreError::ConflictingIdentity`](crate::StoreError).
    pub identifiers: Vec<StrongId>,
    /// `waymark_identity::Demographics` JSON of this message's Patient.
    pub demographics: Sensitive<String>,
    /// Blocking keys the person is indexed under from now on (added to earlier ones).
    pub block_keys: Vec<String>,
    /// The record version the caller read (0 when the person had none, or is new). A different
    /// current version fails the change with `StoreError::VersionConflict`: re-read and retry.
    pub expected_version: u64,
    /// The person's merged record after this message.
    pub record: Sensitive<String>,
    /// The events the change raises, in order. Event ids are `message_id.child("event/<i>")`.
    pub events: Vec<NewEvent>,
    /// A review item to open with the change.
    pub review: Option<NewReview>,
}

/// What [`Store::apply`](crate::Store::apply) did.
#[derive(Clone, Debug, PartialEq)]
pub enum ApplyOutcome {
    /// Applied now.
    Applied {
        /// The person (new or existing).
        person_id: String,
        /// True when the person was created by this change.
        new_person: bool,
        /// The events raised, with their ids.
        events: Vec<PathwayEvent>,
        /// The review item opened, if any.
        review_id: Option<String>,
    },
    /// The message was applied before: nothing changed; these are the events it raised then
    /// (so a redelivered message can re-publish them).
    AlreadyApplied {
        /// The person it was applied to (the surviving person, after merges).
        person_id: String,
        /// The events it raised, in order, as raised (their `person_id` is the person they were
        /// raised for, even if merged since).
        events: Vec<PathwayEvent>,
    },
}

/// State of a review item.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReviewStatus {
    /// Waiting for a human.
    Open,
    /// Decided: the same person (the decider then merges).
    SamePerson,
    /// Decided: different people.
    DifferentPeople,
}

/// A review item.
#[derive(Clone, Debug, Serialize)]
pub struct Review {
    /// Its id (random).
    pub review_id: String,
    /// The message that raised it.
    pub message_id: String,
    /// The person that message was applied to.
    pub person_id: String,
    /// Reason code.
    pub reason: String,
    /// Candidates.
    pub candidates: Vec<ReviewCandidate>,
    /// State.
    pub status: ReviewStatus,
    /// When opened (RFC 3339).
    pub opened_at: String,
    /// Who decided (a user id, never patient data).
    pub decided_by: Option<String>,
    /// When decided (RFC 3339).
    pub decided_at: Option<String>,
}

/// A human's decision on a review item.
#[derive(Clone, Debug)]
pub struct ReviewDecision {
    /// `SamePerson` or `DifferentPeople` (`Open` is refused).
    pub status: ReviewStatus,
    /// Who decided.
    pub by: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// Merge `from` into `into`: `from`'s links, entries, blocking keys and demographics move to
/// `into`, `from` becomes merged (never deleted), and the move is recorded so it can be undone.
/// Refused: `from == into` or `into`'s merge chain leading to `from` (`MergeCycle`, checked
/// first), a merged `from` or `into` (`PersonNotActive`), other versions than read
/// (`VersionConflict`), a review decided `different-people` (`Refused`). The review, when
/// open, is decided `same-person`.
#[derive(Clone, Debug)]
pub struct MergeRequest {
    /// The person that stops being active.
    pub from: String,
    /// The surviving person.
    pub into: String,
    /// Who decided (a user id).
    pub by: String,
    /// Why (free text from the decider; not patient data by policy).
    pub reason: String,
    /// When.
    pub at: DateTime<Utc>,
    /// The review item this settles, if any.
    pub review_id: Option<String>,
    /// `into`'s record recomputed over both persons' entries.
    pub record: Sensitive<String>,
    /// The versions of (`from`, `into`) records the caller read.
    pub expected_versions: (u64, u64),
    /// Events to raise on `into` (e.g. `record.updated`), with ids
    /// `MessageId::from_stored(<merge event id>).child("event/<i>")`.
    pub events: Vec<NewEvent>,
}

/// Undo a merge: the entries, links, blocking keys and demographics that moved in it move back,
/// `from` is active again. What the survivor gained after the merge stays with the survivor.
/// Refused while the survivor is itself merged into another person (`PersonNotActive`): undo
/// the later merge first.
#[derive(Clone, Debug)]
pub struct UnmergeRequest {
    /// The identity event id of the merge.
    pub merge_event_id: String,
    /// Who decided.
    pub by: String,
    /// Why.
    pub reason: String,
    /// When.
    pub at: DateTime<Utc>,
    /// Recomputed records of (`from`, `into`) after the split.
    pub records: (Sensitive<String>, Sensitive<String>),
    /// The versions of (`from`, `into`) records the caller read.
    pub expected_versions: (u64, u64),
}

/// What happened to a person's identity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum IdentityEventKind {
    /// Person created.
    Created,
    /// Identifiers linked (deterministic or scored).
    Linked,
    /// Another person merged into this one.
    Merged,
    /// A merge undone.
    Unmerged,
    /// A review item decided.
    ReviewDecided,
}

/// One entry of a person's identity history.
#[derive(Clone, Debug, Serialize)]
pub struct IdentityEvent {
    /// Its id (random for merges, derived otherwise).
    pub event_id: String,
    /// Kind.
    pub kind: IdentityEventKind,
    /// The person whose history it is.
    pub person_id: String,
    /// The other person (merge / unmerge).
    pub other_person_id: Option<String>,
    /// The message (link / created), or the review.
    pub reference: Option<String>,
    /// Who (a user id, or `record-stage`).
    pub by: String,
    /// Why (free text or a reason code).
    pub reason: Option<String>,
    /// When (RFC 3339).
    pub at: String,
}

/// Whether a person is active or merged into another.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PersonInfo {
    /// The person.
    pub person_id: String,
    /// The person it was merged into, when it was.
    pub merged_into: Option<String>,
    /// When created (RFC 3339).
    pub created_at: String,
}
