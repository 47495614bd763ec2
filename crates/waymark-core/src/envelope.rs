//! The envelope: how every native source message travels through the hub, untouched.

use std::fmt;

use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::{ErrorCode, IssueType, Sensitive, SourceSystem};

/// The stored envelope format's version; a retired version keeps a golden fixture that loads.
pub const ENVELOPE_VERSION: u32 = 1;

/// Namespace for deterministic (v5) message ids.
const ID_NAMESPACE: Uuid = Uuid::from_u128(0x8c1d_4f0e_2a77_4b8e_9a51_77e0_6f6b_9d31);

/// A stable message id: the same source message always gets the same id, so every effect keyed
/// by it is idempotent across redeliveries.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MessageId(String);

impl MessageId {
    /// Derives an id from a source and the source's own unique key for the message.
    /// The key itself is not kept (it may contain identifiers).
    pub fn derive(source: SourceSystem, source_key: &str) -> Self {
        let name = format!("{source}:{source_key}");
        Self(Uuid::new_v5(&ID_NAMESPACE, name.as_bytes()).to_string())
    }

    /// Derives the id of a message produced from `self` by a later step (e.g. one delivery of
    /// one event to one subscription), so the derived message is stable too.
    pub fn child(&self, step: &str) -> Self {
        let name = format!("{}/{step}", self.0);
        Self(Uuid::new_v5(&ID_NAMESPACE, name.as_bytes()).to_string())
    }

    /// Wraps an id read back from the hub's own bus or store.
    pub fn from_stored(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    /// The id as text. Ids carry no patient data, so they may be logged.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MessageId({})", self.0)
    }
}

/// One native message from a source system, as received, with what the hub knows about it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Envelope {
    /// Format version ([`ENVELOPE_VERSION`]).
    pub version: u32,
    /// Stable id (see [`MessageId::derive`]).
    pub id: MessageId,
    /// Where it came from.
    pub source: SourceSystem,
    /// The source's own message type, e.g. `EXTERNAL_MOVEMENT_RECORD-INSERTED`.
    pub message_type: String,
    /// When the event happened, by the source's clock (what merging orders by).
    pub event_time: Option<DateTime<Utc>>,
    /// When the hub received it.
    pub received_at: DateTime<Utc>,
    /// MIME type of the payload.
    pub content_type: String,
    /// The exact bytes as received (plus any enrichment the adapter fetched), base64 on the wire.
    #[serde(with = "payload_b64")]
    pub payload: Sensitive<Vec<u8>>,
    /// `sha256:<hex>` of the payload.
    pub checksum: String,
    /// What the adapter fetched to make sense of the message (e.g. the Prison API record the
    /// event refers to, or why it could not be fetched). `null` when nothing was fetched.
    #[serde(default)]
    pub context: Sensitive<serde_json::Value>,
}

/// Why an envelope could not be read back.
#[derive(Debug, thiserror::Error)]
pub enum EnvelopeError {
    /// Not an envelope at all. Holds where and what kind of fault, never the text of the input.
    #[error("envelope is not valid JSON of the envelope shape ({0})")]
    Decode(String),
    /// A version this build does not read.
    #[error("envelope version {0} is not supported (this build reads version 1)")]
    Version(u32),
    /// The payload does not match its checksum.
    #[error("envelope `{0}` payload does not match its checksum")]
    Checksum(MessageId),
}

impl ErrorCode for EnvelopeError {
    fn code(&self) -> &'static str {
        match self {
            Self::Decode(_) => "envelope.decode",
            Self::Version(_) => "envelope.version",
            Self::Checksum(_) => "envelope.checksum",
        }
    }

    fn issue_type(&self) -> IssueType {
        IssueType::Structure
    }
}

/// Parameters of a new envelope, so call sites name every field.
#[derive(Debug)]
pub struct NewEnvelope<'a> {
    /// See [`Envelope::id`].
    pub id: MessageId,
    /// See [`Envelope::source`].
    pub source: SourceSystem,
    /// See [`Envelope::message_type`].
    pub message_type: &'a str,
    /// See [`Envelope::event_time`].
    pub event_time: Option<DateTime<Utc>>,
    /// See [`Envelope::received_at`].
    pub received_at: DateTime<Utc>,
    /// See [`Envelope::content_type`].
    pub content_type: &'a str,
}

