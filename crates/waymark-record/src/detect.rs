//! Pathway events from a change to the record, by the topics' trigger rules.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use waymark_core::SourceSystem;

use crate::change::{Change, ChangeKind, ItemChange};
use crate::key::ItemKey;
use crate::path::Path;
use crate::record::PersonRecord;
use crate::topics::{Condition, Topic, Topics, Trigger};
use crate::version::Version;

/// A pathway event raised from one applied entry. Names items and resources, never values:
/// events are logged.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DetectedEvent {
    /// Topic code, e.g. `prison.reception`.
    pub topic: String,
    /// The topic's canonical URL.
    pub url: String,
    /// The source's event time.
    pub event_time: DateTime<Utc>,
    /// The source.
    pub source: SourceSystem,
    /// The message that caused it.
    pub message_id: String,
    /// The focus resources (`Type/id`, ids are hub-generated uuids), sorted.
    pub focus: Vec<String>,
    /// What changed: item keys and how, in key order.
    pub changed: Vec<ChangedItem>,
}

/// One item that made a topic fire.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangedItem {
    /// The item.
    pub key: ItemKey,
    /// How it changed.
    pub kind: ChangeKind,
}

/// The events `change` (from applying one entry to `before`, giving `after`) raises: one per
/// topic with at least one matching item. A duplicate or a change that only refreshed or added
/// history raises nothing.
pub fn detect(
    topics: &Topics,
    before: &PersonRecord,
    after: &PersonRecord,
    change: &Change,
) -> Vec<DetectedEvent> {
    if change.duplicate {
        return Vec::new();
    }
    topics
        .iter()
        .filter_map(|topic| event_for(topic, before, after, change))
        .collect()
}

fn event_for(
    topic: &Topic,
    before: &PersonRecord,
    after: &PersonRecord,
    change: &Change,
) -> Option<DetectedEvent> {
    let mut focus = BTreeSet::new();
    let mut changed = Vec::new();
    for item in change
        .items
        .iter()
        .filter(|i| i.kind != ChangeKind::Refreshed)
    {
        let Some(new) = after.current(&item.key, change.source) else {
            continue;
        };
        let old = before.current(&item.key, change.source);
        if topic
            .triggers
            .iter()
            .any(|t| fires(t, item, old, new, change))
        {
            focus.extend(new.reference());
            changed.push(ChangedItem {
                key: item.key.clone(),
                kind: item.kind,
            });
        }
    }
    (!changed.is_empty()).then(|| DetectedEvent {
        topic: topic.code.clone(),
        url: topic.url.clone(),
        event_time: change.event_time,
        source: change.source,
        message_id: change.message_id.clone(),
        focus: focus.into_iter().collect(),
        changed,
    })
}

fn fires(
    t: &Trigger,
    item: &ItemChange,
    before: Option<&Version>,
    after: &Version,
    change: &Change,
) -> bool {
    let resource = after.resource();
    let any_or = |list: &[String], value: &str| list.is_empty() || list.iter().any(|x| x == value);
    t.change.contains(&item.kind)
        && any_or(&t.item, item.key.name())
        && any_or(
            &t.resource_type,
            resource["resourceType"].as_str().unwrap_or_default(),
        )
        && (t.data_class.is_empty() || t.data_class.contains(&after.data_class))
        && (t.source_event.is_empty()
            || change
                .source_event
                .as_deref()
                .is_some_and(|e| t.source_event.iter().any(|x| x == e)))
        && t.conditions.iter().all(|c| holds(c, resource))
        && t.field
            .as_ref()
            .is_none_or(|f| moved(f, &t.from, &t.to, before, after))
}

fn holds(condition: &Condition, resource: &serde_json::Value) -> bool {
    match condition {
        Condition::In(path, values) => {
            let found = path.values(resource);
            values.iter().any(|v| found.contains(v))
        }
        Condition::Contains(path, text) => path
            .values(resource)
            .iter()
            .any(|v| v.to_lowercase().contains(text.as_str())),
    }
}

/// The values at `path` differ before and after, are present after, and match `from` / `to`.
fn moved(
    path: &Path,
    from: &[String],
    to: &[String],
    before: Option<&Version>,
    after: &Version,
) -> bool {
    let old = before
        .map(|v| path.values(v.resource()))
        .unwrap_or_default();
    let new = path.values(after.resource());
    !new.is_empty()
        && old != new
        && (to.is_empty() || to.iter().any(|v| new.contains(v)))
        && (from.is_empty() || from.iter().any(|v| old.contains(v)))
}
