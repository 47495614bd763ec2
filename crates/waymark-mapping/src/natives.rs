//! Waymark's native helpers, registered with jaq next to its standard library. Documented for
//! mapping authors in the crate docs (`lib.rs`, "Helpers"). Every failure message is written
//! here, without the values involved.

use jaq_core::box_iter::box_once;
use jaq_core::native::{Fun, v};
use jaq_core::{Cv, Error, Exn, Native, ValXs};
use jaq_json::Val;
use uuid::Uuid;
use waymark_core::{NhsNumber, PncId};

use crate::jq::{RunData, V, Wm};

/// Namespace of `wm_uuid` ids.
const WM_UUID_NAMESPACE: Uuid = Uuid::from_u128(0x3b0e_5f52_7c1a_4d39_8e6b_2a94_d1c7_05f3);

/// The natives, by name and arity. `range` of the standard library is re-registered as
/// `wm_range` so that the prelude's `range/3` can count its outputs as steps.
pub(crate) fn waymark() -> Vec<Fun<Wm>> {
    let tick = Native::<Wm>::new(wm_tick)
        .with_paths(|cv| match cv.0.data().tick() {
            Ok(()) => box_once(Ok(cv.1)),
            Err(message) => box_once(Err(Exn::from(Error::new(Val::from(message))))),
        })
        .with_update(|cv, f| match cv.0.data().tick() {
            Ok(()) => f(cv.1),
            Err(message) => box_once(Err(Exn::from(Error::new(Val::from(message))))),
        });
    let mut natives = vec![
        ("wm_tick", v(0), tick),
        ("wm_raise", v(0), Native::<Wm>::new(wm_raise)),
        ("wm_compact", v(0), Native::<Wm>::new(wm_compact)),
        ("wm_uuid", v(1), Native::<Wm>::new(wm_uuid)),
        (
            "wm_prison_number",
            v(0),
            Native::<Wm>::new(wm_prison_number),
        ),
        ("wm_nhs_number", v(0), Native::<Wm>::new(wm_nhs_number)),
        ("wm_pnc", v(0), Native::<Wm>::new(wm_pnc)),
        ("wm_translate", v(1), Native::<Wm>::new(wm_translate)),
        ("wm_security", v(1), Native::<Wm>::new(wm_security_default)),
        ("wm_security", v(2), Native::<Wm>::new(wm_security)),
        ("fromjson", v(0), Native::<Wm>::new(fromjson)),
        ("join", v(1), Native::<Wm>::new(join)),
    ];
    natives.extend(crate::hl7_natives::natives());
    natives.extend(objects());
    natives
}

/// Replaces jaq's `join/1` (`.[] |= tostring | .[:-1][] += $s | reduce …`, about 10 µs for a
/// three-word string) with the same semantics in one pass: every element as by `tostring`,
/// separated by `$sep`; an object's values in order; nothing gives `""`.
fn join<'a>(mut cv: Cv<'a, Wm>) -> ValXs<'a, V<'a>> {
    let sep = cv.0.pop_var();
    let type_error = |what: &str| {
        let message = format!("cannot use {what} in join");
        box_once(Err(Exn::from(Error::new(Val::from(message)))))
    };
    let Some(sep) = text(&sep) else {
        return type_error("a separator that is not a string");
    };
    let items: Box<dyn Iterator<Item = &Val>> = match &cv.1 {
        Val::Arr(items) => Box::new(items.iter()),
        Val::Obj(map) => Box::new(map.values()),
        _ => {
            let message = "cannot iterate over a value that is not an array or object";
            return box_once(Err(Exn::from(Error::new(Val::from(message.to_owned())))));
        }
    };
    let mut out = String::new();
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push_str(sep);
        }
        match text(item) {
            Some(t) => out.push_str(t),
            None => out.push_str(&item.to_string()),
        }
    }
    ok(string(out))
}

/// `wm_obj/2n` for n = 2 ..= 32: see `instrument::optimise_objects`.
fn objects() -> Vec<Fun<Wm>> {
    macro_rules! sizes {
        ($($n:literal)*) => {
            vec![$((crate::instrument::OBJ, v(2 * $n), Native::<Wm>::new(wm_obj::<$n>)),)*]
        };
    }
    let natives = sizes!(2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28
                         29 30 31 32);
    debug_assert_eq!(natives.len(), crate::instrument::MAX_OBJ - 1);
    natives
}

