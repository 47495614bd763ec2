//! Policy evaluation cost: µs per bundle per role, with and without Consents, by push
//! (`release_with_consent` of the canonical bundle) and by pull (`release_summary` of the person
//! summary the API builds from the same bundle; building the summary is not timed).
//! Run: `cargo bench -p waymark-policy --bench release`.
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use waymark_core::{DATA_CLASS_SYSTEM, Role, SourceSystem};
use waymark_policy::{Policy, Recipient, ReleaseContext, consent::RECIPIENT_ROLE_SYSTEM};
use waymark_profile::Validator;
use waymark_record::{Entry, PersonRecord, RecordConfig};

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

/// The person summary of a record holding `bundle` alone, at `now`.
fn summary_of(bundle: &Value, now: DateTime<Utc>) -> Value {
    let entry = Entry {
        message_id: "bench".into(),
        source: SourceSystem::Nomis,
        event_time: now,
        recorded_at: now,
        bundle,
    };
    let record = PersonRecord::from_entries(RecordConfig::default(), [&entry]);
    waymark_record::summary(&record, now)
}

/// Mean µs of `f` over [`ITERATIONS`] runs.
fn micros(mut f: impl FnMut()) -> f64 {
    let started = Instant::now();
    for _ in 0..ITERATIONS {
        f();
    }
    started.elapsed().as_secs_f64() * 1e6 / f64::from(ITERATIONS)
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
    let summary = summary_of(bundle.as_json(), now);
    let sections = summary["entry"][0]["resource"]["section"]
        .as_array()
        .map_or(0, Vec::len);
    let summary_entries = summary["entry"].as_array().map_or(0, Vec::len);
    println!(
        "full-dataset bundle, {entries} entries (push); its person summary, {summary_entries} \
         entries and {sections} sections (pull); {ITERATIONS} iterations per cell"
    );
    println!(
        "{:<22} {:>14} {:>16} {:>14} {:>16}",
        "role", "push µs", "push 3 cons. µs", "pull µs", "pull 3 cons. µs"
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
            row.push(micros(|| {
                std::hint::black_box(policy.release_with_consent(&bundle, &who, &cx).ok());
            }));
        }
        for c in [&[][..], &consents[..]] {
            let cx = ReleaseContext {
                consents: c,
                now,
                break_glass: None,
            };
            row.push(micros(|| {
                std::hint::black_box(policy.release_summary(&summary, &who, &cx).ok());
            }));
        }
        println!(
            "{:<22} {:>14.1} {:>16.1} {:>14.1} {:>16.1}",
            role.code(),
            row[0],
            row[1],
            row[2],
            row[3]
        );
    }
}
