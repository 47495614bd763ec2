//! One custody event of a page into one envelope (pure). A sound event's id derives from
//! Athena's `eventId`, so the same event always gets the same message id; an event whose head
//! (`eventId`, `sequence`, `kind`, `occurredAt`) is missing or malformed is still published, with
//! `context.error` [`FLAWED_CODE`], so the map stage quarantines it with a reason.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use waymark_core::{Envelope, MessageId, NewEnvelope, SourceSystem};

/// The message type of an event without a usable `kind`.
pub const UNPARSEABLE: &str = "unparseable";
/// `context.error.code` of an event whose head is missing or malformed.
pub const FLAWED_CODE: &str = "athena.malformed-event";

const JSON: &str = "application/json";

/// What the adapter reads of an event: its head. The rest is the map stage's business.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Head {
    /// The source key the message id derives from.
    pub key: String,
    /// The feed sequence number, when the event has a valid one.
    pub sequence: Option<u64>,
    /// The event kind when it is a plain token, else [`UNPARSEABLE`].
    pub kind: String,
    /// When it happened, when the event says so validly.
    pub occurred_at: Option<DateTime<Utc>>,
    /// Whether any head field was missing or malformed.
    pub flawed: bool,
}

/// Reads the head of one event's bytes (a JSON value from the page).
pub(crate) fn head(bytes: &[u8]) -> Head {
    let value: Value = serde_json::from_slice(bytes).unwrap_or(Value::Null);
    let event_id = value
        .get("eventId")
        .and_then(Value::as_str)
        .filter(|s| is_token(s, 128));
    let sequence = value
        .get("sequence")
        .and_then(Value::as_u64)
        .filter(|s| *s > 0);
    let kind = value
        .get("kind")
        .and_then(Value::as_str)
        .filter(|s| is_token(s, 64));
    let occurred_at = value
        .get("occurredAt")
        .and_then(Value::as_str)
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc));
    let flawed =
        event_id.is_none() || sequence.is_none() || kind.is_none() || occurred_at.is_none();
    let key = match event_id {
        Some(id) => format!("event:{id}"),
        None => format!("unidentified:{}", hex::encode(Sha256::digest(bytes))),
    };
    Head {
        key,
        sequence,
        kind: kind.unwrap_or(UNPARSEABLE).to_owned(),
        occurred_at,
        flawed,
    }
}

/// `[A-Za-z0-9._:-]{1,max}`: safe in a message type, a log field and a derived key.
fn is_token(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

/// The envelope for one event's exact bytes, received at `received_at`.
pub fn envelope_for_event(bytes: Vec<u8>, received_at: DateTime<Utc>) -> Envelope {
    let head = head(&bytes);
    envelope(&head, bytes, received_at)
}

pub(crate) fn envelope(head: &Head, bytes: Vec<u8>, received_at: DateTime<Utc>) -> Envelope {
    let params = NewEnvelope {
        id: MessageId::derive(SourceSystem::Athena, &head.key),
        source: SourceSystem::Athena,
        message_type: &head.kind,
        event_time: head.occurred_at,
        received_at,
        content_type: JSON,
    };
    let envelope = Envelope::new(params, bytes);
    if head.flawed {
        envelope.with_context(json!({ "error": { "code": FLAWED_CODE, "status": null } }))
    } else {
        envelope
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &[u8] =
        br#"{"eventId":"evt-1","sequence":7,"kind":"arrival","occurredAt":"2024-03-01T10:00:00Z"}"#;

    #[test]
    fn sound_events_get_stable_ids_from_the_event_id() {
        let at = Utc::now();
        let a = envelope_for_event(GOOD.to_vec(), at);
        let b = envelope_for_event(GOOD.to_vec(), at);
        assert_eq!(a.id, b.id);
        assert_eq!(a.message_type, "arrival");
        assert_eq!(a.payload.expose().as_slice(), GOOD);
        assert!(a.context.expose().is_null());
        assert_eq!(head(GOOD).sequence, Some(7));
        let time = a.event_time.unwrap();
        assert_eq!(time.to_rfc3339(), "2024-03-01T10:00:00+00:00");
    }

    #[test]
    fn flawed_events_carry_the_error_and_a_byte_derived_id() {
        for bad in [
            &br#"{"sequence":7,"kind":"arrival","occurredAt":"2024-03-01T10:00:00Z"}"#[..],
            br#"{"eventId":"evt-2","sequence":8,"kind":"arrival","occurredAt":"yesterday"}"#,
            br#"{"eventId":"evt-3","sequence":"9","kind":"arrival","occurredAt":"2024-03-01T10:00:00Z"}"#,
            br#"{"eventId":"e v","sequence":9,"kind":"a/b","occurredAt":"2024-03-01T10:00:00Z"}"#,
            br#"[1,2]"#,
        ] {
            let envelope = envelope_for_event(bad.to_vec(), Utc::now());
            let code = envelope.context.expose().pointer("/error/code").cloned();
            assert_eq!(code, Some(json!(FLAWED_CODE)));
        }
        let odd = envelope_for_event(br#"{"kind":"a/b"}"#.to_vec(), Utc::now());
        assert_eq!(odd.message_type, UNPARSEABLE);
        let again = envelope_for_event(br#"{"kind":"a/b"}"#.to_vec(), Utc::now());
        assert_eq!(odd.id, again.id);
    }
}
