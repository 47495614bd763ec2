//! `trace`: which input fields each output field of a mapping came from, found by probing.
//!
//! The mapping runs once on the input as given, then once per input leaf with only that leaf
//! replaced by a **probe**: a value of the same shape (letters stay letters of the same case,
//! digits stay digits, so a prison number stays a valid prison number; integers are shifted by a
//! large constant; booleans are flipped; envelope times move by days). An output leaf that
//! **contains** the probe (and did not before) was *copied* from that input leaf (`<-`); one that
//! changed without containing it was *derived* from it (`<~`: an id computed from it, a code
//! looked up with it, a branch it decided). JSON held in a string (the NOMIS `Message`) is probed
//! inside: its paths read `message.Message(json).eventType`.
//!
//! Limits, by construction: a leaf whose probe makes the mapping fail (e.g. a date that must
//! parse) is listed as unprobed; a leaf used only in a comparison the probe does not change is
//! invisible; a probe of one or two characters may be found by chance inside unrelated text.

use serde_json::{Map, Value, json};

use crate::{MappingError, MappingInput, MappingSet};

/// One step of a path into the input.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Key(String),
    Index(usize),
    /// Into the JSON document held by a string.
    Json,
}

/// Where each output leaf came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Derivation {
    /// The output leaf, e.g. `Bundle.entry[0].resource.name[0].family`.
    pub output: String,
    /// Input leaves whose value it contains.
    pub copied_from: Vec<String>,
    /// Input leaves that change it without being contained in it.
    pub derived_from: Vec<String>,
}

/// The result of a trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trace {
    /// One entry per output leaf, in output order.
    pub outputs: Vec<Derivation>,
    /// Input leaves whose probe made the mapping fail (they are checked or parsed by it).
    pub unprobed: Vec<String>,
    /// How many input leaves were probed.
    pub probed: usize,
}

/// Traces `input` through its mapping in `set`.
pub fn trace(set: &MappingSet, input: &MappingInput) -> Result<Trace, MappingError> {
    let doc = input.to_json();
    let baseline = leaves(&set.map_input(input)?);
    let mut outputs: Vec<Derivation> = baseline
        .iter()
        .map(|(path, _)| Derivation {
            output: path.clone(),
            copied_from: Vec::new(),
            derived_from: Vec::new(),
        })
        .collect();
    let mut unprobed = Vec::new();
    let mut inputs = Vec::new();
    input_leaves(&doc, &mut Vec::new(), &mut inputs);
    let mut probed = 0;
    for (n, (path, value)) in inputs.iter().enumerate() {
        let Some((probe, marker)) = probe_for(path, value, n + 1) else {
            continue;
        };
        probed += 1;
        let mut changed = doc.clone();
        let name = display(path);
        let result = set_at(&mut changed, path, probe)
            .and_then(|()| serde_json::from_value::<MappingInput>(changed).ok())
            .map(|probed_input| set.map_input(&probed_input));
        let Some(Ok(output)) = result else {
            unprobed.push(name);
            continue;
        };
        let after = leaves(&output);
        for (slot, (out_path, before)) in outputs.iter_mut().zip(&baseline) {
            let now = after.iter().find(|(p, _)| p == out_path).map(|(_, v)| v);
            if now == Some(before) {
                continue;
            }
            let copied = marker
                .as_deref()
                .is_some_and(|m| now.is_some_and(|v| contains(v, m)) && !contains(before, m));
            if copied {
                slot.copied_from.push(name.clone());
            } else {
                slot.derived_from.push(name.clone());
            }
        }
    }
    Ok(Trace {
        outputs,
        unprobed,
        probed,
    })
}

fn contains(value: &Value, marker: &str) -> bool {
    match value {
        Value::String(s) => s.contains(marker),
        Value::Number(n) => n.to_string() == marker,
        _ => false,
    }
}

