//! `lint`: everything that can be known about a mappings folder without a message, reported as
//! located findings (`file:line:col: rule: text`) instead of stopping at the first problem.
//!
//! | rule | severity | finding |
//! |---|---|---|
//! | `header` | error | the header is missing, malformed or incomplete |
//! | `compile` | error | the program does not parse or compile |
//! | `unknown-helper` | error | a call to a filter that does not exist (or is removed as impure) |
//! | `duplicate-type` | error | a (source, message type) claimed by two mappings |
//! | `no-fixture` | error | a message type without a fixture in `<source>/tests/` |
//! | `unreachable-fixture` | error | a fixture whose message type no mapping handles |
//! | `fixture` | error | a fixture that cannot be read, has no expected file, or sits in another source's folder |
//! | `conceptmap` | error | a ConceptMap that is malformed or defined twice |
//! | `unknown-conceptmap` | error | `wm_translate("x")` with no such ConceptMap |
//! | `labels` | error | `terminology/labels.json` is malformed |
//! | `unknown-label` | error | `wm_security("x"…)` with a class not in `labels.json` |
//! | `hl7-path` | error | a `wm_hl7…("…")` path that is not `SEG[n]-F[r].C.S` |
//! | `unused-conceptmap` | warning | a ConceptMap no mapping translates with |
//! | `recursion` | warning | a recursive definition (bounded at run time, but a loop is clearer) |
//! | `unknown-file` | warning | a file in `terminology/` that is neither a ConceptMap nor `labels.json` |

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use jaq_core::load::parse::Term;
use serde_json::Value;
use waymark_core::SourceSystem;

use crate::hl7::Hl7Path;
use crate::labels::{LABELS_FILE, Labels};
use crate::terminology::{ConceptMaps, concept_map_files};
use crate::{MappingError, fixtures, header, instrument, jq};

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Fails `lint` (exit 1).
    Error,
    /// Reported only.
    Warning,
}

/// One finding, located.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The file.
    pub file: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// The rule (see the module docs).
    pub rule: &'static str,
    /// Error or warning.
    pub severity: Severity,
    /// What is wrong.
    pub text: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let warning = if self.severity == Severity::Warning {
            "warning: "
        } else {
            ""
        };
        write!(
            f,
            "{}:{}:{}: {}: {warning}{}",
            self.file.display(),
            self.line,
            self.column,
            self.rule,
            self.text
        )
    }
}

#[derive(Default)]
struct Lint {
    findings: Vec<Finding>,
    /// (source, type) → (file, line, column) of its claim.
    claims: BTreeMap<(SourceSystem, String), (PathBuf, usize, usize)>,
    /// ConceptMap file → its id and url.
    maps: Vec<(PathBuf, Vec<String>)>,
    translated: BTreeSet<String>,
    dynamic_translate: bool,
    labels: Labels,
}

impl Lint {
    fn add(
        &mut self,
        file: &Path,
        (line, column): (usize, usize),
        rule: &'static str,
        text: String,
    ) {
        let severity = match rule {
            "unused-conceptmap" | "recursion" | "unknown-file" => Severity::Warning,
            _ => Severity::Error,
        };
        self.findings.push(Finding {
            file: file.to_owned(),
            line,
            column,
            rule,
            severity,
            text,
        });
    }

    fn error(&mut self, err: MappingError) {
        match err {
            MappingError::Compile {
                file,
                line,
                column,
                reason,
            } => {
                let rule = if reason.starts_with("undefined") {
                    "unknown-helper"
                } else {
                    "compile"
                };
                self.add(&file, (line, column), rule, reason);
            }
            MappingError::Header { file, line, reason } => {
                self.add(&file, (line, 1), "header", reason)
            }
            MappingError::Load { path, reason } => self.add(&path, (1, 1), "compile", reason),
            other => self.add(Path::new("-"), (1, 1), "compile", other.to_string()),
        }
    }
}

