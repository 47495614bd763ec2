//! The mock's feed: every event of the synthetic custody episodes in time order, numbered by
//! `sequence`, plus the flaws asked for (malformed events, re-emitted duplicates, events out of
//! time order). Same seed, same people, same faults: the same bytes.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::synthetic::{Draft, drafts};

/// Flaws put into the feed's data.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FeedFaults {
    /// Adds three malformed events: one with an unreadable time and detainee, one without an
    /// `eventId`, one whose `sequence` is not a number.
    pub malformed: bool,
    /// Re-emits every 23rd event a few places later, same `eventId`, new `sequence`.
    pub duplicates: bool,
    /// Moves every 17th event four places later, after events that happened after it.
    pub out_of_order: bool,
}

/// What the adapter should make of a feed item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// A sound event: published, and should map.
    Good,
    /// A re-emission of an earlier event: published with the same message id.
    Duplicate,
    /// A malformed event: published with `context.error`, quarantined by the map stage.
    Flawed,
}

/// One event of the feed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeedItem {
    /// The event kind, or the fault's name.
    pub label: String,
    /// Athena's event id, when the event has one.
    pub event_id: Option<String>,
    /// The exact bytes served.
    pub body: Vec<u8>,
    /// What should become of it.
    pub expect: Expect,
}

/// How many events the feed holds, and what should become of them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Expected {
    /// Items served.
    pub items: usize,
    /// Distinct messages (each a distinct message id): the total the bus should end up holding.
    pub unique: usize,
    /// Of the items, sound events.
    pub good: usize,
    /// Of the items, re-emissions of earlier events.
    pub duplicates: usize,
    /// Of the items, malformed events.
    pub flawed: usize,
    /// Sound events and re-emissions whose time is earlier than one served before them.
    pub late: usize,
}

/// The feed the mock serves.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Feed {
    items: Vec<FeedItem>,
}

impl Feed {
    /// The custody episodes of the first `people` people of the synthetic population `seed`.
    pub fn synthetic(seed: u64, people: usize, faults: FeedFaults) -> Self {
        let mut drafts = drafts(seed, people);
        drafts.sort_by(|a, b| (a.at, &a.event_id).cmp(&(b.at, &b.event_id)));
        if faults.out_of_order {
            for i in (5..drafts.len().saturating_sub(4)).step_by(17) {
                let late = drafts.remove(i);
                drafts.insert(i + 4, late);
            }
        }
        let mut slots: Vec<(Value, Expect, &'static str)> = drafts
            .iter()
            .map(|d| (Value::Object(d.body.clone()), Expect::Good, ""))
            .collect();
        if faults.duplicates {
            duplicate(&mut slots, &drafts);
        }
        if faults.malformed {
            malform(&mut slots);
        }
        Self {
            items: number(slots),
        }
    }

    /// Every item, in feed order (item `i` has sequence `i + 1`, malformed ones aside).
    pub fn items(&self) -> &[FeedItem] {
        &self.items
    }

    /// How many items.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when the feed holds nothing.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// What the adapter should make of the feed.
    pub fn expected(&self) -> Expected {
        let count = |e: Expect| self.items.iter().filter(|i| i.expect == e).count();
        let mut keys = HashSet::new();
        let anonymous = self
            .items
            .iter()
            .filter(|i| match &i.event_id {
                Some(id) => {
                    keys.insert(id.as_str());
                    false
                }
                None => true,
            })
            .count();
        Expected {
            items: self.items.len(),
            unique: keys.len() + anonymous,
            good: count(Expect::Good),
            duplicates: count(Expect::Duplicate),
            flawed: count(Expect::Flawed),
            late: self.late(),
        }
    }

    fn late(&self) -> usize {
        let mut latest: Option<DateTime<Utc>> = None;
        let mut late = 0;
        for item in self.items.iter().filter(|i| i.expect != Expect::Flawed) {
            let value: Value = serde_json::from_slice(&item.body).unwrap_or_default();
            let at = value["occurredAt"]
                .as_str()
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.with_timezone(&Utc));
            if at.is_some() && at < latest {
                late += 1;
            }
            latest = latest.max(at);
        }
        late
    }

