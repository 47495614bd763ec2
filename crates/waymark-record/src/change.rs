//! What applying one entry changed.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use waymark_core::{DataClass, SourceSystem};

use crate::entry::Entry;
use crate::key::{ItemKey, ItemKind};

/// How the current value of an item from one source changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChangeKind {
    /// First known from this source (or first present, for a derived value).
    Added,
    /// A different value.
    Changed,
    /// Was live, now over: flag inactive, episode finished, medication stopped, value cleared.
    Ended,
    /// The same value again from a newer message (newer provenance; raises no event).
    Refreshed,
}

/// One item whose current value from the entry's source changed. No values: loggable.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemChange {
    /// The item.
    pub key: ItemKey,
    /// Its kind.
    pub item: ItemKind,
    /// How it changed.
    pub kind: ChangeKind,
    /// The data class of the new value.
    pub data_class: DataClass,
}

/// What [`PersonRecord::apply`](crate::PersonRecord::apply) did with one entry. Holds keys and
/// kinds, never values, so it may be logged.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// The entry's message id.
    pub message_id: String,
    /// The entry's source.
    pub source: SourceSystem,
    /// The entry's source event time.
    pub event_time: DateTime<Utc>,
    /// The bundle's source-event tag (what the source said happened): a hint for topics.
    pub source_event: Option<String>,
    /// The message had been applied before: nothing was done.
    pub duplicate: bool,
    /// Items whose current value from this source changed, in key order.
    pub items: Vec<ItemChange>,
    /// Items that only gained history (the entry is older than what the source said since).
    pub history: Vec<ItemKey>,
    /// Resources without a readable data-class label (not recorded).
    pub skipped: usize,
}

impl Change {
    pub(crate) fn for_entry(entry: &Entry<'_>) -> Self {
        Self {
            message_id: entry.message_id.clone(),
            source: entry.source,
            event_time: entry.event_time,
            source_event: entry.source_event().map(str::to_owned),
            duplicate: false,
            items: Vec::new(),
            history: Vec::new(),
            skipped: 0,
        }
    }

    /// Nothing changed at all (a duplicate, or a bundle with no items).
    pub fn is_empty(&self) -> bool {
        self.items.is_empty() && self.history.is_empty()
    }

    /// Some current value was added, changed or ended (what `record.updated` means).
    pub fn changes_dataset(&self) -> bool {
        self.items.iter().any(|i| i.kind != ChangeKind::Refreshed)
    }
}
