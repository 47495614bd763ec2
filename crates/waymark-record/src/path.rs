//! Dotted paths into FHIR JSON, as topics name them: `status`, `class.code`,
//! `location[status=active].location.identifier.value`,
//! `extension[url=https://…/expected-release-date].valueDate`.

use std::collections::BTreeSet;

use serde_json::Value;

/// One step of a path: a property, optionally keeping only the array items whose `key` is `value`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Step {
    name: String,
    filter: Option<(String, String)>,
}

/// A parsed path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Path(Vec<Step>);

impl Path {
    /// Parses `a.b[key=value].c`; dots inside brackets belong to the filter value. `None` for an
    /// empty path, an empty step or an unclosed bracket.
    pub(crate) fn parse(text: &str) -> Option<Self> {
        let mut steps = Vec::new();
        let mut rest = text;
        while !rest.is_empty() {
            let (step, after) = split_step(rest)?;
            steps.push(step);
            rest = after;
        }
        (!steps.is_empty()).then_some(Self(steps))
    }

    /// Every scalar value at the path, as text (arrays are walked through), sorted, deduplicated.
    pub(crate) fn values(&self, value: &Value) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        collect(value, &self.0, &mut out);
        out
    }
}

fn split_step(text: &str) -> Option<(Step, &str)> {
    let name_end = text.find(['.', '[']).unwrap_or(text.len());
    let name = &text[..name_end];
    if name.is_empty() {
        return None;
    }
    let mut rest = &text[name_end..];
    let mut filter = None;
    if let Some(inner) = rest.strip_prefix('[') {
        let close = inner.find(']')?;
        let (key, value) = inner[..close].split_once('=')?;
        filter = Some((key.to_owned(), value.to_owned()));
        rest = &inner[close + 1..];
    }
    let rest = match rest.strip_prefix('.') {
        Some("") => return None,
        Some(after) => after,
        None if rest.is_empty() => rest,
        None => return None,
    };
    let step = Step {
        name: name.to_owned(),
        filter,
    };
    Some((step, rest))
}

fn collect(value: &Value, steps: &[Step], out: &mut BTreeSet<String>) {
    if let Value::Array(items) = value {
        items.iter().for_each(|v| collect(v, steps, out));
        return;
    }
    let Some((step, rest)) = steps.split_first() else {
        let text = match value {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            _ => return,
        };
        out.insert(text);
        return;
    };
    let Some(next) = value.get(&step.name) else {
        return;
    };
    match (&step.filter, next) {
        (Some((key, want)), Value::Array(items)) => items
            .iter()
            .filter(|item| item[key.as_str()].as_str() == Some(want.as_str()))
            .for_each(|item| collect(item, rest, out)),
        (Some((key, want)), item) if item[key.as_str()].as_str() == Some(want.as_str()) => {
            collect(item, rest, out);
        }
        (Some(_), _) => {}
        (None, next) => collect(next, rest, out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn values(path: &str, value: &Value) -> Vec<String> {
        Path::parse(path)
            .unwrap()
            .values(value)
            .into_iter()
            .collect()
    }

    #[test]
    fn walks_arrays_and_filters() {
        let enc = json!({"status": "in-progress", "location": [
            {"status": "active", "location": {"identifier": {"value": "HMI"}}},
            {"status": "completed", "location": {"identifier": {"value": "LEI"}}}],
            "extension": [{"url": "https://x.org/a.b/expected-release-date", "valueDate": "2025-11-30"}]});
        assert_eq!(values("status", &enc), ["in-progress"]);
        assert_eq!(
            values("location.location.identifier.value", &enc),
            ["HMI", "LEI"]
        );
        assert_eq!(
            values("location[status=active].location.identifier.value", &enc),
            ["HMI"]
        );
        assert_eq!(
            values(
                "extension[url=https://x.org/a.b/expected-release-date].valueDate",
                &enc
            ),
            ["2025-11-30"]
        );
        assert!(values("nothing.here", &enc).is_empty());
        assert!(values("status.deeper", &json!({"status": 3})).is_empty());
    }

    #[test]
    fn refuses_malformed_paths() {
        for bad in [
            "", ".a", "a.", "a..b", "a[b=c", "a[bc].d", "a[b=c]d", "[b=c]",
        ] {
            assert!(Path::parse(bad).is_none(), "{bad}");
        }
    }
}
