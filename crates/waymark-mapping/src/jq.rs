//! The jq engine: jaq with the standard library minus everything impure, plus Waymark's
//! prelude (`prelude.jq`) and native helpers.
//!
//! Removed so mappings stay pure (a mapping that uses them does not compile): `now`, `env`,
//! `localtime`, `strflocaltime` (clock, environment, machine time zone), `debug`, `stderr`,
//! `halt`, `halt_error` (output and process control). `include`/`import` are not available
//! (no module loader), so a mapping reads no files.

use std::cell::RefCell;
use std::path::Path;

use jaq_core::box_iter::box_once;
use jaq_core::data::{DataT, HasLut};
use jaq_core::load::parse::Def;
use jaq_core::load::{self, Arena, File, Loader};
use jaq_core::native::{Fun, v};
use jaq_core::{Ctx, Cv, Error, Exn, Native, ValXs, Vars};
use jaq_json::Val;
use uuid::Uuid;

use crate::MappingError;
use crate::terminology::ConceptMaps;

/// Namespace of `wm_uuid` ids.
const WM_UUID_NAMESPACE: Uuid = Uuid::from_u128(0x3b0e_5f52_7c1a_4d39_8e6b_2a94_d1c7_05f3);

const PRELUDE: &str = include_str!("prelude.jq");
const REMOVED_DEFS: &[&str] = &["stderr", "debug", "halt", "halt_error"];
const REMOVED_FUNS: &[&str] = &[
    "env",
    "now",
    "halt",
    "localtime",
    "strflocaltime",
    "stderr_empty",
    "debug_empty",
];

/// The data kind of Waymark programs: jaq JSON values, with the loaded ConceptMaps and per-run
/// state reachable from natives.
pub(crate) struct Wm;

impl DataT for Wm {
    type V<'a> = Val;
    type Data<'a> = &'a RunData<'a>;
}

/// The value type as natives must spell it (the unnormalised projection), so `fn` items
/// coerce to jaq's higher-ranked function pointers.
type V<'a> = <Wm as DataT>::V<'a>;

/// What natives can see during one run.
pub(crate) struct RunData<'a> {
    lut: &'a jaq_core::Lut<Wm>,
    maps: &'a ConceptMaps,
    /// The last text passed to `error(...)` (or a helper's own failure message).
    raised: RefCell<Option<String>>,
}

impl<'a> HasLut<'a, Wm> for &'a RunData<'a> {
    fn lut(&self) -> &'a jaq_core::Lut<Wm> {
        self.lut
    }
}

/// A compiled mapping program.
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
}

impl Program {
    /// Parses and compiles `code` (read from `file`, named in errors).
    pub(crate) fn compile(file: &Path, code: &str) -> Result<Self, MappingError> {
        let arena = Arena::default();
        let loader = Loader::new(prelude(file)?);
        let modules = loader
            .load(&arena, File { code, path: () })
            .map_err(|errs| load_error(file, code, &errs))?;
        let filter = jaq_core::Compiler::default()
            .with_funs(funs())
            .compile(modules)
            .map_err(|errs| {
                let (at, reason) = errs
                    .iter()
                    .flat_map(|(_, errs)| errs.iter())
                    .map(|(name, undefined)| {
                        let what = match undefined {
                            jaq_core::compile::Undefined::Filter(arity) => {
                                format!("undefined filter `{name}/{arity}`")
                            }
                            other => format!("undefined {} `{name}`", other.as_str()),
                        };
                        (*name, what)
                    })
                    .next()
                    .unwrap_or(("", "the program does not compile".to_owned()));
                compile_error(file, code, at, reason)
            })?;
        Ok(Self { filter })
    }

    /// Runs the program on `input`; exactly one output value is expected.
    pub(crate) fn run(&self, input: Val, maps: &ConceptMaps) -> Result<Val, RunError> {
        let data = RunData {
            lut: &self.filter.lut,
            maps,
            raised: RefCell::new(None),
        };
        let ctx = Ctx::<Wm>::new(&data, Vars::new([]));
        let mut outputs = self.filter.id.run((ctx, input));
        let first = match outputs.next() {
            None => return Err(RunError::NoOutput),
            Some(Err(exn)) => return Err(describe(exn, &data)),
            Some(Ok(first)) => first,
        };
        match outputs.next() {
            None => Ok(first),
            Some(Ok(_)) => Err(RunError::ManyOutputs),
            Some(Err(exn)) => Err(describe(exn, &data)),
        }
    }
}

fn prelude(file: &Path) -> Result<Vec<Def<&'static str>>, MappingError> {
    let ours = load::parse(PRELUDE, |p| p.defs()).ok_or_else(|| MappingError::Load {
        path: file.to_owned(),
        reason: "the built-in Waymark prelude does not parse".into(),
    })?;
    Ok(jaq_core::defs()
        .chain(jaq_std::defs())
        .chain(jaq_json::defs())
        .filter(|def| !REMOVED_DEFS.contains(&def.name))
        .chain(ours)
        .collect())
}

fn funs() -> impl Iterator<Item = Fun<Wm>> {
    let waymark: [Fun<Wm>; 5] = [
        ("wm_raise", v(0), Native::<Wm>::new(wm_raise)),
        ("wm_compact", v(0), Native::<Wm>::new(wm_compact)),
        ("wm_uuid", v(1), Native::<Wm>::new(wm_uuid)),
        (
            "wm_prison_number",
            v(0),
            Native::<Wm>::new(wm_prison_number),
        ),
        ("wm_translate", v(1), Native::<Wm>::new(wm_translate)),
    ];
    jaq_core::funs()
        .chain(jaq_std::funs())
        .chain(jaq_json::funs())
        .filter(|(name, _, _)| !REMOVED_FUNS.contains(name))
        .chain(waymark)
}

