//! Notification bundles in the Subscriptions R5 Backport R4 shape: a `history` Bundle whose first
//! entry is a `Parameters` subscription status.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use waymark_core::MessageId;
use waymark_policy::Releasable;

use crate::{PayloadMode, Subscription};

/// Canonical base of the hub's SubscriptionTopics: `<TOPIC_BASE><topic>`.
pub const TOPIC_BASE: &str = "https://fhir.waymark.org.uk/SubscriptionTopic/";

pub(crate) const NOTIFICATION_PROFILE: &str = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription-notification-r4";
const STATUS_PROFILE: &str = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription-status-r4";

/// One topic event, as numbered for one subscription. Holds no patient data (the patient id is
/// hub-generated).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventMeta {
    /// The event's stable id; each subscription's notification id is derived from it.
    pub event_id: MessageId,
    /// This subscription's sequence number for the event (1, 2, 3, ...), so the subscriber can
    /// detect gaps.
    pub event_number: u64,
    /// The topic, e.g. `prison.reception`.
    pub topic: String,
    /// When the event happened.
    pub timestamp: DateTime<Utc>,
    /// The id of the Patient the event is about.
    pub patient_id: String,
}

/// The notification bundle for `event` on `sub`: the status entry, then in `full-resource` mode
/// the released resources. Deterministic: the same inputs give the same bytes.
pub fn notification_bundle(
    sub: &Subscription,
    event: &EventMeta,
    releasable: Option<&Releasable>,
) -> Value {
    let notification_id = event.event_id.child(&sub.id);
    let timestamp = event.timestamp.to_rfc3339_opts(SecondsFormat::Millis, true);
    let mut entries = vec![status_entry(sub, event, &notification_id, &timestamp)];
    let mut bundle = json!({
        "resourceType": "Bundle",
        "id": notification_id.as_str(),
        "meta": { "profile": [NOTIFICATION_PROFILE] },
        "type": "history",
        "timestamp": timestamp,
    });
    if let (PayloadMode::FullResource, Some(released)) = (sub.payload, releasable) {
        entries.extend(released_entries(released.bundle()).map(history_entry));
        if let Some(security) = released.bundle()["meta"].get("security") {
            bundle["meta"]["security"] = security.clone();
        }
    }
    bundle["entry"] = Value::Array(entries);
    bundle
}

fn status_entry(
    sub: &Subscription,
    event: &EventMeta,
    notification_id: &MessageId,
    timestamp: &str,
) -> Value {
    let status_id = notification_id.child("status");
    let status = Status {
        code: "active",
        kind: "event-notification",
        topic: &event.topic,
        events_since_start: event.event_number,
    };
    json!({
        "fullUrl": format!("urn:uuid:{status_id}"),
        "resource": status_parameters(sub, &status, &status_id, &[event_part(event, timestamp)]),
        "request": { "method": "GET", "url": format!("Subscription/{}/$status", sub.id) },
        "response": { "status": "200" },
    })
}

/// What a status `Parameters` says besides its events.
pub(crate) struct Status<'a> {
    /// The subscription's status code.
    pub(crate) code: &'a str,
    /// `event-notification`, `handshake`, `heartbeat`, `query-status`, `query-event`.
    pub(crate) kind: &'a str,
    /// The topic (without [`TOPIC_BASE`]).
    pub(crate) topic: &'a str,
    /// The subscription's event count.
    pub(crate) events_since_start: u64,
}

/// A `backport-subscription-status-r4` Parameters with `events` as `notification-event` parts.
pub(crate) fn status_parameters(
    sub: &Subscription,
    status: &Status<'_>,
    id: &MessageId,
    events: &[Value],
) -> Value {
    let mut parameter = vec![
        json!({ "name": "subscription",
                "valueReference": { "reference": format!("Subscription/{}", sub.id) } }),
        json!({ "name": "topic", "valueCanonical": format!("{TOPIC_BASE}{}", status.topic) }),
        json!({ "name": "status", "valueCode": status.code }),
        json!({ "name": "type", "valueCode": status.kind }),
        json!({ "name": "events-since-subscription-start",
                "valueString": status.events_since_start.to_string() }),
    ];
    parameter.extend(events.iter().cloned());
    json!({
        "resourceType": "Parameters",
        "id": id.as_str(),
        "meta": { "profile": [STATUS_PROFILE] },
        "parameter": parameter,
    })
}

/// The `notification-event` parameter of one event: number, timestamp, focus (id only).
pub(crate) fn event_part(event: &EventMeta, timestamp: &str) -> Value {
    json!({ "name": "notification-event", "part": [
        { "name": "event-number", "valueString": event.event_number.to_string() },
        { "name": "timestamp", "valueInstant": timestamp },
        { "name": "focus", "valueReference": {
            "reference": format!("Patient/{}", event.patient_id), "type": "Patient" } },
    ] })
}

/// The entries of a released bundle, with their fullUrls.
fn released_entries(bundle: &Value) -> impl Iterator<Item = &Value> {
    bundle["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e.get("resource").is_some())
}

/// A released entry as a `history` entry (which needs `request` and `response`).
fn history_entry(entry: &Value) -> Value {
    let resource = &entry["resource"];
    let url = format!(
        "{}/{}",
        resource["resourceType"].as_str().unwrap_or_default(),
        resource["id"].as_str().unwrap_or_default()
    );
    json!({
        "fullUrl": entry["fullUrl"],
        "resource": resource,
        "request": { "method": "PUT", "url": url },
        "response": { "status": "200" },
    })
}
