//! Between `serde_json::Value` (the hub's JSON) and jaq's `Val`.
//!
//! Output conversion is bounded: at most [`MAX_OUTPUT_BYTES`] (approximate serialised size) and
//! [`MAX_DEPTH`] levels of nesting, so a runaway program cannot make the runner build an
//! unbounded `Value` or recurse without limit.

use jaq_json::{Num, Val};
use serde_json::{Map, Number, Value};

/// Largest output the runner converts (about the serialised size).
pub const MAX_OUTPUT_BYTES: usize = 4 << 20;
/// Deepest nesting the runner accepts in input or output.
pub const MAX_DEPTH: usize = 128;

/// Converts hub JSON to a jaq value (depth must already be checked with [`depth_exceeds`]).
pub(crate) fn to_val(value: &Value) -> Val {
    match value {
        Value::Null => Val::Null,
        Value::Bool(b) => Val::Bool(*b),
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => Val::Num(Num::from_integral(i)),
            (None, Some(u)) => Val::Num(Num::from_integral(u)),
            _ => Val::from(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => Val::from(s.clone()),
        Value::Array(items) => items.iter().map(to_val).collect(),
        Value::Object(map) => Val::obj(
            map.iter()
                .map(|(k, v)| (Val::from(k.clone()), to_val(v)))
                .collect(),
        ),
    }
}

/// What is wrong with an input value's size.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Oversize {
    /// It nests deeper than the depth limit.
    Depth,
    /// Its approximate serialised size is over the byte limit (the size counted so far).
    Bytes(usize),
}

/// Checks `value` against a depth and an approximate serialised-size limit, iteratively (so any
/// depth is safe to ask about) and stopping at the first excess.
pub(crate) fn measure(value: &Value, max_depth: usize, max_bytes: usize) -> Result<(), Oversize> {
    let mut stack = vec![(value, 0usize)];
    let mut bytes = 0usize;
    while let Some((value, depth)) = stack.pop() {
        bytes += match value {
            Value::Null => 4,
            Value::Bool(_) => 5,
            Value::Number(_) => 8,
            Value::String(s) => s.len() + 2,
            Value::Array(items) => 2 + items.len(),
            Value::Object(map) => 2 + map.keys().map(|k| k.len() + 4).sum::<usize>(),
        };
        if bytes > max_bytes {
            return Err(Oversize::Bytes(bytes));
        }
        let children: Box<dyn Iterator<Item = &Value>> = match value {
            Value::Array(items) => Box::new(items.iter()),
            Value::Object(map) => Box::new(map.values()),
            _ => continue,
        };
        if depth + 1 > max_depth {
            return Err(Oversize::Depth);
        }
        stack.extend(children.map(|c| (c, depth + 1)));
    }
    Ok(())
}

/// Converts a program's output to hub JSON within the size and depth bounds. Errors say what
/// is wrong, never what the value is.
pub(crate) fn from_val(value: &Val) -> Result<Value, &'static str> {
    let mut budget = MAX_OUTPUT_BYTES;
    convert(value, &mut budget, 0)
}

fn spend(budget: &mut usize, bytes: usize) -> Result<(), &'static str> {
    *budget = budget
        .checked_sub(bytes)
        .ok_or("the output is larger than 4 MiB")?;
    Ok(())
}

fn convert(value: &Val, budget: &mut usize, depth: usize) -> Result<Value, &'static str> {
    if depth > MAX_DEPTH {
        return Err("the output nests deeper than 128 levels");
    }
    Ok(match value {
        Val::Null => {
            spend(budget, 4)?;
            Value::Null
        }
        Val::Bool(b) => {
            spend(budget, 5)?;
            Value::Bool(*b)
        }
        Val::Num(n) => {
            spend(budget, 8)?;
            Value::Number(number(n)?)
        }
        Val::TStr(bytes) => {
            spend(budget, bytes.len() + 2)?;
            Value::String(String::from_utf8_lossy(bytes).into_owned())
        }
        Val::BStr(_) => return Err("the output contains binary data, which JSON cannot hold"),
        Val::Arr(items) => {
            spend(budget, 2)?;
            let items = items.iter().map(|v| {
                spend(budget, 1)?;
                convert(v, budget, depth + 1)
            });
            Value::Array(items.collect::<Result<_, _>>()?)
        }
        Val::Obj(map) => {
            spend(budget, 2)?;
            let mut out = Map::new();
            for (k, v) in map.iter() {
                let Val::TStr(key) = k else {
                    return Err("the output has an object key that is not text");
                };
                spend(budget, key.len() + 4)?;
                out.insert(
                    String::from_utf8_lossy(key).into_owned(),
                    convert(v, budget, depth + 1)?,
                );
            }
            Value::Object(out)
        }
    })
}

fn number(n: &Num) -> Result<Number, &'static str> {
    let not_finite = "the output contains a number that is not finite";
    match n {
        Num::Int(i) => Ok(Number::from(i64::try_from(*i).map_err(|_| not_finite)?)),
        Num::Float(f) => Number::from_f64(*f).ok_or(not_finite),
        Num::BigInt(b) => b.to_string().parse().map_err(|_| not_finite),
        Num::Dec(d) => d.parse().map_err(|_| not_finite),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trips() {
        let v =
            json!({"a": [1, -2, 2.5, "x", null, true, {"b": {}}], "big": 18446744073709551615u64});
        assert_eq!(from_val(&to_val(&v)).unwrap(), v);
    }

    #[test]
    fn bounds_depth_and_size() {
        let mut deep = json!(0);
        for _ in 0..200 {
            deep = Value::Array(vec![deep]);
        }
        assert_eq!(measure(&deep, MAX_DEPTH, usize::MAX), Err(Oversize::Depth));
        assert_eq!(measure(&json!([[1]]), 2, usize::MAX), Ok(()));
        assert_eq!(
            measure(&json!([[[1]]]), 2, usize::MAX),
            Err(Oversize::Depth)
        );
        assert_eq!(measure(&json!(["abc"]), 9, 8), Ok(()));
        assert_eq!(measure(&json!(["abcd"]), 9, 8), Err(Oversize::Bytes(9)));
        assert!(from_val(&to_val(&deep)).is_err());
        let big = Value::String("x".repeat(MAX_OUTPUT_BYTES));
        assert_eq!(
            from_val(&to_val(&big)),
            Err("the output is larger than 4 MiB")
        );
        assert!(from_val(&Val::from(f64::NAN)).is_err());
    }
}