/// `{k1: v1, …, kN: vN}` from `N` key/value argument pairs.
fn wm_obj<'a, const N: usize>(mut cv: Cv<'a, Wm>) -> ValXs<'a, V<'a>> {
    let mut popped: Vec<Val> = (0..2 * N).map(|_| cv.0.pop_var()).collect();
    popped.reverse();
    let mut map = jaq_json::Map::with_capacity_and_hasher(N, Default::default());
    let mut pairs = popped.into_iter();
    while let (Some(key), Some(value)) = (pairs.next(), pairs.next()) {
        if !matches!(key, Val::TStr(_)) {
            let message = "cannot use a value that is not a string as an object key";
            return box_once(Err(Exn::from(Error::new(Val::from(message.to_owned())))));
        }
        map.insert(key, value);
    }
    ok(Val::obj(map))
}

/// Replaces jaq's `fromjson` (whose parser has no nesting limit, so a deeply nested string in a
/// message could overflow the stack): parsed with serde_json, at most 128 levels deep.
fn fromjson<'a>(cv: Cv<'a, Wm>) -> ValXs<'a, V<'a>> {
    let Some(json) = text(&cv.1) else {
        let message = "cannot parse a value that is not a string as JSON";
        return box_once(Err(Exn::from(Error::new(Val::from(message.to_owned())))));
    };
    match serde_json::from_str::<serde_json::Value>(json) {
        Ok(value) => ok(crate::convert::to_val(&value)),
        Err(_) => {
            let message = "cannot parse the string as JSON (or it nests deeper than 128 levels)";
            box_once(Err(Exn::from(Error::new(Val::from(message.to_owned())))))
        }
    }
}

/// The text of a string value.
pub(crate) fn text(v: &Val) -> Option<&str> {
    match v {
        Val::TStr(bytes) => std::str::from_utf8(bytes).ok(),
        _ => None,
    }
}

pub(crate) fn string(s: impl Into<String>) -> Val {
    Val::from(s.into())
}

pub(crate) fn ok<'a>(v: Val) -> ValXs<'a, Val> {
    box_once(Ok(v))
}

/// Fails with a message the runner may report (written here, without values).
pub(crate) fn fail<'a>(data: &RunData<'_>, message: &str) -> ValXs<'a, Val> {
    *data.raised.borrow_mut() = Some(message.to_owned());
    box_once(Err(Exn::from(Error::new(Val::from(message.to_owned())))))
}

/// `wm_tick`: one step of the run's budget (inserted by the instrumentation); identity.
fn wm_tick<'a>(cv: Cv<'a, Wm>) -> ValXs<'a, V<'a>> {
    match cv.0.data().tick() {
        Ok(()) => ok(cv.1),
        Err(message) => box_once(Err(Exn::from(Error::new(Val::from(message))))),
    }
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
        Some(name) => ok(string(
            Uuid::new_v5(&WM_UUID_NAMESPACE, name.as_bytes()).to_string(),
        )),
        None => fail(
            cv.0.data(),
            "wm_uuid: parts must be a string or a non-empty array of strings and numbers",
        ),
    }
}

/// `wm_prison_number`: the input if it is a NOMIS prison number (`A1234BC`), else `null`.
fn wm_prison_number<'a>(cv: Cv<'a, Wm>) -> ValXs<'a, V<'a>> {
    let valid = text(&cv.1).is_some_and(crate::is_prison_number);
    ok(if valid { cv.1 } else { Val::Null })
}

/// The input as identifier text: a string, or an integral number's digits.
pub(crate) fn identifier_text(v: &Val) -> Option<String> {
    match v {
        Val::TStr(_) => text(v).map(str::to_owned),
        Val::Num(_) => Some(v.to_string()).filter(|s| s.bytes().all(|b| b.is_ascii_digit())),
        _ => None,
    }
}

/// `wm_nhs_number`: the 10 digits of a valid NHS number (spaces and dashes removed), else null.
fn wm_nhs_number<'a>(cv: Cv<'a, Wm>) -> ValXs<'a, V<'a>> {
    let normal = identifier_text(&cv.1).and_then(|s| {
        let digits: String = s.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        NhsNumber::parse(&digits).ok()
    });
    ok(normal.map_or(Val::Null, |n| string(n.expose())))
}

/// `wm_pnc`: a valid PNC ID as `YY/NNNNNNNA`, else null.
fn wm_pnc<'a>(cv: Cv<'a, Wm>) -> ValXs<'a, V<'a>> {
    let normal = text(&cv.1).and_then(|s| {
        let s: String = s.chars().filter(|c| *c != ' ').collect();
        // Without the slash: YYYYNNNNNNNA (12) or YYNNNNNNNA (10).
        let s = match (s.contains('/'), s.len()) {
            (true, _) => s,
            (false, 12) => format!("{}/{}", s.get(..4)?, s.get(4..)?),
            (false, 10) => format!("{}/{}", s.get(..2)?, s.get(2..)?),
            _ => return None,
        };
        PncId::parse(&s).ok()
    });
    ok(normal.map_or(Val::Null, |p| string(p.expose())))
}

