//! "Role X never receives data class Y", checked over many pseudo-random canonical bundles, each
//! with pseudo-random Consents (permits, refusals, nested exceptions, withdrawals).

use crate::common;

use std::collections::BTreeSet;

use common::{
    Rng, both_consent_rules_broken, consent_rules_loosened, consent_violations, expected,
    only_probation_mh_clinical, probation_sees_mh_clinical, random_bundle, random_consents,
    recipient, violations,
};
use serde_json::Value;
use waymark_core::{DataClass, Role};
use waymark_policy::{Policy, PolicyError, ReleaseContext};
use waymark_profile::CanonicalBundle;

/// Random records released to every role (registered and not).
const RECORDS: u64 = 10_000;
const NOW: &str = "2024-06-01T12:00:00Z";

struct Record {
    bundle: CanonicalBundle,
    consents: Vec<Value>,
}

fn records(count: u64) -> Vec<Record> {
    let mut rng = Rng::new(0x5eed_cafe);
    (0..count)
        .map(|seed| Record {
            bundle: random_bundle(&mut rng, seed),
            consents: random_consents(&mut rng),
        })
        .collect()
}

/// Every violation found releasing every record to every role, registered or not.
fn check_policy(policy: &Policy, records: &[Record]) -> Vec<String> {
    let mut found = Vec::new();
    for record in records {
        let cx = ReleaseContext {
            consents: &record.consents,
            now: common::at(NOW),
            break_glass: None,
        };
        for role in Role::ALL {
            for registered in [false, true] {
                let who = recipient(*role, registered);
                match policy.release_with_consent(&record.bundle, &who, &cx) {
                    Ok(r) => {
                        found.extend(violations(&r, &expected(*role, registered, true)));
                        let now = common::at(NOW);
                        let classes = r.released_classes();
                        found.extend(consent_violations(
                            r.recipient(),
                            classes,
                            &record.consents,
                            now,
                        ));
                    }
                    Err(PolicyError::NothingReleasable { .. }) => {}
                    Err(e) => found.push(format!("release failed: {e}")),
                }
            }
        }
    }
    found
}

#[test]
fn no_role_ever_receives_a_class_outside_its_policy_and_consent() {
    let started = std::time::Instant::now();
    let records = records(RECORDS);
    let built = started.elapsed();
    let found = check_policy(&Policy::builtin().unwrap(), &records);
    assert!(
        found.is_empty(),
        "{} violations, first: {:?}",
        found.len(),
        found.first()
    );
    let refusals = records
        .iter()
        .flat_map(|r| &r.consents)
        .filter(|c| c["provision"]["type"] == "deny")
        .count();
    assert!(
        refusals > 1_000,
        "the generator makes refusals ({refusals})"
    );
    let classes: BTreeSet<DataClass> = records
        .iter()
        .flat_map(|r| {
            waymark_fhir::entries(r.bundle.as_json()).filter_map(waymark_fhir::data_class)
        })
        .collect();
    assert_eq!(
        classes.len(),
        DataClass::ALL.len(),
        "every class is exercised"
    );
    eprintln!(
        "{RECORDS} records built and validated in {built:?}; {} releases checked in {:?}",
        RECORDS as usize * Role::ALL.len() * 2,
        started.elapsed() - built,
    );
}

#[test]
fn a_weakened_policy_fails_the_property() {
    let found = check_policy(&probation_sees_mh_clinical(), &records(300));
    assert!(
        !found.is_empty(),
        "the checker must catch the weakened policy"
    );
    assert!(only_probation_mh_clinical(&found), "{found:?}");
}

#[test]
fn a_weakened_consent_rule_fails_the_property() {
    let found = check_policy(&consent_rules_loosened(), &records(300));
    assert!(both_consent_rules_broken(&found), "{:?}", found.first());
}