impl Envelope {
    /// Builds an envelope around `payload`, computing its checksum.
    pub fn new(params: NewEnvelope<'_>, payload: Vec<u8>) -> Self {
        Self {
            version: ENVELOPE_VERSION,
            id: params.id,
            source: params.source,
            message_type: params.message_type.to_owned(),
            event_time: params.event_time,
            received_at: params.received_at,
            content_type: params.content_type.to_owned(),
            checksum: checksum(&payload),
            payload: Sensitive::new(payload),
            context: Sensitive::default(),
        }
    }

    /// Attaches what the adapter fetched about the message.
    pub fn with_context(mut self, context: serde_json::Value) -> Self {
        self.context = Sensitive::new(context);
        self
    }

    /// Serialises for the bus or the store.
    pub fn to_bytes(&self) -> Vec<u8> {
        // Serialising this struct cannot fail: every field is a string, number or byte array.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Reads an envelope back, checking version and checksum.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, EnvelopeError> {
        let env: Self =
            serde_json::from_slice(bytes).map_err(|e| EnvelopeError::Decode(fault(&e)))?;
        if env.version != ENVELOPE_VERSION {
            return Err(EnvelopeError::Version(env.version));
        }
        if checksum(env.payload.expose()) != env.checksum {
            return Err(EnvelopeError::Checksum(env.id));
        }
        Ok(env)
    }
}

/// Where and what kind of JSON fault, without serde's message (which quotes the input).
fn fault(e: &serde_json::Error) -> String {
    let kind = match e.classify() {
        serde_json::error::Category::Io => "read",
        serde_json::error::Category::Syntax => "syntax",
        serde_json::error::Category::Data => "shape",
        serde_json::error::Category::Eof => "unexpected end",
    };
    format!("{kind} error at line {}, column {}", e.line(), e.column())
}

/// `sha256:<hex>` of some bytes.
pub fn checksum(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

mod payload_b64 {
    use super::*;
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &Sensitive<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(v.expose()))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Sensitive<Vec<u8>>, D::Error> {
        let text = String::deserialize(d)?;
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .map(Sensitive::new)
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Envelope {
        let params = NewEnvelope {
            id: MessageId::derive(SourceSystem::Nomis, "abc"),
            source: SourceSystem::Nomis,
            message_type: "EXTERNAL_MOVEMENT_RECORD-INSERTED",
            event_time: None,
            received_at: DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
            content_type: "application/json",
        };
        Envelope::new(params, br#"{"nomsId":"A5089DY"}"#.to_vec())
    }

    #[test]
    fn ids_are_stable_and_distinct() {
        let a = MessageId::derive(SourceSystem::Nomis, "abc");
        assert_eq!(a, MessageId::derive(SourceSystem::Nomis, "abc"));
        assert_ne!(a, MessageId::derive(SourceSystem::Athena, "abc"));
        assert_ne!(a, MessageId::derive(SourceSystem::Nomis, "abd"));
        assert_eq!(a.child("deliver"), a.child("deliver"));
        assert_ne!(a.child("deliver"), a);
    }

    #[test]
    fn round_trips_and_detects_tampering() {
        let env = sample();
        let back = Envelope::from_bytes(&env.to_bytes()).unwrap();
        assert_eq!(back.payload.expose(), env.payload.expose());
        assert_eq!(back.id, env.id);

        let mut tampered = env.clone();
        tampered.payload = Sensitive::new(b"{}".to_vec());
        let err = Envelope::from_bytes(&tampered.to_bytes()).unwrap_err();
        assert_eq!(err.code(), "envelope.checksum");
    }

    #[test]
    fn rejects_other_versions_and_garbage() {
        let mut env = sample();
        env.version = 2;
        assert_eq!(
            Envelope::from_bytes(&env.to_bytes()).unwrap_err().code(),
            "envelope.version"
        );
        assert_eq!(
            Envelope::from_bytes(b"not json").unwrap_err().code(),
            "envelope.decode"
        );
    }

    #[test]
    fn decode_errors_never_quote_the_input() {
        let bytes = br#"{"version": "A1234BC Jane Smith"}"#;
        let err = Envelope::from_bytes(bytes).unwrap_err();
        let text = err.to_string();
        assert_eq!(err.code(), "envelope.decode");
        assert!(text.contains("shape error at line 1"), "{text}");
        assert!(
            !text.contains("Jane") && !text.contains("A1234BC"),
            "{text}"
        );
    }

    #[test]
    fn debug_hides_the_payload() {
        let text = format!("{:?}", sample());
        assert!(!text.contains("A5089DY"), "{text}");
    }
}
