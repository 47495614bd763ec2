//! `waymark bench` in its smallest mode: the service-free ceilings and the per-stage timings,
//! without RabbitMQ, PostgreSQL, npm or PyPI (`--embedded-only`). The report must hold the
//! expected keys with positive figures, and say what it did not measure. Speeds are printed by
//! the command, never asserted.

use std::process::Command;

use serde_json::Value;

use crate::common::repo_root;

/// Runs `waymark bench ARGS --out <temp dir>`, which must succeed: the report directory, the
/// command's stdout and stderr, and `report.json`.
fn bench(args: &[&str]) -> (tempfile::TempDir, String, String, Value) {
    let out_dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_waymark"))
        .arg("bench")
        .args(args)
        .arg("--out")
        .arg(out_dir.path())
        .current_dir(repo_root())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "stdout: {stdout}\nstderr: {stderr}");
    let text = std::fs::read_to_string(out_dir.path().join("report.json")).unwrap();
    let report = serde_json::from_str(&text).unwrap();
    (out_dir, stdout, stderr, report)
}

#[test]
fn quick_ceilings_write_a_report_with_positive_figures() {
    let (out_dir, stdout, stderr, report) = bench(&[
        "--quick",
        "--only",
        "ceilings,stages",
        "--embedded-only",
        "--people",
        "10",
    ]);
    assert!(stdout.contains("loopback HTTP POST"), "{stdout}");
    assert!(stderr.contains("[bench"), "no progress lines: {stderr}");

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

/// The recovery section on the embedded backend: a small backlog queued with no stage
/// running, then drained; the report holds the drain rate, the memory per 10 k in flight and
/// where loss and duplicates after `kill -9` are measured.
#[test]
fn recovery_drains_a_backlog_and_reports_memory_in_flight() {
    let (_out_dir, stdout, _, report) = bench(&[
        "--quick",
        "--only",
        "recovery",
        "--embedded-only",
        "--people",
        "5",
        "--backlog",
        "30",
    ]);
    assert!(stdout.contains("drain a backlog of 30"), "{stdout}");
    assert!(stdout.contains("RSS per 10 k in-flight"), "{stdout}");
    let drain = &report["recovery"]["embedded"];
    assert_eq!(drain["backlog"], 30, "{drain}");
    assert_eq!(drain["duplicates"], 0, "{drain}");
    assert!(
        drain["notifications_delivered"].as_u64().unwrap() > 0,
        "{drain}"
    );
    for key in [
        "drain_records_per_s",
        "extrapolated_100k_s",
        "rss_queued_mib",
    ] {
        assert!(
            drain[key].as_f64().is_some_and(|x| x > 0.0),
            "{key}: {drain}"
        );
    }
    for key in ["steady_mib_per_10k_in_flight", "peak_mib_per_10k_in_flight"] {
        assert!(
            drain[key].as_f64().is_some_and(|x| x >= 0.0),
            "{key}: {drain}"
        );
    }
    let kill = report["recovery"]["kill_9_loss_and_duplicates"].to_string();
    assert!(kill.contains("faults"), "{kill}");
}
