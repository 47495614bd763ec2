//! The `wm_hl7*` natives: HL7 v2 field access and dates over the tree described in [`crate::hl7`].
//! Failure messages are written here, without the values involved.

use jaq_core::native::{Fun, v};
use jaq_core::{Cv, Native, ValXs};
use jaq_json::Val;

use crate::hl7::{self, Hl7Path};
use crate::jq::{RunData, V, Wm};
use crate::natives::{fail, identifier_text, ok, string, text};

pub(crate) fn natives() -> Vec<Fun<Wm>> {
    vec![
        ("wm_hl7", v(1), Native::<Wm>::new(wm_hl7)),
        ("wm_hl7_count", v(1), Native::<Wm>::new(wm_hl7_count)),
        ("wm_hl7_segments", v(1), Native::<Wm>::new(wm_hl7_segments)),
        ("wm_hl7_date", v(0), Native::<Wm>::new(wm_hl7_date)),
        ("wm_hl7_date", v(1), Native::<Wm>::new(wm_hl7_date_offset)),
    ]
}

const HL7_SHAPE: &str =
    "the HL7 tree is not in the documented shape ({segments: [{name, fields}]})";

fn get<'v>(obj: &'v Val, key: &str) -> Option<&'v Val> {
    match obj {
        Val::Obj(map) => map.get(&string(key)),
        _ => None,
    }
}

/// Item `i` (0-based) of one level of the tree: an array's item, or a lone value at 0.
fn nth(v: &Val, i: usize) -> Result<Option<&Val>, &'static str> {
    match v {
        Val::Null => Ok(None),
        Val::Arr(items) => Ok(items.get(i)),
        Val::TStr(_) | Val::Num(_) => Ok((i == 0).then_some(v)),
        _ => Err(HL7_SHAPE),
    }
}

/// How many items one level holds (an empty string holds none).
fn count(v: &Val) -> Result<usize, &'static str> {
    match v {
        Val::Null => Ok(0),
        Val::Arr(items) => Ok(items.len()),
        Val::TStr(s) => Ok(usize::from(!s.is_empty())),
        Val::Num(_) => Ok(1),
        _ => Err(HL7_SHAPE),
    }
}

/// The segments named `name`: of a message (`{segments}`) or a lone segment (`{name, fields}`).
fn segments<'v>(input: &'v Val, name: &str) -> Result<Vec<&'v Val>, &'static str> {
    let is = |seg: &Val| get(seg, "name").and_then(text) == Some(name);
    if let Some(all) = get(input, "segments") {
        let Val::Arr(all) = all else {
            return Err(HL7_SHAPE);
        };
        return Ok(all.iter().filter(|s| is(s)).collect());
    }
    if get(input, "fields").is_some() {
        return Ok(if is(input) { vec![input] } else { Vec::new() });
    }
    Err(HL7_SHAPE)
}

/// The field value at `path` (the whole field: all its repetitions), if present.
fn field<'v>(input: &'v Val, path: &Hl7Path) -> Result<Option<&'v Val>, &'static str> {
    let segs = segments(input, &path.segment)?;
    let Some(segment) = segs.get(path.occurrence - 1) else {
        return Ok(None);
    };
    let Some(number) = path.field else {
        return Err("the path names no field (write e.g. `PID-3`)");
    };
    match get(segment, "fields") {
        Some(Val::Arr(fields)) => Ok(fields.get(number - 1)),
        _ => Err(HL7_SHAPE),
    }
}

fn hl7_value(input: &Val, path: &Hl7Path) -> Result<Val, &'static str> {
    let Some(f) = field(input, path)? else {
        return Ok(Val::Null);
    };
    let mut v = nth(f, path.repetition - 1)?;
    for index in [path.component, path.subcomponent] {
        v = match v {
            Some(v) => nth(v, index.unwrap_or(1) - 1)?,
            None => None,
        };
    }
    Ok(match v {
        Some(v @ Val::TStr(_)) if text(v).is_some_and(|t| !t.is_empty() && t != "\"\"") => {
            v.clone()
        }
        Some(v @ Val::Num(_)) => string(v.to_string()),
        Some(Val::TStr(_)) | None => Val::Null,
        Some(_) => return Err(HL7_SHAPE),
    })
}

