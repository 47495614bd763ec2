//! The mapping input document (CONTRACTS "Mapping input"): what a jq program sees as `.`.
//!
//! ```json
//! { "envelope": { "id": "...", "source": "nomis", "messageType": "...",
//!                 "eventTime": "...Z" | null, "receivedAt": "...Z" },
//!   "message":  <the envelope payload parsed as JSON; an HL7 v2 payload
//!                (`x-application/hl7-v2+er7`) as the tree of `crate::hl7`>,
//!   "context":  <envelope.context> }
//! ```

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use waymark_core::{Envelope, MessageId, Sensitive, SourceSystem};

use crate::MappingError;

/// Payloads larger than this are refused (`mapping.too-large`).
pub const MAX_PAYLOAD_BYTES: usize = 1 << 20;
/// Contexts (what the adapter fetched) larger than this, serialised, are refused
/// (`mapping.too-large`).
pub const MAX_CONTEXT_BYTES: usize = 1 << 20;

/// What a program is told about the envelope (no payload, no checksum).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EnvelopeMeta {
    /// Envelope id.
    pub id: MessageId,
    /// Source system.
    pub source: SourceSystem,
    /// Source message type.
    pub message_type: String,
    /// Source event time, UTC.
    pub event_time: Option<DateTime<Utc>>,
    /// When the hub received the message, UTC.
    pub received_at: DateTime<Utc>,
}

impl EnvelopeMeta {
    /// The envelope part of the input document (times as `...Z`).
    pub fn to_json(&self) -> Value {
        let time = |t: &DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::AutoSi, true);
        json!({
            "id": self.id.as_str(),
            "source": self.source.as_str(),
            "messageType": self.message_type,
            "eventTime": self.event_time.as_ref().map(time),
            "receivedAt": time(&self.received_at),
        })
    }
}

/// The whole input document. Message and context are [`Sensitive`]: `Debug` hides them.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingInput {
    /// About the envelope.
    pub envelope: EnvelopeMeta,
    /// The payload, parsed.
    pub message: Sensitive<Value>,
    /// What the adapter fetched (`null` when nothing).
    #[serde(default)]
    pub context: Sensitive<Value>,
}

impl MappingInput {
    /// Builds the input for an envelope: refuses payloads over [`MAX_PAYLOAD_BYTES`] and payloads
    /// that are not JSON.
    pub fn from_envelope(envelope: &Envelope) -> Result<Self, MappingError> {
        let payload = envelope.payload.expose();
        if payload.len() > MAX_PAYLOAD_BYTES {
            return Err(MappingError::TooLarge {
                message_id: envelope.id.clone(),
                part: "payload",
                size: payload.len(),
                limit: MAX_PAYLOAD_BYTES,
            });
        }
        let message = if envelope.content_type == crate::er7::HL7_CONTENT_TYPE {
            crate::er7::to_tree(payload).map_err(|e| MappingError::NotJson {
                message_id: envelope.id.clone(),
                reason: format!("HL7 v2: {e}"),
            })?
        } else {
            serde_json::from_slice(payload).map_err(|e| MappingError::NotJson {
                message_id: envelope.id.clone(),
                reason: format!(
                    "{} error at line {}, column {}",
                    kind(&e),
                    e.line(),
                    e.column()
                ),
            })?
        };
        Ok(Self {
            envelope: EnvelopeMeta {
                id: envelope.id.clone(),
                source: envelope.source,
                message_type: envelope.message_type.clone(),
                event_time: envelope.event_time,
                received_at: envelope.received_at,
            },
            message: Sensitive::new(message),
            context: envelope.context.clone(),
        })
    }

    /// The document as JSON, exactly as a program sees it.
    pub fn to_json(&self) -> Value {
        json!({
            "envelope": self.envelope.to_json(),
            "message": self.message.expose(),
            "context": self.context.expose(),
        })
    }
}

fn kind(e: &serde_json::Error) -> &'static str {
    match e.classify() {
        serde_json::error::Category::Io => "read",
        serde_json::error::Category::Syntax => "syntax",
        serde_json::error::Category::Data => "data",
        serde_json::error::Category::Eof => "unexpected end of input",
    }
}
