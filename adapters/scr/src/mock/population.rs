//! The mock's population: the people of `waymark_synth::Population::generate(seed, n)` who
//! have an NHS number, and what the SCR holds for each. Someone the synthetic population gives
//! an SCR observation has a GP summary (about one in eight of those refused consent, so their
//! answer is "no consent"); everyone else has no SCR ("no result"). The pull script asks for
//! each of them once, by the NHS number the hub identified, with a reason; NHS numbers as the
//! other sources keyed them (the synthetic mess: some fail their check digit) give
//! the invalid requests (at a raised keying-error rate).

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use serde_json::Value;
use waymark_core::{NhsNumber, Sensitive, SourceSystem};
use waymark_synth::{Mess, Population};

use super::{content, render, rng::bucket};
use crate::request::{Nhs, PullReason, PullRequest};

/// What the SCR holds for a person.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScrState {
    /// A GP summary.
    Summary,
    /// A summary the person did not consent to share: access control refuses it.
    NoConsent,
    /// No Summary Care Record.
    NoRecord,
    /// Every request about this person fails with 500 (a fault, see [`super::Faults`]).
    AlwaysFails,
    /// Every answer about this person is truncated JSON (a fault).
    AlwaysMalformed,
}

/// One person the mock knows.
#[derive(Clone, Debug)]
pub struct ScrPerson {
    /// Index in the synthetic population.
    pub person: u32,
    /// NHS number (never log it).
    pub nhs: Sensitive<String>,
    /// What the SCR holds.
    pub state: ScrState,
}

/// The mock's people and the bytes it answers with.
#[derive(Clone, Debug)]
pub struct ScrPopulation {
    seed: u64,
    people: Vec<ScrPerson>,
    by_nhs: HashMap<String, usize>,
    invalid: Vec<Sensitive<String>>,
}

const REASONS: [&str; 3] = ["prison-reception", "identified", "change-notification"];
/// When the pull script's requests were made.
const REQUESTED_AT: i64 = 1_718_445_600; // 2024-06-15T10:00:00Z

impl ScrPopulation {
    /// The SCR view of `Population::generate(seed, people)` with the default mess.
    pub fn generate(seed: u64, people: usize) -> Self {
        let population = Population::generate(seed, people);
        let mess = Mess::default();
        let with_scr: BTreeSet<u32> = population
            .observations(&mess)
            .filter(|o| o.source() == SourceSystem::Scr)
            .map(|o| o.person().0)
            .collect();
        // Keying errors at five times the default rate, so a small population has some.
        let sloppy = Mess {
            invalid_identifier: 0.05,
            ..Mess::default()
        };
        let invalid = population
            .observations(&sloppy)
            .filter(|o| o.source() != SourceSystem::Scr)
            .filter_map(|o| o.nhs_number().map(str::to_owned))
            .filter(|n| NhsNumber::parse(n).is_err())
            .map(Sensitive::new)
            .collect();
        let people: Vec<ScrPerson> = population
            .people()
            .iter()
            .filter_map(|p| {
                let nhs = p.nhs_number()?;
                let state = if !with_scr.contains(&p.id().0) {
                    ScrState::NoRecord
                } else if bucket(seed, &nhs, 0xC0) < 12 {
                    ScrState::NoConsent
                } else {
                    ScrState::Summary
                };
                Some(ScrPerson {
                    person: p.id().0,
                    nhs: Sensitive::new(nhs),
                    state,
                })
            })
            .collect();
        let by_nhs = people
            .iter()
            .enumerate()
            .map(|(i, p)| (p.nhs.expose().clone(), i))
            .collect();
        Self {
            seed,
            people,
            by_nhs,
            invalid,
        }
    }

    /// Makes the first `n` people with a summary fail for good: half always answer 500, half
    /// always answer truncated JSON.
    pub fn with_broken_people(mut self, n: usize) -> Self {
        let summaries = self
            .people
            .iter_mut()
            .filter(|p| p.state == ScrState::Summary);
        for (k, p) in summaries.take(n).enumerate() {
            p.state = if k % 2 == 0 {
                ScrState::AlwaysFails
            } else {
                ScrState::AlwaysMalformed
            };
        }
        self
    }

    /// The seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Everyone the mock knows (everyone with an NHS number).
    pub fn people(&self) -> &[ScrPerson] {
        &self.people
    }

    /// The person with that NHS number.
    pub fn find(&self, nhs: &str) -> Option<&ScrPerson> {
        self.by_nhs.get(nhs).map(|i| &self.people[*i])
    }

    /// How many people are in each state.
    pub fn count(&self, state: ScrState) -> usize {
        self.people.iter().filter(|p| p.state == state).count()
    }

    /// One pull request per person, in population order.
    pub fn pull_requests(&self) -> Vec<PullRequest> {
        let at = DateTime::<Utc>::from_timestamp(REQUESTED_AT, 0).unwrap_or_default();
        self.people
            .iter()
            .enumerate()
            .filter_map(|(i, p)| {
                Some(PullRequest {
                    nhs_number: Nhs::parse(p.nhs.expose()).ok()?,
                    reason: PullReason::parse(REASONS[i % REASONS.len()]).ok()?,
                    requested_at: at,
                })
            })
            .collect()
    }

    /// NHS numbers as other sources keyed them that fail their check digit (bad input).
    pub fn invalid_nhs_numbers(&self) -> &[Sensitive<String>] {
        &self.invalid
    }

    /// The DocumentReference search answer for `person` (`None`: answered by state instead).
    pub(crate) fn documents(&self, person: &ScrPerson) -> Value {
        render::documents(self.seed, person.person, person.nhs.expose())
    }

    /// The GP-summary searchset of `person`.
    pub fn summary(&self, person: &ScrPerson) -> Value {
        let content = content::summary(self.seed, person.person);
        render::summary(self.seed, person.person, person.nhs.expose(), &content)
    }

    /// The composition id step 1 names for `person`.
    pub(crate) fn composition_id(&self, person: &ScrPerson) -> String {
        render::uuid(self.seed, person.person, "composition")
    }

    /// The empty searchset.
    pub(crate) fn no_result(&self, person: u32) -> Value {
        render::no_result(self.seed, person)
    }
}