fn hl7_path<'a>(data: &RunData<'_>, path: &Val, helper: &str) -> Result<Hl7Path, ValXs<'a, Val>> {
    text(path).and_then(Hl7Path::parse).ok_or_else(|| {
        fail(
            data,
            &format!("{helper}: the path is not of the form SEG[n]-F[r].C.S (e.g. `PID-3[2].1`)"),
        )
    })
}

/// `wm_hl7(path)`: the text at `path`, or null when absent or empty (HL7 `""` included).
fn wm_hl7<'a>(mut cv: Cv<'a, Wm>) -> ValXs<'a, V<'a>> {
    let path = cv.0.pop_var();
    let data = *cv.0.data();
    let path = match hl7_path(data, &path, "wm_hl7") {
        Ok(p) => p,
        Err(e) => return e,
    };
    match hl7_value(&cv.1, &path) {
        Ok(v) => ok(v),
        Err(reason) => fail(data, &format!("wm_hl7: {reason}")),
    }
}

/// `wm_hl7_count(path)`: segments named `SEG`, or repetitions of `SEG-F`.
fn wm_hl7_count<'a>(mut cv: Cv<'a, Wm>) -> ValXs<'a, V<'a>> {
    let path = cv.0.pop_var();
    let data = *cv.0.data();
    let path = match hl7_path(data, &path, "wm_hl7_count") {
        Ok(p) if p.component.is_none() => p,
        Ok(_) => {
            return fail(
                data,
                "wm_hl7_count: count segments (`OBX`) or repetitions (`PID-3`)",
            );
        }
        Err(e) => return e,
    };
    let n = if path.field.is_none() {
        segments(&cv.1, &path.segment).map(|s| s.len())
    } else {
        field(&cv.1, &path).and_then(|f| f.map_or(Ok(0), count))
    };
    match n {
        Ok(n) => ok(Val::from(n)),
        Err(reason) => fail(data, &format!("wm_hl7_count: {reason}")),
    }
}

/// `wm_hl7_segments(name)`: the segments named `name`, in order, as an array.
fn wm_hl7_segments<'a>(mut cv: Cv<'a, Wm>) -> ValXs<'a, V<'a>> {
    let name = cv.0.pop_var();
    let data = *cv.0.data();
    let Some(name) = text(&name).filter(|n| Hl7Path::parse(n).is_some_and(|p| p.field.is_none()))
    else {
        return fail(data, "wm_hl7_segments: give a segment name such as `OBX`");
    };
    match segments(&cv.1, name) {
        Ok(found) => ok(found.into_iter().cloned().collect()),
        Err(reason) => fail(data, &format!("wm_hl7_segments: {reason}")),
    }
}

fn hl7_date<'a>(data: &RunData<'_>, input: &Val, offset: Option<&Val>) -> ValXs<'a, Val> {
    let offset = match offset.map(text) {
        None => None,
        Some(Some(o)) => Some(o),
        Some(None) => {
            return fail(
                data,
                "wm_hl7_date: the offset must be a string such as `+01:00`",
            );
        }
    };
    match input {
        Val::Null => ok(Val::Null),
        _ => {
            let iso = identifier_text(input).and_then(|t| hl7::hl7_to_iso(&t, offset));
            ok(iso.map_or(Val::Null, string))
        }
    }
}

/// `wm_hl7_date`: an HL7 date/time as ISO 8601 (null when invalid).
fn wm_hl7_date<'a>(cv: Cv<'a, Wm>) -> ValXs<'a, V<'a>> {
    hl7_date(cv.0.data(), &cv.1, None)
}

/// `wm_hl7_date(offset)`: the same, with `offset` for times that carry none.
fn wm_hl7_date_offset<'a>(mut cv: Cv<'a, Wm>) -> ValXs<'a, V<'a>> {
    let offset = cv.0.pop_var();
    hl7_date(cv.0.data(), &cv.1, Some(&offset))
}
