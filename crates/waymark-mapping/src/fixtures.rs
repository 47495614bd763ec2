//! Mapping fixtures: `<source>/tests/<case>.input.json` (an input document) must map to
//! `<case>.expected.json` — the bundle, Provenance included, or `{"mappingError": {"code",
//! "reason"}}` for a message that must be quarantined. Shared by the crate's fixture test and
//! `waymark mappings test`, so both mean the same by "passes".

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use waymark_core::{ErrorCode, SourceSystem};

use crate::{MappingError, MappingInput, MappingSet};

/// One fixture case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fixture {
    /// The source folder it is in.
    pub source: SourceSystem,
    /// `<case>` of the file names.
    pub case: String,
    /// The input document.
    pub input: PathBuf,
    /// The expected output (may not exist yet).
    pub expected: PathBuf,
}

/// What running one fixture showed.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The output is the expected one (and, for a bundle, passed the check).
    Passed,
    /// `bless`: the expected file was (re)written.
    Blessed,
    /// The output differs from the expected file.
    Mismatch {
        /// The expected file's content (`null` when there is none).
        expected: Value,
        /// What the mapping gave.
        actual: Value,
    },
    /// The mapping gave a bundle the check (the profile) refuses.
    Rejected {
        /// The check's findings, one line each.
        issues: Vec<String>,
    },
    /// A file cannot be read or is not an input document.
    Unreadable {
        /// Why (file and parser message, never content).
        reason: String,
    },
}

impl Outcome {
    /// Whether this counts as a pass.
    pub fn passed(&self) -> bool {
        matches!(self, Self::Passed | Self::Blessed)
    }
}

/// One fixture and its outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct FixtureResult {
    /// The case.
    pub fixture: Fixture,
    /// What happened.
    pub outcome: Outcome,
}

/// A check every produced bundle must pass (the profile); `Err` lists the findings.
pub type Check<'a> = &'a dyn Fn(&Value) -> Result<(), Vec<String>>;

/// How to run fixtures.
#[derive(Default, Clone, Copy)]
pub struct RunOptions<'a> {
    /// Rewrite every expected file with the actual output instead of comparing.
    pub bless: bool,
    /// Checked on every bundle produced (never on mapping errors).
    pub check: Option<Check<'a>>,
}

impl std::fmt::Debug for RunOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunOptions")
            .field("bless", &self.bless)
            .field("check", &self.check.is_some())
            .finish()
    }
}

/// Every fixture under `dir` (`<source>/tests/*.input.json`), sorted by source and case.
pub fn discover(dir: &Path) -> Result<Vec<Fixture>, MappingError> {
    let mut found = Vec::new();
    for source in SourceSystem::ALL {
        let tests = dir.join(source.as_str()).join("tests");
        if !tests.is_dir() {
            continue;
        }
        for input in crate::set::files_with_extension(&tests, "json")? {
            let name = input
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if let Some(case) = name.strip_suffix(".input.json") {
                found.push(Fixture {
                    source,
                    case: case.to_owned(),
                    expected: input.with_file_name(format!("{case}.expected.json")),
                    input,
                });
            }
        }
    }
    Ok(found)
}

/// The output as the expected files record it: the bundle, or the error's code and reason (the
/// mapping's own reason for runtime and output errors, the whole message otherwise).
pub fn recorded(result: Result<Value, MappingError>) -> Value {
    match result {
        Ok(bundle) => bundle,
        Err(err) => {
            let reason = match &err {
                MappingError::Runtime { reason, .. }
                | MappingError::Output { reason, .. }
                | MappingError::Limit { reason, .. } => reason.clone(),
                other => other.to_string(),
            };
            json!({"mappingError": {"code": err.code(), "reason": reason}})
        }
    }
}

/// Reads a JSON file; errors name the file and the parser's position, not the content.
pub fn read_json(path: &Path) -> Result<Value, String> {
    let bytes =
        std::fs::read(path).map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
    serde_json::from_slice(&bytes).map_err(|e| {
        format!(
            "`{}` is not JSON (line {}, column {})",
            path.display(),
            e.line(),
            e.column()
        )
    })
}

/// Reads an input document.
pub fn read_input(path: &Path) -> Result<MappingInput, String> {
    serde_json::from_value(read_json(path)?)
        .map_err(|e| format!("`{}` is not a mapping input document: {e}", path.display()))
}

/// Pretty JSON with a final newline, as expected files are written.
pub fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default() + "\n"
}

/// Runs one fixture.
pub fn run_one(set: &MappingSet, fixture: &Fixture, options: RunOptions<'_>) -> Outcome {
    let input = match read_input(&fixture.input) {
        Ok(input) => input,
        Err(reason) => return Outcome::Unreadable { reason },
    };
    let result = set.map_input(&input);
    if let (Ok(bundle), Some(check)) = (&result, options.check)
        && let Err(issues) = check(bundle)
    {
        return Outcome::Rejected { issues };
    }
    let actual = recorded(result);
    if options.bless {
        return match std::fs::write(&fixture.expected, pretty(&actual)) {
            Ok(()) => Outcome::Blessed,
            Err(e) => Outcome::Unreadable {
                reason: format!("cannot write `{}`: {e}", fixture.expected.display()),
            },
        };
    }
    let expected = if fixture.expected.exists() {
        match read_json(&fixture.expected) {
            Ok(v) => v,
            Err(reason) => return Outcome::Unreadable { reason },
        }
    } else {
        Value::Null
    };
    if expected == actual {
        Outcome::Passed
    } else {
        Outcome::Mismatch { expected, actual }
    }
}

/// Runs every fixture under `dir` with `set`.
pub fn run_all(
    dir: &Path,
    set: &MappingSet,
    options: RunOptions<'_>,
) -> Result<Vec<FixtureResult>, MappingError> {
    Ok(discover(dir)?
        .into_iter()
        .map(|fixture| {
            let outcome = run_one(set, &fixture, options);
            FixtureResult { fixture, outcome }
        })
        .collect())
}

/// A readable report of one failure: a unified diff of pretty JSON for a mismatch.
pub fn explain(result: &FixtureResult) -> String {
    match &result.outcome {
        Outcome::Passed | Outcome::Blessed => String::new(),
        Outcome::Mismatch { expected, actual } => {
            let missing = if expected.is_null() {
                "(no expected file: run with --bless to create it)\n"
            } else {
                ""
            };
            format!(
                "{missing}{}",
                crate::diff::unified(&pretty(expected), &pretty(actual), 3)
            )
        }
        Outcome::Rejected { issues } => {
            issues.iter().map(|i| format!("  profile: {i}\n")).collect()
        }
        Outcome::Unreadable { reason } => format!("  {reason}\n"),
    }
}
