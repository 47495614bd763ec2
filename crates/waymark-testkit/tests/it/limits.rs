//! Hostile input limits of the validator (`waymark_profile`), the JSON the hub hands it being
//! read by serde_json first: 100,000 `[` never become a value (serde_json stops at depth 128);
//! a value nested 100,000 deep (built in memory), a bundle of more than `MAX_ENTRIES` entries
//! and one of more than `MAX_NODES` elements are each one `profile.too-costly` issue, refused
//! before any schema work, on a thread with a small stack — including a bundle whose last
//! container is one flat array of more than `MAX_NODES` numbers (the fuzzer's case: the leaves
//! were once counted only when the next container was taken). Times printed.

use std::time::Instant;

use serde_json::{Value, json};
use waymark_profile::{MAX_ENTRIES, MAX_NODES, Validator};

fn nested(depth: usize) -> Value {
    (0..depth).fold(Value::Array(Vec::new()), |inner, _| {
        Value::Array(vec![inner])
    })
}

/// An entry holding a Patient whose `extension` is `extension` (moved in, never serialised).
fn patient_with(extension: Value) -> Value {
    let mut entry = json!({"resource": {"resourceType": "Patient", "id": "1"}});
    entry["resource"]["extension"] = extension;
    entry
}

/// A collection bundle of `entries` (moved in: `json!` would serialise them, recursively).
fn bundle(entries: Vec<Value>) -> Value {
    let mut bundle = json!({"resourceType": "Bundle", "type": "collection"});
    bundle["entry"] = Value::Array(entries);
    bundle
}

/// Validates on a 512 KiB stack; the rule code of the first issue.
fn refusal(validator: &'static Validator, value: Value) -> String {
    std::thread::Builder::new()
        .stack_size(512 * 1024)
        .spawn(move || match validator.validate(value) {
            Ok(_) => "accepted".to_owned(),
            Err(outcome) => outcome.to_json()["issue"][0]["details"]["coding"][0]["code"]
                .as_str()
                .unwrap_or("?")
                .to_owned(),
        })
        .unwrap()
        .join()
        .unwrap()
}

#[test]
fn hostile_bundles_are_refused_unexamined() {
    let validator: &'static Validator = Box::leak(Box::new(Validator::r4().unwrap()));
    let started = Instant::now();
    let text = vec![b'['; 100_000];
    let err = serde_json::from_slice::<Value>(&text).unwrap_err();
    assert!(err.to_string().contains("recursion limit"), "{err}");
    eprintln!(
        "validator: 100,000 `[` refused by the JSON reader in {:?}",
        started.elapsed()
    );

    let patient =
        json!({"fullUrl": "urn:uuid:1", "resource": {"resourceType": "Patient", "id": "1"}});
    let cases = [
        ("nested 100,000 deep", nested(100_000)),
        (
            "a bundle nested 10,000 deep",
            bundle(vec![patient_with(Value::Array(vec![nested(10_000)]))]),
        ),
        (
            "more than MAX_ENTRIES entries",
            bundle(vec![patient.clone(); MAX_ENTRIES + 1]),
        ),
        (
            "more than MAX_NODES elements",
            bundle(vec![patient_with(json!(vec![
                vec![0; 1_000];
                MAX_NODES / 1_000 + 1
            ]))]),
        ),
        (
            "one flat array of more than MAX_NODES numbers",
            bundle(vec![patient_with(json!(vec![0; MAX_NODES + 1]))]),
        ),
    ];
    for (name, value) in cases {
        let started = Instant::now();
        let code = refusal(validator, value);
        eprintln!("validator: {name}: {code} in {:?}", started.elapsed());
        assert_eq!(code, "profile.too-costly", "{name}");
    }
    let ordinary = bundle(vec![patient; 3]);
    assert_ne!(
        refusal(validator, ordinary),
        "profile.too-costly",
        "the guard is not everything"
    );
}
