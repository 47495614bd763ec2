//! Turns one provider answer into one envelope. The payload is the answer's bytes, untouched;
//! the message id is derived from (source, NHS number, hash of the answer), so the same record
//! pulled twice is the same message and idempotent downstream.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use waymark_bus::Message;
use waymark_core::{Envelope, ErrorCode, MessageId, NewEnvelope, NhsNumber, SourceSystem};

use crate::{
    SystmOneError,
    client::Answer,
    gpc::{FHIR_JSON, NHS_NUMBER_SYSTEM, spine_code},
    request::PullRequest,
};

/// The message type of every SystmOne envelope: the answer to a structured-record pull.
pub const MESSAGE_TYPE: &str = "gpc.getstructuredrecord";

const OCTETS: &str = "application/octet-stream";

/// The envelope's id: `derive(systmone, "<nhs>/<sha256 of the answer>")`.
pub fn message_id(nhs_number: &str, body: &[u8]) -> MessageId {
    let hash = hex::encode(Sha256::digest(body));
    MessageId::derive(SourceSystem::Systmone, &format!("{nhs_number}/{hash}"))
}

/// The bus ordering key of a person: a hash of the NHS number, never the number.
pub fn person_key(nhs_number: &str) -> String {
    let hash = hex::encode(Sha256::digest(format!("waymark/systmone/{nhs_number}")));
    format!("systmone:{}", &hash[..32])
}

/// The envelope of an answer to `request`, received at `received_at`.
///
/// `context` is `{"pull": {"reason", "requestedAt"}}`, plus `"error": {"code", "status"}` for a
/// flawed answer (an OperationOutcome error, a malformed body), which the map stage quarantines.
pub fn envelope_for(request: &PullRequest, answer: Answer, received_at: DateTime<Utc>) -> Envelope {
    let pull = json!({"reason": request.reason.as_str(), "requestedAt": request.requested_at});
    let (body, context) = match answer {
        Answer::Record(body) => (body, json!({"pull": pull})),
        Answer::Flawed(body, err) => (
            body,
            json!({"pull": pull, "error": {"code": err.code(), "status": err.http_status()}}),
        ),
    };
    let parsed: Option<Value> = serde_json::from_slice(&body).ok();
    let params = NewEnvelope {
        id: message_id(request.nhs(), &body),
        source: SourceSystem::Systmone,
        message_type: MESSAGE_TYPE,
        event_time: parsed.as_ref().and_then(snapshot_time),
        received_at,
        content_type: if parsed.is_some() { FHIR_JSON } else { OCTETS },
    };
    Envelope::new(params, body).with_context(context)
}

/// The envelope of an answer saved elsewhere (`waymark map --source systmone`), as the live
/// path would build it without a pull request: the person is the bundle's Patient NHS number
/// (none: an empty key), the answer is judged as the client judges a 200 (a Bundle is a record;
/// an OperationOutcome or anything else is flawed), and `context` is used as given unless the
/// answer is flawed. For tools; the live path is the worker.
pub fn offline_envelope(body: Vec<u8>, received_at: DateTime<Utc>, context: Value) -> Envelope {
    let parsed: Option<Value> = serde_json::from_slice(&body).ok();
    let nhs = parsed.as_ref().and_then(patient_nhs).unwrap_or_default();
    let kind = parsed
        .as_ref()
        .and_then(|v| v.get("resourceType"))
        .and_then(Value::as_str);
    let error = match kind {
        Some("Bundle") => None,
        Some("OperationOutcome") => Some(SystmOneError::Gpc {
            status: 200,
            spine_code: parsed
                .as_ref()
                .and_then(spine_code)
                .unwrap_or_else(|| "OTHER".into()),
        }),
        _ => Some(SystmOneError::Malformed),
    };
    let context = match &error {
        None => context,
        Some(err) => json!({"error": {"code": err.code(), "status": err.http_status()}}),
    };
    let params = NewEnvelope {
        id: message_id(&nhs, &body),
        source: SourceSystem::Systmone,
        message_type: MESSAGE_TYPE,
        event_time: parsed.as_ref().and_then(snapshot_time),
        received_at,
        content_type: if parsed.is_some() { FHIR_JSON } else { OCTETS },
    };
    Envelope::new(params, body).with_context(context)
}

