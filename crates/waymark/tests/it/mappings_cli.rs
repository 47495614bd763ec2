//! `waymark mappings test | lint | trace`, run as an engineer runs them, and the tutorial
//! (`docs/tutorials/writing-a-mapping.md`) checked against what the commands really do.

use crate::common;

use std::path::Path;
use std::process::Command;

use common::repo_root;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn waymark_in(dir: &Path, args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_waymark"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A scratch folder holding a copy of the repository's `mappings/`.
fn scratch() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&repo_root().join("mappings"), &dir.path().join("mappings"));
    dir
}

#[test]
fn test_passes_on_the_repository_and_prints_a_summary() {
    let run = waymark_in(&repo_root(), &["mappings", "test"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let summary = run.stdout.lines().last().unwrap_or_default();
    assert!(summary.ends_with(" passed, 0 failed"), "{summary}");
    assert!(run.stdout.contains("ok      nomis/synthetic-transfer"));
}

#[test]
fn a_mismatch_is_a_unified_diff_and_exit_1_and_bless_fixes_it() {
    let dir = scratch();
    let expected = dir
        .path()
        .join("mappings/nomis/tests/synthetic-transfer.expected.json");
    let text = std::fs::read_to_string(&expected).unwrap();
    std::fs::write(&expected, text.replace("\"in-progress\"", "\"finished\"")).unwrap();
    let run = waymark_in(dir.path(), &["mappings", "test"]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stdout.contains("FAILED  nomis/synthetic-transfer"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("--- expected\n+++ actual\n@@ -"),
        "{}",
        run.stdout
    );
    let changed = |sign: char, text: &str| {
        run.stdout
            .lines()
            .any(|l| l.starts_with(sign) && l.trim_start_matches(sign).trim() == text)
    };
    assert!(changed('-', "\"status\": \"finished\","), "{}", run.stdout);
    assert!(
        changed('+', "\"status\": \"in-progress\","),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.trim_end().ends_with(" passed, 1 failed"),
        "{}",
        run.stdout
    );

    let run = waymark_in(dir.path(), &["mappings", "test", "--bless"]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(std::fs::read_to_string(&expected).unwrap(), text);
    assert_eq!(waymark_in(dir.path(), &["mappings", "test"]).code, 0);
}

#[test]
fn a_mapping_that_does_not_compile_fails_with_its_place_and_a_missing_folder_is_unreadable() {
    let dir = scratch();
    let file = dir.path().join("mappings/nomis/prisoner-alert.jq");
    let code = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, code.replace("| first", "| frist")).unwrap();
    let run = waymark_in(dir.path(), &["mappings", "test"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("prisoner-alert.jq:"), "{}", run.stderr);
    assert!(
        run.stderr.contains("undefined filter `frist/0`"),
        "{}",
        run.stderr
    );
    let run = waymark_in(dir.path(), &["mappings", "lint"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stdout
            .contains(": unknown-helper: undefined filter `frist/0`"),
        "{}",
        run.stdout
    );
    for args in [
        &["mappings", "test", "no/such/dir"][..],
        &["mappings", "lint", "no/such/dir"],
        &["mappings", "trace", "no/such/file.json"],
    ] {
        assert_eq!(waymark_in(&repo_root(), args).code, 2, "{args:?}");
    }
}

#[test]
fn lint_is_clean_on_the_repository() {
    let run = waymark_in(&repo_root(), &["mappings", "lint"]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(
        run.stdout.ends_with("0 errors, 0 warnings\n"),
        "{}",
        run.stdout
    );
}

#[test]
fn trace_reads_an_envelope_as_well_as_an_input_document() {
    let dir = tempfile::tempdir().unwrap();
    let doc: serde_json::Value = serde_json::from_slice(
        &std::fs::read(repo_root().join("mappings/nomis/tests/synthetic-transfer.input.json"))
            .unwrap(),
    )
    .unwrap();
    let input: waymark_mapping::MappingInput = serde_json::from_value(doc).unwrap();
    let params = waymark_core::NewEnvelope {
        id: input.envelope.id.clone(),
        source: input.envelope.source,
        message_type: &input.envelope.message_type,
        event_time: input.envelope.event_time,
        received_at: input.envelope.received_at,
        content_type: "application/json",
    };
    let payload = serde_json::to_vec(input.message.expose()).unwrap();
    let envelope =
        waymark_core::Envelope::new(params, payload).with_context(input.context.expose().clone());
    let path = dir.path().join("envelope.json");
    std::fs::write(&path, envelope.to_bytes()).unwrap();
    let mappings = repo_root().join("mappings");
    let args = [
        "mappings",
        "trace",
        "--json",
        "--mappings",
        mappings.to_str().unwrap(),
        path.to_str().unwrap(),
    ];
    let run = waymark_in(dir.path(), &args);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let json: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let family = json["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["output"] == "Bundle.entry[0].resource.name[0].family")
        .unwrap();
    assert_eq!(family["copiedFrom"][0], "context.prisoner.lastName");
    let wrong = waymark_in(
        dir.path(),
        &[
            "mappings",
            "trace",
            "--source",
            "athena",
            "--mappings",
            mappings.to_str().unwrap(),
            path.to_str().unwrap(),
        ],
    );
    assert_eq!(wrong.code, 2, "{}", wrong.stderr);
}

#[test]
fn every_mappings_command_explains_itself_with_examples() {
    for args in [
        &["mappings", "--help"][..],
        &["mappings", "test", "--help"],
        &["mappings", "lint", "--help"],
        &["mappings", "trace", "--help"],
    ] {
        let run = waymark_in(&repo_root(), args);
        assert_eq!(run.code, 0);
        assert!(run.stdout.contains("Example: waymark mappings"), "{args:?}");
    }
}

/// The `$ waymark …` lines of the tutorial's console blocks.
fn tutorial_commands(text: &str) -> Vec<Vec<String>> {
    let mut commands = Vec::new();
    let mut in_console = false;
    for line in text.lines() {
        if line.starts_with("```") {
            in_console = line == "```console";
            continue;
        }
        if let Some(command) = line.strip_prefix("$ waymark ").filter(|_| in_console) {
            commands.push(command.split_whitespace().map(str::to_owned).collect());
        }
    }
    commands
}

/// Every `waymark` command of the tutorial exits 0 in a copy of the repository's mappings (so
/// `--bless` cannot hide a regression). The `curl` lines need a running hub: the same requests
/// are made through the router in `crates/waymark-api/tests/dry_run.rs`.
#[test]
fn every_waymark_command_in_the_tutorial_works_as_written() {
    let text =
        std::fs::read_to_string(repo_root().join("docs/tutorials/writing-a-mapping.md")).unwrap();
    let commands = tutorial_commands(&text);
    assert!(commands.len() >= 6, "{commands:?}");
    let dir = scratch();
    for command in &commands {
        let args: Vec<&str> = command.iter().map(String::as_str).collect();
        let run = waymark_in(dir.path(), &args);
        assert_eq!(
            run.code,
            0,
            "waymark {}\n{}{}",
            args.join(" "),
            run.stdout,
            run.stderr
        );
    }
    let trace = waymark_in(
        dir.path(),
        &[
            "mappings",
            "trace",
            "mappings/nomis/tests/synthetic-alert-inserted.input.json",
        ],
    );
    let squash = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    let actual: Vec<String> = trace.stdout.lines().map(squash).collect();
    let quoted = text
        .lines()
        .filter(|l| l.starts_with("Bundle.") || l.starts_with("the mapping fails"));
    for line in quoted {
        assert!(
            actual.contains(&squash(line)),
            "the tutorial quotes `{line}`:\n{}",
            trace.stdout
        );
    }
}

/// The lint findings the tutorial quotes are what lint says about those mistakes.
#[test]
fn the_lint_findings_quoted_in_the_tutorial_are_real() {
    let dir = scratch();
    let tests = dir.path().join("mappings/nomis/tests");
    let file = dir.path().join("mappings/nomis/prisoner-alert.jq");
    let code = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, code.replacen("wm_translate(", "wm_translat(", 1)).unwrap();
    std::fs::remove_file(tests.join("synthetic-alert-updated.input.json")).unwrap();
    std::fs::remove_file(tests.join("synthetic-alert-updated.expected.json")).unwrap();
    let first = waymark_in(dir.path(), &["mappings", "lint"]).stdout;
    std::fs::write(&file, code).unwrap();
    std::fs::copy(
        repo_root().join("mappings/nomis/tests/synthetic-alert-updated.input.json"),
        tests.join("synthetic-alert-updated.input.json"),
    )
    .unwrap();
    let second = waymark_in(dir.path(), &["mappings", "lint"]).stdout;
    let text =
        std::fs::read_to_string(repo_root().join("docs/tutorials/writing-a-mapping.md")).unwrap();
    let quoted: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("mappings/nomis/") && l.contains(": "))
        .collect();
    assert_eq!(quoted.len(), 3, "{quoted:?}");
    for line in quoted {
        assert!(
            first.lines().any(|l| l == line) || second.lines().any(|l| l == line),
            "the tutorial quotes `{line}`; lint said:\n{first}{second}"
        );
    }
}
