//! The jq engine: jaq with the standard library minus everything impure, plus Waymark's
//! prelude (`prelude.jq`) and native helpers.
//!
//! Removed so mappings stay pure (a mapping that uses them does not compile): `now`, `env`,
//! `localtime`, `strflocaltime` (clock, environment, machine time zone), `debug`, `stderr`,
//! `halt`, `halt_error` (output and process control). `include`/`import` are not available
//! (no module loader), so a mapping reads no files.

use std::cell::RefCell;
use std::path::Path;

use jaq_core::data::{DataT, HasLut};
use jaq_core::load::parse::{Def, Term};
use jaq_core::load::{self, Arena, File, Loader};
use jaq_core::native::Fun;
use jaq_core::{Ctx, Exn, Vars};
use jaq_json::Val;

use crate::MappingError;
use crate::instrument;
use crate::labels::Labels;
use crate::natives::{self, text};
use crate::sandbox::{Guard, Limit};
use crate::terminology::ConceptMaps;

const PRELUDE: &str = include_str!("prelude.jq");
/// Loaded before jaq's own definitions, so that theirs (`range/2`, `range/1`) count steps too.
const FIRST: &str = "def range($from; $upto; $by): wm_range($from; $upto; $by) | wm_tick;";
/// Removed (impure), or replaced by natives in `natives.rs` (`join`).
const REMOVED_DEFS: &[&str] = &["stderr", "debug", "halt", "halt_error", "join"];
const REMOVED_FUNS: &[&str] = &[
    "env",
    "now",
    "halt",
    "localtime",
    "strflocaltime",
    "stderr_empty",
    "debug_empty",
    // Replaced by a bounded one in `natives.rs`.
    "fromjson",
];

/// The data kind of Waymark programs: jaq JSON values, with the loaded ConceptMaps, labels and
/// per-run state reachable from natives.
pub(crate) struct Wm;

impl DataT for Wm {
    type V<'a> = Val;
    type Data<'a> = &'a RunData<'a>;
}

/// The value type as natives must spell it (the unnormalised projection), so `fn` items
/// coerce to jaq's higher-ranked function pointers.
pub(crate) type V<'a> = <Wm as DataT>::V<'a>;

/// What natives can see during one run.
pub(crate) struct RunData<'a> {
    lut: &'a jaq_core::Lut<Wm>,
    pub(crate) maps: &'a ConceptMaps,
    pub(crate) labels: &'a Labels,
    guard: &'a Guard,
    /// The last text passed to `error(...)` (or a helper's own failure message).
    pub(crate) raised: RefCell<Option<String>>,
}

impl RunData<'_> {
    /// One step of the run's budget (see `sandbox.rs`).
    pub(crate) fn tick(&self) -> Result<(), String> {
        self.guard
            .tick()
            .map_err(|_| "the run exceeded a limit".to_owned())
    }
}

impl<'a> HasLut<'a, Wm> for &'a RunData<'a> {
    fn lut(&self) -> &'a jaq_core::Lut<Wm> {
        self.lut
    }
}

/// What a program may use besides its input.
pub(crate) struct Env<'a> {
    pub(crate) maps: &'a ConceptMaps,
    pub(crate) labels: &'a Labels,
    pub(crate) guard: &'a Guard,
}

/// A compiled mapping program (instrumented: see `instrument.rs`).
pub(crate) struct Program {
    filter: jaq_core::Filter<Wm>,
}

/// Why a run produced no single value. Never carries input values.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum RunError {
    /// Text the program passed to `error(...)`.
    Raised(String),
    /// The kind of a jaq error whose message may embed values.
    Kind(&'static str),
    /// No output value.
    NoOutput,
    /// More than one output value.
    ManyOutputs,
    /// The run exceeded a bound of the sandbox.
    Limit(Limit),
}

impl Program {
    /// Parses and compiles `code` (read from `file`, named in errors).
    pub(crate) fn compile(file: &Path, code: &str) -> Result<Self, MappingError> {
        if let Some(filter) = compile_instrumented(code) {
            return Ok(Self { filter });
        }
        // Something is wrong: compile the program as written to say what and where.
        match check(file, code) {
            Err(mut errors) if !errors.is_empty() => Err(errors.swap_remove(0)),
            _ => Err(MappingError::Load {
                path: file.to_owned(),
                reason: "the program compiles but cannot be instrumented".into(),
            }),
        }
    }

