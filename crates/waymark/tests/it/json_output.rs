//! `--json`: each command a script would drive prints one JSON object on stdout, whatever the
//! outcome (`"ok"`, and on failure `"exit"` and `"error": {"code", "message"}`), with the same
//! exit codes as without it.

use std::{path::Path, process::Command};

use serde_json::Value;
use waymark_audit::AuditRecord;

use crate::common::repo_root;

/// Runs `waymark ARGS`; the exit code and stdout parsed as JSON (panics when it is not).
fn json(args: &[&str]) -> (i32, Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_waymark"))
        .args(args)
        .current_dir(repo_root())
        .env_remove("WAYMARK_STORE")
        .env_remove("WAYMARK_DATA_DIR")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "{args:?}: stdout is not one JSON value ({e}): {stdout}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), value)
}

fn assert_failure(value: &Value, exit: i32, code: &str) {
    assert_eq!(value["ok"], false, "{value}");
    assert_eq!(value["exit"], exit, "{value}");
    assert_eq!(value["error"]["code"], code, "{value}");
    assert!(
        value["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
}

#[test]
fn config_check_reports_ok_problems_with_their_keys_and_unreadable_files() {
    let (code, good) = json(&["config", "check", "--json", "deploy/config/embedded.toml"]);
    assert_eq!((code, &good["ok"]), (0, &Value::Bool(true)), "{good}");
    assert_eq!(good["file"], "deploy/config/embedded.toml");

    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("hub.toml");
    std::fs::write(&bad, "version = 1\n\n[hub]\nbus = 7\n").unwrap();
    let (code, value) = json(&["config", "check", "--json", bad.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_failure(&value, 1, "config.problems");
    let problems = value["problems"].as_array().unwrap();
    let bus = problems.iter().find(|p| p["key"] == "hub.bus");
    let bus = bus.unwrap_or_else(|| panic!("no hub.bus problem: {value}"));
    assert_eq!(bus["line"], 4, "{bus}");
    assert!(bus["expected"].as_str().is_some_and(|e| !e.is_empty()));

    let missing = dir.path().join("absent.toml");
    let (code, value) = json(&["config", "check", "--json", missing.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert_failure(&value, 2, "config.unreadable");
}

/// A SQLite store whose audit log holds `n` entries; its URL.
async fn audited_store(dir: &Path, n: i64) -> String {
    let url = format!("sqlite://{}", dir.join("store.db").display());
    let log = waymark_store::open_audit(&url).await.unwrap();
    for i in 0..n {
        let at = chrono::DateTime::from_timestamp(1_767_225_600 + i * 60, 0).unwrap();
        let record = AuditRecord::new(at, "GET", "/fhir/Patient/x/$summary", "allowed", 200);
        log.append(record).await.unwrap();
    }
    url
}

#[tokio::test]
async fn audit_verify_reports_the_head_or_where_the_chain_breaks() {
    let dir = tempfile::tempdir().unwrap();
    let url = audited_store(dir.path(), 3).await;
    let (code, value) = json(&["audit", "verify", "--json", "--store", &url]);
    assert_eq!(code, 0, "{value}");
    assert_eq!(value["ok"], true);
    assert_eq!(value["entries"], 3);
    assert_eq!(value["head"]["sequence"], 3);
    assert_eq!(value["head"]["hash"].as_str().map(str::len), Some(64));

    // The owner drops the append-only triggers and rewrites entry 2.
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let triggers: Vec<(String,)> =
        sqlx::query_as("SELECT name FROM sqlite_master WHERE type = 'trigger'")
            .fetch_all(&pool)
            .await
            .unwrap();
    for (name,) in triggers {
        sqlx::query(&format!("DROP TRIGGER \"{name}\""))
            .execute(&pool)
            .await
            .unwrap();
    }
    sqlx::query(
        "UPDATE audit_entry SET record = replace(record, 'allowed', 'denied') WHERE sequence = 2",
    )
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;
    let (code, value) = json(&["audit", "verify", "--json", "--store", &url]);
    assert_eq!(code, 1, "{value}");
    assert_failure(&value, 1, "audit.tampered");
    assert_eq!(value["tampered"]["sequence"], 2, "{value}");
    assert_eq!(value["tampered"]["kind"], "modified", "{value}");
    assert!(!value.to_string().contains("denied"), "no record content");

    let absent = format!("sqlite://{}", dir.path().join("none.db").display());
    let (code, value) = json(&["audit", "verify", "--json", "--store", &absent]);
    assert_eq!(code, 2);
    assert_failure(&value, 2, "store.unreadable");
}

#[tokio::test]
async fn backup_and_restore_report_counts_and_refusals() {
    let dir = tempfile::tempdir().unwrap();
    let url = audited_store(dir.path(), 1).await;
    let out = dir.path().join("backup.db");
    let out_arg = out.to_str().unwrap();
    let (code, value) = json(&["backup", "--json", "--store", &url, "--out", out_arg]);
    assert_eq!(code, 0, "{value}");
    assert_eq!(value["ok"], true);
    assert_eq!(value["backend"], "sqlite");
    assert!(value["bytes"].as_u64().is_some_and(|b| b > 0), "{value}");
    assert_eq!(value["counts"]["persons"], 0);
    assert!(
        !value.to_string().contains("sqlite://"),
        "never the store URL"
    );

    let (code, value) = json(&["backup", "--json", "--store", &url, "--out", out_arg]);
    assert_eq!(code, 1, "the file exists");
    assert_failure(&value, 1, "backup.refused");

    let target = format!("sqlite://{}", dir.path().join("restored.db").display());
    let (code, value) = json(&["restore", "--json", "--store", &target, "--from", out_arg]);
    assert_eq!(code, 0, "{value}");
    assert_eq!(value["ok"], true);
    let (code, value) = json(&["restore", "--json", "--store", &target, "--from", out_arg]);
    assert_eq!(code, 1, "a store exists there, no --force: {value}");
    assert_failure(&value, 1, "restore.refused");
}

#[test]
fn synth_verify_and_token_print_json() {
    let dir = tempfile::tempdir().unwrap();
    let pop = dir.path().join("pop");
    let pop_arg = pop.to_str().unwrap();
    let (code, written) = json(&[
        "synth", "--json", "--seed", "7", "--people", "3", "--out", pop_arg,
    ]);
    assert_eq!((code, &written["ok"]), (0, &Value::Bool(true)), "{written}");
    assert_eq!(written["seed"], 7);
    let (code, value) = json(&["synth", "--verify", "--json", "--out", pop_arg]);
    assert_eq!(code, 0, "{value}");
    assert_eq!(
        (&value["seed"], &value["people"]),
        (&Value::from(7), &Value::from(3))
    );
    let truth = pop.join("truth.ndjson");
    let mut text = std::fs::read_to_string(&truth).unwrap();
    text.push('\n');
    std::fs::write(&truth, text).unwrap();
    let (code, value) = json(&["synth", "--verify", "--json", "--out", pop_arg]);
    assert_eq!(code, 1, "{value}");
    assert_failure(&value, 1, "synth.mismatch");
    let (code, value) = json(&[
        "synth",
        "--verify",
        "--json",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{value}");
    assert_failure(&value, 2, "synth.no-manifest");

    let data = dir.path().join("hub-data");
    let data_arg = data.to_str().unwrap();
    let args = [
        "token",
        "--json",
        "--role",
        "probation",
        "--org",
        "P01",
        "--data-dir",
        data_arg,
    ];
    let (code, value) = json(&args);
    assert_eq!(code, 0, "{value}");
    assert_eq!(value["role"], "probation");
    assert_eq!(value["organisation"], "P01");
    assert_eq!(value["registered"], false);
    let token = value["token"].as_str().unwrap();
    assert_eq!(token.split('.').count(), 3, "a JWT");
    assert!(value["expires_at"].as_str().is_some_and(|t| t.len() >= 20));
    // The token is one the hub's development issuer made for that folder.
    assert!(data.join("dev-issuer").is_dir());
}
