//! "Role X never receives data class Y", checked over many pseudo-random canonical bundles.

mod common;

use common::{Rng, check_release, random_bundle};
use serde_json::{Value, json};
use waymark_core::Role;
use waymark_policy::Policy;
use waymark_profile::CanonicalBundle;

const BUNDLES: u64 = 2_000;

fn bundles(count: u64) -> Vec<CanonicalBundle> {
    let mut rng = Rng::new(0x5eed_cafe);
    (0..count)
        .map(|seed| random_bundle(&mut rng, seed))
        .collect()
}

/// Every violation found releasing every bundle to every role, registered or not.
fn check_policy(policy: &Policy, bundles: &[CanonicalBundle]) -> Vec<String> {
    let mut found = Vec::new();
    for bundle in bundles {
        for role in Role::ALL {
            for registered in [false, true] {
                found.extend(check_release(policy, bundle, *role, registered));
            }
        }
    }
    found
}

#[test]
fn no_role_ever_receives_a_class_outside_its_policy() {
    let started = std::time::Instant::now();
    let bundles = bundles(BUNDLES);
    let built = started.elapsed();
    let found = check_policy(&Policy::builtin().unwrap(), &bundles);
    assert!(
        found.is_empty(),
        "{} violations, first: {:?}",
        found.len(),
        found.first()
    );
    let resources: usize = bundles
        .iter()
        .map(|b| b.as_json()["entry"].as_array().unwrap().len())
        .sum();
    eprintln!(
        "{BUNDLES} bundles ({resources} resources) built and validated in {built:?}; \
         {} releases checked in {:?}",
        BUNDLES as usize * Role::ALL.len() * 2,
        started.elapsed() - built,
    );
}

#[test]
fn a_weakened_policy_fails_the_property() {
    // A careless edit: probation granted mh-clinical (and the `never` guard removed with it).
    let mut policy: Value = serde_json::from_str(Policy::builtin_json()).unwrap();
    let probation = policy["roles"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|r| r["role"] == "probation")
        .unwrap();
    probation["grants"]
        .as_array_mut()
        .unwrap()
        .push(json!({"class": "mh-clinical", "basis": "statutory-duty"}));
    probation["never"]
        .as_array_mut()
        .unwrap()
        .retain(|c| c != "mh-clinical");
    let weakened = Policy::from_json(&policy.to_string()).unwrap();

    let found = check_policy(&weakened, &bundles(200));
    assert!(
        !found.is_empty(),
        "the checker must catch the weakened policy"
    );
    let only_that = |v: &String| v.starts_with("probation received") && v.ends_with("mh-clinical");
    assert!(found.iter().all(only_that), "{found:?}");
}
