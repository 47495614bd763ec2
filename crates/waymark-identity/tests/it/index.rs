//! The reference MPI: strong links first, scored links, review, conflicts.

use serde_json::{Value, json};
use waymark_identity::{Index, MatchConfig, Placement, ReviewReason, identifiers};

const NHS: &str = "https://fhir.nhs.uk/Id/nhs-number";
const PNC: &str = "https://fhir.waymark.org.uk/Id/pnc-id";

fn patient(ids: &[(&str, &str)], given: &str, family: &str, dob: &str, postcode: &str) -> Value {
    json!({
        "resourceType": "Patient",
        "identifier": ids.iter().map(|(s, v)| json!({"system": s, "value": v})).collect::<Vec<_>>(),
        "name": [{"use": "official", "given": [given], "family": family}],
        "gender": "male",
        "birthDate": dob,
        "address": [{"postalCode": postcode}],
    })
}

/// Robert Ashworth, born 1985-03-12, of LS11 5QT, with `ids`.
fn robert(ids: &[(&str, &str)]) -> Value {
    patient(ids, "Robert", "Ashworth", "1985-03-12", "LS11 5QT")
}

/// Jane Okafor, born 1960-10-10, of M1 1AA, with `ids`.
fn jane(ids: &[(&str, &str)]) -> Value {
    patient(ids, "Jane", "Okafor", "1960-10-10", "M1 1AA")
}

fn index() -> Index {
    Index::new(MatchConfig::default())
}

#[test]
fn a_valid_strong_identifier_links_whatever_the_demographics() {
    let mut ix = index();
    let a = ix.add(&robert(&[(NHS, "9434765919")]));
    let b = ix.add(&jane(&[(NHS, "943 476 5919")]));
    assert_eq!(a.placement, Placement::New);
    assert_eq!(b.placement, Placement::Strong);
    assert_eq!(a.person_id, b.person_id);
    assert_eq!(ix.persons(), 1);
}

#[test]
fn an_identifier_failing_its_check_never_links() {
    let mut ix = index();
    let bad = "9434765918";
    assert!(!identifiers(&patient(&[(NHS, bad)], "A", "B", "1980-01-01", "M1 1AA"))[0].valid);
    let a = ix.add(&robert(&[(NHS, bad)]));
    let b = ix.add(&jane(&[(NHS, bad)]));
    assert_ne!(a.person_id, b.person_id);
    assert_eq!(b.placement, Placement::New);
    // A bad PNC check letter, same story.
    let c = ix.add(&patient(
        &[(PNC, "02/0012345A")],
        "Ann",
        "Lee",
        "1970-02-02",
        "B1 1AA",
    ));
    let d = ix.add(&patient(
        &[(PNC, "02/0012345A")],
        "Tom",
        "Fry",
        "1999-09-09",
        "E1 6AN",
    ));
    assert_ne!(c.person_id, d.person_id);
    assert_eq!(ix.persons(), 4);
}

#[test]
fn demographics_link_records_without_a_shared_identifier() {
    let mut ix = index();
    let a = ix.add(&robert(&[(NHS, "9434765919")]));
    let b = ix.add(&patient(
        &[(PNC, "02/0012345Y")],
        "Bob",
        "Ashworth",
        "1985-12-03",
        "LS11 5QT",
    ));
    assert_eq!(a.person_id, b.person_id);
    assert!(
        matches!(b.placement, Placement::Scored(ref s) if s.total >= MatchConfig::default().link)
    );
    // The PNC ID now belongs to the person: a third record links on it alone.
    let c = ix.add(&patient(
        &[(PNC, "2002/0012345Y")],
        "R",
        "Smith",
        "1970-01-01",
        "M1 1AA",
    ));
    assert_eq!(
        (c.person_id.as_str(), &c.placement),
        (a.person_id.as_str(), &Placement::Strong)
    );
}

#[test]
fn different_valid_nhs_numbers_are_never_linked_on_demographics() {
    let mut ix = index();
    let a = ix.add(&robert(&[(NHS, "9434765919")]));
    let b = ix.add(&robert(&[(NHS, "4010232137")]));
    assert_ne!(a.person_id, b.person_id);
}

#[test]
fn a_record_close_to_two_people_goes_to_review() {
    let mut ix = index();
    let a = ix.add(&robert(&[(NHS, "9434765919")]));
    let b = ix.add(&robert(&[(NHS, "4010232137")]));
    let c = ix.add(&robert(&[]));
    assert_eq!(c.placement, Placement::Review);
    assert!(c.person_id != a.person_id && c.person_id != b.person_id);
    let item = ix.reviews().last().unwrap();
    assert_eq!(item.reason, ReviewReason::PossibleDuplicate);
    assert_eq!(item.person_id, c.person_id);
    let mut ids: Vec<&str> = item.candidates.iter().map(|(id, _)| id.as_str()).collect();
    ids.sort_unstable();
    assert_eq!(ids, [a.person_id.as_str(), b.person_id.as_str()]);
}

#[test]
fn strong_identifiers_pointing_at_two_people_are_a_conflict() {
    let mut ix = index();
    let a = ix.add(&robert(&[(NHS, "9434765919")]));
    let b = ix.add(&jane(&[(PNC, "02/0012345Y")]));
    assert_ne!(a.person_id, b.person_id);
    let c = ix.add(&patient(
        &[(NHS, "9434765919"), (PNC, "02/0012345Y")],
        "X",
        "Y",
        "1999-01-01",
        "E1 6AN",
    ));
    // Linked on the NHS number (most trusted, one person), never silently: a review item names both.
    assert_eq!(c.placement, Placement::Conflict);
    assert_eq!(c.person_id, a.person_id);
    let item = ix.reviews().last().unwrap();
    assert_eq!(item.reason, ReviewReason::StrongConflict);
    let ids: Vec<&str> = item.candidates.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids, [a.person_id.as_str(), b.person_id.as_str()]);
    // The disputed PNC ID stays with its first person.
    let d = ix.add(&jane(&[(PNC, "02/0012345Y")]));
    assert_eq!(d.person_id, b.person_id);
}

#[test]
fn a_strong_link_contradicted_by_another_identifier_is_a_conflict() {
    let mut ix = index();
    let a = ix.add(&robert(&[(NHS, "9434765919"), (PNC, "02/0012345Y")]));
    // Same PNC ID, but a different valid NHS number than the person holds.
    let b = ix.add(&robert(&[(NHS, "4010232137"), (PNC, "02/0012345Y")]));
    assert_eq!(b.placement, Placement::Conflict);
    assert_ne!(b.person_id, a.person_id);
    assert_eq!(ix.reviews().len(), 1);
}

#[test]
fn hostile_patients_are_new_people_not_panics() {
    let mut ix = index();
    for p in [
        json!(null),
        json!({"name": 7}),
        json!({"identifier": [{"system": NHS, "value": 12}]}),
    ] {
        assert_eq!(ix.add(&p).placement, Placement::New);
    }
    assert!(!format!("{ix:?}").is_empty());
}
