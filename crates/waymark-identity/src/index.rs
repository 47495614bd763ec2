//! A reference master patient index, in memory and pure: the record stage's decision
//! ([`crate::place`]) over an in-memory store, for tests and the linkage benchmark.
//!
//! Each record is added in turn: its valid strong identifiers are looked up first; when none is
//! known, the persons sharing a blocking key are scored. A review makes a new person and a review
//! item ("possible duplicate of ..."); a strong conflict is linked on the most trusted identifier
//! when that is unambiguous, with a review item either way.

use std::collections::HashMap;

use serde_json::Value;

use crate::{
    blocking::blocking_keys,
    config::MatchConfig,
    demographics::Demographics,
    fhir::{demographics, identifiers},
    frequency::NameFrequencies,
    identifier::{Identifier, IdentifierKind},
    place::{
        Candidate, Link, Placed, Record, Review, ReviewReason, decide_record, score_candidate,
    },
    prepared::Prepared,
    score::MatchScore,
};

/// How a record was placed.
#[derive(Clone, Debug, PartialEq)]
pub enum Placement {
    /// Linked on a valid strong identifier.
    Strong,
    /// Linked on demographics.
    Scored(MatchScore),
    /// A new person, with a review item: possibly a duplicate of the candidates.
    Review,
    /// Strong identifiers pointing at several people, with a review item: linked on the most
    /// trusted kind when that is unambiguous, else a new person.
    Conflict,
    /// A new person.
    New,
}

/// Where a record went.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    /// The person the record now belongs to.
    pub person_id: String,
    /// How.
    pub placement: Placement,
}

/// A review item: the person may be one of the candidates.
#[derive(Clone, Debug, PartialEq)]
pub struct ReviewItem {
    /// The person the record was placed with.
    pub person_id: String,
    /// Why.
    pub reason: ReviewReason,
    /// The people it may be, with their scores (empty scores for strong conflicts).
    pub candidates: Vec<(String, MatchScore)>,
}

struct Entry {
    person_id: String,
    profiles: Vec<Prepared>,
    ids: Vec<(IdentifierKind, String)>,
}

/// The in-memory MPI.
pub struct Index {
    cfg: MatchConfig,
    persons: Vec<Entry>,
    strong: HashMap<String, u32>,
    blocks: HashMap<String, Vec<u32>>,
    reviews: Vec<ReviewItem>,
    frequencies: NameFrequencies,
    use_frequencies: bool,
}

impl std::fmt::Debug for Index {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Index")
            .field("persons", &self.persons.len())
            .field("reviews", &self.reviews.len())
            .finish_non_exhaustive()
    }
}

/// The valid identifiers of a record, as (kind, index key), most trusted first.
fn valid_keys(ids: &[Identifier]) -> Vec<(IdentifierKind, String)> {
    let mut keys: Vec<(IdentifierKind, String)> = ids
        .iter()
        .filter(|i| i.valid)
        .map(|i| (i.kind, i.key()))
        .collect();
    keys.sort_by_key(|(kind, _)| *kind);
    keys
}

fn person_index(id: &str) -> Option<u32> {
    id.strip_prefix("person-")?.parse().ok()
}

impl Index {
    /// An empty index.
    pub fn new(cfg: MatchConfig) -> Self {
        Self {
            cfg,
            persons: Vec::new(),
            strong: HashMap::new(),
            blocks: HashMap::new(),
            reviews: Vec::new(),
            frequencies: NameFrequencies::new(),
            use_frequencies: true,
        }
    }

    /// The same index scoring exact name agreements without name frequencies, as the
    /// store-backed record stage does today (the store keeps no name frequencies yet).
    pub fn without_name_frequencies(mut self) -> Self {
        self.use_frequencies = false;
        self
    }

    /// The configuration.
    pub fn config(&self) -> &MatchConfig {
        &self.cfg
    }

    /// How many persons.
    pub fn persons(&self) -> usize {
        self.persons.len()
    }

    /// The review items raised so far.
    pub fn reviews(&self) -> &[ReviewItem] {
        &self.reviews
    }

    /// Adds a FHIR Patient.
    pub fn add(&mut self, patient: &Value) -> Outcome {
        self.add_record(&identifiers(patient), &demographics(patient))
    }

    /// Adds a record given as its identifiers and demographics.
    pub fn add_record(&mut self, ids: &[Identifier], demo: &Demographics) -> Outcome {
        let valid = valid_keys(ids);
        let prepared = Prepared::new(demo);
        let keys = blocking_keys(demo);
        let placed = self.decide(&valid, &prepared, &keys);
        let (index, placement) = self.apply(placed);
        self.attach(index, &valid, prepared, keys);
        self.frequencies.add(demo);
        Outcome {
            person_id: self.id_of(index),
            placement,
        }
    }

