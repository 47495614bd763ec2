//! The hub's own parsers: FHIR validation of any JSON, and the map stage (mapping runner then
//! validator) on a hostile envelope, with the repository's mappings.

use std::{path::Path, sync::OnceLock};

use serde_json::Value;
use waymark_core::{Envelope, MessageId, NewEnvelope, SourceSystem};
use waymark_mapping::{MappingInput, MappingSet, er7::HL7_CONTENT_TYPE};
use waymark_profile::Validator;

use super::received_at;

/// The repository's `mappings/` folder.
pub const MAPPINGS_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../mappings");

fn validator() -> Option<&'static Validator> {
    static VALIDATOR: OnceLock<Option<Validator>> = OnceLock::new();
    VALIDATOR.get_or_init(|| Validator::r4().ok()).as_ref()
}

fn mappings() -> Option<&'static MappingSet> {
    static MAPPINGS: OnceLock<Option<MappingSet>> = OnceLock::new();
    MAPPINGS
        .get_or_init(|| MappingSet::load(Path::new(MAPPINGS_DIR)).ok())
        .as_ref()
}

/// Any bytes as JSON, then (when they are JSON) through `Validator::r4()`: a canonical bundle
/// or an `OperationOutcome` naming errors, never a panic or a stack overflow.
pub fn fhir_validate(data: &[u8]) {
    let Ok(value) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let Some(validator) = validator() else {
        panic!("the embedded R4 validator does not load");
    };
    if let Err(outcome) = validator.validate(value) {
        assert!(!outcome.is_ok(), "a refusal names an error");
    }
}

/// The map stage on a hostile envelope: the input read as a bus envelope, as a mapping input
/// document (`mappings/*/tests/*.input.json`), or as a raw payload (the first byte picks the
/// mapping and the content type); then mapped with the repository's mappings and validated.
pub fn mapping(data: &[u8]) {
    let Some(set) = mappings() else {
        panic!("the repository's mappings do not load from {MAPPINGS_DIR}");
    };
    let envelope = match Envelope::from_bytes(data) {
        Ok(envelope) => envelope,
        Err(_) => match serde_json::from_slice::<MappingInput>(data) {
            Ok(input) => from_input(input),
            Err(_) => raw(set, data),
        },
    };
    let Ok(bundle) = set.map(&envelope) else {
        return;
    };
    if let Some(validator) = validator() {
        let _ = validator.validate(bundle);
    }
}

fn from_input(input: MappingInput) -> Envelope {
    let payload = serde_json::to_vec(input.message.expose()).unwrap_or_default();
    let params = NewEnvelope {
        id: input.envelope.id.clone(),
        source: input.envelope.source,
        message_type: &input.envelope.message_type,
        event_time: input.envelope.event_time,
        received_at: input.envelope.received_at,
        content_type: "application/json",
    };
    Envelope::new(params, payload).with_context(input.context.into_inner())
}

fn raw(set: &MappingSet, data: &[u8]) -> Envelope {
    let kinds: Vec<(SourceSystem, &str)> = set
        .headers()
        .flat_map(|h| h.message_types.iter().map(move |t| (h.source, t.as_str())))
        .collect();
    let (selector, payload) = data.split_first().map_or((0, data), |(b, rest)| (*b, rest));
    let (source, message_type) = kinds
        .get(usize::from(selector) % kinds.len().max(1))
        .copied()
        .unwrap_or((SourceSystem::Nomis, "unknown"));
    let content_type = if payload.starts_with(b"MSH") {
        HL7_CONTENT_TYPE
    } else {
        "application/json"
    };
    let params = NewEnvelope {
        id: MessageId::derive(source, "fuzz"),
        source,
        message_type,
        event_time: None,
        received_at: received_at(),
        content_type,
    };
    Envelope::new(params, payload.to_vec())
}
