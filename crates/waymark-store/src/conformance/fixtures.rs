//! Synthetic messages and short-hands shared by the checks.

use std::fmt::{Debug, Display};

use chrono::{DateTime, Utc};
use serde_json::json;
use waymark_core::{MessageId, Sensitive, SourceSystem};

use crate::{
    ApplyOutcome, IdentityEvent, IdentityEventKind, MergeRequest, NewEvent, PathwayEvent,
    PersonChoice, RecordChange, Store, StoreError, StrongId,
};

/// Identifier systems of the fixtures.
pub(super) const NOMIS: &str = "https://fhir.waymark.org.uk/Id/nomis-prison-number";
pub(super) const NHS: &str = "https://fhir.nhs.uk/Id/nhs-number";

/// A fixed instant plus `secs`.
pub(super) fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000 + secs, 0).unwrap_or_default()
}

/// The value, or a panic saying what failed (store errors carry ids and codes only).
pub(super) fn must<T, E: Display>(result: Result<T, E>, what: &str) -> T {
    result.unwrap_or_else(|error| panic!("{what} failed: {error}"))
}

/// The error, or a panic saying the call should have failed.
pub(super) fn refused<T: Debug>(result: Result<T, StoreError>, what: &str) -> StoreError {
    match result {
        Ok(v) => panic!("{what}: expected an error, got {v:?}"),
        Err(e) => e,
    }
}

/// The message id of fixture message `key`.
pub(super) fn message(key: &str) -> MessageId {
    MessageId::derive(SourceSystem::Nomis, key)
}

/// Strong identifiers from (system, value) pairs.
pub(super) fn ids(pairs: &[(&str, &str)]) -> Vec<StrongId> {
    pairs
        .iter()
        .map(|(system, value)| StrongId {
            system: (*system).to_owned(),
            value: Sensitive::new((*value).to_owned()),
        })
        .collect()
}

/// The record JSON fixture message `key` leaves behind.
pub(super) fn record_json(key: &str) -> String {
    json!({"record-after": key}).to_string()
}

/// The demographics JSON of fixture message `key`.
pub(super) fn demographics_json(key: &str) -> String {
    json!({"demographics-of": key}).to_string()
}

/// Message `key`, recorded at `at(secs)`, about `person`, read at `expected` version: one
/// `record.updated` event, no identifiers, no blocking keys, no review.
pub(super) fn change(key: &str, secs: i64, person: PersonChoice, expected: u64) -> RecordChange {
    RecordChange {
        message_id: message(key),
        source: SourceSystem::Nomis,
        message_type: "OFFENDER-UPDATED".to_owned(),
        event_time: Some(at(secs)),
        recorded_at: at(secs),
        bundle: Sensitive::new(json!({"bundle-of": key}).to_string()),
        person,
        identifiers: Vec::new(),
        demographics: Sensitive::new(demographics_json(key)),
        block_keys: Vec::new(),
        expected_version: expected,
        record: Sensitive::new(record_json(key)),
        events: vec![NewEvent {
            topic: "record.updated".to_owned(),
            event_time: at(secs),
            detail: json!({"items": ["identity"]}),
        }],
        review: None,
    }
}

/// `change` with identifiers and blocking keys.
pub(super) fn change_with(
    key: &str,
    secs: i64,
    person: PersonChoice,
    expected: u64,
    identifiers: &[(&str, &str)],
    keys: &[&str],
) -> RecordChange {
    RecordChange {
        identifiers: ids(identifiers),
        block_keys: keys.iter().map(|k| (*k).to_owned()).collect(),
        ..change(key, secs, person, expected)
    }
}

/// The person and events of a change that must have been applied now.
pub(super) fn applied(outcome: ApplyOutcome, what: &str) -> (String, bool, Vec<PathwayEvent>) {
    match outcome {
        ApplyOutcome::Applied {
            person_id,
            new_person,
            events,
            ..
        } => (person_id, new_person, events),
        other => panic!("{what}: expected Applied, got {other:?}"),
    }
}

/// Applies message `key` as a new person with these identifiers and keys; the person's id.
pub(super) async fn new_person(
    store: &dyn Store,
    key: &str,
    secs: i64,
    identifiers: &[(&str, &str)],
    keys: &[&str],
) -> String {
    let c = change_with(key, secs, PersonChoice::New, 0, identifiers, keys);
    applied(must(store.apply(c).await, "apply (new person)"), key).0
}

/// The person's record version (0 before the first).
pub(super) async fn version(store: &dyn Store, person: &str) -> u64 {
    must(store.person_record(person).await, "person_record").map_or(0, |r| r.version)
}

/// Applies message `key` to the existing person at its current version.
pub(super) async fn update(
    store: &dyn Store,
    person: &str,
    key: &str,
    secs: i64,
    identifiers: &[(&str, &str)],
    keys: &[&str],
) -> Vec<PathwayEvent> {
    let v = version(store, person).await;
    let existing = PersonChoice::Existing(person.to_owned());
    let c = change_with(key, secs, existing, v, identifiers, keys);
    applied(must(store.apply(c).await, "apply (update)"), key).2
}

/// A merge of `from` into `into` at `at(secs)`, at the versions given.
pub(super) fn merge_request(
    from: &str,
    into: &str,
    secs: i64,
    versions: (u64, u64),
) -> MergeRequest {
    MergeRequest {
        from: from.to_owned(),
        into: into.to_owned(),
        by: "reviewer-1".to_owned(),
        reason: "same prison number on paper file".to_owned(),
        at: at(secs),
        review_id: None,
        record: Sensitive::new(json!({"merged": [from, into]}).to_string()),
        expected_versions: versions,
        events: vec![NewEvent {
            topic: "record.updated".to_owned(),
            event_time: at(secs),
            detail: json!({"merge": true}),
        }],
    }
}

/// Merges `from` into `into` at their current versions.
pub(super) async fn merge(store: &dyn Store, from: &str, into: &str, secs: i64) -> IdentityEvent {
    let versions = (version(store, from).await, version(store, into).await);
    let request = merge_request(from, into, secs, versions);
    must(store.merge_persons(request).await, "merge_persons")
}

/// The kinds of the person's identity events naming `person` as theirs, in order.
pub(super) fn kinds_of(history: &[IdentityEvent], person: &str) -> Vec<IdentityEventKind> {
    history
        .iter()
        .filter(|e| e.person_id == person)
        .map(|e| e.kind)
        .collect()
}

/// The ids of the person's identifier links, sorted, as `system|value`.
pub(super) async fn linked_to(store: &dyn Store, pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    let links = must(
        store.find_by_identifiers(&ids(pairs)).await,
        "find_by_identifiers",
    );
    let mut found: Vec<(String, String)> = links
        .into_iter()
        .map(|l| (l.value.expose().clone(), l.person_id))
        .collect();
    found.sort();
    found
}

/// The message ids of the person's entries, in the store's order.
pub(super) async fn entry_ids(store: &dyn Store, person: &str) -> Vec<String> {
    let entries = must(store.entries(person).await, "entries");
    entries.into_iter().map(|e| e.message_id).collect()
}

/// The person ids found under `keys`, in the store's order.
pub(super) async fn found_under(store: &dyn Store, keys: &[&str], limit: u32) -> Vec<String> {
    let keys: Vec<String> = keys.iter().map(|k| (*k).to_owned()).collect();
    let found = must(store.candidates(&keys, limit).await, "candidates");
    found.into_iter().map(|c| c.person_id).collect()
}
