//! The other Backport bundles: the `$status` and `$events` answers, handshakes and heartbeats.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};
use waymark_core::MessageId;

use crate::{
    EventMeta, Subscription, SubscriptionStatus,
    notification::{NOTIFICATION_PROFILE, Status, event_part, status_parameters},
};

/// The stable root every id derived for a subscription (handshakes, heartbeats, status) hangs off.
fn subscription_root(sub: &Subscription) -> MessageId {
    MessageId::from_stored(format!("subscription/{}", sub.id))
}

fn status_code(sub: &Subscription) -> &'static str {
    if sub.enabled {
        sub.status.code()
    } else {
        SubscriptionStatus::Off.code()
    }
}

/// The `$status` answer: a `searchset` Bundle holding the subscription's status `Parameters`
/// (type `query-status`) with its event count.
pub fn status_bundle(sub: &Subscription, events_since_start: u64) -> Value {
    let id = subscription_root(sub).child(&format!("status/{events_since_start}"));
    let status = Status {
        code: status_code(sub),
        kind: "query-status",
        topic: &sub.topic,
        events_since_start,
    };
    json!({
        "resourceType": "Bundle",
        "id": id.child("bundle").as_str(),
        "type": "searchset",
        "total": 1,
        "entry": [{
            "fullUrl": format!("urn:uuid:{id}"),
            "resource": status_parameters(sub, &status, &id, &[]),
            "search": { "mode": "match" },
        }],
    })
}

/// The `$events` answer: a `history` notification bundle whose status `Parameters` (type
/// `query-event`) lists `events` (number, timestamp, focus: id-only, no resources), so a
/// subscriber can fill a gap it detected.
pub fn events_bundle(sub: &Subscription, events: &[EventMeta], events_since_start: u64) -> Value {
    let (first, last) = (
        events.first().map_or(0, |e| e.event_number),
        events.last().map_or(0, |e| e.event_number),
    );
    let id = subscription_root(sub).child(&format!("events/{first}-{last}/{events_since_start}"));
    let parts: Vec<Value> = events
        .iter()
        .map(|e| event_part(e, &instant(e.timestamp)))
        .collect();
    let status = Status {
        code: status_code(sub),
        kind: "query-event",
        topic: &sub.topic,
        events_since_start,
    };
    let mut bundle = notification_shell(sub, &id, &status, &parts);
    if let Some(last) = events.last() {
        bundle["timestamp"] = json!(instant(last.timestamp));
    }
    bundle
}

/// The handshake sent when a subscription is created (type `handshake`, no events).
pub fn handshake_bundle(sub: &Subscription, now: DateTime<Utc>) -> Value {
    let id = subscription_root(sub).child(&format!("handshake/{}", now.timestamp_millis()));
    let status = Status {
        code: status_code(sub),
        kind: "handshake",
        topic: &sub.topic,
        events_since_start: 0,
    };
    let mut bundle = notification_shell(sub, &id, &status, &[]);
    bundle["timestamp"] = json!(instant(now));
    bundle
}

/// A heartbeat (type `heartbeat`, no events, no data): sent when nothing was delivered for the
/// subscription's heartbeat period, with the event count so a gap can still be seen.
pub fn heartbeat_bundle(sub: &Subscription, events_since_start: u64, now: DateTime<Utc>) -> Value {
    let id = subscription_root(sub).child(&format!("heartbeat/{}", now.timestamp_millis()));
    let status = Status {
        code: status_code(sub),
        kind: "heartbeat",
        topic: &sub.topic,
        events_since_start,
    };
    let mut bundle = notification_shell(sub, &id, &status, &[]);
    bundle["timestamp"] = json!(instant(now));
    bundle
}

fn notification_shell(
    sub: &Subscription,
    id: &MessageId,
    status: &Status<'_>,
    parts: &[Value],
) -> Value {
    let status_id = id.child("status");
    json!({
        "resourceType": "Bundle",
        "id": id.as_str(),
        "meta": { "profile": [NOTIFICATION_PROFILE] },
        "type": "history",
        "entry": [{
            "fullUrl": format!("urn:uuid:{status_id}"),
            "resource": status_parameters(sub, status, &status_id, parts),
            "request": { "method": "GET", "url": format!("Subscription/{}/$status", sub.id) },
            "response": { "status": "200" },
        }],
    })
}

pub(crate) fn instant(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}
