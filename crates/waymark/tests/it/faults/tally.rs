//! The Jepsen-style count of one fault test, from what the receivers got and what the hub
//! numbered (pure: no IO).
//!
//! - **lost**: acknowledged by the hub's ingest but not recorded, or numbered for a subscriber
//!   (`eventsSinceSubscriptionStart`) and never delivered to it;
//! - **duplicated**: recorded twice, one event number delivered under two webhook ids, or one
//!   webhook id delivered with two different contents;
//! - **redelivered**: the same notification (same webhook id, same content) delivered again —
//!   allowed at-least-once behaviour, receivers dedupe by webhook id;
//! - **recovered**: notifications delivered after the fault began (in flight or not yet sent
//!   when it hit);
//! - **unexpected**: notifications the ingest did not acknowledge, a quarantine count other
//!   than the population's, event numbers the hub never gave.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use waymark_delivery::mock::Received;

/// One receiver's notifications, with the hub's count of events numbered for it.
pub struct Subscriber<'a> {
    pub received: &'a [Received],
    pub numbered: u64,
}

/// What the hub itself said, beside the receivers.
#[derive(Clone, Copy, Debug)]
pub struct HubCounts {
    pub sent: u64,
    pub acknowledged: u64,
    pub good: u64,
    pub bad: u64,
    pub recorded: u64,
    pub quarantined: u64,
    /// Unique notifications at both receivers when the (first) fault began.
    pub delivered_before_fault: u64,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub lost: u64,
    pub duplicated: u64,
    pub redelivered: u64,
    pub recovered: u64,
    pub unexpected: u64,
    pub delivered: u64,
}

impl Tally {
    pub fn count(hub: HubCounts, subscribers: &[Subscriber<'_>]) -> Self {
        let mut t = Self {
            lost: hub.good.saturating_sub(hub.recorded),
            duplicated: hub.recorded.saturating_sub(hub.good),
            unexpected: (hub.sent - hub.acknowledged) + hub.quarantined.abs_diff(hub.bad),
            ..Self::default()
        };
        for sub in subscribers {
            let one = per_subscriber(sub);
            t.lost += one.lost;
            t.duplicated += one.duplicated;
            t.redelivered += one.redelivered;
            t.unexpected += one.unexpected;
            t.delivered += one.delivered;
        }
        t.recovered = t.delivered.saturating_sub(hub.delivered_before_fault);
        t
    }

    /// The line the results page collects.
    pub fn line(&self) -> String {
        format!(
            "lost={} duplicated={} recovered={} unexpected={} redelivered={} delivered={}",
            self.lost,
            self.duplicated,
            self.recovered,
            self.unexpected,
            self.redelivered,
            self.delivered
        )
    }

    /// Nothing lost, duplicated or unexpected.
    pub fn clean(&self) -> bool {
        self.lost == 0 && self.duplicated == 0 && self.unexpected == 0
    }
}

fn per_subscriber(sub: &Subscriber<'_>) -> Tally {
    let mut ids_by_number: BTreeMap<u64, BTreeSet<&str>> = BTreeMap::new();
    let mut contents_by_id: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    let mut copies: BTreeMap<(&str, String), u64> = BTreeMap::new();
    for r in sub.received {
        let content = content(&r.body);
        for n in event_numbers(&r.body) {
            ids_by_number.entry(n).or_default().insert(&r.webhook_id);
        }
        contents_by_id
            .entry(&r.webhook_id)
            .or_default()
            .insert(content.clone());
        *copies.entry((&r.webhook_id, content)).or_default() += 1;
    }
    let numbers: BTreeSet<u64> = ids_by_number.keys().copied().collect();
    let in_range = numbers.range(1..=sub.numbered).count() as u64;
    Tally {
        lost: sub.numbered - in_range,
        unexpected: numbers.len() as u64 - in_range,
        duplicated: ids_by_number.values().filter(|ids| ids.len() > 1).count() as u64
            + contents_by_id.values().filter(|c| c.len() > 1).count() as u64,
        redelivered: copies.values().map(|n| n - 1).sum(),
        delivered: contents_by_id.len() as u64,
        recovered: 0,
    }
}

/// A notification's content: every resource but the `Parameters` status (which carries the
/// delivery's own counters), as text.
fn content(body: &Value) -> String {
    waymark_fhir::entries(body)
        .filter(|r| r["resourceType"] != "Parameters")
        .map(Value::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

/// The `event-number`s a notification carries.
fn event_numbers(body: &Value) -> Vec<u64> {
    fn walk(value: &Value, out: &mut Vec<u64>) {
        match value {
            Value::Object(map) => {
                if map.get("name").and_then(Value::as_str) == Some("event-number")
                    && let Some(n) = map.get("valueString").and_then(Value::as_str)
                {
                    out.extend(n.parse::<u64>().ok());
                }
                map.values().for_each(|v| walk(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(body, &mut out);
    out
}
