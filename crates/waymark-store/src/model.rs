//! The values the [`Store`](crate::Store) takes and returns.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use waymark_core::{MessageId, Sensitive, SourceSystem};

/// A strong identifier (system URI + value) that links a record to a person.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StrongId {
    /// Identifier system URI.
    pub system: String,
    /// The value (patient data).
    pub value: Sensitive<String>,
}

/// A canonical bundle to append to a person's record.
#[derive(Clone, Debug)]
pub struct NewRecord {
    /// The envelope it came from.
    pub message_id: MessageId,
    /// Source system.
    pub source: SourceSystem,
    /// The source's message type.
    pub message_type: String,
    /// The source's event time, when it gave one.
    pub event_time: Option<DateTime<Utc>>,
    /// When the hub recorded it.
    pub recorded_at: DateTime<Utc>,
    /// Strong identifiers of the Patient, in order of preference.
    pub identifiers: Vec<StrongId>,
    /// The pathway topic this record raises.
    pub topic: String,
    /// The canonical bundle JSON.
    pub bundle: Sensitive<String>,
}

/// The pathway event a record raised.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PathwayEvent {
    /// Stable id (derived from the message id).
    pub event_id: MessageId,
    /// The hub's person id.
    pub person_id: String,
    /// Topic, e.g. `prison.reception`.
    pub topic: String,
    /// When it happened (source event time, else recorded time).
    pub event_time: DateTime<Utc>,
}

/// What [`Store::record`](crate::Store::record) did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordOutcome {
    /// The event raised (the same on a repeat).
    pub event: PathwayEvent,
    /// False when this message had been applied before.
    pub applied_now: bool,
    /// True when the person was first seen in this record.
    pub new_person: bool,
}

/// A refused message.
#[derive(Clone, Debug)]
pub struct QuarantineEntry {
    /// Message id (of the envelope, or derived from the raw bytes).
    pub message_id: MessageId,
    /// Source, when known.
    pub source: Option<SourceSystem>,
    /// Message type, when known.
    pub message_type: Option<String>,
    /// The stage that refused it (`map`, `validate`, `record`, ...).
    pub stage: String,
    /// Stable error code, e.g. `mapping.runtime`.
    pub code: String,
    /// The `OperationOutcome` JSON (locations and rules, no values).
    pub outcome: serde_json::Value,
    /// The exact bytes as they reached the stage.
    pub original: Sensitive<Vec<u8>>,
    /// When.
    pub quarantined_at: DateTime<Utc>,
}

/// A quarantine entry without its content.
#[derive(Clone, Debug, Serialize)]
pub struct QuarantineSummary {
    /// Message id.
    pub message_id: String,
    /// Source, when known.
    pub source: Option<String>,
    /// Message type, when known.
    pub message_type: Option<String>,
    /// Refusing stage.
    pub stage: String,
    /// Error code.
    pub code: String,
    /// The OperationOutcome.
    pub outcome: serde_json::Value,
    /// When (RFC 3339).
    pub quarantined_at: String,
    /// When it was re-driven (RFC 3339); `None` while unresolved.
    pub resolved_at: Option<String>,
    /// The message id it was re-driven under.
    pub redrive_id: Option<String>,
    /// What re-drove it (mapping and profile versions).
    pub resolved_by: Option<String>,
    /// How many times it has been re-driven; the next re-drive publishes under
    /// `MessageId::child("redrive-<redrives + 1>")`.
    pub redrives: u32,
}

/// A quarantine entry with its original bytes, for re-drive.
#[derive(Clone, Debug)]
pub struct Quarantined {
    /// Reasons and ids.
    pub summary: QuarantineSummary,
    /// The exact bytes as they reached the refusing stage.
    pub original: Sensitive<Vec<u8>>,
}

/// How a quarantine entry was resolved.
#[derive(Clone, Debug)]
pub struct Resolution {
    /// When (the store's clock when `None`).
    pub resolved_at: Option<DateTime<Utc>>,
    /// The message id it was re-published under.
    pub redrive_id: MessageId,
    /// What re-drove it, e.g. `mappings nomis/prison-movement@1.0.0; profiles uk.waymark.hjmd@0.1.0`.
    pub by: String,
}

/// Store totals.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Persons known.
    pub persons: u64,
    /// Record entries applied.
    pub records: u64,
    /// Messages in quarantine.
    pub quarantined: u64,
}

/// A version of a person's Consent to store (already read and checked by the shell).
#[derive(Clone, Debug)]
pub struct NewConsent {
    /// The hub's person id.
    pub person_id: String,
    /// `Consent.id`.
    pub consent_id: String,
    /// `Consent.status`.
    pub status: String,
    /// The FHIR `Consent` JSON (patient data).
    pub consent: Sensitive<String>,
    /// When the hub recorded it.
    pub recorded_at: DateTime<Utc>,
}

/// The current version of a person's Consent.
#[derive(Clone, Debug)]
pub struct StoredConsent {
    /// The hub's person id.
    pub person_id: String,
    /// `Consent.id`.
    pub consent_id: String,
    /// 1 for the first version, then one more per change.
    pub version: u32,
    /// The FHIR `Consent` JSON (patient data).
    pub consent: Sensitive<String>,
    /// `Consent.status` (`inactive` once withdrawn).
    pub status: String,
    /// When this version was recorded (RFC 3339).
    pub recorded_at: String,
}

/// A subscription as stored (see [`Store::put_subscription`](crate::Store::put_subscription)).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredSubscription {
    /// The subscription id (`Subscription.id`).
    pub id: String,
    /// The JSON of a `waymark_delivery::Subscription`, opaque to the store. It holds the signing
    /// secret: never log it.
    pub body: Sensitive<String>,
    /// The Backport status (`requested | active | error | off`). Changed on its own by
    /// [`Store::set_subscription_status`](crate::Store::set_subscription_status), so it wins
    /// over any status inside `body`.
    pub status: String,
    /// 1 on create, one more per change.
    pub version: u64,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// A pathway event with its number for one subscription (gap detection, `$events`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NumberedEvent {
    /// The subscription's number of the event (1, 2, …, never reused).
    pub number: u64,
    /// The event.
    pub event: PathwayEvent,
}
