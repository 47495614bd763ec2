//! Randomised: over synthetic populations, the index never merges two people whose records all
//! carry valid, distinct NHS numbers, and never lets one person hold two valid NHS numbers.

use std::collections::{HashMap, HashSet};

use waymark_identity::{IdentifierKind, Index, MatchConfig, identifiers};
use waymark_synth::{Mess, Population};

/// Runs the population's records through an index: each record's person and its valid NHS number.
fn link(pop: &Population, mess: &Mess) -> Vec<(String, u32, Option<String>)> {
    let mut index = Index::new(MatchConfig::default());
    pop.arrival_order(mess)
        .into_iter()
        .filter_map(|r| pop.observation(r, mess))
        .map(|obs| {
            let patient = obs.to_fhir();
            let nhs = identifiers(&patient)
                .into_iter()
                .find(|i| i.kind == IdentifierKind::NhsNumber && i.valid)
                .map(|i| i.value.into_inner());
            (index.add(&patient).person_id, obs.person().0, nhs)
        })
        .collect()
}

#[test]
fn no_false_merge_when_every_record_has_a_valid_distinct_nhs_number() {
    let mut mess = Mess {
        invalid_identifier: 0.0,
        ..Mess::default()
    };
    for profile in [
        &mut mess.athena,
        &mut mess.excelicare,
        &mut mess.systmone,
        &mut mess.nomis,
        &mut mess.scr,
    ] {
        profile.nhs_number = 1.0;
    }
    for seed in [1, 2, 3] {
        let pop = Population::generate(seed, 3_000);
        let mut people: HashMap<String, HashSet<u32>> = HashMap::new();
        for (person, truth, _) in link(&pop, &mess) {
            if pop.people()[truth as usize].nhs_number().is_some() {
                people.entry(person).or_default().insert(truth);
            }
        }
        let merged: Vec<_> = people.values().filter(|t| t.len() > 1).collect();
        assert!(merged.is_empty(), "seed {seed}: {merged:?}");
        assert!(
            people.len() >= 2_800,
            "seed {seed}: only {} persons",
            people.len()
        );
    }
}

#[test]
fn no_person_ever_holds_two_valid_nhs_numbers() {
    let mess = Mess::default();
    for seed in [4, 5] {
        let pop = Population::generate(seed, 3_000);
        let mut numbers: HashMap<String, HashSet<String>> = HashMap::new();
        for (person, _, nhs) in link(&pop, &mess) {
            numbers.entry(person).or_default().extend(nhs);
        }
        assert!(numbers.values().all(|n| n.len() <= 1), "seed {seed}");
    }
}
