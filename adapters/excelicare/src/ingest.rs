//! Turns one frame's content into one envelope and the answer the sender gets once the bus has
//! it. Pure: every frame gets an envelope; a flawed one carries `context.error` so the map stage
//! quarantines it.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use waymark_core::{Envelope, MessageId, NewEnvelope, SourceSystem};

use crate::{
    ack::{AckCode, AckError, SEGMENT_SEQUENCE},
    er7::Er7Error,
    msh::{Flaw, Header, Verdict, read_header},
};

/// Content type of the envelopes: the message bytes exactly as framed.
pub use waymark_mapping::er7::HL7_CONTENT_TYPE;
/// Content type of a frame that is not text.
pub const OCTETS: &str = "application/octet-stream";
/// Message type of a frame that is not a readable HL7 message, or has no usable MSH-9.
pub const UNPARSEABLE: &str = "unparseable";
/// `context.error.code` of a frame that is not a readable HL7 message.
pub const UNREADABLE: &str = "excelicare.unreadable";

/// Messages with more segments than this are published unread, with `context.error`
/// [`TOO_MANY_SEGMENTS`], so the map stage quarantines them (a custody message has tens).
pub const MAX_SEGMENTS: usize = 5_000;
/// `context.error.code` of a message with more than [`MAX_SEGMENTS`] segments.
pub const TOO_MANY_SEGMENTS: &str = "excelicare.too-many-segments";

/// One frame, ready to publish.
#[derive(Debug)]
pub struct Ingested {
    /// The envelope to publish.
    pub envelope: Envelope,
    /// The message's header, when readable (to answer in kind).
    pub header: Option<Header>,
    /// The answer once the bus has confirmed.
    pub code: AckCode,
    /// The ERR segment of that answer.
    pub error: Option<AckError>,
}

impl Ingested {
    /// `context.error.code`, if the envelope carries one.
    pub fn error_code(&self) -> Option<&str> {
        self.envelope
            .context
            .expose()
            .pointer("/error/code")
            .and_then(Value::as_str)
    }
}

/// Builds the envelope of a frame received at `received_at`.
pub fn ingest(content: Vec<u8>, received_at: DateTime<Utc>) -> Ingested {
    if lines(&content).nth(MAX_SEGMENTS).is_some() {
        return too_many_segments(content, received_at);
    }
    match read_header(&content) {
        Ok(header) => readable(header, content, received_at),
        Err(err) => unreadable(err, content, received_at),
    }
}

fn readable(header: Header, content: Vec<u8>, received_at: DateTime<Utc>) -> Ingested {
    let key = header.source_key().unwrap_or_else(|| content_key(&content));
    let id = MessageId::derive(SourceSystem::Excelicare, &key);
    let message_type = header.message_type.clone();
    let params = NewEnvelope {
        id,
        source: SourceSystem::Excelicare,
        message_type: message_type.as_deref().unwrap_or(UNPARSEABLE),
        event_time: header.event_time(),
        received_at,
        content_type: HL7_CONTENT_TYPE,
    };
    let envelope = Envelope::new(params, content);
    let (envelope, code, error) = match header.verdict() {
        Verdict::Accept => (envelope, AckCode::Accept, None),
        Verdict::Flawed(flaw) => flawed(envelope, flaw, AckCode::Error),
        Verdict::Unsupported(flaw) => flawed(envelope, flaw, AckCode::Reject),
    };
    Ingested {
        envelope,
        header: Some(header),
        code,
        error,
    }
}

/// The non-blank lines (segments) of a message.
fn lines(content: &[u8]) -> impl Iterator<Item = &[u8]> {
    content
        .split(|b| *b == b'\r' || *b == b'\n')
        .filter(|line| !line.iter().all(u8::is_ascii_whitespace))
}

/// A message over [`MAX_SEGMENTS`]: its id and type from the MSH line alone, never the rest.
fn too_many_segments(content: Vec<u8>, received_at: DateTime<Utc>) -> Ingested {
    let first = lines(&content).next().unwrap_or_default().to_vec();
    let mut ingested = match read_header(&first) {
        Ok(header) => readable(header, content, received_at),
        Err(err) => unreadable(err, content, received_at),
    };
    ingested.envelope = ingested
        .envelope
        .with_context(error_context(TOO_MANY_SEGMENTS));
    ingested.code = AckCode::Error;
    ingested.error = Some(AckError {
        code: SEGMENT_SEQUENCE,
        text: "too many segments; kept for review",
        field: None,
    });
    ingested
}

fn flawed(envelope: Envelope, flaw: Flaw, code: AckCode) -> (Envelope, AckCode, Option<AckError>) {
    let text = match flaw {
        Flaw::UnsupportedVersion => "unsupported version; kept for review",
        Flaw::UnsupportedType => "unsupported message type; kept for review",
        _ => "required MSH field missing; kept for review",
    };
    let error = AckError {
        code: flaw.hl7_error(),
        text,
        field: Some(flaw.field()),
    };
    let envelope = envelope.with_context(error_context(flaw.code()));
    (envelope, code, Some(error))
}