/// `wm_translate(map)`: the target code for the input code in ConceptMap `map` (id or url).
fn wm_translate<'a>(mut cv: Cv<'a, Wm>) -> ValXs<'a, V<'a>> {
    let map = cv.0.pop_var();
    let data = *cv.0.data();
    let (Some(map), Some(code)) = (text(&map), text(&cv.1)) else {
        if matches!(cv.1, Val::Null) {
            return ok(Val::Null);
        }
        return fail(
            data,
            "wm_translate: the map id and the code must be strings",
        );
    };
    match data.maps.translate(map, code) {
        Ok(target) => ok(target.map_or(Val::Null, string)),
        Err(()) => fail(
            data,
            "wm_translate: no ConceptMap with that id or url is loaded",
        ),
    }
}

fn security<'a>(data: &RunData<'_>, class: &Val, level: Option<&Val>) -> ValXs<'a, Val> {
    let Some(class) = text(class) else {
        return fail(data, "wm_security: the data class must be a string");
    };
    let level = match level.map(text) {
        None => None,
        Some(Some(level)) => Some(level),
        Some(None) => return fail(data, "wm_security: the confidentiality must be a string"),
    };
    match data.labels.security(class, level) {
        Ok(labels) => ok(labels),
        Err(reason) => fail(data, &format!("wm_security: {reason}")),
    }
}

/// `wm_security(class)`: labels with the class's default confidentiality from labels.json.
fn wm_security_default<'a>(mut cv: Cv<'a, Wm>) -> ValXs<'a, V<'a>> {
    let class = cv.0.pop_var();
    security(cv.0.data(), &class, None)
}

/// `wm_security(class; confidentiality)`.
fn wm_security<'a>(mut cv: Cv<'a, Wm>) -> ValXs<'a, V<'a>> {
    let level = cv.0.pop_var();
    let class = cv.0.pop_var();
    security(cv.0.data(), &class, Some(&level))
}

/// `wm_compact`: drops `null`, `""`, `[]` and `{}` at every depth (FHIR forbids empty values),
/// including containers that become empty. Native: the jq version (`walk` + `with_entries`) cost
/// about 90% of a NOMIS mapping run. Containers with nothing to drop are kept, not rebuilt.
fn wm_compact<'a>(cv: Cv<'a, Wm>) -> ValXs<'a, V<'a>> {
    match compact(&cv.1, 0) {
        Ok(Change::Keep) => ok(cv.1),
        Ok(Change::Drop) => ok(Val::Null),
        Ok(Change::Replace(v)) => ok(v),
        Err(()) => fail(
            cv.0.data(),
            "wm_compact: the value nests deeper than 128 levels",
        ),
    }
}

/// What compaction does to one value.
enum Change {
    Keep,
    Drop,
    Replace(Val),
}

fn compact(value: &Val, depth: usize) -> Result<Change, ()> {
    if depth > crate::MAX_DEPTH {
        return Err(());
    }
    Ok(match value {
        Val::Null => Change::Drop,
        Val::TStr(s) if s.is_empty() => Change::Drop,
        Val::Arr(items) => {
            let changes: Vec<Change> = items
                .iter()
                .map(|v| compact(v, depth + 1))
                .collect::<Result<_, _>>()?;
            if changes.iter().all(|c| matches!(c, Change::Keep)) {
                return Ok(if items.is_empty() {
                    Change::Drop
                } else {
                    Change::Keep
                });
            }
            let kept: Vec<Val> = items
                .iter()
                .zip(changes)
                .filter_map(|(v, c)| match c {
                    Change::Keep => Some(v.clone()),
                    Change::Drop => None,
                    Change::Replace(v) => Some(v),
                })
                .collect();
            if kept.is_empty() {
                Change::Drop
            } else {
                Change::Replace(kept.into_iter().collect())
            }
        }
        Val::Obj(map) => {
            let changes: Vec<Change> = map
                .values()
                .map(|v| compact(v, depth + 1))
                .collect::<Result<_, _>>()?;
            if changes.iter().all(|c| matches!(c, Change::Keep)) {
                return Ok(if map.is_empty() {
                    Change::Drop
                } else {
                    Change::Keep
                });
            }
            let mut kept = jaq_json::Map::default();
            for ((k, v), c) in map.iter().zip(changes) {
                match c {
                    Change::Keep => {
                        kept.insert(k.clone(), v.clone());
                    }
                    Change::Drop => {}
                    Change::Replace(v) => {
                        kept.insert(k.clone(), v);
                    }
                }
            }
            if kept.is_empty() {
                Change::Drop
            } else {
                Change::Replace(Val::obj(kept))
            }
        }
        _ => Change::Keep,
    })
}
