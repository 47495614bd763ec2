//! Decisions: which person a record is about, from its strong identifiers first, then from
//! scored demographics. Ambiguity always goes to a human, never to a silent pick.

use serde::{Deserialize, Serialize};

use crate::{
    config::MatchConfig,
    demographics::Demographics,
    prepared::Prepared,
    score::{MatchScore, score_prepared},
};

/// Most candidates listed on a review.
pub const MAX_REVIEW_CANDIDATES: usize = 10;

/// What to do with a record after scored matching.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "kebab-case")]
pub enum Decision {
    /// One candidate, and only one, scored at least the link threshold.
    Link {
        /// The person.
        person_id: String,
        /// Its score.
        score: MatchScore,
    },
    /// Candidates in the grey zone, or several above the link threshold: a human decides.
    Review {
        /// The candidates at or above the review threshold, best first.
        candidates: Vec<(String, MatchScore)>,
    },
    /// No candidate reached the review threshold: a new person.
    New,
}

/// The result of looking up a record's valid strong identifiers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "strong", content = "persons", rename_all = "kebab-case")]
pub enum StrongMatch {
    /// None of them is known.
    None,
    /// All those known point at this person.
    One(String),
    /// They point at several people (in the order found): e.g. one NHS number already linked
    /// to two people, or the NHS number at one and the PNC ID at another.
    Conflict(Vec<String>),
}

/// Resolves the person ids found for a record's valid strong identifiers (one entry per
/// identifier and person found, in any order, repeats allowed).
pub fn resolve_strong(found: &[String]) -> StrongMatch {
    let mut distinct: Vec<&String> = Vec::new();
    for id in found {
        if !distinct.contains(&id) {
            distinct.push(id);
        }
    }
    match distinct.as_slice() {
        [] => StrongMatch::None,
        [one] => StrongMatch::One((*one).clone()),
        many => StrongMatch::Conflict(many.iter().map(|s| (*s).clone()).collect()),
    }
}

/// Scores a record against each candidate (a person id may appear with several sets of
/// demographics, e.g. one per record already linked; its best score counts) and decides.
pub fn decide(
    record: &Demographics,
    candidates: &[(String, Demographics)],
    cfg: &MatchConfig,
) -> Decision {
    let record = Prepared::new(record);
    let scored = candidates
        .iter()
        .map(|(id, d)| {
            (
                id.clone(),
                score_prepared(&record, &Prepared::new(d), cfg, None),
            )
        })
        .collect();
    decide_scored(scored, cfg)
}

/// Decides from scores already computed (e.g. with identifier disagreements added).
pub fn decide_scored(scored: Vec<(String, MatchScore)>, cfg: &MatchConfig) -> Decision {
    let mut best: Vec<(String, MatchScore)> = Vec::new();
    for (id, s) in scored {
        match best.iter_mut().find(|(b, _)| *b == id) {
            Some(entry) if s.total > entry.1.total => entry.1 = s,
            Some(_) => {}
            None => best.push((id, s)),
        }
    }
    best.retain(|(_, s)| s.total >= cfg.review);
    best.sort_by(|(a, x), (b, y)| y.total.total_cmp(&x.total).then_with(|| a.cmp(b)));
    let above_link = best.iter().filter(|(_, s)| s.total >= cfg.link).count();
    match (above_link, best.len()) {
        (_, 0) => Decision::New,
        (1, _) => {
            let (person_id, score) = best.swap_remove(0);
            Decision::Link { person_id, score }
        }
        _ => {
            best.truncate(MAX_REVIEW_CANDIDATES);
            Decision::Review { candidates: best }
        }
    }
}