/// Lints the mappings folder `dir`. `Err` only when `dir` itself cannot be read.
pub fn lint(dir: &Path) -> Result<Vec<Finding>, MappingError> {
    if !dir.is_dir() {
        return Err(MappingError::Load {
            path: dir.to_owned(),
            reason: "not a directory".into(),
        });
    }
    let mut lint = Lint::default();
    terminology(&mut lint, &dir.join("terminology"))?;
    for source in SourceSystem::ALL {
        let folder = dir.join(source.as_str());
        if folder.is_dir() {
            for file in crate::set::files_with_extension(&folder, "jq")? {
                mapping(&mut lint, &file, source);
            }
        }
    }
    fixtures_of(&mut lint, dir)?;
    unused_maps(&mut lint);
    let mut findings = lint.findings;
    findings.sort_by(|a, b| {
        (&a.file, a.line, a.column, a.rule).cmp(&(&b.file, b.line, b.column, b.rule))
    });
    Ok(findings)
}

fn terminology(lint: &mut Lint, dir: &Path) -> Result<(), MappingError> {
    if !dir.is_dir() {
        return Ok(());
    }
    match Labels::load(dir) {
        Ok(labels) => lint.labels = labels,
        Err(e) => lint.add(&dir.join(LABELS_FILE), (1, 1), "labels", reason_of(e)),
    }
    let mut all = ConceptMaps::default();
    let maps = concept_map_files(dir)?;
    for file in crate::set::files_with_extension(dir, "json")? {
        let name = file.file_name().map(|n| n.to_string_lossy().into_owned());
        if !maps.contains(&file) && name.as_deref() != Some(LABELS_FILE) {
            let text = "neither a `ConceptMap-*.json` nor `labels.json`: it is not read".into();
            lint.add(&file, (1, 1), "unknown-file", text);
        }
    }
    for file in maps {
        let json = match fixtures::read_json(&file) {
            Ok(json) => json,
            Err(reason) => {
                lint.add(&file, (1, 1), "conceptmap", reason);
                continue;
            }
        };
        if let Err(reason) = all.add(&json) {
            lint.add(&file, (1, 1), "conceptmap", reason);
            continue;
        }
        let names = [&json["id"], &json["url"]]
            .into_iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect();
        lint.maps.push((file, names));
    }
    Ok(())
}

fn reason_of(err: MappingError) -> String {
    match err {
        MappingError::Load { reason, .. } => reason,
        other => other.to_string(),
    }
}

fn mapping(lint: &mut Lint, file: &Path, source: SourceSystem) {
    let code = match crate::set::read_code(file) {
        Ok(code) => code,
        Err(e) => return lint.error(e),
    };
    match header::parse(file, source, &code) {
        Ok((header, types_line)) => {
            let line_text = code.lines().nth(types_line.saturating_sub(1)).unwrap_or("");
            for message_type in &header.message_types {
                let column = line_text.find(message_type.as_str()).map_or(1, |c| c + 1);
                let at = (file.to_owned(), types_line, column);
                let key = (source, message_type.clone());
                if let Some((other, ..)) = lint.claims.get(&key) {
                    let text = format!(
                        "message type `{message_type}` is already mapped by `{}`",
                        other.display()
                    );
                    lint.add(file, (types_line, column), "duplicate-type", text);
                } else {
                    lint.claims.insert(key, at);
                }
            }
        }
        Err(e) => lint.error(e),
    }
    if let Err(errors) = jq::check(file, &code) {
        errors.into_iter().for_each(|e| lint.error(e));
        return;
    }
    if let Some(mut term) = jq::parse(&code) {
        calls(lint, file, &code, &mut term);
    }
}