/// Every leaf of a bundle with its FHIRPath-style path (`Bundle.entry[0].resource.id`).
fn leaves(bundle: &Value) -> Vec<(String, Value)> {
    fn walk(v: &Value, path: String, out: &mut Vec<(String, Value)>) {
        match v {
            Value::Object(map) => map
                .iter()
                .for_each(|(k, v)| walk(v, format!("{path}.{k}"), out)),
            Value::Array(items) => items
                .iter()
                .enumerate()
                .for_each(|(i, v)| walk(v, format!("{path}[{i}]"), out)),
            leaf => out.push((path, leaf.clone())),
        }
    }
    let mut out = Vec::new();
    walk(bundle, "Bundle".into(), &mut out);
    out
}

/// The input's leaves worth probing, descending into JSON held in strings. The envelope's
/// source and message type are skipped: they select the mapping.
fn input_leaves(v: &Value, path: &mut Vec<Step>, out: &mut Vec<(Vec<Step>, Value)>) {
    let skip = |p: &[Step]| {
        matches!(p, [Step::Key(a), Step::Key(b)]
            if a == "envelope" && (b == "source" || b == "messageType"))
    };
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                path.push(Step::Key(k.clone()));
                if !skip(path) {
                    input_leaves(v, path, out);
                }
                path.pop();
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                path.push(Step::Index(i));
                input_leaves(v, path, out);
                path.pop();
            }
        }
        Value::String(s) => match serde_json::from_str::<Value>(s) {
            Ok(inner @ (Value::Object(_) | Value::Array(_))) => {
                path.push(Step::Json);
                input_leaves(&inner, path, out);
                path.pop();
            }
            _ => out.push((path.clone(), v.clone())),
        },
        Value::Null => {}
        leaf => out.push((path.clone(), leaf.clone())),
    }
}

/// `message.Message(json).eventType`.
fn display(path: &[Step]) -> String {
    let mut s = String::new();
    for step in path {
        match step {
            Step::Key(k) if k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(k);
            }
            Step::Key(k) => s.push_str(&format!(".{}", Value::String(k.clone()))),
            Step::Index(i) => s.push_str(&format!("[{i}]")),
            Step::Json => s.push_str("(json)"),
        }
    }
    s
}

/// The probe for leaf number `n` and the text that marks it in the output (none when a change
/// can only be seen, not found: booleans).
fn probe_for(path: &[Step], value: &Value, n: usize) -> Option<(Value, Option<String>)> {
    let envelope_time = matches!(path, [Step::Key(a), Step::Key(b)]
        if a == "envelope" && (b == "eventTime" || b == "receivedAt"));
    match value {
        Value::String(s) if envelope_time => {
            let t = chrono::DateTime::parse_from_rfc3339(s).ok()?;
            let days = i64::try_from(n).ok()?;
            let moved = t.to_utc() + chrono::Duration::days(days) + chrono::Duration::seconds(1);
            let text = moved.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
            Some((Value::String(text.clone()), Some(text)))
        }
        Value::String(s) => {
            let probe = reshape(s, n);
            (probe != *s).then(|| (Value::String(probe.clone()), Some(probe)))
        }
        Value::Number(x) => {
            if let Some(i) = x.as_i64() {
                let probe = i.checked_add(7_000_000_000 + i64::try_from(n).ok()? * 1_000)?;
                Some((json!(probe), Some(probe.to_string())))
            } else {
                let probe = x.as_f64()? + 1_000.5;
                Some((json!(probe), None))
            }
        }
        Value::Bool(b) => Some((Value::Bool(!b), None)),
        _ => None,
    }
}

/// `s` with letters and digits rotated (by amounts depending on `n`), case and punctuation kept.
fn reshape(s: &str, n: usize) -> String {
    let letter_shift = u8::try_from(1 + (n * 7) % 25).unwrap_or(1);
    let digit_shift = u8::try_from(1 + (n * 3) % 9).unwrap_or(1);
    s.chars()
        .map(|c| {
            let rotate = |base: u8, span: u8, by: u8| {
                char::from(base + (u8::try_from(c).unwrap_or(base) - base + by) % span)
            };
            match c {
                'a'..='z' => rotate(b'a', 26, letter_shift),
                'A'..='Z' => rotate(b'A', 26, letter_shift),
                '0'..='9' => rotate(b'0', 10, digit_shift),
                other => other,
            }
        })
        .collect()
}

