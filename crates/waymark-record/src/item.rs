//! One dataset item: its versions per source, the current value per source, discrepancies.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use waymark_core::SourceSystem;

use crate::change::ChangeKind;
use crate::key::ItemKind;
use crate::version::{self, Version};

/// One item of a person's dataset, as every source gave it.
///
/// Per source, the latest versions by (source event time, message id) are kept, oldest first;
/// the last is that source's **current** value. Sources are never merged into one value: when
/// their current answers differ, the item has a discrepancy and both are shown.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Item {
    kind: ItemKind,
    sources: BTreeMap<SourceSystem, Vec<Version>>,
}

impl Item {
    pub(crate) fn new(kind: ItemKind) -> Self {
        Self {
            kind,
            sources: BTreeMap::new(),
        }
    }

    /// The kind of item.
    pub fn kind(&self) -> ItemKind {
        self.kind
    }

    /// The current value from `source`.
    pub fn current(&self, source: SourceSystem) -> Option<&Version> {
        self.sources.get(&source)?.last()
    }

    /// The kept versions from `source`, oldest first (the last is current).
    pub fn history(&self, source: SourceSystem) -> &[Version] {
        self.sources.get(&source).map_or(&[], Vec::as_slice)
    }

    /// The current value of every source that holds one, in source order.
    pub fn currents(&self) -> impl Iterator<Item = (SourceSystem, &Version)> {
        self.sources
            .iter()
            .filter_map(|(s, versions)| Some((*s, versions.last()?)))
    }

    /// The current values that say something: present, and (unless `with_ended`) not over.
    pub fn live(&self, with_ended: bool) -> impl Iterator<Item = (SourceSystem, &Version)> {
        let kind = self.kind;
        self.currents().filter(move |(_, v)| {
            version::present(kind, v) && (with_ended || !version::ended(kind, v))
        })
    }

    /// The most recent current value across sources (by event time, then message id).
    pub fn latest(&self) -> Option<(SourceSystem, &Version)> {
        self.currents()
            .max_by(|a, b| version::order(self.kind, a.1, b.1))
    }

    /// What sources must agree on (see the crate docs), for one version.
    pub fn answer(&self, version: &Version) -> Value {
        version::answer(self.kind, version)
    }

    /// Whether the version says the item is over (inactive, finished, stopped, cleared).
    pub fn is_ended(&self, version: &Version) -> bool {
        version::ended(self.kind, version)
    }

    /// Two or more sources hold different current answers (ended and absent values aside).
    pub fn has_discrepancy(&self) -> bool {
        let mut answers = self.live(false).map(|(_, v)| self.answer(v));
        let Some(first) = answers.next() else {
            return false;
        };
        answers.any(|a| a != first)
    }

    /// Adds a version from `source`, keeping the latest `limit`; false when it was held already.
    pub(crate) fn insert(&mut self, source: SourceSystem, version: Version, limit: usize) -> bool {
        let kind = self.kind;
        let list = self.sources.entry(source).or_default();
        let Err(at) = list.binary_search_by(|v| version::order(kind, v, &version)) else {
            return false;
        };
        list.insert(at, version);
        let excess = list.len().saturating_sub(limit);
        list.drain(..excess);
        true
    }

    /// How `source`'s current value moved from `before` to now; `None` when it did not (the
    /// new version went to history, or says nothing where nothing was known).
    pub(crate) fn classify(
        &self,
        source: SourceSystem,
        before: Option<&Version>,
    ) -> Option<ChangeKind> {
        let kind = self.kind;
        let after = self.current(source)?;
        if before == Some(after) {
            return None;
        }
        let before = before.filter(|b| version::present(kind, b));
        let Some(before) = before else {
            return version::present(kind, after).then_some(ChangeKind::Added);
        };
        Some(if !version::present(kind, after) {
            ChangeKind::Ended
        } else if version::content(kind, before) == version::content(kind, after) {
            ChangeKind::Refreshed
        } else if version::ended(kind, after) && !version::ended(kind, before) {
            ChangeKind::Ended
        } else {
            ChangeKind::Changed
        })
    }
}
