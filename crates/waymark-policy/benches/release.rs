//! Policy evaluation cost: µs per bundle per role, with and without Consents.
//! Run: `cargo bench -p waymark-policy --bench release`.
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use waymark_core::{DATA_CLASS_SYSTEM, Role};
use waymark_policy::{Policy, Recipient, ReleaseContext, consent::RECIPIENT_ROLE_SYSTEM};
use waymark_profile::Validator;

const ITERATIONS: u32 = 2_000;

fn consents() -> Vec<Value> {
    let scope = json!({"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope",
                                   "code": "patient-privacy"}]});
    (0..3)
        .map(|n| {
            json!({"resourceType": "Consent", "id": format!("c{n}"), "status": "active",
                "scope": scope, "dateTime": format!("2024-0{}-01", n + 1),
                "provision": {"type": "permit",
                    "actor": [{"role": {"coding": [{"system": RECIPIENT_ROLE_SYSTEM, "code": "gp"}]},
                               "reference": {"display": "GP"}}],
                    "provision": [{"type": "deny", "securityLabel": [
                        {"system": DATA_CLASS_SYSTEM, "code": "detention"}]}]}})
        })
        .collect()
}

fn main() {
    let text = include_str!("../../waymark-profile/tests/fixtures/valid/full-dataset.json");
    let bundle = Validator::r4()
        .expect("validator")
        .validate(serde_json::from_str(text).expect("json"))
        .expect("valid fixture");
    let entries = bundle.as_json()["entry"].as_array().map_or(0, Vec::len);
    let policy = Policy::builtin().expect("policy");
    let consents = consents();
    let now: DateTime<Utc> = "2024-06-01T12:00:00Z".parse().expect("time");
    println!("full-dataset bundle, {entries} entries, {ITERATIONS} iterations per row");
    println!(
        "{:<22} {:>12} {:>16}",
        "role", "no consent µs", "3 consents µs"
    );
    for role in Role::ALL {
        let who = Recipient {
            organisation: "bench".into(),
            role: *role,
            registered: true,
            purpose: "direct-care".into(),
        };
        let mut row = Vec::new();
        for c in [&[][..], &consents[..]] {
            let cx = ReleaseContext {
                consents: c,
                now,
                break_glass: None,
            };
            let started = Instant::now();
            for _ in 0..ITERATIONS {
                std::hint::black_box(policy.release_with_consent(&bundle, &who, &cx).ok());
            }
            row.push(started.elapsed().as_secs_f64() * 1e6 / f64::from(ITERATIONS));
        }
        println!("{:<22} {:>12.1} {:>16.1}", role.code(), row[0], row[1]);
    }
}
