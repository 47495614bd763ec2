//! Shared test helpers: canonical bundles built by hand and validated, a deterministic PRNG,
//! random people and Consents ([`people`]), the dataset.md §2–§3 oracle written out
//! independently of the policy file ([`oracle`]), the checkers, and deliberately weakened
//! policies ([`weaken`]).
#![allow(dead_code)]

use std::{collections::BTreeSet, sync::OnceLock};

use serde_json::{Value, json};
use waymark_core::{CONFIDENTIALITY_SYSTEM, DATA_CLASS_SYSTEM, DataClass, Role};
use waymark_policy::{Policy, PolicyError, Recipient, Releasable};
use waymark_profile::{CanonicalBundle, Validator};

mod oracle;
mod people;
mod weaken;

pub use oracle::*;
pub use people::*;
pub use weaken::*;

/// The resource types the builder can make, each minimal and valid R4.
pub const TYPES: &[&str] = &[
    "Observation",
    "Flag",
    "Condition",
    "MedicationStatement",
    "Encounter",
    "CareTeam",
    "RelatedPerson",
    "Consent",
];

/// Layers 1 to 3 (R4 schema, structure, bundle rules incl. labels) without the HJMD profiles:
/// these tests are about what the policy and delivery do with any labelled bundle, including
/// combinations of resources no mapping produces; the profiles have their own battery.
pub fn validator() -> &'static Validator {
    static V: OnceLock<Validator> = OnceLock::new();
    V.get_or_init(|| Validator::schema_only().expect("the R4 validator loads"))
}

/// A deterministic id: `<seed>` and `<n>` readable in the uuid.
pub fn id(seed: u64, n: usize) -> String {
    format!("{:08x}-0000-4000-8000-{:012x}", seed & 0xffff_ffff, n)
}

fn labels(class: DataClass) -> Value {
    let conf = if class.is_clinical() { "R" } else { "N" };
    json!([
        { "system": DATA_CLASS_SYSTEM, "code": class.code() },
        { "system": CONFIDENTIALITY_SYSTEM, "code": conf },
    ])
}

/// A minimal valid resource of `kind` about the patient `pid`, labelled `class`.
pub fn resource(kind: &str, rid: &str, pid: &str, class: DataClass) -> Value {
    let subject = json!({ "reference": format!("urn:uuid:{pid}") });
    let text = json!({ "text": "synthetic test item" });
    let mut r = match kind {
        "Observation" => json!({ "status": "final", "code": text, "subject": subject }),
        "Flag" => json!({ "status": "active", "code": text, "subject": subject }),
        "Condition" => json!({ "code": text, "subject": subject }),
        "MedicationStatement" => {
            json!({ "status": "active", "medicationCodeableConcept": text, "subject": subject })
        }
        "Encounter" => json!({ "status": "finished", "subject": subject, "class": {
            "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP" } }),
        "CareTeam" => json!({ "status": "active", "name": "synthetic team", "subject": subject }),
        "RelatedPerson" => json!({ "patient": subject, "name": [{ "text": "synthetic name" }] }),
        "Consent" => json!({
            "status": "active",
            "scope": { "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/consentscope",
                                    "code": "patient-privacy" }] },
            "category": [{ "coding": [{ "system": "http://loinc.org", "code": "59284-0" }] }],
            "patient": subject,
            "policyRule": { "text": "synthetic" },
        }),
        other => panic!("no template for {other}"),
    };
    r["resourceType"] = json!(kind);
    r["id"] = json!(rid);
    r["meta"] = json!({ "security": labels(class) });
    r
}

/// A canonical bundle JSON: a Patient (`identity`), `items` as `(type, class)`, and a Provenance
/// targeting everything.
pub fn bundle_json(seed: u64, items: &[(&str, DataClass)]) -> Value {
    let pid = id(seed, 0);
    let patient = json!({ "resourceType": "Patient", "id": pid, "active": true,
        "meta": { "security": labels(DataClass::Identity) } });
    let mut resources = vec![patient];
    for (n, (kind, class)) in items.iter().enumerate() {
        resources.push(resource(kind, &id(seed, n + 1), &pid, *class));
    }
    finish(seed, resources)
}

/// Wraps resources into a collection bundle with a Provenance targeting each of them.
pub fn finish(seed: u64, resources: Vec<Value>) -> Value {
    let targets: Vec<Value> = resources
        .iter()
        .map(|r| json!({ "reference": format!("urn:uuid:{}", r["id"].as_str().unwrap()) }))
        .collect();
    let prov_id = id(seed, 9999);
    let provenance = json!({
        "resourceType": "Provenance", "id": prov_id, "target": targets,
        "recorded": "2024-03-01T10:00:00Z",
        "agent": [{ "who": { "display": "synthetic source" } }],
    });
    let entries: Vec<Value> = resources
        .into_iter()
        .chain([provenance])
        .map(|r| json!({ "fullUrl": format!("urn:uuid:{}", r["id"].as_str().unwrap()), "resource": r }))
        .collect();
    json!({ "resourceType": "Bundle", "id": id(seed, 10_000), "type": "collection", "entry": entries })
}

