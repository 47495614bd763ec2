//! How common each name is among the records seen so far, for frequency-adjusted name weights:
//! two records that agree on "Smith" say less than two that agree on "Ashworth" (the term
//! frequency adjustment of Fellegi–Sunter matching, estimated from the index itself).

use std::{collections::HashMap, fmt};

use serde::{Deserialize, Serialize};

use crate::{config::FrequencyWeights, demographics::Demographics, text};

/// Counts of normalised first given names and family names, one per record added.
/// Patient-derived: `Debug` prints only the totals.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NameFrequencies {
    given: HashMap<String, u32>,
    family: HashMap<String, u32>,
    records: u32,
}

impl fmt::Debug for NameFrequencies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NameFrequencies")
            .field("records", &self.records)
            .field("given", &self.given.len())
            .field("family", &self.family.len())
            .finish()
    }
}

/// Which part of a name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Part {
    Given,
    Family,
}

impl NameFrequencies {
    /// No records yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts the primary name of a record.
    pub fn add(&mut self, d: &Demographics) {
        let Some(name) = d.primary_name() else { return };
        if let Some(g) = name.given.first() {
            bump(&mut self.given, text::normalise(g));
        }
        bump(&mut self.family, text::normalise(&name.family));
        self.records = self.records.saturating_add(1);
    }

    /// Records counted.
    pub fn records(&self) -> u32 {
        self.records
    }

    /// The share of records with this (normalised) name, smoothed so that a name never seen
    /// counts as seen once.
    pub(crate) fn share(&self, part: Part, normalised: &str) -> f64 {
        let counts = match part {
            Part::Given => &self.given,
            Part::Family => &self.family,
        };
        let n = counts.get(normalised).copied().unwrap_or(0).max(1);
        f64::from(n) / f64::from(self.records.max(1))
    }

    /// Points to add to an exact agreement on this name: log2(reference share / share),
    /// clamped; 0 until enough records have been seen to trust the shares.
    pub(crate) fn adjustment(&self, part: Part, normalised: &str, w: &FrequencyWeights) -> f64 {
        if self.records < w.min_records {
            return 0.0;
        }
        let reference = match part {
            Part::Given => w.given_reference,
            Part::Family => w.family_reference,
        };
        let share = self.share(part, normalised);
        (reference / share)
            .log2()
            .clamp(-w.max_penalty, w.max_bonus)
    }
}

fn bump(map: &mut HashMap<String, u32>, key: String) {
    if !key.is_empty() {
        let n = map.entry(key).or_insert(0);
        *n = n.saturating_add(1);
    }
}