/// Sets the leaf at `path` (re-serialising JSON held in strings). `None` if the path is gone.
fn set_at(doc: &mut Value, path: &[Step], new: Value) -> Option<()> {
    let Some((first, rest)) = path.split_first() else {
        *doc = new;
        return Some(());
    };
    match first {
        Step::Key(k) => set_at(doc.as_object_mut()?.get_mut(k)?, rest, new),
        Step::Index(i) => set_at(doc.as_array_mut()?.get_mut(*i)?, rest, new),
        Step::Json => {
            let mut inner: Value = serde_json::from_str(doc.as_str()?).ok()?;
            set_at(&mut inner, rest, new)?;
            *doc = Value::String(serde_json::to_string(&inner).ok()?);
            Some(())
        }
    }
}

/// The trace as text: one line per output leaf, `output  <-  input, …` (copied), `<~` (derived),
/// or `(constant)`; then the unprobed inputs.
pub fn render(trace: &Trace) -> String {
    let width = trace
        .outputs
        .iter()
        .map(|d| d.output.len())
        .max()
        .unwrap_or(0)
        .min(64);
    let mut out = String::new();
    for d in &trace.outputs {
        let mut parts = Vec::new();
        if !d.copied_from.is_empty() {
            parts.push(format!("<-  {}", d.copied_from.join(", ")));
        }
        if !d.derived_from.is_empty() {
            parts.push(format!("<~  {}", d.derived_from.join(", ")));
        }
        if parts.is_empty() {
            parts.push("(constant)".into());
        }
        out.push_str(&format!("{:width$}  {}\n", d.output, parts.join("   ")));
    }
    if !trace.unprobed.is_empty() {
        out.push_str(&format!(
            "\nthe mapping fails when these change (checked, parsed or required by it): {}\n",
            trace.unprobed.join(", ")
        ));
    }
    out
}

/// Objects used by [`Trace`] consumers wanting JSON.
pub fn to_json(trace: &Trace) -> Value {
    let outputs: Vec<Value> = trace
        .outputs
        .iter()
        .map(|d| {
            let mut m = Map::new();
            m.insert("output".into(), json!(d.output));
            m.insert("copiedFrom".into(), json!(d.copied_from));
            m.insert("derivedFrom".into(), json!(d.derived_from));
            Value::Object(m)
        })
        .collect();
    json!({"outputs": outputs, "unprobed": trace.unprobed, "probed": trace.probed})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probes_keep_the_shape() {
        assert_eq!(reshape("A5089DY", 1), "I9423LG");
        assert_eq!(reshape("2024-05-02", 1), "6468-49-46");
        assert_eq!(reshape("Smith-Jones", 2), "Hbxiw-Ydcth");
        assert!(crate::is_prison_number(&reshape("A5089DY", 17)));
    }

    #[test]
    fn paths_read_like_jq() {
        let path = [
            Step::Key("message".into()),
            Step::Key("Message".into()),
            Step::Json,
            Step::Key("eventType".into()),
            Step::Key("a b".into()),
            Step::Index(2),
        ];
        assert_eq!(display(&path), "message.Message(json).eventType.\"a b\"[2]");
    }

    #[test]
    fn sets_leaves_inside_json_strings() {
        let mut doc = json!({"m": {"M": "{\"a\":[1,{\"b\":\"x\"}]}"}});
        let path = [
            Step::Key("m".into()),
            Step::Key("M".into()),
            Step::Json,
            Step::Key("a".into()),
            Step::Index(1),
            Step::Key("b".into()),
        ];
        set_at(&mut doc, &path, json!("y")).unwrap();
        assert_eq!(doc, json!({"m": {"M": "{\"a\":[1,{\"b\":\"y\"}]}"}}));
        let mut leaves = Vec::new();
        input_leaves(&doc, &mut Vec::new(), &mut leaves);
        assert_eq!(leaves.len(), 2);
    }
}
