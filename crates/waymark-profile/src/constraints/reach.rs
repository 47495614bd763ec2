//! Walking an element path (the steps of a differential element) through a resource.

use serde_json::Value;

use crate::package::Step;
use crate::path::{Path, Seg};

/// The values an element path reaches from `value`, each with its location.
pub(super) fn reach<'v>(
    value: &'v Value,
    steps: &'v [Step],
    at: Path<'v>,
    out: &mut Vec<(Path<'v>, &'v Value)>,
) {
    let Some((step, rest)) = steps.split_first() else {
        out.push((at, value));
        return;
    };
    for (key, child) in children(value, step) {
        match child {
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    if matches_step(step, item) {
                        reach(item, rest, at.with(Seg::Key(key)).with(Seg::Index(i)), out);
                    }
                }
            }
            item => reach(item, rest, at.with(Seg::Key(key)), out),
        }
    }
}

fn children<'v>(value: &'v Value, step: &Step) -> Vec<(&'v str, &'v Value)> {
    let Some(map) = value.as_object() else {
        return Vec::new();
    };
    match step {
        Step::Name(name) => map
            .get_key_value(name.as_str())
            .map(|(k, v)| (k.as_str(), v))
            .into_iter()
            .collect(),
        Step::Extension(_) => map
            .get_key_value("extension")
            .map(|(k, v)| (k.as_str(), v))
            .into_iter()
            .collect(),
        Step::Choice(prefix) => map
            .iter()
            .filter(|(k, _)| {
                k.strip_prefix(prefix.as_str())
                    .is_some_and(|s| s.starts_with(|c: char| c.is_ascii_uppercase()))
            })
            .map(|(k, v)| (k.as_str(), v))
            .collect(),
    }
}

fn matches_step(step: &Step, item: &Value) -> bool {
    match step {
        Step::Extension(url) => item["url"] == url.as_str(),
        _ => true,
    }
}

/// How many values the last step reaches below one parent.
pub(super) fn count(value: &Value, step: &Step) -> usize {
    children(value, step)
        .into_iter()
        .map(|(_, v)| match v {
            Value::Array(items) => items.iter().filter(|i| matches_step(step, i)).count(),
            _ => 1,
        })
        .sum()
}

pub(super) fn step_name(step: &Step) -> &str {
    match step {
        Step::Name(n) | Step::Choice(n) => n,
        Step::Extension(_) => "extension",
    }
}
