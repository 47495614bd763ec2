//! Who a bundle is about: the IO half of identity resolution. The store is asked what it knows
//! (persons holding the record's strong identifiers, persons under its blocking keys); the pure
//! [`waymark_identity::place`] decides; this module turns the decision into the store's terms.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use waymark_identity::{
    Demographics, Identifier, IdentifierKind, MatchConfig, MatchScore, PersonView, Placed,
    ReviewReason,
};
use waymark_store::{
    IdentifierLink, NewReview, PersonChoice, ReviewCandidate, Store, StoreError, StrongId,
};

/// Candidates asked of the store per record.
const CANDIDATE_LIMIT: u32 = 50;

/// What the store keeps per entry for later matching (opaque to the store): the Patient's
/// demographics and its valid identifiers (kind and key), so a later record can be scored
/// against this one and an identifier disagreement counted against a match.
#[derive(Serialize, Deserialize)]
pub(crate) struct Profile {
    pub demographics: Demographics,
    pub identifiers: Vec<(IdentifierKind, String)>,
}

/// The decision, in the store's terms.
pub(crate) struct Resolved {
    pub person: PersonChoice,
    pub identifiers: Vec<StrongId>,
    pub profile: Profile,
    pub block_keys: Vec<String>,
    pub review: Option<NewReview>,
}

/// Why no person could be chosen.
pub(crate) enum Unresolved {
    /// Nothing in the Patient identifies anybody: quarantine.
    NoIdentity,
    /// The store failed: retry.
    Store(StoreError),
}

impl From<StoreError> for Unresolved {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

/// Decides whom `patient` is about.
pub(crate) async fn resolve(
    store: &dyn Store,
    patient: &Value,
    cfg: &MatchConfig,
) -> Result<Resolved, Unresolved> {
    let all = waymark_identity::identifiers(patient);
    let valid: Vec<Identifier> = all.iter().filter(|i| i.valid).cloned().collect();
    let demographics = waymark_identity::demographics(patient);
    let mut block_keys = waymark_identity::blocking_keys(&demographics);
    if valid.is_empty() && block_keys.is_empty() {
        return Err(Unresolved::NoIdentity);
    }
    block_keys.extend(valid.iter().map(identifier_block_key));
    let strong: Vec<StrongId> = valid.iter().map(strong_id).collect();
    let held = store.find_by_identifiers(&strong).await?;
    let found: Vec<String> = held.iter().map(|link| link.person_id.clone()).collect();
    let views = person_views(store, &block_keys).await?;
    let placed = waymark_identity::place(&valid, &demographics, &found, &views, cfg);
    let invalid = all.len() - valid.len();
    let (person, review) = choice(placed, invalid);
    let identifiers = linkable(&person, &strong, &held);
    let profile = Profile {
        identifiers: valid.iter().map(|i| (i.kind, i.key())).collect(),
        demographics,
    };
    Ok(Resolved {
        person,
        identifiers,
        profile,
        block_keys,
        review,
    })
}

/// The block key that finds the holders of an identifier (with their profiles).
fn identifier_block_key(id: &Identifier) -> String {
    format!("id:{}", id.key())
}

fn strong_id(id: &Identifier) -> StrongId {
    StrongId {
        system: id.system.clone(),
        value: id.value.clone(),
    }
}

async fn person_views(store: &dyn Store, keys: &[String]) -> Result<Vec<PersonView>, StoreError> {
    let candidates = store.candidates(keys, CANDIDATE_LIMIT).await?;
    Ok(candidates
        .into_iter()
        .map(|c| {
            let profiles: Vec<Profile> = c
                .demographics
                .iter()
                .filter_map(|d| serde_json::from_str(d.expose()).ok())
                .collect();
            PersonView {
                ids: profiles
                    .iter()
                    .flat_map(|p| p.identifiers.iter().cloned())
                    .collect(),
                profiles: profiles.into_iter().map(|p| p.demographics).collect(),
                person_id: c.person_id,
            }
        })
        .collect())
}

fn choice(placed: Placed, invalid: usize) -> (PersonChoice, Option<NewReview>) {
    match placed {
        Placed::Existing {
            person_id, review, ..
        } => {
            let review = review.map(|r| new_review(r.reason, r.candidates));
            (
                PersonChoice::Existing(person_id),
                review.or_else(|| invalid_review(invalid)),
            )
        }
        Placed::New => (PersonChoice::New, invalid_review(invalid)),
        Placed::NewForReview { reason, candidates } => {
            (PersonChoice::New, Some(new_review(reason, candidates)))
        }
    }
}

fn new_review(reason: ReviewReason, candidates: Vec<(String, MatchScore)>) -> NewReview {
    NewReview {
        reason: review_code(reason).to_owned(),
        candidates: candidates
            .into_iter()
            .map(|(person_id, score)| ReviewCandidate {
                person_id,
                score: score.total,
                breakdown: serde_json::to_value(&score).unwrap_or(Value::Null),
            })
            .collect(),
    }
}

/// An identifier that failed its check is never linked; a human is asked to look.
fn invalid_review(invalid: usize) -> Option<NewReview> {
    (invalid > 0).then(|| NewReview {
        reason: "identity.invalid-identifier".to_owned(),
        candidates: Vec::new(),
    })
}

fn review_code(reason: ReviewReason) -> &'static str {
    match reason {
        ReviewReason::PossibleDuplicate => "identity.grey-zone",
        ReviewReason::StrongConflict => "identity.conflicting-identifiers",
    }
}

/// The identifiers to link to the chosen person: those nobody holds yet, and those the person
/// already holds (a no-op). One held by somebody else is left unlinked — that is the conflict
/// the review names.
fn linkable(person: &PersonChoice, strong: &[StrongId], held: &[IdentifierLink]) -> Vec<StrongId> {
    strong
        .iter()
        .filter(|id| {
            held.iter()
                .filter(|l| l.system == id.system && l.value.expose() == id.value.expose())
                .all(|l| matches!(person, PersonChoice::Existing(p) if *p == l.person_id))
        })
        .cloned()
        .collect()
}
