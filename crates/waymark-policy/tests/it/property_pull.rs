//! "Role X never receives data class Y" by **pull**: pseudo-random person records (several
//! sources merged by `PersonRecord`, summarised by `waymark_record::summary`, exactly as the
//! API's `$summary` builds them), each with pseudo-random Consents, released through
//! `Policy::release_summary` to every role, registered or not. No resource and no Composition
//! section of a class outside the role's policy and the Consents may come out.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};

use common::{
    Person, Rng, both_consent_rules_broken, consent_rules_loosened, only_probation_mh_clinical,
    probation_sees_mh_clinical, random_person, recipient, summary_violations,
};
use waymark_core::{DataClass, Role};
use waymark_policy::{Policy, PolicyError, ReleaseContext};

/// Random people released to every role (registered and not).
const PEOPLE: u64 = 10_000;
const NOW: &str = "2024-06-01T12:00:00Z";

fn people(count: u64) -> Vec<Person> {
    let mut rng = Rng::new(0x0070_0115);
    let now = common::at(NOW);
    (0..count)
        .map(|n| random_person(&mut rng, n, now))
        .collect()
}

/// What one role got over all people: releases checked, refused outright, sections served.
#[derive(Default)]
struct Tally {
    checked: u64,
    refused: u64,
    sections: u64,
}

/// Every violation found releasing every person's summary to every role, registered or not,
/// and the tally per role.
fn check_policy(policy: &Policy, people: &[Person]) -> (Vec<String>, BTreeMap<Role, Tally>) {
    let now = common::at(NOW);
    let mut found = Vec::new();
    let mut tally: BTreeMap<Role, Tally> = BTreeMap::new();
    for person in people {
        let cx = ReleaseContext {
            consents: &person.consents,
            now,
            break_glass: None,
        };
        for role in Role::ALL {
            let t = tally.entry(*role).or_default();
            for registered in [false, true] {
                let who = recipient(*role, registered);
                t.checked += 1;
                match policy.release_summary(&person.summary, &who, &cx) {
                    Ok(r) => {
                        t.sections += sections(r.bundle());
                        found.extend(summary_violations(r.bundle(), &who, &person.consents, now));
                    }
                    Err(PolicyError::NothingReleasable { .. }) => t.refused += 1,
                    Err(e) => found.push(format!("release failed: {e}")),
                }
            }
        }
    }
    (found, tally)
}

fn sections(document: &serde_json::Value) -> u64 {
    waymark_fhir::entries(document)
        .filter_map(|r| r["section"].as_array())
        .map(|s| s.len() as u64)
        .sum()
}

/// The classes of the resources and sections of the unreleased summaries.
fn classes_summarised(people: &[Person]) -> BTreeSet<DataClass> {
    let mut classes = BTreeSet::new();
    for p in people {
        classes.extend(waymark_fhir::entries(&p.summary).filter_map(waymark_fhir::data_class));
    }
    classes
}

#[test]
fn no_role_ever_pulls_a_class_outside_its_policy_and_consent() {
    let started = std::time::Instant::now();
    let people = people(PEOPLE);
    let built = started.elapsed();
    let (found, tally) = check_policy(&Policy::builtin().unwrap(), &people);
    assert!(
        found.is_empty(),
        "{} violations, first: {:?}",
        found.len(),
        found.first()
    );
    let summarised = classes_summarised(&people);
    let not_summarised: Vec<_> = DataClass::ALL
        .iter()
        .filter(|c| !summarised.contains(c))
        .collect();
    assert_eq!(
        not_summarised,
        [&DataClass::Consent],
        "every class but consent (never summarised) is exercised"
    );
    for role in Role::ALL {
        let t = &tally[role];
        eprintln!(
            "{:<22} {} summaries checked ({} people x registered or not), {} refused outright, {} sections served",
            role.code(),
            t.checked,
            PEOPLE,
            t.refused,
            t.sections
        );
        assert!(t.checked >= 2 * PEOPLE, "at least {PEOPLE} people per role");
        let reads = !expected(*role).is_empty();
        assert_eq!(
            t.refused < t.checked,
            reads,
            "{role}: released when granted"
        );
    }
    eprintln!(
        "{PEOPLE} person summaries built in {built:?}; {} releases checked in {:?}",
        PEOPLE as usize * Role::ALL.len() * 2,
        started.elapsed() - built,
    );
}

/// The classes a role is granted without registration or consent.
fn expected(role: Role) -> BTreeSet<DataClass> {
    common::expected(role, false, false)
}

#[test]
fn withheld_content_really_occurs() {
    // The property is not vacuous: the officer's summaries lose clinical sections and the
    // resources behind them, which were there before the release.
    let people = people(200);
    let policy = Policy::builtin().unwrap();
    let who = recipient(Role::CustodyOfficer, false);
    let now = common::at(NOW);
    let (mut sections_dropped, mut resources_withheld) = (0, 0);
    for p in &people {
        let cx = common::cx(&p.consents, NOW);
        let r = policy.release_summary(&p.summary, &who, &cx).unwrap();
        sections_dropped += sections(&p.summary) - sections(r.bundle());
        resources_withheld += r.manifest().withheld.len();
        assert!(summary_violations(r.bundle(), &who, &p.consents, now).is_empty());
    }
    assert!(
        sections_dropped >= 4 * 200,
        "clinical sections dropped: {sections_dropped}"
    );
    assert!(
        resources_withheld > 200,
        "resources withheld: {resources_withheld}"
    );
}

#[test]
fn a_weakened_policy_fails_the_pull_property() {
    let (found, _) = check_policy(&probation_sees_mh_clinical(), &people(300));
    assert!(
        !found.is_empty(),
        "the checker must catch the weakened policy"
    );
    assert!(
        found.iter().any(|v| v.contains("section mh-clinical")),
        "the section is caught too: {found:?}"
    );
    assert!(only_probation_mh_clinical(&found), "{found:?}");
}

#[test]
fn a_weakened_consent_rule_fails_the_pull_property() {
    let (found, _) = check_policy(&consent_rules_loosened(), &people(300));
    assert!(both_consent_rules_broken(&found), "{:?}", found.first());
}