fn unreadable(err: Er7Error, content: Vec<u8>, received_at: DateTime<Utc>) -> Ingested {
    let id = MessageId::derive(SourceSystem::Excelicare, &content_key(&content));
    let is_text = std::str::from_utf8(&content).is_ok();
    let params = NewEnvelope {
        id,
        source: SourceSystem::Excelicare,
        message_type: UNPARSEABLE,
        event_time: None,
        received_at,
        content_type: if is_text { HL7_CONTENT_TYPE } else { OCTETS },
    };
    let envelope = Envelope::new(params, content).with_context(error_context(er7_code(err)));
    Ingested {
        envelope,
        header: None,
        code: AckCode::Error,
        error: Some(unreadable_error()),
    }
}

fn unreadable_error() -> AckError {
    AckError {
        code: SEGMENT_SEQUENCE,
        text: "not an HL7 v2 message; kept for review",
        field: None,
    }
}

/// `context.error.code` for content that is not HL7.
fn er7_code(err: Er7Error) -> &'static str {
    match err {
        Er7Error::NotText | Er7Error::NoMsh | Er7Error::BadDelimiters => UNREADABLE,
    }
}

/// The key of a message with no control id: a digest of its bytes, so a resend of the same
/// bytes still gets the same id.
fn content_key(content: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(content)))
}

/// `{ "error": { "code": ... } }`.
fn error_context(code: &str) -> Value {
    json!({ "error": { "code": code } })
}

/// The answer for a frame over the size limit (never published).
pub fn oversized_error() -> AckError {
    AckError {
        code: "104",
        text: "message too large; not taken",
        field: None,
    }
}

/// The answer when the bus failed: resend.
pub fn transient_error() -> AckError {
    AckError {
        code: crate::ack::TRANSIENT_ERROR,
        text: "hub cannot store the message now; resend",
        field: None,
    }
}

/// The answer when the bus refuses the message as too large for it (never taken).
pub fn bus_too_large_error() -> AckError {
    AckError {
        code: "104",
        text: "message too large for the hub; not taken",
        field: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> DateTime<Utc> {
        DateTime::from_timestamp(1_717_243_200, 0).unwrap()
    }

    const GOOD: &[u8] =
        b"MSH|^~\\&|EXCELICARE|SUITE1|WAYMARK|HUB|20240601120000+0100||ADT^A04^ADT_A01|C1|P|2.5.1\rPID|1";

    #[test]
    fn a_good_message_is_accepted_with_a_stable_id_and_untouched_bytes() {
        let a = ingest(GOOD.to_vec(), at());
        assert_eq!(a.code, AckCode::Accept);
        assert_eq!(a.error_code(), None);
        assert_eq!(a.envelope.message_type, "ADT^A04");
        assert_eq!(a.envelope.content_type, HL7_CONTENT_TYPE);
        assert_eq!(a.envelope.payload.expose().as_slice(), GOOD);
        assert_eq!(
            a.envelope.event_time.unwrap().to_rfc3339(),
            "2024-06-01T11:00:00+00:00"
        );
        let b = ingest(GOOD.to_vec(), at() + chrono::Duration::hours(1));
        assert_eq!(a.envelope.id, b.envelope.id);
        let other = String::from_utf8(GOOD.to_vec())
            .unwrap()
            .replace("|C1|", "|C2|");
        assert_ne!(ingest(other.into_bytes(), at()).envelope.id, a.envelope.id);
    }

    #[test]
    fn each_flaw_is_kept_with_its_code_and_answer() {
        let case = |text: &str| {
            let i = ingest(text.as_bytes().to_vec(), at());
            (
                i.code,
                i.error_code().map(str::to_owned),
                i.error.map(|e| e.code),
            )
        };
        let code = |c: &str| Some(c.to_owned());
        assert_eq!(
            case("MSH|^~\\&|A|B|C|D|20240601120000||ADT^A04|C1|P|2.1"),
            (
                AckCode::Reject,
                code("excelicare.unsupported-version"),
                Some("203")
            )
        );
        assert_eq!(
            case("MSH|^~\\&|A|B|C|D|20240601120000||SIU^S12|C1|P|2.5"),
            (
                AckCode::Reject,
                code("excelicare.unsupported-type"),
                Some("200")
            )
        );
        assert_eq!(
            case("MSH|^~\\&|A|B|C|D|20240601120000|||C1|P|2.5"),
            (
                AckCode::Error,
                code("excelicare.msh.missing-type"),
                Some("101")
            )
        );
        assert_eq!(
            case("MSH|^~\\&|A|B|C|D|20240601120000||ADT^A04||P|2.5"),
            (
                AckCode::Error,
                code("excelicare.msh.missing-control-id"),
                Some("101")
            )
        );
        assert_eq!(
            case("hello"),
            (AckCode::Error, code(UNREADABLE), Some("100"))
        );
        let binary = ingest(vec![0xff, 0x00], at());
        assert_eq!(binary.envelope.content_type, OCTETS);
        assert_eq!(binary.envelope.message_type, UNPARSEABLE);
    }
}
