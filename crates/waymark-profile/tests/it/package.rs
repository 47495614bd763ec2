//! The HJMD package: loading errors name the file and path; every dataset item is present in
//! the package and in the generated reference (`docs/reference/dataset.md`, regenerated with
//! `WAYMARK_BLESS=1 cargo test -p waymark-profile --test it package`).

use crate::reference;

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use waymark_profile::{Package, ProfileError, Validator};

fn package_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../profiles/hjmd")
}

/// A copy of the package in a temporary directory, with one file replaced.
fn broken_copy(file: &str, text: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(package_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            std::fs::copy(&path, dir.path().join(path.file_name().unwrap())).unwrap();
        }
    }
    std::fs::write(dir.path().join(file), text).unwrap();
    dir
}

fn load_error(dir: &Path) -> (String, String) {
    match Package::load_dir(dir) {
        Err(ProfileError::Package { file, path, .. }) => (file, path),
        other => panic!("expected a package error, got {other:?}"),
    }
}

#[test]
fn the_package_loads_from_disk_and_embedded() {
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(package_dir().join("package.json")).unwrap())
            .unwrap();
    let id = format!(
        "{}@{}",
        manifest["name"].as_str().unwrap(),
        manifest["version"].as_str().unwrap()
    );
    assert_eq!(Package::load_dir(&package_dir()).unwrap().id(), id);
    assert_eq!(Package::embedded().unwrap().id(), id);
    let validator = Validator::r4().unwrap();
    assert_eq!(validator.package().map(Package::id), Some(id.as_str()));
    assert!(Validator::schema_only().unwrap().package().is_none());
}

#[test]
fn a_malformed_file_is_named() {
    let dir = broken_copy("ValueSet-hjmd-ynu.json", "{ \"resourceType\": ");
    let (file, path) = load_error(dir.path());
    assert_eq!(file, "ValueSet-hjmd-ynu.json");
    assert!(path.starts_with("line 1"), "{path}");
}

#[test]
fn a_missing_value_set_is_named_with_its_path() {
    let mut sd: Value = serde_json::from_slice(
        &std::fs::read(package_dir().join("StructureDefinition-hjmd-patient.json")).unwrap(),
    )
    .unwrap();
    let elements = sd["differential"]["element"].as_array_mut().unwrap();
    let i = elements
        .iter()
        .position(|e| e["id"] == "Patient.name.use")
        .unwrap();
    elements[i]["binding"]["valueSet"] = json!("https://fhir.waymark.org.uk/ValueSet/nowhere");
    let dir = broken_copy("StructureDefinition-hjmd-patient.json", &sd.to_string());
    let err = Package::load_dir(dir.path()).unwrap_err();
    assert!(err.to_string().contains("not in the package"), "{err}");
    let (file, path) = load_error(dir.path());
    assert_eq!(file, "StructureDefinition-hjmd-patient.json");
    assert_eq!(
        path,
        format!("StructureDefinition.differential.element[{i}].binding.valueSet")
    );
}

#[test]
fn an_unknown_identifier_check_is_named() {
    let dir = broken_copy(
        "NamingSystem-pnc-id.json",
        &json!({"resourceType": "NamingSystem", "uniqueId": [{"value": "x"}],
                "extension": [{"url": "https://fhir.waymark.org.uk/StructureDefinition/hjmd-identifier-check",
                               "valueCode": "luhn"}]})
        .to_string(),
    );
    assert_eq!(
        load_error(dir.path()),
        (
            "NamingSystem-pnc-id.json".into(),
            "NamingSystem.extension[0].valueCode".into()
        )
    );
}

#[test]
fn unchecked_codes_are_warnings_never_silent() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/valid/full-dataset.json");
    let mut bundle: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let related = json!({"resourceType": "RelatedPerson", "id": "3f1d0f6e-5b43-5f5b-9b1e-6a1c7e2f4d10",
        "meta": {"security": [
            {"system": "https://fhir.waymark.org.uk/CodeSystem/hjmd-data-class", "code": "contact"},
            {"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "code": "N"}]},
        "patient": {"reference": bundle["entry"][0]["fullUrl"]},
        "name": [{"family": "Contact"}],
        "relationship": [{"coding": [{"system": "http://snomed.info/sct", "code": "72705000"}]}]});
    let entries = bundle["entry"].as_array_mut().unwrap();
    entries.insert(
        1,
        json!({"fullUrl": "urn:uuid:3f1d0f6e-5b43-5f5b-9b1e-6a1c7e2f4d10", "resource": related}),
    );
    let validator = Validator::r4().unwrap();
    let ok = validator.validate(bundle).unwrap();
    let rules: Vec<(&str, Option<&str>)> = ok
        .warnings()
        .iter()
        .map(|w| (w.rule.as_str(), w.location.as_deref()))
        .collect();
    assert_eq!(
        rules,
        [(
            "profile.binding",
            Some("Bundle.entry[1].resource.relationship[0]")
        )]
    );
}

#[test]
fn every_dataset_item_is_in_the_package_and_the_reference() {
    let items = reference::items(&package_dir());
    let reference = reference::render(&package_dir());
    let mut missing = Vec::new();
    for wanted in reference::DATASET_ITEMS {
        let found = items
            .iter()
            .any(|i| i.display.to_lowercase().contains(&wanted.to_lowercase()));
        if !found || !reference.to_lowercase().contains(&wanted.to_lowercase()) {
            missing.push(*wanted);
        }
    }
    assert!(missing.is_empty(), "dataset items missing: {missing:?}");
}

#[test]
fn the_committed_reference_is_current() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/reference/dataset.md");
    let fresh = reference::render(&package_dir());
    if std::env::var_os("WAYMARK_BLESS").is_some() {
        std::fs::write(&path, &fresh).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == fresh,
        "docs/reference/dataset.md is stale: run WAYMARK_BLESS=1 cargo test -p waymark-profile --test it package"
    );
}
