//! The signal mode ([`PayloadMode::Signal`](crate::PayloadMode::Signal)): CloudEvents 1.0 JSON
//! bodies in NHS England's notification pattern — the event type and the subject, no resources;
//! the subscriber pulls through the API with its own token.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::{EventMeta, Subscription, TOPIC_BASE, bundles::instant};

/// The CloudEvents `source` of every event the hub sends.
pub const HUB_URI: &str = "https://fhir.waymark.org.uk";
/// The `type` prefix: `uk.org.waymark.<topic>`.
pub const EVENT_TYPE_PREFIX: &str = "uk.org.waymark.";
/// The media type of a signal body.
pub const CLOUDEVENTS_CONTENT_TYPE: &str = "application/cloudevents+json";

/// The signal for `event` on `sub`: `id` is the notification id (the `webhook-id`), `subject`
/// the Patient, `data` the subscription id, event number and topic canonical. Deterministic.
pub fn signal_event(sub: &Subscription, event: &EventMeta) -> Value {
    json!({
        "specversion": "1.0",
        "id": event.event_id.child(&sub.id).as_str(),
        "source": HUB_URI,
        "type": format!("{EVENT_TYPE_PREFIX}{}", event.topic),
        "subject": format!("Patient/{}", event.patient_id),
        "time": instant(event.timestamp),
        "datacontenttype": "application/json",
        "data": {
            "subscription": sub.id,
            "eventNumber": event.event_number,
            "topic": format!("{TOPIC_BASE}{}", event.topic),
        },
    })
}

/// A handshake or heartbeat (`kind`) as a signal: type `uk.org.waymark.subscription.<kind>`,
/// no subject.
pub(crate) fn signal_control(
    sub: &Subscription,
    id: &str,
    kind: &str,
    events_since_start: u64,
    now: DateTime<Utc>,
) -> Value {
    json!({
        "specversion": "1.0",
        "id": id,
        "source": HUB_URI,
        "type": format!("{EVENT_TYPE_PREFIX}subscription.{kind}"),
        "time": instant(now),
        "datacontenttype": "application/json",
        "data": {
            "subscription": sub.id,
            "eventsSinceSubscriptionStart": events_since_start,
            "topic": format!("{TOPIC_BASE}{}", sub.topic),
        },
    })
}
