//! `waymark config check FILE` and `waymark config schema`: the configuration file explained
//! (file, line, key, what was expected), with every part the binary knows checked too — each
//! feed's adapter table, the mappings, the role policy, the subscriptions and the auth file.
//!
//! Exit codes: 0 the file is good; 1 it has problems (each printed on a line of stderr); 2 it
//! cannot be read, or the arguments are wrong.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use serde_json::{Map, Value};
use waymark_config::{Config, Problem, Problems};

use crate::exit::{OK, REFUSED, UNREADABLE, emit, failure, success};

/// The hub's configuration file: check one, or print the JSON Schema of the format.
///
/// Example: waymark config check deploy/config/embedded.toml
#[derive(Args, Clone, Debug)]
pub struct ConfigArgs {
    #[command(subcommand)]
    pub command: ConfigCommand,
}

/// `waymark config` subcommands.
#[derive(Subcommand, Clone, Debug)]
pub enum ConfigCommand {
    Check(CheckArgs),
    Schema(SchemaArgs),
}

/// Check a configuration file: its TOML, its types, the hub's rules, its secrets (read from
/// the environment, never printed), and what it points at — the mappings folder, the role
/// policy, the subscriptions file, the auth file and each feed's table. Every problem is one
/// line: `FILE:LINE:COLUMN: `key`: what is wrong; expected what`.
///
/// Exit 0 good; 1 problems; 2 unreadable.
///
/// Example: waymark config check /etc/waymark/waymark.toml
///
/// Example: waymark config check --json waymark.toml | jq '.problems[].key'
#[derive(Args, Clone, Debug)]
pub struct CheckArgs {
    /// The configuration file (TOML).
    pub file: PathBuf,
    /// Print one JSON object on stdout: `{"ok": true, "file"}`, or `{"ok": false, "exit",
    /// "error", "problems": [{"file", "line", "column", "key", "message", "expected"}]}`; same
    /// exit codes.
    #[arg(long)]
    pub json: bool,
}

/// Print the JSON Schema of the configuration file (generated from the types; also in
/// docs/reference/config.schema.json).
///
/// Example: waymark config schema > waymark.schema.json
#[derive(Args, Clone, Debug)]
pub struct SchemaArgs {}

/// Runs `waymark config`; returns the exit code.
pub fn run(args: &ConfigArgs) -> u8 {
    match &args.command {
        ConfigCommand::Check(check) => run_check(&check.file, check.json),
        ConfigCommand::Schema(_) => {
            let schema = waymark_config::schema();
            println!(
                "{}",
                serde_json::to_string_pretty(&schema).unwrap_or_default()
            );
            OK
        }
    }
}

fn run_check(file: &Path, json: bool) -> u8 {
    let env = |name: &str| std::env::var(name).ok();
    let config = match waymark_config::load(file, &env) {
        Ok(config) => config,
        Err(problems) => return report(&problems, file, json),
    };
    let mut problems = check_parts(&config, &file.display().to_string());
    let text = std::fs::read_to_string(file).unwrap_or_default();
    for problem in &mut problems {
        problem.at = waymark_config::locate(&text, &problem.key);
    }
    if !problems.is_empty() {
        return report(&Problems(problems), file, json);
    }
    if json {
        return emit(
            &success(serde_json::json!({"file": file.display().to_string()})),
            OK,
        );
    }
    println!("{}: ok", file.display());
    OK
}

fn report(problems: &Problems, file: &Path, json: bool) -> u8 {
    let unreadable = problems.0.len() == 1 && problems.0[0].key.is_empty() && !file.is_file();
    let code = if unreadable { UNREADABLE } else { REFUSED };
    if !json {
        eprintln!("{problems}");
        return code;
    }
    let (error_code, message) = if unreadable {
        (
            "config.unreadable",
            "the configuration file cannot be read".to_owned(),
        )
    } else {
        (
            "config.problems",
            format!("{} problem(s)", problems.0.len()),
        )
    };
    let mut out = failure(code, error_code, &message);
    out["file"] = Value::from(file.display().to_string());
    out["problems"] = problems.0.iter().map(problem_json).collect();
    emit(&out, code)
}

/// One problem as JSON: where (line and column when known), which key, what, what was expected.
fn problem_json(p: &Problem) -> Value {
    serde_json::json!({
        "file": p.file,
        "line": p.at.map(|(line, _)| line),
        "column": p.at.map(|(_, column)| column),
        "key": p.key,
        "message": p.message,
        "expected": p.expected,
    })
}

/// What the binary checks beyond the file itself.
pub fn check_parts(config: &Config, file: &str) -> Vec<Problem> {
    let mut found = Vec::new();
    let mut problem = |key: &str, message: String, expected: &str| {
        found.push(Problem {
            file: file.to_owned(),
            at: None,
            key: key.to_owned(),
            message,
            expected: expected.to_owned(),
        });
    };
    if let Err(err) = waymark_mapping::MappingSet::load(&config.hub.mappings) {
        problem(
            "hub.mappings",
            format!("the mappings do not load: {err}"),
            "a mappings folder",
        );
    }
    if let Some(path) = &config.hub.policy {
        let checked = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot be read ({})", e.kind()))
            .and_then(|text| waymark_policy::Policy::from_json(&text).map_err(|e| e.to_string()));
        if let Err(why) = checked {
            problem(
                "hub.policy",
                why,
                "a role policy file (profiles/hjmd/role-policy.json format)",
            );
        }
    }
    if let Some(path) = &config.subscriptions.file
        && let Err(err) = crate::run_cmd::load_subscriptions(Some(path))
    {
        problem(
            "subscriptions.file",
            format!("{err:#}"),
            "a JSON array of version-1 subscriptions",
        );
    }
    if let Some(path) = &config.api.auth {
        let checked = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot be read ({})", e.kind()))
            .and_then(|text| {
                serde_json::from_str::<waymark_api::auth::AuthConfig>(&text)
                    .map_err(|e| e.to_string())
            });
        if let Err(why) = checked {
            problem("api.auth", why, "an authentication file (JSON, version 1)");
        }
    }
    for (source, table) in &config.feeds {
        if let Err((key, why, expected)) = check_feed(source, table) {
            problem(&format!("feeds.{source}{key}"), why, &expected);
        }
    }
    found
}

type FeedProblem = (String, String, String);

/// Checks one feed's table with its adapter's own config type.
fn check_feed(source: &str, table: &Map<String, Value>) -> Result<(), FeedProblem> {
    let mut table = table.clone();
    table.entry("version").or_insert(Value::from(1));
    crate::sources::check_feed(source, Value::Object(table))
}
