//! `waymark synth` and the demo on a written population, run as a user would.

use std::process::Command;

use crate::common::repo_root;

fn waymark(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_waymark"))
        .args(args)
        .current_dir(repo_root())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn synth(dir: &std::path::Path, seed: &str, people: &str) -> (i32, String, String) {
    let out = dir.to_string_lossy().into_owned();
    waymark(&["synth", "--seed", seed, "--people", people, "--out", &out])
}

#[test]
fn the_same_seed_writes_the_same_bytes_and_every_source_is_there() {
    let (a, b, c) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    assert_eq!(synth(a.path(), "11", "30").0, 0);
    assert_eq!(synth(b.path(), "11", "30").0, 0);
    assert_eq!(synth(c.path(), "12", "30").0, 0);
    let manifest = |d: &std::path::Path| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(d.join("manifest.json")).unwrap()).unwrap()
    };
    let (ma, mb, mc) = (manifest(a.path()), manifest(b.path()), manifest(c.path()));
    assert_eq!(ma, mb, "same seed, same files");
    assert_ne!(ma["files"], mc["files"], "another seed, other people");
    for (name, entry) in ma["files"].as_object().unwrap() {
        assert!(
            entry["records"].as_u64().unwrap() > 0,
            "{name} holds records"
        );
        let bytes = std::fs::read(a.path().join(name)).unwrap();
        assert_eq!(bytes, std::fs::read(b.path().join(name)).unwrap(), "{name}");
    }
    assert_eq!(
        ma["files"].as_object().unwrap().len(),
        6,
        "truth and five sources"
    );
    // The truth names, for each source record, the person it is.
    let truth = std::fs::read_to_string(a.path().join("truth.ndjson")).unwrap();
    let first: serde_json::Value = serde_json::from_str(truth.lines().next().unwrap()).unwrap();
    assert!(first["person"].is_string() && first["source"].is_string());
    assert_eq!(first["patient"]["resourceType"], "Patient");
}

#[test]
fn a_folder_in_use_is_refused_and_a_tampered_population_is_not_demoed() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(synth(dir.path(), "3", "10").0, 0);
    let (code, _, err) = synth(dir.path(), "3", "10");
    assert_eq!(code, 1, "not over a folder in use without --force: {err}");
    let events = dir.path().join("athena/events.ndjson");
    let mut text = std::fs::read_to_string(&events).unwrap();
    text.push_str("{}\n");
    std::fs::write(&events, text).unwrap();
    let path = dir.path().to_string_lossy().into_owned();
    let (code, _, err) = waymark(&["demo", "--once", "--port", "0", "--population", &path]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("athena/events.ndjson is not what this build writes"),
        "{err}"
    );
}
