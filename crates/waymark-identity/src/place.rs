//! The whole decision for one record, pure: given what a store found for it (the persons holding
//! its valid strong identifiers, and the persons sharing a blocking key or an identifier, with
//! their records' demographics and identifiers), where does it go? The store-backed record stage
//! and the in-memory [`crate::Index`] both decide through here.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{
    config::MatchConfig,
    decide::{Decision, StrongMatch, decide_scored, resolve_strong},
    demographics::Demographics,
    frequency::NameFrequencies,
    identifier::{Identifier, IdentifierKind},
    prepared::Prepared,
    score::{Comparison, Field, MatchScore, score_prepared},
};

/// A person as a store knows them: the demographics of the records linked to them, and their
/// valid identifiers as `(kind, Identifier::key())`.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PersonView {
    /// The person's id.
    pub person_id: String,
    /// Demographics of each record linked to the person.
    pub profiles: Vec<Demographics>,
    /// Valid identifiers linked to the person.
    pub ids: Vec<(IdentifierKind, String)>,
}

impl fmt::Debug for PersonView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PersonView")
            .field("person_id", &self.person_id)
            .field("profiles", &self.profiles.len())
            .field("ids", &self.ids.len())
            .finish()
    }
}

/// Why a human must look.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReviewReason {
    /// Scored in the grey zone, or above the link threshold for several people.
    PossibleDuplicate,
    /// Strong identifiers pointing at several people, or contradicting the person they point at.
    StrongConflict,
}

/// A request for a human to look: the people the record's person may be (or be confused with).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Review {
    /// Why.
    pub reason: ReviewReason,
    /// The people, with their scores (empty scores for strong conflicts).
    pub candidates: Vec<(String, MatchScore)>,
}

/// How a record came to an existing person.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "link", content = "score", rename_all = "kebab-case")]
pub enum Link {
    /// On a valid strong identifier.
    Strong,
    /// On demographics, with this score.
    Scored(MatchScore),
    /// On the most trusted of strong identifiers that point at several people (see
    /// [`Placed::Existing::review`]).
    Conflict,
}

/// Where a record goes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "placed", rename_all = "kebab-case")]
pub enum Placed {
    /// To an existing person.
    Existing {
        /// The person.
        person_id: String,
        /// How.
        link: Link,
        /// A review to raise as well (strong identifiers that also point at someone else).
        review: Option<Review>,
    },
    /// To a new person.
    New,
    /// To a new person, and a human should look.
    NewForReview {
        /// Why.
        reason: ReviewReason,
        /// The people it may be.
        candidates: Vec<(String, MatchScore)>,
    },
}

/// Decides where a record goes.
///
/// `valid` are the record's valid identifiers; `found` the persons a store holds any of them
/// under (one entry per link found, repeats allowed); `views` the candidate persons (sharing a
/// blocking key or an identifier) — include the persons in `found`, so that a contradicting
/// identifier can be seen. Strong identifiers decide first: one person is a link unless that
/// person holds a different NHS number, PNC ID or CRO number (a conflict); several persons are
/// a conflict, linked on the most trusted kind when all of that kind point at one person who
/// holds nothing contradicting, else a new person — a review either way. With no strong match
/// the views are scored ([`decide_scored`]).
pub fn place(
    valid: &[Identifier],
    demographics: &Demographics,
    found: &[String],
    views: &[PersonView],
    cfg: &MatchConfig,
) -> Placed {
    place_inner(valid, demographics, found, views, cfg, None)
}

/// [`place`], with exact name agreements adjusted by how common the names are.
pub fn place_with_frequencies(
    valid: &[Identifier],
    demographics: &Demographics,
    found: &[String],
    views: &[PersonView],
    cfg: &MatchConfig,
    frequencies: &NameFrequencies,
) -> Placed {
    place_inner(valid, demographics, found, views, cfg, Some(frequencies))
}

fn place_inner(
    valid: &[Identifier],
    demographics: &Demographics,
    found: &[String],
    views: &[PersonView],
    cfg: &MatchConfig,
    freq: Option<&NameFrequencies>,
) -> Placed {
    let mut keys: Vec<(IdentifierKind, String)> = valid
        .iter()
        .filter(|i| i.valid)
        .map(|i| (i.kind, i.key()))
        .collect();
    keys.sort_by_key(|(kind, _)| *kind);
    let prepared: Vec<Vec<Prepared>> = views
        .iter()
        .map(|v| v.profiles.iter().map(Prepared::new).collect())
        .collect();
    let candidates: Vec<Candidate<'_>> = views
        .iter()
        .zip(&prepared)
        .map(|(v, p)| Candidate {
            person_id: &v.person_id,
            profiles: p,
            ids: &v.ids,
        })
        .collect();
    let record = Record {
        ids: &keys,
        prepared: &Prepared::new(demographics),
    };
    decide_record(&record, found, &candidates, cfg, freq)
}

/// A candidate person, borrowed.
pub(crate) struct Candidate<'a> {
    pub(crate) person_id: &'a str,
    pub(crate) profiles: &'a [Prepared],
    pub(crate) ids: &'a [(IdentifierKind, String)],
}

/// The record being placed, prepared.
pub(crate) struct Record<'a> {
    pub(crate) ids: &'a [(IdentifierKind, String)],
    pub(crate) prepared: &'a Prepared,
}

