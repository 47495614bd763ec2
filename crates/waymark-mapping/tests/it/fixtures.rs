//! Runs every mapping fixture in `mappings/<source>/tests/`: `<case>.input.json` (the input
//! document) must map to `<case>.expected.json` — a bundle, or `{"mappingError": {"code",
//! "reason"}}` for a message that must be quarantined. Every bundle must pass the profile.
//!
//! `WAYMARK_BLESS=1 cargo test -p waymark-mapping --test it fixtures` (or `waymark mappings test
//! --bless`, which runs the same code) rewrites the expected files; review the diff before
//! committing.

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use serde_json::Value;
use waymark_mapping::fixtures::{self, RunOptions};
use waymark_mapping::{MappingError, MappingInput, MappingSet};
use waymark_profile::Validator;

static MAPPINGS: LazyLock<MappingSet> =
    LazyLock::new(|| MappingSet::load(&mappings_dir()).unwrap());

fn mappings_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../mappings")
}

/// `(case name, input file)` for every fixture of every source.
fn cases() -> Vec<(String, PathBuf)> {
    fixtures::discover(&mappings_dir())
        .unwrap()
        .into_iter()
        .map(|f| (f.case, f.input))
        .collect()
}

fn input(path: &Path) -> MappingInput {
    fixtures::read_input(path).unwrap()
}

fn outcome(result: Result<Value, MappingError>) -> Value {
    fixtures::recorded(result)
}

#[test]
fn every_fixture_maps_to_its_expected_output_and_passes_the_profile() {
    let validator = Validator::r4().unwrap();
    let check = |bundle: &Value| {
        validator.validate(bundle.clone()).map(drop).map_err(|oo| {
            oo.issues
                .iter()
                .map(|i| format!("{}: {}", i.location.as_deref().unwrap_or("-"), i.text))
                .collect()
        })
    };
    let options = RunOptions {
        bless: std::env::var_os("WAYMARK_BLESS").is_some(),
        check: Some(&check),
    };
    let results = fixtures::run_all(&mappings_dir(), &MAPPINGS, options).unwrap();
    assert!(results.len() >= 6, "fixtures are missing: {results:?}");
    let failures: Vec<String> = results
        .iter()
        .filter(|r| !r.outcome.passed())
        .map(|r| format!("{}:\n{}", r.fixture.case, fixtures::explain(r)))
        .collect();
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
