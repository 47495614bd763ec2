//! `waymark bench` in its smallest mode: the service-free ceilings and the per-stage timings,
//! without RabbitMQ, PostgreSQL, npm or PyPI (`--embedded-only`). The report must hold the
//! expected keys with positive figures, and say what it did not measure. Speeds are printed by
//! the command, never asserted.

use std::process::Command;

use serde_json::Value;

use crate::common::repo_root;

#[test]
fn quick_ceilings_write_a_report_with_positive_figures() {
    let out_dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_waymark"))
        .args([
            "bench",
            "--quick",
            "--only",
            "ceilings,stages",
            "--embedded-only",
        ])
        .args(["--people", "10", "--out"])
        .arg(out_dir.path())
        .current_dir(repo_root())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stdout: {stdout}\nstderr: {stderr}");
    assert!(stdout.contains("loopback HTTP POST"), "{stdout}");
    assert!(stderr.contains("[bench"), "no progress lines: {stderr}");

    let text = std::fs::read_to_string(out_dir.path().join("report.json")).unwrap();
    let report: Value = serde_json::from_str(&text).unwrap();
    let positive = |path: &[&str]| {
        let v = path.iter().fold(&report, |v, k| &v[*k]);
        assert!(v.as_f64().is_some_and(|x| x > 0.0), "{path:?} = {v}");
    };
    positive(&["machine", "cores"]);
    positive(&["fixtures", "envelopes"]);
    positive(&["ceilings", "json", "docs_per_s"]);
    positive(&["ceilings", "fsync", "p50_ms"]);
    positive(&["ceilings", "fsync", "p99_ms"]);
    positive(&["ceilings", "http_post", "requests_per_s"]);
    assert!(report["machine"]["cpu_model"].is_string());
    assert!(report["machine"]["kernel"].is_string());
    let stages = report["stages"].as_object().unwrap();
    assert_eq!(stages.len(), 9, "{stages:?}");
    assert!(
        stages
            .values()
            .all(|v| v.as_f64().is_some_and(|x| x >= 0.0))
    );
    for stage in [
        "parse",
        "map",
        "validate",
        "identity + merge",
        "policy",
        "persist",
        "deliver",
    ] {
        assert!(
            stages.keys().any(|k| k.starts_with(stage)),
            "no `{stage}` in {stages:?}"
        );
    }

    let skipped = report["skipped"].to_string();
    assert!(skipped.contains("--embedded-only"), "{skipped}");
    assert!(skipped.contains("Peers"), "{skipped}");
    let goals = report["goals"].as_array().unwrap();
    assert!(
        goals
            .iter()
            .all(|g| g["goal"].is_string() && g.get("met").is_some())
    );
    let unmeasured = goals.iter().filter(|g| g["met"].is_null()).count();
    assert_eq!(
        unmeasured,
        goals.len(),
        "nothing end to end was measured: {goals:?}"
    );

    let md = std::fs::read_to_string(out_dir.path().join("report.md")).unwrap();
    for heading in [
        "## Machine",
        "## Figures",
        "## Goals",
        "## Not measured",
        "## Reproduce",
    ] {
        assert!(
            md.contains(heading),
            "no `{heading}` in the Markdown report"
        );
    }
}