    /// Runs the program on `input`; exactly one output value is expected.
    pub(crate) fn run(&self, input: Val, env: &Env<'_>) -> Result<Val, RunError> {
        let data = RunData {
            lut: &self.filter.lut,
            maps: env.maps,
            labels: env.labels,
            guard: env.guard,
            raised: RefCell::new(None),
        };
        let ctx = Ctx::<Wm>::new(&data, Vars::new([]));
        let mut outputs = self.filter.id.run((ctx, input));
        let first = outputs.next();
        let second = match first {
            Some(Ok(_)) => outputs.next(),
            _ => None,
        };
        drop(outputs);
        // A tripped limit wins, even if the program caught the error it raised.
        if let Some(limit) = env.guard.tripped() {
            return Err(RunError::Limit(limit));
        }
        match (first, second) {
            (None, _) => Err(RunError::NoOutput),
            (Some(Err(exn)), _) | (_, Some(Err(exn))) => Err(describe(exn, &data)),
            (Some(Ok(first)), None) => Ok(first),
            (Some(Ok(_)), Some(Ok(_))) => Err(RunError::ManyOutputs),
        }
    }
}

/// Compiles `code` as written (no instrumentation) and returns every error, each located. Used
/// to explain a program that does not compile, and by `lint`.
pub(crate) fn check(file: &Path, code: &str) -> Result<(), Vec<MappingError>> {
    let arena = Arena::default();
    let loader = Loader::new(prelude(file).map_err(|e| vec![e])?);
    let modules = loader
        .load(&arena, File { code, path: () })
        .map_err(|errs| vec![load_error(file, code, &errs)])?;
    jaq_core::Compiler::default()
        .with_funs(funs())
        .compile(modules)
        .map(drop)
        .map_err(|errs| {
            let found: Vec<MappingError> = errs
                .iter()
                .flat_map(|(_, errs)| errs.iter())
                .map(|(name, undefined)| {
                    let what = match undefined {
                        jaq_core::compile::Undefined::Filter(arity) => {
                            format!("undefined filter `{name}/{arity}`")
                        }
                        other => format!("undefined {} `{name}`", other.as_str()),
                    };
                    compile_error(file, code, name, what)
                })
                .collect();
            if found.is_empty() {
                vec![compile_error(
                    file,
                    code,
                    "",
                    "the program does not compile".into(),
                )]
            } else {
                found
            }
        })
}

/// The program's parse tree (`None` if it does not parse as a plain jq term).
pub(crate) fn parse(code: &str) -> Option<Term<&str>> {
    load::parse(code, |p| p.term())
}

/// Instruments the standard library, Waymark's prelude and the program, and compiles the
/// program as the body of `def wm_main: …;`. `None` on any failure (explained by [`check`]).
fn compile_instrumented(code: &str) -> Option<jaq_core::Filter<Wm>> {
    let mut main = parse(code)?;
    instrument::optimise_objects(&mut main);
    instrument::instrument(&mut main);
    let mut defs = instrumented_prelude()?;
    defs.push(Def {
        name: "wm_main",
        args: Vec::new(),
        body: main,
    });
    let arena = Arena::default();
    let modules = Loader::new(defs)
        .load(
            &arena,
            File {
                code: "wm_main",
                path: (),
            },
        )
        .ok()?;
    jaq_core::Compiler::default()
        .with_funs(funs())
        .compile(modules)
        .ok()
}

fn instrumented_prelude() -> Option<Vec<Def<&'static str>>> {
    let first = load::parse(FIRST, |p| p.defs())?;
    let ours = load::parse(PRELUDE, |p| p.defs())?;
    let mut defs: Vec<Def<&'static str>> =
        first.into_iter().chain(std_defs()).chain(ours).collect();
    for def in &mut defs {
        instrument::optimise_objects(&mut def.body);
        instrument::instrument_def(def);
    }
    Some(defs)
}

fn std_defs() -> impl Iterator<Item = Def<&'static str>> {
    jaq_core::defs()
        .chain(jaq_std::defs())
        .chain(jaq_json::defs())
        .filter(|def| !REMOVED_DEFS.contains(&def.name))
}

fn prelude(file: &Path) -> Result<Vec<Def<&'static str>>, MappingError> {
    let err = || MappingError::Load {
        path: file.to_owned(),
        reason: "the built-in Waymark prelude does not parse".into(),
    };
    let first = load::parse(FIRST, |p| p.defs()).ok_or_else(err)?;
    let ours = load::parse(PRELUDE, |p| p.defs()).ok_or_else(err)?;
    Ok(first.into_iter().chain(std_defs()).chain(ours).collect())
}

