//! proptest, by **push** (`Policy::release_with_consent`, what the release stage sends): random
//! canonical bundles (0..20 resources of random types and data classes) with random Consents
//! (permit or deny, for one role or all, some classes or all, a nested exception, withdrawn or
//! not, dated in any order) released to every role, registered or not. No released resource may
//! carry a class outside the role's policy and the Consents (the oracle in `common`). 10,000
//! cases, so 20,000 releases per role; seeded, shrunk to a minimal case on failure. Weakening
//! the policy on purpose makes the property fail. Mirrors `property_pull.rs` (pull).

use crate::common;

use std::cell::Cell;

use common::{
    TYPES, consent, consent_rules_loosened, consent_violations, expected,
    probation_sees_mh_clinical, provision, recipient, violations,
};
use proptest::{
    prelude::*,
    test_runner::{Config, RngSeed, TestError, TestRunner},
};
use serde_json::{Value, json};
use waymark_core::{DataClass, Role};
use waymark_policy::{Policy, PolicyError, ReleaseContext};

const CASES: u32 = 10_000;
const NOW: &str = "2024-06-01T12:00:00Z";

fn class() -> impl Strategy<Value = DataClass> {
    prop::sample::select(DataClass::ALL)
}

fn classes() -> impl Strategy<Value = Vec<DataClass>> {
    prop::collection::vec(class(), 0..4)
}

/// A Consent: kind, role (or every role), classes (or all), a nested exception, date, withdrawn.
fn consent_value() -> impl Strategy<Value = Value> {
    let role = prop::option::of(prop::sample::select(Role::ALL));
    let nested = prop::option::of(classes());
    (
        any::<bool>(),
        role,
        classes(),
        nested,
        1..6u8,
        prop::bool::weighted(0.2),
    )
        .prop_map(|(permit, role, classes, nested, month, withdrawn)| {
            let (kind, other) = if permit {
                ("permit", "deny")
            } else {
                ("deny", "permit")
            };
            let nested = nested
                .map(|c| provision(other, None, &c, vec![]))
                .into_iter()
                .collect();
            let mut c = consent(
                "c",
                &format!("2024-0{month}-01T00:00:00Z"),
                provision(kind, role, &classes, nested),
            );
            if withdrawn {
                c["status"] = json!("inactive");
            }
            c
        })
}

/// A record: its resources as (type, class), and its Consents.
type Record = (Vec<(&'static str, DataClass)>, Vec<Value>);

/// A random [`Record`] (Consent ids made unique).
fn record() -> impl Strategy<Value = Record> {
    let items = prop::collection::vec((prop::sample::select(TYPES), class()), 0..20);
    let consents = prop::collection::vec(consent_value(), 0..4).prop_map(|mut cs| {
        for (n, c) in cs.iter_mut().enumerate() {
            c["id"] = json!(format!("c{n}"));
        }
        cs
    });
    (items, consents)
}

/// Every violation releasing the record to every role, registered or not; counts releases.
fn check(
    policy: &Policy,
    items: &[(&str, DataClass)],
    consents: &[Value],
    n: &Cell<u64>,
) -> Vec<String> {
    let bundle = common::canonical(common::bundle_json(n.get(), items));
    let now = common::at(NOW);
    let cx = ReleaseContext {
        consents,
        now,
        break_glass: None,
    };
    let mut found = Vec::new();
    for role in Role::ALL {
        for registered in [false, true] {
            let who = recipient(*role, registered);
            n.set(n.get() + 1);
            match policy.release_with_consent(&bundle, &who, &cx) {
                Ok(r) => {
                    found.extend(violations(&r, &expected(*role, registered, true)));
                    let classes = r.released_classes();
                    found.extend(consent_violations(r.recipient(), classes, consents, now));
                }
                Err(PolicyError::NothingReleasable { .. }) => {}
                Err(e) => found.push(format!("release failed: {e}")),
            }
        }
    }
    found
}

fn run(policy: &Policy, cases: u32, seed: u64) -> (Result<(), TestError<Record>>, u64) {
    let mut runner = TestRunner::new(Config {
        cases,
        rng_seed: RngSeed::Fixed(seed),
        failure_persistence: None,
        ..Config::default()
    });
    let releases = Cell::new(0);
    let result = runner.run(&record(), |(items, consents)| {
        let found = check(policy, &items, &consents, &releases);
        prop_assert!(
            found.is_empty(),
            "{} violations, first: {:?}",
            found.len(),
            found.first()
        );
        Ok(())
    });
    (result, releases.get())
}

#[test]
fn no_role_is_ever_pushed_a_class_outside_its_policy_and_consent() {
    let started = std::time::Instant::now();
    let (result, releases) = run(&Policy::builtin().unwrap(), CASES, 0x9054_0001);
    if let Err(e) = result {
        panic!("{e}");
    }
    let per_role = releases / Role::ALL.len() as u64;
    eprintln!(
        "push redaction: {CASES} random records x {} roles x registered or not = {releases} releases ({per_role} per role), 0 violations, {:?}",
        Role::ALL.len(),
        started.elapsed()
    );
    assert!(per_role >= 2 * u64::from(CASES));
}

/// The weakened policy's failure, shrunk by proptest to a minimal record.
fn minimal_failure(policy: &Policy) -> String {
    match run(policy, 2_000, 0x9054_0002).0 {
        Err(TestError::Fail(reason, (items, consents))) => {
            format!(
                "{reason} (minimal: {} resources, {} consents)",
                items.len(),
                consents.len()
            )
        }
        other => panic!("the weakened policy must fail the property: {other:?}"),
    }
}

#[test]
fn a_weakened_policy_fails_the_push_property() {
    let failure = minimal_failure(&probation_sees_mh_clinical());
    eprintln!("weakened policy caught: {failure}");
    assert!(failure.contains("probation received"), "{failure}");
    assert!(failure.contains("mh-clinical"), "{failure}");
    assert!(
        failure.contains("minimal: 1 resources"),
        "shrunk to the one resource: {failure}"
    );
}

#[test]
fn a_weakened_consent_rule_fails_the_push_property() {
    let failure = minimal_failure(&consent_rules_loosened());
    eprintln!("weakened consent rule caught: {failure}");
    assert!(failure.contains("received"), "{failure}");
}
