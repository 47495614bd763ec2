//! The store-facing decision: what a store found for a record in, where it goes out.

use chrono::NaiveDate;
use waymark_identity::{
    Demographics, Identifier, IdentifierKind, Link, MatchConfig, Name, PersonView, Placed,
    ReviewReason, Sex, place,
};

const NHS: &str = "https://fhir.nhs.uk/Id/nhs-number";
const PNC: &str = "https://fhir.waymark.org.uk/Id/pnc-id";

fn id(system: &str, value: &str) -> Identifier {
    Identifier::check(system, value).unwrap()
}

fn demo(given: &str, family: &str, dob: &str) -> Demographics {
    Demographics {
        names: vec![Name {
            given: vec![given.into()],
            family: family.into(),
            alias: false,
        }],
        birth_date: NaiveDate::parse_from_str(dob, "%Y-%m-%d").ok(),
        sex: Sex::Female,
        postcodes: vec!["M11AA".into()],
    }
}

fn view(person: &str, d: Demographics, ids: &[&Identifier]) -> PersonView {
    PersonView {
        person_id: person.into(),
        profiles: vec![d],
        ids: ids
            .iter()
            .map(|i| (i.kind, i.key()))
            .collect::<Vec<(IdentifierKind, String)>>(),
    }
}

#[test]
fn one_holder_is_a_strong_link_and_a_contradiction_is_a_conflict() {
    let cfg = MatchConfig::default();
    let nhs = id(NHS, "9434765919");
    let pnc = id(PNC, "02/0012345Y");
    let a = view("a", demo("Ann", "Lee", "1970-02-02"), &[&pnc]);
    let record = demo("Zoe", "Fry", "1999-09-09");
    let placed = place(
        std::slice::from_ref(&pnc),
        &record,
        &["a".into()],
        &[a],
        &cfg,
    );
    assert!(
        matches!(placed, Placed::Existing { ref person_id, link: Link::Strong, review: None } if person_id == "a")
    );

    // The holder of the PNC ID has a different NHS number than this record.
    let other_nhs = id(NHS, "4010232137");
    let a2 = view("a", demo("Ann", "Lee", "1970-02-02"), &[&pnc, &other_nhs]);
    let placed = place(&[nhs, pnc], &record, &["a".into()], &[a2], &cfg);
    assert!(
        matches!(
            placed,
            Placed::NewForReview {
                reason: ReviewReason::StrongConflict,
                ..
            }
        ),
        "{placed:?}"
    );
}

#[test]
fn several_holders_link_on_the_most_trusted_with_a_review() {
    let cfg = MatchConfig::default();
    let nhs = id(NHS, "9434765919");
    let pnc = id(PNC, "02/0012345Y");
    let a = view("a", demo("Ann", "Lee", "1970-02-02"), &[&nhs]);
    let b = view("b", demo("Ann", "Lee", "1970-02-02"), &[&pnc]);
    let record = demo("Ann", "Lee", "1970-02-02");
    let found = ["b".to_owned(), "a".to_owned()];
    let placed = place(
        &[pnc.clone(), nhs.clone()],
        &record,
        &found,
        &[a, b.clone()],
        &cfg,
    );
    let Placed::Existing {
        person_id,
        link,
        review: Some(review),
    } = placed
    else {
        panic!("{placed:?}")
    };
    assert_eq!((person_id.as_str(), link), ("a", Link::Conflict));
    assert_eq!(review.reason, ReviewReason::StrongConflict);
    assert_eq!(review.candidates.len(), 2);
    // Without the NHS number's holder among the views, nobody is picked.
    let placed = place(&[pnc, nhs], &record, &found, &[b], &cfg);
    assert!(matches!(
        placed,
        Placed::NewForReview {
            reason: ReviewReason::StrongConflict,
            ..
        }
    ));
}

#[test]
fn without_strong_matches_the_views_are_scored() {
    let cfg = MatchConfig::default();
    let record = demo("Ann", "Lee", "1970-02-02");
    let same = view("a", demo("Ann", "Lee", "1970-02-02"), &[]);
    let other = view("b", demo("Tom", "Fry", "1985-05-05"), &[]);
    let placed = place(&[], &record, &[], &[other.clone(), same.clone()], &cfg);
    assert!(
        matches!(placed, Placed::Existing { ref person_id, link: Link::Scored(_), .. } if person_id == "a")
    );
    assert_eq!(place(&[], &record, &[], &[other], &cfg), Placed::New);
    let twin = PersonView {
        person_id: "c".into(),
        ..same.clone()
    };
    let placed = place(&[], &record, &[], &[same, twin], &cfg);
    assert!(
        matches!(placed, Placed::NewForReview { reason: ReviewReason::PossibleDuplicate, ref candidates } if candidates.len() == 2)
    );
    // Invalid identifiers handed in are ignored: the record is still scored.
    let bad = id(NHS, "9434765918");
    assert!(!bad.valid);
    assert_eq!(
        place(&[bad], &demo("Tom", "Fry", "1985-05-05"), &[], &[], &cfg),
        Placed::New
    );
}

#[test]
fn a_placement_round_trips_through_json() {
    let cfg = MatchConfig::default();
    let record = demo("Ann", "Lee", "1970-02-02");
    let same = view("a", demo("Ann", "Lee", "1970-02-02"), &[]);
    let placed = place(&[], &record, &[], &[same], &cfg);
    let text = serde_json::to_string(&placed).unwrap();
    assert!(!text.contains("Lee") && !text.contains("1970"));
    assert_eq!(serde_json::from_str::<Placed>(&text).unwrap(), placed);
}