/// jaq's natives minus the impure ones (`range/3` renamed `wm_range`), plus Waymark's.
fn funs() -> impl Iterator<Item = Fun<Wm>> {
    jaq_core::funs()
        .chain(jaq_std::funs())
        .chain(jaq_json::funs())
        .filter(|(name, _, _)| !REMOVED_FUNS.contains(name))
        .map(|(name, args, f)| {
            let name = if name == "range" && args.len() == 3 {
                "wm_range"
            } else {
                name
            };
            (name, args, f)
        })
        .chain(natives::waymark())
}

/// Reduces a jaq exception to something without values: the program's own `error` text, or the
/// kind of error.
fn describe(exn: Exn<'_, Val>, data: &RunData<'_>) -> RunError {
    let Ok(err) = exn.get_err() else {
        return RunError::Kind("the program halted");
    };
    let raised = data.raised.borrow_mut().take();
    let value = err.into_val();
    match (text(&value), raised) {
        (Some(t), Some(raised)) if t == raised => RunError::Raised(raised),
        (Some(t), _) => RunError::Kind(kind_of(t)),
        (None, _) => RunError::Kind("the program raised an error whose value is not text"),
    }
}

/// Classifies a jaq error message by its fixed opening words; the rest (which may quote
/// values) is dropped.
fn kind_of(message: &str) -> &'static str {
    const KINDS: &[(&str, &str)] = &[
        (
            "cannot use ",
            "type error: an operation got a value of a type it cannot use",
        ),
        (
            "cannot index ",
            "index error: a value cannot be indexed that way",
        ),
        ("cannot iterate ", "type error: a value cannot be iterated"),
        (
            "cannot calculate ",
            "arithmetic error: an operation cannot combine these values",
        ),
        (
            "invalid path expression",
            "path error: an update or path() was given a non-path",
        ),
        (
            "cannot parse ",
            "parse error: a string is not in the expected format",
        ),
        (
            "cannot convert ",
            "conversion error: a value cannot be converted as asked",
        ),
        ("index ", "index error: an index is out of bounds"),
        (
            "invalid regex",
            "regex error: a regular expression does not compile",
        ),
    ];
    KINDS
        .iter()
        .find(|(prefix, _)| message.starts_with(prefix))
        .map_or("runtime error in a built-in filter", |(_, kind)| kind)
}

fn load_error(file: &Path, code: &str, errs: &load::Errors<&str, ()>) -> MappingError {
    let first = errs
        .iter()
        .find_map(|(f, e)| std::ptr::eq(f.code, code).then_some(e));
    let (at, reason) = match first {
        Some(load::Error::Lex(errs)) => errs.first().map_or(("", String::new()), |(expect, at)| {
            match expect {
                // Point at the opening delimiter that is never closed.
                load::lex::Expect::Delim(open) => (*open, format!("`{open}` is never closed")),
                other => (*at, format!("expected {}", other.as_str())),
            }
        }),
        Some(load::Error::Parse(errs)) => {
            errs.first().map_or(("", String::new()), |(expect, at)| {
                let found = if at.is_empty() {
                    "the end of the program".to_owned()
                } else {
                    format!("`{at}`")
                };
                (*at, format!("expected {}, found {found}", expect.as_str()))
            })
        }
        Some(load::Error::Io(errs)) => errs.first().map_or(("", String::new()), |(path, _)| {
            (
                *path,
                "mappings cannot include or import modules".to_owned(),
            )
        }),
        None => ("", "the built-in prelude does not load".to_owned()),
    };
    compile_error(file, code, at, reason)
}

/// 1-based line and column (in characters) of `at`, a slice of `code` (the end if it is not).
pub(crate) fn position(code: &str, at: &str) -> (usize, usize) {
    let offset = (at.as_ptr() as usize)
        .checked_sub(code.as_ptr() as usize)
        .filter(|o| *o <= code.len())
        .unwrap_or(code.len());
    let before = code.get(..offset).unwrap_or(code);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// A compile error at the position of `at` (a slice of `code`; the end if it is not one).
fn compile_error(file: &Path, code: &str, at: &str, reason: String) -> MappingError {
    let (line, column) = position(code, at);
    MappingError::Compile {
        file: file.to_owned(),
        line,
        column,
        reason,
    }
}
