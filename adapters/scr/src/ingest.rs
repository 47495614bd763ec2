//! Pure: turns one SCR answer into one envelope. The payload is the answer's bytes, untouched;
//! the message id is derived from (source, NHS number, SHA-256 of the bytes), so the same answer
//! about the same person is the same message however often it is pulled, and a changed record is
//! a new one. The context names the request (`nhsNumber`, `reason`) so the map stage knows whom a
//! "no consent" or "no result" answer is about.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use waymark_core::{Envelope, MessageId, NewEnvelope, SourceSystem};

use crate::{client::Answer, request::PullRequest};

/// Message type of a GP summary searchset.
pub const GP_SUMMARY: &str = "gp-summary";
/// Message type of a "no consent" OperationOutcome.
pub const NO_CONSENT: &str = "no-consent";
/// Message type of an empty searchset.
pub const NO_RESULT: &str = "no-result";
/// Message type of a body that was never the expected FHIR resource.
pub const UNPARSEABLE: &str = "unparseable";
/// `context.error.code` of an unparseable answer.
pub const MALFORMED_CODE: &str = "scr.api.malformed";

const FHIR_JSON: &str = "application/fhir+json";
const OCTETS: &str = "application/octet-stream";

/// The message id of `body` as an answer about `nhs`.
pub fn message_id(nhs: &str, body: &[u8]) -> MessageId {
    let digest = hex::encode(Sha256::digest(body));
    MessageId::derive(SourceSystem::Scr, &format!("{nhs}:{digest}"))
}

/// The envelope for `answer` to `request`, received at `received_at`.
pub fn envelope_for(
    answer: &Answer,
    request: &PullRequest,
    received_at: DateTime<Utc>,
) -> Envelope {
    let (message_type, body) = match answer {
        Answer::Summary(b) => (GP_SUMMARY, b.expose()),
        Answer::NoConsent(b) => (NO_CONSENT, b.expose()),
        Answer::NoResult(b) => (NO_RESULT, b.expose()),
        Answer::Malformed(b) => (UNPARSEABLE, b.expose()),
    };
    let nhs = request.nhs_number.expose();
    let is_json = serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok();
    let params = NewEnvelope {
        id: message_id(nhs, body),
        source: SourceSystem::Scr,
        message_type,
        event_time: bundle_timestamp(body),
        received_at,
        content_type: if is_json { FHIR_JSON } else { OCTETS },
    };
    let mut context = json!({ "request": { "nhsNumber": nhs, "reason": request.reason.as_str() } });
    if matches!(answer, Answer::Malformed(_))
        && let Some(obj) = context.as_object_mut()
    {
        obj.insert(
            "error".into(),
            json!({ "code": MALFORMED_CODE, "status": null }),
        );
    }
    Envelope::new(params, body.clone()).with_context(context)
}

/// `Bundle.timestamp`, when the answer is a bundle that has one.
fn bundle_timestamp(body: &[u8]) -> Option<DateTime<Utc>> {
    #[derive(Deserialize)]
    struct Stamped {
        timestamp: Option<DateTime<Utc>>,
    }
    serde_json::from_slice::<Stamped>(body).ok()?.timestamp
}

/// The error code an envelope's context carries, if any.
pub(crate) fn context_error_code(envelope: &Envelope) -> Option<&str> {
    envelope
        .context
        .expose()
        .pointer("/error/code")
        .and_then(Value::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;
    use waymark_core::Sensitive;

    #[test]
    fn ids_depend_on_person_and_content_only() {
        let request = PullRequest::new("9434765919", "identified").unwrap();
        let body = br#"{"resourceType":"Bundle","type":"searchset","total":0,"timestamp":"2020-12-14T13:23:10+00:00"}"#.to_vec();
        let answer = Answer::NoResult(Sensitive::new(body.clone()));
        let a = envelope_for(&answer, &request, Utc::now());
        let b = envelope_for(&answer, &request, Utc::now());
        assert_eq!(a.id, b.id);
        assert_eq!(a.payload.expose(), &body);
        assert_eq!(a.message_type, NO_RESULT);
        assert!(a.event_time.is_some());
        let other = PullRequest::new("4010232137", "identified").unwrap();
        assert_ne!(envelope_for(&answer, &other, Utc::now()).id, a.id);
        let malformed = Answer::Malformed(Sensitive::new(b"{oops".to_vec()));
        let flawed = envelope_for(&malformed, &request, Utc::now());
        assert_eq!(context_error_code(&flawed), Some(MALFORMED_CODE));
        assert_eq!(flawed.content_type, OCTETS);
    }
}