/// Validates a hand-written bundle: the only way to get a `CanonicalBundle`.
pub fn canonical(json: Value) -> CanonicalBundle {
    match validator().validate(json) {
        Ok(b) => b,
        Err(oo) => panic!("test bundle does not validate: {}", oo.to_json()),
    }
}

/// One resource of every data class (the Patient is the `identity` one).
pub fn every_class(seed: u64) -> CanonicalBundle {
    let items: Vec<(&str, DataClass)> = DataClass::ALL
        .iter()
        .filter(|c| **c != DataClass::Identity)
        .enumerate()
        .map(|(n, c)| (TYPES[n % TYPES.len()], *c))
        .collect();
    canonical(bundle_json(seed, &items))
}

pub fn recipient(role: Role, registered: bool) -> Recipient {
    Recipient {
        organisation: "test-org".to_owned(),
        role,
        registered,
        purpose: "direct-care".to_owned(),
    }
}

/// Checks one release against the classes the recipient may see: every resource in the released
/// bundle has one readable class in `allowed` (the Provenance excepted) and every Provenance
/// target is a released resource. Returns the violations found (empty = fine).
pub fn violations(released: &Releasable, allowed: &BTreeSet<DataClass>) -> Vec<String> {
    let bundle = released.bundle();
    let urls: BTreeSet<&str> = bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["fullUrl"].as_str())
        .collect();
    let mut found = Vec::new();
    for resource in waymark_fhir::entries(bundle) {
        let kind = resource["resourceType"].as_str().unwrap_or("?");
        if kind == "Provenance" {
            for t in resource["target"].as_array().into_iter().flatten() {
                if !t["reference"].as_str().is_some_and(|r| urls.contains(r)) {
                    found.push("Provenance targets a resource that was not released".to_owned());
                }
            }
            continue;
        }
        match waymark_fhir::data_class(resource) {
            Some(c) if allowed.contains(&c) => {}
            Some(c) => found.push(format!(
                "{} received {kind} of class {c}",
                released.recipient().role
            )),
            None => found.push(format!(
                "{} received an unlabelled {kind}",
                released.recipient().role
            )),
        }
    }
    found
}

/// Releases `bundle` to `role` and checks it; a refusal (`NothingReleasable`) is no violation.
pub fn check_release(
    policy: &Policy,
    bundle: &CanonicalBundle,
    role: Role,
    registered: bool,
) -> Vec<String> {
    match policy.release(bundle, &recipient(role, registered)) {
        Ok(r) => violations(&r, &expected(role, registered, false)),
        Err(PolicyError::NothingReleasable { .. }) => Vec::new(),
        Err(e) => vec![format!("release failed: {e}")],
    }
}

/// SplitMix64: a tiny deterministic PRNG, so every run checks the same bundles.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// A random canonical bundle: 0..=20 resources of random types with random data classes.
pub fn random_bundle(rng: &mut Rng, seed: u64) -> CanonicalBundle {
    let n = rng.below(21);
    let items: Vec<(&str, DataClass)> = (0..n)
        .map(|_| (*rng.pick(TYPES), *rng.pick(DataClass::ALL)))
        .collect();
    canonical(bundle_json(seed, &items))
}

/// A provision: `kind` (`permit` / `deny`), for `role` (any when `None`), for `classes` (all
/// when empty), with nested exceptions.
pub fn provision(
    kind: &str,
    role: Option<Role>,
    classes: &[DataClass],
    nested: Vec<Value>,
) -> Value {
    let mut p = json!({ "type": kind });
    if let Some(role) = role {
        p["actor"] = json!([{
            "role": { "coding": [{ "system": waymark_policy::consent::RECIPIENT_ROLE_SYSTEM,
                                   "code": role.code() }] },
            "reference": { "display": "any recipient in the role" },
        }]);
    }
    if !classes.is_empty() {
        p["securityLabel"] = classes
            .iter()
            .map(|c| json!({ "system": DATA_CLASS_SYSTEM, "code": c.code() }))
            .collect();
    }
    if !nested.is_empty() {
        p["provision"] = Value::Array(nested);
    }
    p
}

/// An active `patient-privacy` Consent given at `date_time` with the root `provision`.
pub fn consent(id: &str, date_time: &str, provision: Value) -> Value {
    json!({
        "resourceType": "Consent",
        "id": id,
        "status": "active",
        "scope": { "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/consentscope",
                                "code": "patient-privacy" }] },
        "category": [{ "coding": [{ "system": "http://loinc.org", "code": "59284-0" }] }],
        "patient": { "reference": "urn:uuid:patient" },
        "dateTime": date_time,
        "policyRule": { "text": "synthetic" },
        "provision": provision,
    })
}

/// An RFC 3339 instant.
pub fn at(text: &str) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

/// A release context with `consents` at `now`.
pub fn cx<'a>(consents: &'a [Value], now: &str) -> waymark_policy::ReleaseContext<'a> {
    waymark_policy::ReleaseContext {
        consents,
        now: at(now),
        break_glass: None,
    }
}
