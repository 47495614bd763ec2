//! "Role X never receives data class Y", checked over many pseudo-random canonical bundles, each
//! with pseudo-random Consents (permits, refusals, nested exceptions, withdrawals).

use crate::common;

use std::collections::BTreeSet;

use common::{Rng, consent, expected, provision, random_bundle, recipient, violations};
use serde_json::{Value, json};
use waymark_core::{DataClass, Role};
use waymark_policy::{ConsentDecision, Policy, PolicyError, ReleaseContext, consent::evaluate};
use waymark_profile::CanonicalBundle;

/// Random records released to every role (registered and not).
const RECORDS: u64 = 10_000;
const NOW: &str = "2024-06-01T12:00:00Z";

/// Roles whose every grant is a statutory duty: a refusal does not set it aside
/// (dataset.md §3), written out here independently of the policy file.
const STATUTORY: &[Role] = &[Role::CustodyOfficer, Role::Probation];

struct Record {
    bundle: CanonicalBundle,
    consents: Vec<Value>,
}

fn random_classes(rng: &mut Rng) -> Vec<DataClass> {
    (0..rng.below(4))
        .map(|_| *rng.pick(DataClass::ALL))
        .collect()
}

fn random_consent(rng: &mut Rng, n: usize) -> Value {
    let kind = *rng.pick(&["permit", "deny"]);
    let role = (rng.below(3) > 0).then(|| *rng.pick(Role::ALL));
    let nested = if rng.below(2) == 0 {
        let other = if kind == "permit" { "deny" } else { "permit" };
        vec![provision(other, None, &random_classes(rng), vec![])]
    } else {
        vec![]
    };
    let mut c = consent(
        &format!("c{n}"),
        &format!("2024-0{}-01T00:00:00Z", 1 + rng.below(5)),
        provision(kind, role, &random_classes(rng), nested),
    );
    if rng.below(5) == 0 {
        c["status"] = json!("inactive");
    }
    c
}

fn records(count: u64) -> Vec<Record> {
    let mut rng = Rng::new(0x5eed_cafe);
    (0..count)
        .map(|seed| Record {
            bundle: random_bundle(&mut rng, seed),
            consents: (0..rng.below(4))
                .map(|n| random_consent(&mut rng, n))
                .collect(),
        })
        .collect()
}

/// The consent rules of dataset.md §3 on top of the role table: GP detention / risk-others
/// only on a permit; a refused (or unreadable) class never reaches a non-statutory role.
fn consent_violations(released: &waymark_policy::Releasable, consents: &[Value]) -> Vec<String> {
    let recipient = released.recipient();
    let now = common::at(NOW);
    let mut found = Vec::new();
    for class in released.released_classes() {
        let decision = evaluate(consents, recipient, class, now);
        let consent_basis = recipient.role == Role::Gp
            && matches!(class, DataClass::Detention | DataClass::RiskOthers);
        let refused = matches!(
            decision,
            ConsentDecision::Deny(_) | ConsentDecision::Unreadable(_)
        );
        if consent_basis && !matches!(decision, ConsentDecision::Permit(_)) {
            found.push(format!(
                "{} received {class} without consent",
                recipient.role
            ));
        }
        if refused && !STATUTORY.contains(&recipient.role) {
            found.push(format!("{} received refused {class}", recipient.role));
        }
    }
    found
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
                        found.extend(consent_violations(&r, &record.consents));
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

fn weakened(edit: impl FnOnce(&mut Value)) -> Policy {
    let mut policy: Value = serde_json::from_str(Policy::builtin_json()).unwrap();
    edit(&mut policy);
    Policy::from_json(&policy.to_string()).unwrap()
}

fn role_entry<'a>(policy: &'a mut Value, role: &str) -> &'a mut Value {
    policy["roles"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|r| r["role"] == role)
        .unwrap()
}

#[test]
fn a_weakened_policy_fails_the_property() {
    // A careless edit: probation granted mh-clinical (and the `never` guard removed with it).
    let policy = weakened(|p| {
        let probation = role_entry(p, "probation");
        probation["grants"]
            .as_array_mut()
            .unwrap()
            .push(json!({"class": "mh-clinical", "basis": "statutory-duty"}));
        probation["never"]
            .as_array_mut()
            .unwrap()
            .retain(|c| c != "mh-clinical");
    });
    let found = check_policy(&policy, &records(300));
    assert!(
        !found.is_empty(),
        "the checker must catch the weakened policy"
    );
    let only_that = |v: &String| v.starts_with("probation received") && v.ends_with("mh-clinical");
    assert!(found.iter().all(only_that), "{found:?}");
}

#[test]
fn a_weakened_consent_rule_fails_the_property() {
    // Careless edits: GP detention no longer needs consent, and a refusal no longer binds
    // care-of-the-state.
    let policy = weakened(|p| {
        for g in role_entry(p, "gp")["grants"].as_array_mut().unwrap() {
            if g["class"] == "detention" {
                g["basis"] = json!("direct-care");
            }
        }
        p["consent"]["refusal-overridden-by"]
            .as_array_mut()
            .unwrap()
            .push(json!("care-of-the-state"));
    });
    let found = check_policy(&policy, &records(300));
    assert!(
        found
            .iter()
            .any(|v| v == "gp received detention without consent"),
        "{:?}",
        found.first()
    );
    assert!(
        found
            .iter()
            .any(|v| v.starts_with("prison-officer received refused")),
        "{:?}",
        found.first()
    );
}
