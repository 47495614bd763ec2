//! `waymark config check` and `waymark config schema`, run as an operator would.

use std::process::Command;

use crate::common::repo_root;

fn waymark(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_waymark"));
    command.args(args).current_dir(repo_root());
    for var in ["WAYMARK_BUS_URL", "WAYMARK_STORE_URL"] {
        command.env_remove(var);
    }
    command.envs(env.iter().copied());
    let out = command.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_embedded_example_checks_with_everything_it_points_at() {
    let (code, out, err) = waymark(&["config", "check", "deploy/config/embedded.toml"], &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.trim(), "deploy/config/embedded.toml: ok");
}

#[test]
fn every_part_a_config_points_at_is_checked_and_located() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hub.toml");
    let subs = dir.path().join("subs.json");
    std::fs::write(&subs, r#"[{"version": 1, "id": "x"}]"#).unwrap();
    let text = format!(
        r#"version = 1

[hub]
bus = "sqlite://bus.db"
store = "env:TEST_STORE"
mappings = "{mappings}"
policy = "{policy}"

[subscriptions]
file = "{subs}"

[feeds.nomis]
listen = "127.0.0.1:8081"
prison_api_url = "http://127.0.0.1:8082"
request_timeout_ms = 0

[feeds.athena]
base_url = 7
"#,
        mappings = dir.path().join("no-mappings").display(),
        policy = repo_root().join("README.md").display(),
        subs = subs.display(),
    );
    std::fs::write(&file, text).unwrap();
    let path = file.to_string_lossy().into_owned();
    let (code, _, err) = waymark(
        &["config", "check", &path],
        &[("TEST_STORE", "postgres://secret-password@db/waymark")],
    );
    assert_eq!(code, 1, "{err}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 5, "{err}");
    let expect = [
        (":6:1: `hub.mappings`", "the mappings do not load"),
        (":7:1: `hub.policy`", "role policy file"),
        (":10:1: `subscriptions.file`", "subscription"),
        (":18:1: `feeds.athena", "expected"),
        (":12:1: `feeds.nomis`", "request_timeout_ms"),
    ];
    for (at, what) in expect {
        assert!(
            lines.iter().any(|l| l.contains(at) && l.contains(what)),
            "no line with `{at}` and `{what}` in:\n{err}"
        );
    }
    assert!(
        !err.contains("secret-password"),
        "a secret is never printed"
    );
}

#[test]
fn a_broken_file_is_exit_1_and_an_absent_one_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hub.toml");
    std::fs::write(
        &file,
        "version = 1\n[hub]\nbus = \"sqlite://b\"\nstore = 3\n",
    )
    .unwrap();
    let path = file.to_string_lossy().into_owned();
    let (code, _, err) = waymark(&["config", "check", &path], &[]);
    assert_eq!(code, 1);
    assert!(
        err.contains("hub.toml:4:") && err.contains("`hub.store`"),
        "{err}"
    );
    let (code, _, err) = waymark(&["config", "check", "/nonexistent/hub.toml"], &[]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn the_schema_command_prints_the_committed_schema() {
    let (code, out, _) = waymark(&["config", "schema"], &[]);
    assert_eq!(code, 0);
    let committed =
        std::fs::read_to_string(repo_root().join("docs/reference/config.schema.json")).unwrap();
    let printed: serde_json::Value = serde_json::from_str(&out).unwrap();
    let committed: serde_json::Value = serde_json::from_str(&committed).unwrap();
    assert_eq!(printed, committed);
}