/// Recursion and the literal arguments of Waymark helpers.
fn calls(lint: &mut Lint, file: &Path, code: &str, term: &mut Term<&str>) {
    for (name, arity) in instrument::recursive_defs(term) {
        let text = format!(
            "`{name}/{arity}` is recursive: runs are bounded (steps, stack depth, time), but \
             `reduce`, `limit`, `until` or a built-in say what is meant more plainly"
        );
        lint.add(file, jq::position(code, name), "recursion", text);
    }
    for (at, id) in instrument::calls_of(term, "wm_translate", 1) {
        match id {
            None => lint.dynamic_translate = true,
            Some(id) => {
                lint.translated.insert(id.to_owned());
                if !lint
                    .maps
                    .iter()
                    .any(|(_, names)| names.iter().any(|n| n == id))
                {
                    let text = format!("no ConceptMap with id or url `{id}` in terminology/");
                    lint.add(file, jq::position(code, at), "unknown-conceptmap", text);
                }
            }
        }
    }
    for arity in [1, 2] {
        for (at, class) in instrument::calls_of(term, "wm_security", arity) {
            if let Some(class) = class.filter(|c| !lint.labels.knows_class(c)) {
                let text = format!("data class `{class}` is not in terminology/labels.json");
                lint.add(file, jq::position(code, at), "unknown-label", text);
            }
        }
    }
    for helper in ["wm_hl7", "wm_hl7_count", "wm_hl7_segments"] {
        for (at, path) in instrument::calls_of(term, helper, 1) {
            if let Some(path) = path.filter(|p| Hl7Path::parse(p).is_none()) {
                let text = format!("`{path}` is not an HL7 path (`SEG[n]-F[r].C.S`)");
                lint.add(file, jq::position(code, at), "hl7-path", text);
            }
        }
    }
}

/// 1-based line and column of the first `"key"` in a JSON text.
fn locate(text: &str, key: &str) -> (usize, usize) {
    let needle = format!("\"{key}\"");
    text.find(&needle).map_or((1, 1), |offset| {
        let before = &text[..offset];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (line, column)
    })
}

fn fixtures_of(lint: &mut Lint, dir: &Path) -> Result<(), MappingError> {
    let mut covered = BTreeSet::new();
    for fixture in fixtures::discover(dir)? {
        let file = &fixture.input;
        if !fixture.expected.is_file() {
            let text = format!("no `{}.expected.json` next to it", fixture.case);
            lint.add(file, (1, 1), "fixture", text);
        }
        let input = match fixtures::read_input(file) {
            Ok(input) => input,
            Err(reason) => {
                lint.add(file, (1, 1), "fixture", reason);
                continue;
            }
        };
        let text = std::fs::read_to_string(file).unwrap_or_default();
        let meta = input.envelope;
        if meta.source != fixture.source {
            let why = format!(
                "a `{}` message in the `{}` folder",
                meta.source, fixture.source
            );
            lint.add(file, locate(&text, "source"), "fixture", why);
            continue;
        }
        let key = (meta.source, meta.message_type.clone());
        if lint.claims.contains_key(&key) {
            covered.insert(key);
        } else {
            let why = format!(
                "no mapping handles `{}` message type `{}`",
                meta.source, meta.message_type
            );
            lint.add(
                file,
                locate(&text, "messageType"),
                "unreachable-fixture",
                why,
            );
        }
    }
    let uncovered: Vec<_> = lint
        .claims
        .iter()
        .filter(|(key, _)| !covered.contains(*key))
        .map(|((source, t), (file, line, column))| {
            let text = format!("message type `{t}` has no fixture in `{source}/tests/`");
            (file.clone(), (*line, *column), text)
        })
        .collect();
    for (file, at, text) in uncovered {
        lint.add(&file, at, "no-fixture", text);
    }
    Ok(())
}

fn unused_maps(lint: &mut Lint) {
    if lint.dynamic_translate {
        return;
    }
    let unused: Vec<PathBuf> = lint
        .maps
        .iter()
        .filter(|(_, names)| !names.iter().any(|n| lint.translated.contains(n)))
        .map(|(file, _)| file.clone())
        .collect();
    for file in unused {
        let text = "no mapping calls `wm_translate` with this ConceptMap".into();
        lint.add(&file, (1, 1), "unused-conceptmap", text);
    }
}
