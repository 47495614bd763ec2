//! `waymark mappings test | lint | trace`: the tools integration engineers keep mappings alive
//! with. Exit codes: 0 ok, 1 failures (a fixture fails, lint finds an error, the mapping refuses
//! the traced message), 2 unreadable (a folder or file that cannot be read, bad arguments).

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use serde_json::Value;
use waymark_core::{Envelope, SourceSystem};
use waymark_mapping::fixtures::{self, Outcome, RunOptions};
use waymark_mapping::lint::Severity;
use waymark_mapping::{MappingError, MappingInput, MappingSet};
use waymark_profile::Validator;

use crate::exit::{OK, REFUSED as FAILED, UNREADABLE};

/// Test, lint and trace the jq mappings (see docs/tutorials/writing-a-mapping.md).
///
/// Example: waymark mappings test
///
/// Example: waymark mappings lint mappings
///
/// Example: waymark mappings trace mappings/nomis/tests/synthetic-transfer.input.json
#[derive(Args)]
pub struct MappingsArgs {
    #[command(subcommand)]
    command: MappingsCommand,
}

#[derive(Subcommand)]
enum MappingsCommand {
    Test(TestArgs),
    Lint(LintArgs),
    Trace(TraceArgs),
}

/// Run every mapping's fixtures and diff what they produce against the expected files.
///
/// `<source>/tests/<case>.input.json` must map to `<case>.expected.json` (a bundle, or
/// `{"mappingError": {"code", "reason"}}`), and every bundle must pass the profile. Prints a
/// unified diff for each mismatch and `N passed, M failed`. Exit 0 all pass, 1 any fails,
/// 2 unreadable.
///
/// Example: waymark mappings test
///
/// Example: waymark mappings test mappings --case synthetic-transfer
///
/// Example: waymark mappings test --bless   (rewrites the expected files; review with git diff)
#[derive(Args)]
pub struct TestArgs {
    /// The mappings folder (default: ./mappings).
    dir: Option<PathBuf>,
    /// Rewrite every expected file with what the mapping produces now.
    #[arg(long)]
    bless: bool,
    /// Only the cases whose name contains this text.
    #[arg(long)]
    case: Option<String>,
}

/// Check every mapping without running it; one `file:line:col: rule: text` line per finding.
///
/// Headers, compilation (unknown helpers with their place), message types claimed twice or
/// without a fixture, fixtures no mapping handles, ConceptMaps malformed or unused, data
/// classes not in terminology/labels.json, malformed HL7 paths, recursive definitions
/// (warning). Exit 0 no errors (warnings allowed), 1 errors, 2 unreadable.
///
/// Example: waymark mappings lint
///
/// Example: waymark mappings lint path/to/mappings
#[derive(Args)]
pub struct LintArgs {
    /// The mappings folder (default: ./mappings).
    dir: Option<PathBuf>,
}

/// Show which input fields each field of the output bundle comes from.
///
/// `<-` copied from an input field, `<~` derived from it (an id, a looked-up code, a
/// decision), `(constant)` neither. FILE is a mapping input document (as in mappings/*/tests/),
/// an envelope as stored by the hub, or, with --source, a native message (give what the adapter
/// would fetch with --context). Exit 0 traced, 1 the mapping refuses the message, 2 unreadable.
///
/// Example: waymark mappings trace mappings/nomis/tests/synthetic-transfer.input.json
///
/// Example: waymark mappings trace --source nomis --context prisoner.json notification.json
#[derive(Args)]
pub struct TraceArgs {
    /// The source system, for a native message (and checked against an envelope's).
    #[arg(long)]
    source: Option<SourceSystem>,
    /// A JSON file with what the adapter would have fetched, for a native message.
    #[arg(long)]
    context: Option<PathBuf>,
    /// The mappings folder (default: ./mappings).
    #[arg(long)]
    mappings: Option<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
    /// The input document, envelope or native message.
    file: PathBuf,
}

/// `waymark mappings …`.
pub fn run(args: &MappingsArgs) -> u8 {
    match &args.command {
        MappingsCommand::Test(a) => test(a),
        MappingsCommand::Lint(a) => lint(a),
        MappingsCommand::Trace(a) => trace(a),
    }
}

/// Loads the set; a folder that is not one is unreadable, a mapping that does not load fails.
fn load(dir: &Path) -> Result<MappingSet, u8> {
    MappingSet::load(dir).map_err(|err| {
        eprintln!("{}", located(&err));
        match err {
            MappingError::Load { ref path, .. } if path == dir => UNREADABLE,
            _ => FAILED,
        }
    })
}

/// `file:line:col: message` for compile errors, the message otherwise.
fn located(err: &MappingError) -> String {
    match err {
        MappingError::Compile {
            file,
            line,
            column,
            reason,
        } => format!("{}:{line}:{column}: compile: {reason}", file.display()),
        MappingError::Header { file, line, reason } => {
            format!("{}:{line}:1: header: {reason}", file.display())
        }
        other => other.to_string(),
    }
}

