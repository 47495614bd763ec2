//! proptest: the index never links two records holding conflicting strong identifiers. Random
//! streams of records drawn from a few look-alike people (same or near names, dates of birth
//! and postcodes) each carrying a valid NHS number and / or PNC ID from small shared pools, so
//! demographics tempt links and identifiers agree, conflict or are missing. After every stream
//! no person holds two different valid NHS numbers or two different PNC IDs unless a review
//! item names that person (a human decides; never a silent link). 10,000 cases, seeded; the
//! figures are printed.
//!
//! The strict form (no conflict at all) does not hold: a record whose PNC ID is already another
//! person's goes to a new person with a review, but that person is not given the disputed PNC
//! ID, so a later record with the same NHS number and a third PNC ID links to it silently
//! (`a_disputed_identifier_is_not_held_by_the_new_person` pins the case).

use std::collections::{BTreeMap, BTreeSet};

use proptest::{
    prelude::*,
    test_runner::{Config, RngSeed, TestRunner},
};
use serde_json::{Value, json};
use waymark_identity::{Identifier, IdentifierKind, Index, MatchConfig, identifiers};

const CASES: u32 = 10_000;
const NHS: &str = "https://fhir.nhs.uk/Id/nhs-number";
const PNC: &str = "https://fhir.waymark.org.uk/Id/pnc-id";

/// The first `n` valid values of `system` among `candidates`.
fn valid(system: &str, candidates: impl Iterator<Item = String>, n: usize) -> Vec<String> {
    candidates
        .filter(|v| Identifier::check(system, v).is_some_and(|i| i.valid))
        .take(n)
        .collect()
}

fn pools() -> (Vec<String>, Vec<String>) {
    let nhs = valid(NHS, (0..10_000u64).map(|i| format!("943476{:04}", i)), 6);
    let letters = || ('A'..='Z').map(String::from);
    let pnc = valid(
        PNC,
        (0..50u32).flat_map(|n| letters().map(move |l| format!("2001/00123{n:02}{l}"))),
        4,
    );
    assert_eq!((nhs.len(), pnc.len()), (6, 4), "the pools fill");
    (nhs, pnc)
}

/// Look-alikes: the same person with slips, and near namesakes.
const PEOPLE: [(&str, &str, &str, &str); 5] = [
    ("Robert", "Ashworth", "1985-03-12", "LS11 5QT"),
    ("Bob", "Ashworth", "1985-03-12", "LS11 5QT"),
    ("Robert", "Ashworth", "1985-12-03", "LS11 5QT"),
    ("Roberta", "Ashworth", "1985-03-12", "LS11 5QT"),
    ("Robert", "Ashwerth", "1985-03-21", "LS12 5QT"),
];

/// One record: which look-alike, which NHS number (or none), which PNC ID (or none).
type Rec = (usize, usize, usize);

fn patient((who, nhs, pnc): Rec, pools: &(Vec<String>, Vec<String>)) -> Value {
    let (given, family, dob, postcode) = PEOPLE[who];
    let mut ids = Vec::new();
    if let Some(v) = pools.0.get(nhs) {
        ids.push(json!({"system": NHS, "value": v}));
    }
    if let Some(v) = pools.1.get(pnc) {
        ids.push(json!({"system": PNC, "value": v}));
    }
    json!({"resourceType": "Patient", "identifier": ids, "gender": "male", "birthDate": dob,
           "name": [{"use": "official", "given": [given], "family": family}],
           "address": [{"postalCode": postcode}]})
}

/// Every person holding two different valid values of one strong kind.
fn conflicts(placed: &[(String, Value)]) -> Vec<String> {
    let mut held: BTreeMap<(&str, IdentifierKind), BTreeSet<String>> = BTreeMap::new();
    for (person, patient) in placed {
        for id in identifiers(patient).into_iter().filter(|i| i.valid) {
            if matches!(id.kind, IdentifierKind::NhsNumber | IdentifierKind::PncId) {
                let values = held.entry((person.as_str(), id.kind)).or_default();
                values.insert(id.value.expose().clone());
            }
        }
    }
    held.into_iter()
        .filter(|(_, values)| values.len() > 1)
        .map(|((person, kind), values)| format!("{person} holds {} {kind:?}s", values.len()))
        .collect()
}

