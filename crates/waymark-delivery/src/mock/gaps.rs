//! What a receiving system reads from a notification to notice a lost one: the kind, the
//! subscription, the event numbers and the subscription's event count.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

/// What a received body is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// An event notification (or anything not recognised as a handshake or heartbeat).
    Notification,
    /// A handshake.
    Handshake,
    /// A heartbeat.
    Heartbeat,
}

/// What one body says about its subscription's event stream.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Numbers {
    pub(super) subscription: Option<String>,
    pub(super) events: Vec<u64>,
    pub(super) since_start: Option<u64>,
}

/// The kind of a Backport bundle or a CloudEvent.
pub(super) fn kind(body: &Value) -> Kind {
    let kind = if body.get("specversion").is_some() {
        body["type"].as_str().unwrap_or_default().rsplit('.').next()
    } else {
        status_param(body, "type").and_then(|p| p["valueCode"].as_str())
    };
    match kind {
        Some("handshake") => Kind::Handshake,
        Some("heartbeat") => Kind::Heartbeat,
        _ => Kind::Notification,
    }
}

fn status_param<'a>(body: &'a Value, name: &str) -> Option<&'a Value> {
    body["entry"][0]["resource"]["parameter"]
        .as_array()?
        .iter()
        .find(|p| p["name"] == name)
}

/// The numbers a Backport bundle (`events-since-subscription-start`,
/// `notification-event.event-number`) or a signal (`data.eventNumber`,
/// `data.eventsSinceSubscriptionStart`) carries.
pub(super) fn numbers(body: &Value) -> Numbers {
    if body.get("specversion").is_some() {
        let data = &body["data"];
        let number = data["eventNumber"].as_u64();
        return Numbers {
            subscription: data["subscription"].as_str().map(str::to_owned),
            events: number.into_iter().collect(),
            since_start: data["eventsSinceSubscriptionStart"].as_u64().or(number),
        };
    }
    let params = body["entry"][0]["resource"]["parameter"].as_array();
    let events = params
        .into_iter()
        .flatten()
        .filter(|p| p["name"] == "notification-event")
        .filter_map(|p| {
            p["part"]
                .as_array()?
                .iter()
                .find(|q| q["name"] == "event-number")?["valueString"]
                .as_str()?
                .parse()
                .ok()
        })
        .collect();
    let subscription = status_param(body, "subscription")
        .and_then(|p| p["valueReference"]["reference"].as_str())
        .and_then(|r| r.strip_prefix("Subscription/"))
        .map(str::to_owned);
    let since_start = status_param(body, "events-since-subscription-start")
        .and_then(|p| p["valueString"].as_str())
        .and_then(|s| s.parse().ok());
    Numbers {
        subscription,
        events,
        since_start,
    }
}

/// One subscription's event stream as the receiver has seen it.
#[derive(Clone, Debug, Default)]
pub(super) struct Stream {
    seen: BTreeSet<u64>,
    latest: u64,
}

impl Stream {
    /// Takes in what one body said; returns how many event numbers were new.
    pub(super) fn note(&mut self, numbers: &Numbers) -> usize {
        let latest = numbers.events.iter().copied().max().unwrap_or(0);
        self.latest = self
            .latest
            .max(latest)
            .max(numbers.since_start.unwrap_or(0));
        numbers
            .events
            .iter()
            .filter(|n| self.seen.insert(**n))
            .count()
    }

    /// The event numbers up to the latest count never seen.
    pub(super) fn missing(&self) -> Vec<u64> {
        (1..=self.latest)
            .filter(|n| !self.seen.contains(n))
            .collect()
    }
}

/// Every subscription's missing numbers, leaving out those with none.
pub(super) fn gaps(streams: &BTreeMap<String, Stream>) -> BTreeMap<String, Vec<u64>> {
    streams
        .iter()
        .map(|(id, s)| (id.clone(), s.missing()))
        .filter(|(_, missing)| !missing.is_empty())
        .collect()
}
