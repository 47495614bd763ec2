//! A deterministic synthetic population on the health and justice pathway, and the records
//! each source system holds of it, mess included: the ground truth that identity resolution is
//! measured against.
//!
//! [`Population::generate`] draws people (names from embedded lists of common English names,
//! dates of birth, sex, postcodes and every strong identifier: NHS number, PNC ID, CRO number,
//! NOMIS prison number, all with valid check characters and unique), a few of them made twins,
//! siblings, same-name parents and children, or namesakes of the person before them.
//! [`Population::observations`] gives, for each person, 3 to 5 [`Observation`]s: the record one
//! of the five [`waymark_core::SourceSystem`]s holds, with the realistic [`Mess`] of each source
//! (missing and mistyped identifiers, misspelt names, nicknames, aliases, wrong dates of birth,
//! changed postcodes), each renderable as a FHIR R4 Patient ([`Observation::to_fhir`]).
//!
//! Types are built to grow: [`Person`] and [`Observation`] keep their fields private behind
//! accessors, and [`MessKind`], [`Tie`] and [`NameUse`] are `non_exhaustive`, so a later issue
//! can give a person a pathway (arrest, custody, court, prison, release) and observations the
//! events along it without breaking callers.
//!
//! Same seed, same output, on every machine: randomness is a hand-written SplitMix64, never a
//! dependency's generator. Memory stays small (about 80 bytes a person) and a million people
//! take well under a second to draw.
//!
//! **What it must never do:** IO, read the clock, hold global state, or produce a value that
//! could be a real person's identifier (NHS numbers are drawn from the never-issued 9 range).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod fhir;
mod fields;
mod garble;
mod ids;
mod mess;
mod mock_rng;
mod names;
mod observation;
mod person;
mod population;
mod postcode;
mod record;
mod rng;
mod tables;

pub use fhir::{NOMIS_BOOKING_ID_SYSTEM, local_id_system};
pub use mess::{Mess, MessKind, SourceProfile};
pub use mock_rng::MockRng;
pub use observation::{NameUse, Observation, ObservationRef, ObservedName};
pub use person::{Person, PersonId, Sex, Tie};
pub use population::{Population, Relations};

use rng::SplitMix64;

/// Stream tag of the arrival order.
const ORDER: u64 = 0x4F52_4445;

impl Population {
    /// The observations of one person, in the order they happened.
    pub fn observations_of(&self, id: PersonId, mess: &Mess) -> Vec<Observation> {
        let Some(person) = self.person(id) else {
            return Vec::new();
        };
        record::plan(self.seed(), id.0, mess)
            .into_iter()
            .zip(0u8..)
            .map(|(visit, seq)| record::observe(self, person, seq, visit, mess))
            .collect()
    }

    /// Every observation, person by person.
    pub fn observations<'a>(&'a self, mess: &'a Mess) -> impl Iterator<Item = Observation> + 'a {
        self.people
            .iter()
            .flat_map(move |p| self.observations_of(p.id(), mess))
    }

    /// One observation, `None` when the person or the sequence number does not exist.
    pub fn observation(&self, at: ObservationRef, mess: &Mess) -> Option<Observation> {
        let person = self.person(at.person)?;
        let visit = *record::plan(self.seed(), at.person.0, mess).get(usize::from(at.sequence))?;
        Some(record::observe(self, person, at.sequence, visit, mess))
    }

    /// Every observation's reference, in a deterministic arrival order that interleaves
    /// people (a seeded shuffle that keeps each person's own observations in order), as a
    /// hub would receive them.
    pub fn arrival_order(&self, mess: &Mess) -> Vec<ObservationRef> {
        let mut order: Vec<ObservationRef> = self
            .people
            .iter()
            .flat_map(|p| {
                let n = record::plan(self.seed(), p.id().0, mess).len();
                (0..u8::try_from(n).unwrap_or(u8::MAX)).map(move |sequence| ObservationRef {
                    person: p.id(),
                    sequence,
                })
            })
            .collect();
        let mut rng = SplitMix64::stream(self.seed(), ORDER, 0);
        for i in (1..order.len()).rev() {
            order.swap(i, rng.index(i + 1));
        }
        sort_each_persons_sequences(&mut order);
        order
    }
}

/// Reassigns each person's sequence numbers in the order their slots appear, so a person's
/// observations arrive in the order they happened while people stay interleaved.
fn sort_each_persons_sequences(order: &mut [ObservationRef]) {
    let mut next: std::collections::HashMap<PersonId, u8> = std::collections::HashMap::new();
    for r in order {
        let n = next.entry(r.person).or_insert(0);
        r.sequence = *n;
        *n += 1;
    }
}
