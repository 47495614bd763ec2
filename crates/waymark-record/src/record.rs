//! The person record: every dataset item of one person, merged order-independently.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use waymark_core::SourceSystem;

use crate::change::{Change, ItemChange};
use crate::config::RecordConfig;
use crate::entry::Entry;
use crate::extract;
use crate::item::Item;
use crate::key::{ItemKey, ItemKind};
use crate::marker::{self, MarkerStatus};
use crate::version::Version;

/// The longitudinal record of one person, stored as JSON.
///
/// A commutative merge: the record is the set of applied message ids and, per (item, source),
/// the latest versions by (source event time, message id); current values, discrepancies and
/// marker status are derived. So the same entries in any order give the same record
/// ([`PersonRecord::from_entries`] equals any sequence of [`PersonRecord::apply`]), and applying
/// a message twice changes nothing.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PersonRecord {
    #[serde(default)]
    config: RecordConfig,
    messages: BTreeSet<String>,
    items: BTreeMap<ItemKey, Item>,
}

impl PersonRecord {
    /// An empty record.
    pub fn new(config: RecordConfig) -> Self {
        Self {
            config,
            ..Self::default()
        }
    }

    /// The record holding `entries`, whatever their order.
    pub fn from_entries<'a, 'b: 'a>(
        config: RecordConfig,
        entries: impl IntoIterator<Item = &'a Entry<'b>>,
    ) -> Self {
        let mut record = Self::new(config);
        for entry in entries {
            record.apply(entry);
        }
        record
    }

    /// Merges one entry; returns what changed (empty for a message applied before).
    pub fn apply(&mut self, entry: &Entry<'_>) -> Change {
        let mut change = Change::for_entry(entry);
        if !self.messages.insert(entry.message_id.clone()) {
            change.duplicate = true;
            return change;
        }
        let (candidates, skipped) = extract::candidates(entry);
        change.skipped = skipped;
        let limit = self.config.history_limit();
        let mut before: BTreeMap<ItemKey, Option<Version>> = BTreeMap::new();
        for candidate in candidates {
            let item = self
                .items
                .entry(candidate.key.clone())
                .or_insert_with(|| Item::new(candidate.kind));
            before
                .entry(candidate.key)
                .or_insert_with(|| item.current(entry.source).cloned());
            item.insert(entry.source, candidate.version, limit);
        }
        for (key, old) in before {
            let Some(item) = self.items.get(&key) else {
                continue;
            };
            match (
                item.classify(entry.source, old.as_ref()),
                item.current(entry.source),
            ) {
                (Some(kind), Some(new)) => change.items.push(ItemChange {
                    key,
                    item: item.kind(),
                    kind,
                    data_class: new.data_class,
                }),
                _ => change.history.push(key),
            }
        }
        change
    }

    /// The settings (stored with the record).
    pub fn config(&self) -> &RecordConfig {
        &self.config
    }

    /// Replaces the settings (e.g. the hub's configured review interval after loading).
    pub fn set_config(&mut self, config: RecordConfig) {
        self.config = config;
    }

    /// Whether the message has been applied.
    pub fn has_message(&self, message_id: &str) -> bool {
        self.messages.contains(message_id)
    }

    /// How many messages have been applied.
    pub fn message_count(&self) -> usize {
        self.messages.len()
    }

    /// Every item, in key order.
    pub fn items(&self) -> impl Iterator<Item = (&ItemKey, &Item)> {
        self.items.iter()
    }

    /// One item.
    pub fn item(&self, key: &ItemKey) -> Option<&Item> {
        self.items.get(key)
    }

    /// The item with key text `key` (e.g. `expected-release-date`).
    pub fn item_named(&self, key: &str) -> Option<&Item> {
        self.items.get(&ItemKey::new(key))
    }

    /// The current value of an item from one source.
    pub fn current(&self, key: &ItemKey, source: SourceSystem) -> Option<&Version> {
        self.items.get(key)?.current(source)
    }

    /// The items on which sources disagree.
    pub fn discrepancies(&self) -> Vec<&ItemKey> {
        self.items
            .iter()
            .filter(|(_, item)| item.has_discrepancy())
            .map(|(key, _)| key)
            .collect()
    }

    /// The status at `now` of a marker's current value from `source` (`None`: not a marker or
    /// no value).
    pub fn marker_status(
        &self,
        key: &ItemKey,
        source: SourceSystem,
        now: DateTime<Utc>,
    ) -> Option<MarkerStatus> {
        let item = self
            .items
            .get(key)
            .filter(|i| i.kind() == ItemKind::Marker)?;
        Some(marker::status(item.current(source)?, &self.config, now))
    }
}