pub(crate) fn decide_record(
    record: &Record<'_>,
    found: &[String],
    candidates: &[Candidate<'_>],
    cfg: &MatchConfig,
    freq: Option<&NameFrequencies>,
) -> Placed {
    let view = |id: &str| candidates.iter().find(|c| c.person_id == id);
    match resolve_strong(found) {
        StrongMatch::None => scored(record, candidates, cfg, freq),
        StrongMatch::One(id) => match view(&id) {
            Some(c) if contradicts(c, record.ids) => conflict_review(vec![id]),
            _ => Placed::Existing {
                person_id: id,
                link: Link::Strong,
                review: None,
            },
        },
        StrongMatch::Conflict(ids) => {
            match most_trusted_holder(record.ids, &ids, candidates)
                .filter(|c| !contradicts(c, record.ids))
            {
                Some(c) => Placed::Existing {
                    person_id: c.person_id.to_owned(),
                    link: Link::Conflict,
                    review: Some(Review {
                        reason: ReviewReason::StrongConflict,
                        candidates: unscored(ids),
                    }),
                },
                None => conflict_review(ids),
            }
        }
    }
}

fn unscored(ids: Vec<String>) -> Vec<(String, MatchScore)> {
    ids.into_iter()
        .map(|id| (id, MatchScore::default()))
        .collect()
}

fn conflict_review(ids: Vec<String>) -> Placed {
    Placed::NewForReview {
        reason: ReviewReason::StrongConflict,
        candidates: unscored(ids),
    }
}

/// The one person holding the record's identifiers of the most trusted kind any person holds,
/// if exactly one does; `None` when a person found is not among the candidates (what they hold
/// is unknown). `ids` are in trust order.
fn most_trusted_holder<'c, 'a>(
    ids: &[(IdentifierKind, String)],
    found: &[String],
    candidates: &'c [Candidate<'a>],
) -> Option<&'c Candidate<'a>> {
    if !found
        .iter()
        .all(|f| candidates.iter().any(|c| c.person_id == f))
    {
        return None;
    }
    let held: Vec<(IdentifierKind, &'c Candidate<'a>)> = ids
        .iter()
        .flat_map(|(kind, key)| {
            candidates
                .iter()
                .filter(|c| found.iter().any(|f| f == c.person_id))
                .filter(|c| c.ids.iter().any(|(_, k)| k == key))
                .map(|c| (*kind, c))
                .collect::<Vec<_>>()
        })
        .collect();
    let &(top, first) = held.first()?;
    held.iter()
        .filter(|(kind, _)| *kind == top)
        .all(|(_, c)| c.person_id == first.person_id)
        .then_some(first)
}

/// True when the person holds a different valid identifier of a one-per-person kind.
fn contradicts(c: &Candidate<'_>, ids: &[(IdentifierKind, String)]) -> bool {
    ids.iter().any(|(kind, key)| {
        kind.one_per_person()
            && c.ids.iter().any(|(k, _)| k == kind)
            && !c.ids.iter().any(|(k, v)| k == kind && v == key)
    })
}

fn scored(
    record: &Record<'_>,
    candidates: &[Candidate<'_>],
    cfg: &MatchConfig,
    freq: Option<&NameFrequencies>,
) -> Placed {
    let scores = candidates
        .iter()
        .map(|c| {
            (
                c.person_id.to_owned(),
                score_candidate(record, c, cfg, freq),
            )
        })
        .collect();
    match decide_scored(scores, cfg) {
        Decision::Link { person_id, score } => Placed::Existing {
            person_id,
            link: Link::Scored(score),
            review: None,
        },
        Decision::Review { candidates } => Placed::NewForReview {
            reason: ReviewReason::PossibleDuplicate,
            candidates,
        },
        Decision::New => Placed::New,
    }
}

/// The best score over the candidate's records, with identifier disagreements added.
pub(crate) fn score_candidate(
    record: &Record<'_>,
    c: &Candidate<'_>,
    cfg: &MatchConfig,
    freq: Option<&NameFrequencies>,
) -> MatchScore {
    let mut best = c
        .profiles
        .iter()
        .map(|q| score_prepared(record.prepared, q, cfg, freq))
        .max_by(|a, b| a.total.total_cmp(&b.total))
        .unwrap_or_default();
    let w = &cfg.identifier_disagreement;
    let kinds = [
        (IdentifierKind::NhsNumber, Field::NhsNumber, w.nhs_number),
        (IdentifierKind::PncId, Field::PncId, w.pnc_id),
        (IdentifierKind::CroNumber, Field::CroNumber, w.cro_number),
        (
            IdentifierKind::PrisonNumber,
            Field::PrisonNumber,
            w.prison_number,
        ),
    ];
    for (kind, field, points) in kinds {
        let mine = || record.ids.iter().filter(move |(k, _)| *k == kind);
        let theirs = || c.ids.iter().filter(move |(k, _)| *k == kind);
        let differ = mine().next().is_some()
            && theirs().next().is_some()
            && !mine().any(|(_, v)| theirs().any(|(_, w)| v == w));
        if differ {
            best.add(field, Comparison::Disagree, points);
        }
    }
    best
}
