//! Data-driven validator tests: `fixtures/valid/*.json` pass; each `fixtures/invalid/<case>.json`
//! fails with exactly the `(rule, location)` pairs listed in `<case>.expect`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;
use std::time::Instant;

use serde_json::{Value, json};
use waymark_fhir::OperationOutcome;
use waymark_profile::{CanonicalBundle, Validator};

static VALIDATOR: LazyLock<Validator> = LazyLock::new(|| Validator::r4().unwrap());

fn fixtures(dir: &str, ext: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(dir);
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    files.sort();
    files
}

fn read(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn pairs(outcome: &OperationOutcome) -> BTreeSet<(String, String)> {
    outcome
        .issues
        .iter()
        .map(|i| (i.rule.clone(), i.location.clone().unwrap_or_default()))
        .collect()
}

fn valid() -> Value {
    read(&fixtures("valid", "json")[0])
}

#[test]
fn valid_bundles_pass() {
    let files = fixtures("valid", "json");
    assert!(!files.is_empty());
    for file in files {
        let bundle: CanonicalBundle = VALIDATOR
            .validate(read(&file))
            .unwrap_or_else(|oo| panic!("{}: {:#?}", file.display(), oo.issues));
        assert_eq!(bundle.patient()["resourceType"], "Patient");
    }
    let bundle = VALIDATOR.validate(valid()).unwrap();
    assert_eq!(bundle.source_event(), Some("prison.reception"));
    assert_eq!(bundle.as_json()["type"], "collection");
    assert_eq!(bundle.into_json(), valid());
}

#[test]
fn each_broken_bundle_fails_with_exactly_its_rule_and_location() {
    let files = fixtures("invalid", "json");
    assert!(files.len() >= 20, "the battery is missing");
    let mut failures = Vec::new();
    for file in &files {
        let expect: BTreeSet<(String, String)> =
            std::fs::read_to_string(file.with_extension("expect"))
                .unwrap()
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| {
                    let (rule, location) = l.split_once(' ').unwrap();
                    (rule.to_owned(), location.to_owned())
                })
                .collect();
        match VALIDATOR.validate(read(file)) {
            Ok(_) => failures.push(format!("{}: passed", file.display())),
            Err(oo) if pairs(&oo) != expect => failures.push(format!(
                "{}: expected {expect:?}, got {:#?}",
                file.display(),
                oo.issues
            )),
            Err(oo) => assert!(!oo.is_ok()),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn issue_text_never_contains_values() {
    const CANARY: &str = "CANARY-A9999ZZ";
    let mut b = valid();
    let patient = &mut b["entry"][0]["resource"];
    patient["gender"] = json!(CANARY);
    patient["birthDate"] = json!(CANARY);
    patient["deceasedBoolean"] = json!(CANARY);
    patient["deceasedDateTime"] = json!(CANARY);
    patient[format!("{CANARY} as a key")] = json!(CANARY);
    patient["identifier"][0]["period"] = json!({"start": CANARY});
    patient["name"][0]["given"] = json!([CANARY, 12, null]);
    b["entry"][1]["resource"]["status"] = json!(CANARY);
    b["entry"][1]["resource"]["class"] = json!(CANARY);
    b["entry"][2]["resource"]["subject"]["reference"] = json!(format!("urn:uuid:{CANARY}"));
    b["entry"][2]["resource"]["meta"]["security"][0]["code"] = json!(CANARY);
    b["entry"][3]["resource"]["recorded"] = json!([CANARY]);
    b["type"] = json!(CANARY);
    b["entry"][0]["fullUrl"] = json!(CANARY);
    let oo = VALIDATOR.validate(b).unwrap_err();
    assert!(oo.issues.len() > 10, "{:#?}", oo.issues);
    let text = format!("{:?} {}", oo.issues, oo.to_json());
    assert!(!text.contains("CANARY"), "{text}");
}

#[test]
fn huge_and_deep_bundles_are_refused_fast() {
    let mut many = valid();
    let entry = many["entry"][0].clone();
    many["entry"] = Value::Array(vec![entry; 5_000]);
    let start = Instant::now();
    let oo = VALIDATOR.validate(many).unwrap_err();
    println!("5,000 entries refused in {:?}", start.elapsed());
    assert_eq!(
        pairs(&oo),
        BTreeSet::from([("profile.too-costly".into(), "Bundle.entry".into())])
    );
    assert_eq!(oo.to_json()["issue"][0]["code"], "too-costly");

    for depth in [65usize, 200_000] {
        // Built by hand: `json!` would serialise `deep` recursively.
        let mut deep = json!("bottom");
        for _ in 0..depth {
            deep = Value::Array(vec![deep]);
        }
        let mut b = valid();
        b["entry"][0]["resource"]["extension"] = json!([{"url": "x", "valueString": "y"}]);
        b["entry"][0]["resource"]["extension"][0]["z"] = deep;
        let start = Instant::now();
        let oo = VALIDATOR.validate(b).unwrap_err();
        println!("depth {depth} refused in {:?}", start.elapsed());
        assert_eq!(
            pairs(&oo),
            BTreeSet::from([("profile.too-costly".into(), "Bundle".into())])
        );
    }
}

#[test]
fn not_a_bundle_at_all() {
    for v in [json!(null), json!([]), json!("Bundle")] {
        let oo = VALIDATOR.validate(v).unwrap_err();
        assert_eq!(
            pairs(&oo),
            BTreeSet::from([("profile.bundle".into(), "Bundle".into())])
        );
    }
}

#[test]
fn validator_is_shareable() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Validator>();
    send_sync::<CanonicalBundle>();
}

#[test]
fn bench_validation_prints_micros() {
    let start = Instant::now();
    let _ = Validator::r4().unwrap();
    println!("Validator::r4: {:?}", start.elapsed());
    let b = valid();
    let _ = VALIDATOR.validate(b.clone()).unwrap();
    let n = 200;
    let start = Instant::now();
    for _ in 0..n {
        let _ = VALIDATOR.validate(b.clone()).unwrap();
    }
    let size = serde_json::to_vec(&b).unwrap().len();
    println!(
        "validate: {:.1} µs per {size}-byte bundle",
        start.elapsed().as_secs_f64() * 1e6 / f64::from(n)
    );
}
