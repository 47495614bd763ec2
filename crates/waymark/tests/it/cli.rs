//! The one-shot commands, run as a user would run them.

use crate::common;

use std::process::Command;

use common::repo_root;

fn waymark(args: &[&str]) -> (i32, serde_json::Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_waymark"))
        .args(args)
        .current_dir(repo_root())
        .output()
        .unwrap();
    let json = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (out.status.code().unwrap_or(-1), json)
}

fn fixture(name: &str) -> String {
    repo_root()
        .join("mappings/nomis/tests")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

fn first_input() -> String {
    let dir = repo_root().join("mappings/nomis/tests");
    let mut inputs: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .filter(|n| n.ends_with(".input.json"))
        .collect();
    inputs.sort();
    fixture(&inputs[0])
}

#[test]
fn map_prints_a_bundle_that_validate_accepts_and_redact_scopes() {
    let (code, bundle) = waymark(&["map", "--source", "nomis", &first_input()]);
    assert_eq!(code, 0, "{bundle}");
    assert_eq!(bundle["resourceType"], "Bundle");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bundle.json");
    std::fs::write(&path, bundle.to_string()).unwrap();
    let path = path.to_string_lossy();

    let (code, outcome) = waymark(&["validate", &path]);
    assert_eq!(code, 0, "{outcome}");
    assert_eq!(outcome["resourceType"], "OperationOutcome");

    let (code, out) = waymark(&["redact", "--role", "probation", "--manifest", &path]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(out["bundle"]["resourceType"], "Bundle");
    assert!(out["manifest"].is_object());
}

#[test]
fn validate_exit_codes_say_invalid_and_unreadable() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, r#"{"resourceType": "Bundle", "type": "collection", "entry": [{"resource": {"resourceType": "Patient", "id": "p", "gender": 3}}]}"#).unwrap();
    let (code, outcome) = waymark(&["validate", &bad.to_string_lossy()]);
    assert_eq!(code, 1);
    assert_eq!(outcome["resourceType"], "OperationOutcome");
    assert!(outcome["issue"].as_array().is_some_and(|i| !i.is_empty()));

    let garbage = dir.path().join("garbage.json");
    std::fs::write(&garbage, "{not json").unwrap();
    assert_eq!(waymark(&["validate", &garbage.to_string_lossy()]).0, 2);
    assert_eq!(waymark(&["validate", "/nonexistent/file.json"]).0, 2);
}

#[test]
fn map_refuses_a_message_without_its_prison_record_with_an_outcome() {
    let sample = repo_root().join("adapters/nomis/fixtures/real/externalMovementIn.json");
    let (code, outcome) = waymark(&["map", "--source", "nomis", &sample.to_string_lossy()]);
    assert_eq!(code, 1, "{outcome}");
    assert_eq!(outcome["resourceType"], "OperationOutcome");
}

#[test]
fn map_with_context_maps_a_real_notification() {
    let real = repo_root().join("adapters/nomis/fixtures/real");
    let prisoner: serde_json::Value =
        serde_json::from_slice(&std::fs::read(real.join("getPrisoner_A5089DY.json")).unwrap())
            .unwrap();
    let context = serde_json::json!({"prisoner": prisoner["response"]["jsonBody"], "alerts": []});
    let dir = tempfile::tempdir().unwrap();
    let ctx = dir.path().join("context.json");
    std::fs::write(&ctx, context.to_string()).unwrap();
    let sample = real.join("externalMovementIn.json");
    let (code, bundle) = waymark(&[
        "map",
        "--source",
        "nomis",
        "--context",
        &ctx.to_string_lossy(),
        &sample.to_string_lossy(),
    ]);
    assert_eq!(code, 0, "{bundle}");
    let types: Vec<&str> = waymark_fhir::entries(&bundle)
        .filter_map(|r| r["resourceType"].as_str())
        .collect();
    assert!(
        types.contains(&"Patient") && types.contains(&"Encounter") && types.contains(&"Provenance"),
        "{types:?}"
    );
}

#[test]
fn every_command_has_help_with_an_example() {
    for cmd in [
        "demo", "run", "map", "validate", "redact", "replay", "mappings", "backup", "restore",
        "token", "audit", "config", "synth",
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_waymark"))
            .args([cmd, "--help"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && text.contains("Example:"),
            "{cmd}: {text}"
        );
    }
}