    /// A page body: `{"events":[...],"nextCursor":...,"hasMore":...}`, events as their bytes.
    pub(crate) fn page_body(&self, from: usize, to: usize, next: &str, has_more: bool) -> Vec<u8> {
        let mut body = b"{\"events\":[".to_vec();
        let to = to.min(self.items.len());
        for (k, item) in self.items[from.min(to)..to].iter().enumerate() {
            if k > 0 {
                body.push(b',');
            }
            body.extend_from_slice(&item.body);
        }
        let tail = json!({"nextCursor": next, "hasMore": has_more}).to_string();
        body.extend_from_slice(b"],");
        body.extend_from_slice(tail.trim_start_matches('{').as_bytes());
        body
    }
}

fn duplicate(slots: &mut Vec<(Value, Expect, &'static str)>, drafts: &[Draft]) {
    let picks: Vec<usize> = (11..drafts.len()).step_by(23).collect();
    for (k, i) in picks.into_iter().enumerate() {
        let at = (i + 7 + k).min(slots.len());
        let copy = Value::Object(drafts[i].body.clone());
        slots.insert(at, (copy, Expect::Duplicate, ""));
    }
}

fn malform(slots: &mut Vec<(Value, Expect, &'static str)>) {
    let n = slots.len();
    let bad = [
        (
            json!({"eventId": "ath-malformed-time", "kind": "arrival",
                "occurredAt": "31/02/2024 25:61", "detainee": "<<unreadable>>"}),
            "malformed-time",
        ),
        (
            json!({"kind": "risk-assessment", "occurredAt": "2024-06-01T10:00:00Z",
                "riskAssessment": {"answers": "none"}}),
            "missing-event-id",
        ),
        (
            json!({"eventId": "ath-malformed-sequence", "kind": "release",
                "occurredAt": "2024-06-01T11:00:00Z"}),
            "bad-sequence",
        ),
    ];
    for (k, (value, label)) in bad.into_iter().enumerate() {
        slots.insert(
            ((k + 1) * n / 4 + k).min(slots.len()),
            (value, Expect::Flawed, label),
        );
    }
}

/// Gives every slot its sequence number (the third malformed one a text instead) and bytes.
fn number(slots: Vec<(Value, Expect, &'static str)>) -> Vec<FeedItem> {
    slots
        .into_iter()
        .zip(1u64..)
        .map(|((mut value, expect, label), sequence)| {
            let sequence = if label == "bad-sequence" {
                json!(sequence.to_string())
            } else {
                json!(sequence)
            };
            if let Some(object) = value.as_object_mut() {
                object.insert("sequence".into(), sequence);
            }
            let kind = value["kind"].as_str().unwrap_or_default();
            FeedItem {
                label: if label.is_empty() {
                    kind.to_owned()
                } else {
                    label.to_owned()
                },
                event_id: value["eventId"].as_str().map(str::to_owned),
                body: serde_json::to_vec(&value).unwrap_or_default(),
                expect,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_bytes_and_faults_are_counted() {
        let all = FeedFaults {
            malformed: true,
            duplicates: true,
            out_of_order: true,
        };
        let a = Feed::synthetic(7, 25, all);
        assert_eq!(a, Feed::synthetic(7, 25, all));
        assert_ne!(a, Feed::synthetic(8, 25, all));
        let clean = Feed::synthetic(7, 25, FeedFaults::default());
        let e = a.expected();
        assert_eq!(e.flawed, 3);
        assert!(e.duplicates > 0 && e.late > 0, "{e:?}");
        assert_eq!(e.good, clean.len());
        assert_eq!(e.unique, clean.len() + 3);
        assert_eq!(clean.expected().late, 0);
        assert_eq!(clean.expected().unique, clean.len());
    }

    #[test]
    fn every_episode_has_each_kind() {
        let feed = Feed::synthetic(3, 20, FeedFaults::default());
        for kind in [
            "arrival",
            "risk-assessment",
            "fit-decision",
            "release",
            "warning-marker",
        ] {
            assert!(feed.items().iter().any(|i| i.label == kind), "{kind}");
        }
        let arrivals = feed.items().iter().filter(|i| i.label == "arrival").count();
        let releases = feed.items().iter().filter(|i| i.label == "release").count();
        assert_eq!(arrivals, releases);
        assert!(arrivals >= 10, "{arrivals}");
    }

    #[test]
    fn page_bodies_are_json_holding_the_exact_event_bytes() {
        let feed = Feed::synthetic(3, 5, FeedFaults::default());
        let body = feed.page_body(1, 3, "c1.x", true);
        let page: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(page["events"].as_array().unwrap().len(), 2);
        assert_eq!(page["nextCursor"], "c1.x");
        let first = serde_json::to_vec(&page["events"][0]).unwrap();
        assert_eq!(first, feed.items()[1].body);
    }
}