fn stream() -> impl Strategy<Value = Vec<Rec>> {
    prop::collection::vec((0..PEOPLE.len(), 0..8usize, 0..6usize), 1..24)
}

#[test]
fn no_person_ever_holds_conflicting_strong_identifiers() {
    let pools = pools();
    let mut runner = TestRunner::new(Config {
        cases: CASES,
        rng_seed: RngSeed::Fixed(0x1d_e117),
        failure_persistence: None,
        ..Config::default()
    });
    let counts = std::cell::Cell::new((0u32, 0usize, 0usize));
    let under_review = std::cell::Cell::new(0usize);
    let started = std::time::Instant::now();
    let result = runner.run(&stream(), |records| {
        let mut index = Index::new(MatchConfig::default());
        let placed: Vec<(String, Value)> = records
            .iter()
            .map(|r| {
                let p = patient(*r, &pools);
                (index.add(&p).person_id, p)
            })
            .collect();
        let reviewed: BTreeSet<&str> = index
            .reviews()
            .iter()
            .map(|r| r.person_id.as_str())
            .collect();
        let all = conflicts(&placed);
        let silent: Vec<&String> = all
            .iter()
            .filter(|c| !reviewed.iter().any(|p| c.starts_with(&format!("{p} "))))
            .collect();
        prop_assert!(silent.is_empty(), "{:?}", silent);
        under_review.set(under_review.get() + all.len());
        let (cases, recs, persons) = counts.get();
        counts.set((cases + 1, recs + records.len(), persons + index.persons()));
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let (cases, records, persons) = counts.get();
    eprintln!(
        "identity: {cases} streams, {records} records placed into {persons} persons, 0 silent conflicting links, {} conflicts under review, {:?}",
        under_review.get(),
        started.elapsed()
    );
    assert_eq!(cases, CASES);
    assert!(
        persons < records,
        "records do link: {persons} persons of {records} records"
    );
}

#[test]
fn the_checker_catches_a_false_link() {
    let pools = pools();
    let a = patient((0, 0, 9), &pools);
    let b = patient((1, 1, 9), &pools);
    let c = patient((2, 9, 0), &pools);
    let d = patient((3, 9, 1), &pools);
    let same = |p: &Value| ("one".to_owned(), p.clone());
    assert_eq!(conflicts(&[same(&a), same(&b)]).len(), 1, "two NHS numbers");
    assert_eq!(conflicts(&[same(&c), same(&d)]).len(), 1, "two PNC IDs");
    assert!(conflicts(&[same(&a), ("two".to_owned(), b)]).is_empty());
    assert!(
        conflicts(&[same(&a), same(&c)]).is_empty(),
        "different kinds agree"
    );
}

#[test]
fn a_disputed_identifier_is_not_held_by_the_new_person() {
    let pools = pools();
    let mut index = Index::new(MatchConfig::default());
    let placed: Vec<(String, Value)> = [(0, 0, 0), (0, 4, 0), (0, 4, 1)]
        .into_iter()
        .map(|r| {
            let p = patient(r, &pools);
            (index.add(&p).person_id, p)
        })
        .collect();
    assert_ne!(
        placed[0].0, placed[1].0,
        "PNC 0 with another NHS number: a new person"
    );
    assert_eq!(placed[1].0, placed[2].0, "linked on the shared NHS number");
    assert_eq!(
        conflicts(&placed),
        [format!("{} holds 2 PncIds", placed[1].0)]
    );
    let reviewed = index.reviews().iter().any(|r| r.person_id == placed[1].0);
    assert!(
        reviewed,
        "the person carries a review item, so a human sees it"
    );
}