fn test(args: &TestArgs) -> u8 {
    let dir = crate::mappings_dir(args.dir.as_deref());
    let set = match load(&dir) {
        Ok(set) => set,
        Err(code) => return code,
    };
    let validator = match Validator::r4() {
        Ok(v) => v,
        Err(err) => {
            eprintln!("cannot load the profile: {err}");
            return UNREADABLE;
        }
    };
    let check = |bundle: &Value| {
        validator.validate(bundle.clone()).map(drop).map_err(|oo| {
            oo.issues
                .iter()
                .map(|i| format!("{}: {}", i.location.as_deref().unwrap_or("Bundle"), i.text))
                .collect()
        })
    };
    let options = RunOptions {
        bless: args.bless,
        check: Some(&check),
    };
    let cases = match fixtures::discover(&dir) {
        Ok(cases) => cases,
        Err(err) => {
            eprintln!("{err}");
            return UNREADABLE;
        }
    };
    let (mut passed, mut failed) = (0, 0);
    for fixture in cases {
        if args
            .case
            .as_deref()
            .is_some_and(|c| !fixture.case.contains(c))
        {
            continue;
        }
        let outcome = fixtures::run_one(&set, &fixture, options);
        let name = format!("{}/{}", fixture.source, fixture.case);
        let word = match &outcome {
            Outcome::Passed => "ok     ",
            Outcome::Blessed => "blessed",
            _ => "FAILED ",
        };
        println!("{word} {name}");
        if outcome.passed() {
            passed += 1;
        } else {
            failed += 1;
            let result = fixtures::FixtureResult { fixture, outcome };
            print!("{}", fixtures::explain(&result));
        }
    }
    println!("{passed} passed, {failed} failed");
    if failed > 0 { FAILED } else { OK }
}

fn lint(args: &LintArgs) -> u8 {
    let dir = crate::mappings_dir(args.dir.as_deref());
    let findings = match waymark_mapping::lint::lint(&dir) {
        Ok(f) => f,
        Err(err) => {
            eprintln!("{err}");
            return UNREADABLE;
        }
    };
    for finding in &findings {
        println!("{finding}");
    }
    let errors = findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    let warnings = findings.len() - errors;
    println!("{errors} errors, {warnings} warnings");
    if errors > 0 { FAILED } else { OK }
}

fn trace(args: &TraceArgs) -> u8 {
    let input = match read_input(args) {
        Ok(input) => input,
        Err(text) => {
            eprintln!("{}: {text}", args.file.display());
            return UNREADABLE;
        }
    };
    let dir = crate::mappings_dir(args.mappings.as_deref());
    let set = match load(&dir) {
        Ok(set) => set,
        Err(code) => return code,
    };
    match waymark_mapping::trace::trace(&set, &input) {
        Ok(t) if args.json => {
            let text = serde_json::to_string_pretty(&waymark_mapping::trace::to_json(&t));
            println!("{}", text.unwrap_or_default());
            OK
        }
        Ok(t) => {
            print!("{}", waymark_mapping::trace::render(&t));
            OK
        }
        Err(err) => {
            eprintln!("the mapping refuses this message: {}", located(&err));
            FAILED
        }
    }
}

/// An input document, an envelope, or (with `--source`) a native message, told apart by keys.
fn read_input(args: &TraceArgs) -> Result<MappingInput, String> {
    let bytes = std::fs::read(&args.file).map_err(|e| format!("cannot read the file: {e}"))?;
    let json: Option<Value> = serde_json::from_slice(&bytes).ok();
    let input = match json {
        Some(v) if v.get("envelope").is_some() && v.get("message").is_some() => {
            serde_json::from_value::<MappingInput>(v)
                .map_err(|e| format!("not a mapping input document: {e}"))?
        }
        Some(v) if v.get("checksum").is_some() && v.get("payload").is_some() => {
            let envelope = Envelope::from_bytes(&bytes).map_err(|e| e.to_string())?;
            MappingInput::from_envelope(&envelope).map_err(|e| e.to_string())?
        }
        _ => {
            let Some(source) = args.source else {
                return Err(
                    "not an input document or envelope; give --source for a native message".into(),
                );
            };
            let context = match &args.context {
                Some(path) => fixtures::read_json(path)?,
                None => Value::Null,
            };
            let envelope = crate::sources::native_envelope(source, bytes, context)?;
            MappingInput::from_envelope(&envelope).map_err(|e| e.to_string())?
        }
    };
    match args.source {
        Some(s) if s != input.envelope.source => Err(format!(
            "the file is a `{}` message, not `{s}`",
            input.envelope.source
        )),
        _ => Ok(input),
    }
}
