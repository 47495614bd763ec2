//! Runs every mapping fixture in `mappings/<source>/tests/`: `<case>.input.json` (the input
//! document) must map to `<case>.expected.json` — a bundle, or `{"mappingError": {"code",
//! "reason"}}` for a message that must be quarantined. Every bundle must pass the profile.
//!
//! `WAYMARK_BLESS=1 cargo test -p waymark-mapping --test fixtures` rewrites the expected files;
//! review the diff before committing.

use std::path::{Path, PathBuf};
use std::sync::LazyLock;
use std::time::Instant;

use serde_json::{Value, json};
use waymark_core::ErrorCode;
use waymark_mapping::{MappingError, MappingInput, MappingSet};
use waymark_profile::Validator;

static MAPPINGS: LazyLock<MappingSet> =
    LazyLock::new(|| MappingSet::load(&mappings_dir()).unwrap());

fn mappings_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../mappings")
}

/// `(case name, input file)` for every fixture of every source.
fn cases() -> Vec<(String, PathBuf)> {
    let mut cases = Vec::new();
    for source in std::fs::read_dir(mappings_dir()).unwrap() {
        let tests = source.unwrap().path().join("tests");
        let Ok(files) = std::fs::read_dir(&tests) else {
            continue;
        };
        for file in files {
            let path = file.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if let Some(case) = name.strip_suffix(".input.json") {
                cases.push((case.to_owned(), path));
            }
        }
    }
    cases.sort();
    cases
}

fn read(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn input(path: &Path) -> MappingInput {
    serde_json::from_value(read(path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The bundle, or the error as the expected files record it.
fn outcome(result: Result<Value, MappingError>) -> Value {
    match result {
        Ok(bundle) => bundle,
        Err(err) => {
            let reason = match &err {
                MappingError::Runtime { reason, .. } | MappingError::Output { reason, .. } => {
                    reason.clone()
                }
                other => other.to_string(),
            };
            json!({"mappingError": {"code": err.code(), "reason": reason}})
        }
    }
}

/// Paths where two JSON values differ (at most `limit`).
fn differences(expected: &Value, actual: &Value, path: String, out: &mut Vec<String>) {
    if out.len() >= 10 {
        return;
    }
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for key in e.keys().chain(a.keys().filter(|k| !e.contains_key(*k))) {
                let (ev, av) = (
                    e.get(key).unwrap_or(&Value::Null),
                    a.get(key).unwrap_or(&Value::Null),
                );
                differences(ev, av, format!("{path}.{key}"), out);
            }
        }
        (Value::Array(e), Value::Array(a)) if e.len() == a.len() => {
            for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                differences(ev, av, format!("{path}[{i}]"), out);
            }
        }
        (e, a) if e != a => out.push(format!("{path}: expected {e}, got {a}")),
        _ => {}
    }
}

#[test]
fn every_fixture_maps_to_its_expected_output() {
    let cases = cases();
    assert!(cases.len() >= 6, "fixtures are missing: {cases:?}");
    let bless = std::env::var_os("WAYMARK_BLESS").is_some();
    let mut failures = Vec::new();
    for (case, path) in &cases {
        let actual = outcome(MAPPINGS.map_input(&input(path)));
        let expected_path = path.with_file_name(format!("{case}.expected.json"));
        if bless {
            let text = serde_json::to_string_pretty(&actual).unwrap() + "\n";
            std::fs::write(&expected_path, text).unwrap();
            continue;
        }
        let expected = read(&expected_path);
        let mut diffs = Vec::new();
        differences(&expected, &actual, "$".into(), &mut diffs);
        if !diffs.is_empty() {
            failures.push(format!("{case}:\n  {}", diffs.join("\n  ")));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_produced_bundle_passes_the_profile() {
    let validator = Validator::r4().unwrap();
    let mut bundles = 0;
    for (case, path) in cases() {
        let Ok(bundle) = MAPPINGS.map_input(&input(&path)) else {
            continue;
        };
        bundles += 1;
        let canonical = validator
            .validate(bundle)
            .unwrap_or_else(|oo| panic!("{case}: {:#?}", oo.issues));
        assert_eq!(canonical.patient()["resourceType"], "Patient");
        assert!(canonical.source_event().is_some(), "{case}");
    }
    assert!(bundles >= 6);
}

#[test]
fn mapping_twice_gives_identical_bundles() {
    for (_, path) in cases() {
        let input = input(&path);
        assert_eq!(
            outcome(MAPPINGS.map_input(&input)),
            outcome(MAPPINGS.map_input(&input))
        );
    }
}

#[test]
fn bench_mapping_and_validation_prints_micros() {
    let validator = Validator::r4().unwrap();
    let (_, path) = cases()
        .into_iter()
        .find(|(c, _)| c == "synthetic-reception-with-alerts")
        .unwrap();
    let input = input(&path);
    let in_bytes = serde_json::to_vec(&input.to_json()).unwrap().len();
    let bundle = MAPPINGS.map_input(&input).unwrap();
    let out_bytes = serde_json::to_vec(&bundle).unwrap().len();
    let n = 200;
    let start = Instant::now();
    for _ in 0..n {
        std::hint::black_box(MAPPINGS.map_input(&input).unwrap());
    }
    let map_us = start.elapsed().as_secs_f64() * 1e6 / f64::from(n);
    let start = Instant::now();
    for _ in 0..n {
        std::hint::black_box(validator.validate(bundle.clone()).unwrap());
    }
    let validate_us = start.elapsed().as_secs_f64() * 1e6 / f64::from(n);
    println!(
        "map: {map_us:.0} µs per {in_bytes}-byte input → {out_bytes}-byte bundle; \
         validate: {validate_us:.0} µs per bundle (profile {})",
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
    );
}
