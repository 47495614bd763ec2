//! Identity resolution, pure: who is this record about?
//!
//! - [`identifiers`] reads a FHIR Patient's strong identifiers (NHS number, PNC ID, CRO number,
//!   NOMIS prison number and booking id, each source's local id), most trusted first, each
//!   checked (check character or format). An identifier that fails its check never links.
//! - [`demographics`] reads the weak evidence: names and aliases, date of birth, sex, postcodes.
//! - [`blocking_keys`] gives the few keys a store indexes a person under to find candidates.
//! - [`score`] compares two sets of demographics (Fellegi–Sunter style weights from
//!   [`MatchConfig`]: Jaro-Winkler, phonetic codes and nicknames for names; transposed,
//!   swapped and one-digit-off dates of birth; sex; postcodes) into a [`MatchScore`] with a
//!   per-field breakdown that never holds a value.
//! - [`decide`] turns candidates' scores into a [`Decision`] (link, review, new); two
//!   candidates above the link threshold always go to review. [`resolve_strong`] does the same
//!   for strong identifiers (none, one person, or a conflict).
//! - [`place`] is the whole decision for one record, given what a store found for it (persons
//!   holding its identifiers, candidates under its blocking keys): link, new person, review.
//! - [`Index`] is a reference in-memory MPI deciding through [`place`]'s logic, used by tests
//!   and by the linkage benchmark (`cargo bench -p waymark-identity --bench linkage`).
//!
//! **What it must never do:** IO, read the clock, hold global state, panic on a Patient from
//! outside, or put patient data (names, dates, identifier values) in `Debug`, `Display` or an
//! error: values are [`waymark_core::Sensitive`] or left out of `Debug`.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod blocking;
mod config;
mod decide;
mod demographics;
mod fhir;
mod frequency;
mod identifier;
mod index;
mod nickname;
mod place;
mod prepared;
mod score;
mod text;

pub use blocking::blocking_keys;
pub use config::{
    AgreeWeights, BirthDateWeights, DisagreementWeights, FrequencyWeights, MatchConfig,
    NameWeights, PostcodeWeights,
};
pub use decide::{
    Decision, MAX_REVIEW_CANDIDATES, StrongMatch, decide, decide_scored, resolve_strong,
};
pub use demographics::{Demographics, Name, Sex, normalise_postcode};
pub use fhir::{demographics, identifiers};
pub use frequency::NameFrequencies;
pub use identifier::{Identifier, IdentifierKind, NOMIS_BOOKING_ID_SYSTEM};
pub use index::{Index, Outcome, Placement, ReviewItem};
pub use place::{Link, PersonView, Placed, Review, ReviewReason, place, place_with_frequencies};
pub use score::{Comparison, Field, FieldScore, MatchScore, score, score_with_frequencies};
