//! A pushed message wrapped, untouched, in its source's envelope: the same per-adapter
//! wrapping as the binary's offline tools (`crates/waymark/src/sources.rs`, `native_envelope`),
//! copied here so the API needs no binary code. Each adapter crate owns its pure wrapping
//! function (stable message id from the source's own key, message type, event time).

use chrono::{DateTime, Utc};
use serde_json::Value;
use waymark_core::{Envelope, ErrorCode, IssueType, SourceSystem};

/// A source whose messages cannot be pushed on their own.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The source's messages need what only its adapter has (the SCR: the pull request an
    /// answer belongs to).
    #[error("source `{0}` does not take pushed messages; its adapter fetches them")]
    NotPushed(SourceSystem),
}

impl ErrorCode for IngestError {
    fn code(&self) -> &'static str {
        match self {
            Self::NotPushed(_) => "api.ingest.not-pushed",
        }
    }

    fn issue_type(&self) -> IssueType {
        IssueType::NotFound
    }
}

/// `bytes` received at `received_at`, wrapped as `source`'s adapter wraps them. NOMIS gets no
/// Prison API context (its own endpoint enriches; a pushed notification is mapped with what it
/// carries).
pub fn native_envelope(
    source: SourceSystem,
    bytes: Vec<u8>,
    received_at: DateTime<Utc>,
) -> Result<Envelope, IngestError> {
    match source {
        SourceSystem::Nomis => Ok(waymark_adapter_nomis::offline_envelope(
            bytes,
            received_at,
            Value::Null,
        )),
        SourceSystem::Athena => Ok(waymark_adapter_athena::envelope_for_event(
            bytes,
            received_at,
        )),
        SourceSystem::Excelicare => {
            Ok(waymark_adapter_excelicare::ingest(bytes, received_at).envelope)
        }
        SourceSystem::Systmone => Ok(waymark_adapter_systmone::offline_envelope(
            bytes,
            received_at,
            Value::Null,
        )),
        SourceSystem::Scr => Err(IngestError::NotPushed(source)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_source_wraps_its_own_way_and_the_same_bytes_get_the_same_id() {
        let event = br#"{"eventId":"evt-1","sequence":7,"kind":"arrival","occurredAt":"2024-03-01T10:00:00Z"}"#;
        let now = Utc::now();
        let a = native_envelope(SourceSystem::Athena, event.to_vec(), now).unwrap();
        let b = native_envelope(SourceSystem::Athena, event.to_vec(), now).unwrap();
        assert_eq!(a.id, b.id);
        assert_eq!(a.source, SourceSystem::Athena);
        assert_eq!(a.message_type, "arrival");
        assert_eq!(a.payload.expose().as_slice(), event);
        assert!(native_envelope(SourceSystem::Scr, event.to_vec(), now).is_err());
    }
}