/// The text of a string value.
fn text(v: &Val) -> Option<&str> {
    match v {
        Val::TStr(bytes) => std::str::from_utf8(bytes).ok(),
        _ => None,
    }
}

/// Fails with a message the runner may report (written here, without values).
fn fail<'a>(data: &RunData<'_>, message: &str) -> ValXs<'a, Val> {
    *data.raised.borrow_mut() = Some(message.to_owned());
    box_once(Err(Exn::from(Error::new(Val::from(message.to_owned())))))
}

/// `error` of the prelude: remembers the text, then raises it.
fn wm_raise<'a>(cv: Cv<'a, Wm>) -> ValXs<'a, V<'a>> {
    *cv.0.data().raised.borrow_mut() = text(&cv.1).map(str::to_owned);
    box_once(Err(Exn::from(Error::new(cv.1))))
}

/// `wm_uuid(parts)`: uuid v5 of a string, or of an array of strings and numbers.
fn wm_uuid<'a>(mut cv: Cv<'a, Wm>) -> ValXs<'a, V<'a>> {
    let parts = cv.0.pop_var();
    let name = match &parts {
        Val::TStr(_) => text(&parts).map(str::to_owned),
        Val::Arr(items) => items
            .iter()
            .map(|item| match item {
                Val::TStr(_) => text(item).map(str::to_owned),
                Val::Num(_) => Some(item.to_string()),
                _ => None,
            })
            .collect::<Option<Vec<_>>>()
            .filter(|parts| !parts.is_empty())
            .map(|parts| parts.join("\u{1f}")),
        _ => None,
    };
    match name {
        Some(name) => {
            let id = Uuid::new_v5(&WM_UUID_NAMESPACE, name.as_bytes());
            box_once(Ok(Val::from(id.to_string())))
        }
        None => fail(
            cv.0.data(),
            "wm_uuid: parts must be a string or a non-empty array of strings and numbers",
        ),
    }
}

/// `wm_prison_number`: the input if it is a NOMIS prison number (`A1234BC`), else `null`.
fn wm_prison_number<'a>(cv: Cv<'a, Wm>) -> ValXs<'a, V<'a>> {
    let valid = text(&cv.1).is_some_and(crate::is_prison_number);
    box_once(Ok(if valid { cv.1 } else { Val::Null }))
}

/// `wm_translate(map)`: the target code for the input code in ConceptMap `map` (id or url).
fn wm_translate<'a>(mut cv: Cv<'a, Wm>) -> ValXs<'a, V<'a>> {
    let map = cv.0.pop_var();
    let data = *cv.0.data();
    let (Some(map), Some(code)) = (text(&map), text(&cv.1)) else {
        if matches!(cv.1, Val::Null) {
            return box_once(Ok(Val::Null));
        }
        return fail(
            data,
            "wm_translate: the map id and the code must be strings",
        );
    };
    match data.maps.translate(map, code) {
        Ok(target) => box_once(Ok(target.map_or(Val::Null, |t| Val::from(t.to_owned())))),
        Err(()) => fail(
            data,
            "wm_translate: no ConceptMap with that id or url is loaded",
        ),
    }
}

/// `wm_compact`: drops `null`, `""`, `[]` and `{}` at every depth (FHIR forbids empty values),
/// including containers that become empty. Native: the jq version (`walk` + `with_entries`) cost
/// about 90% of a NOMIS mapping run.
fn wm_compact<'a>(cv: Cv<'a, Wm>) -> ValXs<'a, V<'a>> {
    match compact(cv.1, 0) {
        Ok(v) => box_once(Ok(v.unwrap_or(Val::Null))),
        Err(()) => fail(
            cv.0.data(),
            "wm_compact: the value nests deeper than 128 levels",
        ),
    }
}

fn compact(value: Val, depth: usize) -> Result<Option<Val>, ()> {
    if depth > crate::MAX_DEPTH {
        return Err(());
    }
    Ok(match value {
        Val::Null => None,
        Val::TStr(ref s) if s.is_empty() => None,
        Val::Arr(items) => {
            let kept = items.iter().cloned().map(|v| compact(v, depth + 1));
            let kept: Vec<Val> = kept
                .filter_map(Result::transpose)
                .collect::<Result<_, _>>()?;
            (!kept.is_empty()).then(|| kept.into_iter().collect())
        }
        Val::Obj(map) => {
            let mut kept = jaq_json::Map::default();
            for (k, v) in map.iter() {
                if let Some(v) = compact(v.clone(), depth + 1)? {
                    kept.insert(k.clone(), v);
                }
            }
            (!kept.is_empty()).then(|| Val::obj(kept))
        }
        other => Some(other),
    })
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

/// A compile error at the position of `at` (a slice of `code`; the end if it is not one).
fn compile_error(file: &Path, code: &str, at: &str, reason: String) -> MappingError {
    let offset = (at.as_ptr() as usize)
        .checked_sub(code.as_ptr() as usize)
        .filter(|o| *o <= code.len())
        .unwrap_or(code.len());
    let before = code.get(..offset).unwrap_or(code);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    MappingError::Compile {
        file: file.to_owned(),
        line,
        column,
        reason,
    }
}