    /// The candidates a record would be scored against and their scores, best first, without
    /// adding it (for explaining a decision).
    pub fn explain(&self, patient: &Value) -> Vec<(String, MatchScore)> {
        let demo = demographics(patient);
        let ids = valid_keys(&identifiers(patient));
        let prepared = Prepared::new(&demo);
        let record = Record {
            ids: &ids,
            prepared: &prepared,
        };
        let mut scored: Vec<(String, MatchScore)> = self
            .candidate_views(&self.candidates(&blocking_keys(&demo)))
            .iter()
            .map(|c| {
                (
                    c.person_id.to_owned(),
                    score_candidate(&record, c, &self.cfg, self.freq()),
                )
            })
            .collect();
        scored.sort_by(|a, b| b.1.total.total_cmp(&a.1.total));
        scored
    }

    fn freq(&self) -> Option<&NameFrequencies> {
        self.use_frequencies.then_some(&self.frequencies)
    }

    fn id_of(&self, index: u32) -> String {
        self.persons
            .get(index as usize)
            .map(|e| e.person_id.clone())
            .unwrap_or_default()
    }

    /// Strong lookups first (their holders are the only candidates needed), else blocking.
    fn decide(&self, valid: &[(IdentifierKind, String)], p: &Prepared, keys: &[String]) -> Placed {
        let held: Vec<u32> = valid
            .iter()
            .filter_map(|(_, key)| self.strong.get(key).copied())
            .collect();
        let found: Vec<String> = held.iter().map(|&i| self.id_of(i)).collect();
        let indices = if held.is_empty() {
            self.candidates(keys)
        } else {
            let mut h = held;
            h.sort_unstable();
            h.dedup();
            h
        };
        let candidates = self.candidate_views(&indices);
        let record = Record {
            ids: valid,
            prepared: p,
        };
        decide_record(&record, &found, &candidates, &self.cfg, self.freq())
    }

    fn candidate_views(&self, indices: &[u32]) -> Vec<Candidate<'_>> {
        indices
            .iter()
            .filter_map(|&i| self.persons.get(i as usize))
            .map(|e| Candidate {
                person_id: &e.person_id,
                profiles: &e.profiles,
                ids: &e.ids,
            })
            .collect()
    }

    /// Persons sharing a key with the record, those sharing the most keys first.
    fn candidates(&self, keys: &[String]) -> Vec<u32> {
        let mut shared: HashMap<u32, u32> = HashMap::new();
        for i in keys.iter().filter_map(|k| self.blocks.get(k)).flatten() {
            *shared.entry(*i).or_insert(0) += 1;
        }
        let mut ranked: Vec<(u32, u32)> = shared.into_iter().collect();
        ranked.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        ranked.truncate(usize::try_from(self.cfg.max_candidates).unwrap_or(usize::MAX));
        ranked.into_iter().map(|(i, _)| i).collect()
    }

    /// Makes the decision happen: the person (new if need be) and any review item.
    fn apply(&mut self, placed: Placed) -> (u32, Placement) {
        match placed {
            Placed::Existing {
                person_id,
                link,
                review,
            } => {
                let index = person_index(&person_id).unwrap_or(0);
                if let Some(Review { reason, candidates }) = review {
                    self.review(index, reason, candidates);
                }
                let placement = match link {
                    Link::Strong => Placement::Strong,
                    Link::Scored(score) => Placement::Scored(score),
                    Link::Conflict => Placement::Conflict,
                };
                (index, placement)
            }
            Placed::New => (self.new_person(), Placement::New),
            Placed::NewForReview { reason, candidates } => {
                let index = self.new_person();
                self.review(index, reason, candidates);
                let placement = match reason {
                    ReviewReason::PossibleDuplicate => Placement::Review,
                    ReviewReason::StrongConflict => Placement::Conflict,
                };
                (index, placement)
            }
        }
    }

    fn review(&mut self, index: u32, reason: ReviewReason, candidates: Vec<(String, MatchScore)>) {
        self.reviews.push(ReviewItem {
            person_id: self.id_of(index),
            reason,
            candidates,
        });
    }

    fn new_person(&mut self) -> u32 {
        let index = u32::try_from(self.persons.len()).unwrap_or(u32::MAX);
        self.persons.push(Entry {
            person_id: format!("person-{index}"),
            profiles: Vec::new(),
            ids: Vec::new(),
        });
        index
    }

    /// Files the record under the person: its profile, blocking keys and the valid identifiers
    /// not yet linked to anyone.
    fn attach(
        &mut self,
        index: u32,
        valid: &[(IdentifierKind, String)],
        p: Prepared,
        keys: Vec<String>,
    ) {
        let Some(entry) = self.persons.get_mut(index as usize) else {
            return;
        };
        if !entry.profiles.contains(&p) {
            entry.profiles.push(p);
        }
        for (kind, key) in valid {
            if !self.strong.contains_key(key) {
                self.strong.insert(key.clone(), index);
                entry.ids.push((*kind, key.clone()));
            }
        }
        for key in keys {
            let list = self.blocks.entry(key).or_default();
            if !list.contains(&index) {
                list.push(index);
            }
        }
    }
}