/// The NHS number of the bundle's first Patient, if it is a valid one.
fn patient_nhs(bundle: &Value) -> Option<String> {
    let patient = bundle
        .get("entry")?
        .as_array()?
        .iter()
        .filter_map(|e| e.get("resource"))
        .find(|r| r.get("resourceType").and_then(Value::as_str) == Some("Patient"))?;
    let value = patient
        .get("identifier")?
        .as_array()?
        .iter()
        .find(|i| i.get("system").and_then(Value::as_str) == Some(NHS_NUMBER_SYSTEM))?
        .get("value")?
        .as_str()?;
    NhsNumber::parse(value).ok().map(|n| n.expose().to_owned())
}

/// The bus message of an envelope.
pub fn bus_message(request: &PullRequest, envelope: &Envelope) -> Message {
    Message::new(envelope.id.clone(), envelope.to_bytes())
        .with_key(person_key(request.nhs()))
        .with_header("source", SourceSystem::Systmone.as_str())
        .with_header("message-type", envelope.message_type.as_str())
        .with_header("content-type", envelope.content_type.as_str())
}

/// When the provider took the snapshot: the latest `List.date` of the bundle (GP Connect dates
/// every section list), else `meta.lastUpdated`.
fn snapshot_time(bundle: &Value) -> Option<DateTime<Utc>> {
    let parse = |v: &Value| {
        v.as_str()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.to_utc())
    };
    let lists = bundle
        .get("entry")?
        .as_array()?
        .iter()
        .filter_map(|e| e.get("resource"))
        .filter(|r| r.get("resourceType").and_then(Value::as_str) == Some("List"))
        .filter_map(|r| r.get("date").and_then(parse));
    lists
        .max()
        .or_else(|| bundle.pointer("/meta/lastUpdated").and_then(parse))
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

    #[test]
    fn ids_depend_on_person_and_content_only() {
        let a = PullRequest::new("9434765919", "prison-reception", Utc::now()).unwrap();
        let b = PullRequest::new("9434765919", "change-notification", Utc::now()).unwrap();
        let body = br#"{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"List","date":"2018-03-01T10:57:34+00:00"}}]}"#;
        let ea = envelope_for(&a, Answer::Record(body.to_vec()), Utc::now());
        let eb = envelope_for(&b, Answer::Record(body.to_vec()), Utc::now());
        assert_eq!(ea.id, eb.id);
        assert_eq!(ea.payload.expose().as_slice(), body);
        assert_eq!(
            ea.event_time.unwrap().to_rfc3339(),
            "2018-03-01T10:57:34+00:00"
        );
        assert_ne!(ea.id, message_id("9434765870", body));
        assert!(!person_key("9434765919").contains("9434765919"));
        let flawed = envelope_for(
            &a,
            Answer::Flawed(b"<html>".to_vec(), SystmOneError::Malformed),
            Utc::now(),
        );
        assert_eq!(context_error_code(&flawed), Some("systmone.gpc.malformed"));
        assert_eq!(flawed.content_type, OCTETS);
    }

    #[test]
    fn offline_envelopes_match_the_live_ones() {
        let sample = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/real/meds_response.json"
        ))
        .unwrap();
        let request = PullRequest::new("9999999999", "prison-reception", Utc::now()).unwrap();
        let live = envelope_for(&request, Answer::Record(sample.clone()), Utc::now());
        let offline = offline_envelope(sample, Utc::now(), json!({"pull": {"reason": "x"}}));
        assert_eq!((offline.id, offline.event_time), (live.id, live.event_time));
        assert_eq!(offline.context.expose()["pull"]["reason"], "x");
        let oo = br#"{"resourceType":"OperationOutcome","issue":[{"details":{"coding":[{"code":"PATIENT_NOT_FOUND"}]}}]}"#;
        let flawed = offline_envelope(oo.to_vec(), Utc::now(), Value::Null);
        assert_eq!(
            context_error_code(&flawed),
            Some("systmone.gpc.patient-not-found")
        );
    }
}
