//! Random people: Consents (permits, refusals, nested exceptions, withdrawals) and longitudinal
//! person records built the way the record stage builds them (`PersonRecord::apply` over
//! labelled bundles from several sources), summarised as the API summarises them.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use waymark_core::{DataClass, Role, SourceSystem};
use waymark_record::{Entry, ITEM_SYSTEM, PersonRecord, RecordConfig};

use super::{Rng, TYPES, bundle_json, consent, provision};

/// HJMD item codes an Observation may carry (a few per group), so items land in their groups'
/// sections when the class fits and in the class's default section when not.
const ITEM_CODES: &[&str] = &[
    "interpreter-needed",
    "aa-required",
    "learning-disability",
    "epilepsy",
    "previous-mh-problems",
    "mha-status",
    "self-harm-history",
    "alcohol-misuse",
    "non-concordance-psych-medication",
];

/// Encounter classes: an ordinary one, and the two episodes the record knows.
const ENCOUNTER_CLASSES: &[&str] = &["IMP", "prison", "custody"];

pub fn random_classes(rng: &mut Rng) -> Vec<DataClass> {
    (0..rng.below(4))
        .map(|_| *rng.pick(DataClass::ALL))
        .collect()
}

/// A random Consent `c<n>`: permit or deny, for one role or all, for some classes or all,
/// with a nested exception or not, and one in five withdrawn (`inactive`).
pub fn random_consent(rng: &mut Rng, n: usize) -> Value {
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

/// 0..=3 random Consents.
pub fn random_consents(rng: &mut Rng) -> Vec<Value> {
    (0..rng.below(4)).map(|n| random_consent(rng, n)).collect()
}

/// One message's bundle: a Patient and 0..=12 resources of random types and classes, some
/// Observations coded as HJMD items and some Encounters as episodes.
fn random_message(rng: &mut Rng, seed: u64) -> Value {
    let items: Vec<(&str, DataClass)> = (0..rng.below(13))
        .map(|_| (*rng.pick(TYPES), *rng.pick(DataClass::ALL)))
        .collect();
    let mut bundle = bundle_json(seed, &items);
    for entry in bundle["entry"].as_array_mut().into_iter().flatten() {
        let r = &mut entry["resource"];
        if r["resourceType"] == "Observation" && rng.below(2) == 0 {
            r["code"] = json!({"coding": [{"system": ITEM_SYSTEM, "code": *rng.pick(ITEM_CODES)}]});
        }
        if r["resourceType"] == "Encounter" {
            r["class"]["code"] = json!(*rng.pick(ENCOUNTER_CLASSES));
        }
    }
    bundle
}

/// A person's record from 1..=3 messages of random sources and times before `now`.
pub fn random_record(rng: &mut Rng, person: u64, now: DateTime<Utc>) -> PersonRecord {
    let messages: Vec<(SourceSystem, DateTime<Utc>, Value)> = (0..1 + rng.below(3) as u64)
        .map(|m| {
            let source = *rng.pick(&SourceSystem::ALL);
            let days = i64::try_from(rng.below(700)).unwrap();
            let bundle = random_message(rng, (person << 2) | m);
            (source, now - Duration::days(days), bundle)
        })
        .collect();
    let entries: Vec<Entry<'_>> = messages
        .iter()
        .enumerate()
        .map(|(m, (source, time, bundle))| Entry {
            message_id: format!("msg-{person}-{m}"),
            source: *source,
            event_time: *time,
            recorded_at: *time + Duration::seconds(30),
            bundle,
        })
        .collect();
    PersonRecord::from_entries(RecordConfig::default(), &entries)
}

/// A random person: their summary at `now` (as the API builds it) and their Consents.
pub struct Person {
    pub summary: Value,
    pub consents: Vec<Value>,
}

pub fn random_person(rng: &mut Rng, person: u64, now: DateTime<Utc>) -> Person {
    let record = random_record(rng, person, now);
    Person {
        summary: waymark_record::summary(&record, now),
        consents: random_consents(rng),
    }
}
