//! Layer 2: what the schema cannot express, plus the cost guard that runs before anything else.
//!
//! - the work bound: too many entries, too deep, too many nodes → one `too-costly` issue;
//! - every resource has a known `resourceType` and an `id`;
//! - no empty string, array or object anywhere (FHIR forbids them);
//! - at most one `value[x]`-style choice per element;
//! - required primitives of the resource types the hub emits.

use std::collections::HashMap;

use serde_json::Value;
use waymark_core::IssueType;
use waymark_fhir::{Issue, Severity};

use crate::path::{Path, Seg, is_plain_name};
use crate::schema::Schemas;
use crate::{MAX_DEPTH, MAX_ENTRIES, MAX_NODES};

/// Elements a resource must have a value for, which the schema cannot require (a primitive may
/// legally appear only as `_status` in FHIR JSON; the hub requires the value).
const REQUIRED: &[(&str, &[&str])] = &[
    ("Encounter", &["status", "class"]),
    ("Flag", &["status", "code", "subject"]),
    ("Provenance", &["target", "recorded", "agent"]),
];

/// One `too-costly` issue when the bundle is larger or deeper than the validator examines.
/// Iterative, so hostile nesting cannot overflow the stack.
pub(crate) fn too_costly(bundle: &Value) -> Option<Issue> {
    let costly = |location: &str, text: String| {
        let mut issue = Issue::error(IssueType::TooCostly, "profile.too-costly", text).at(location);
        issue.severity = Severity::Fatal;
        Some(issue)
    };
    let entries = bundle
        .get("entry")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    if entries > MAX_ENTRIES {
        return costly(
            "Bundle.entry",
            format!("has more than {MAX_ENTRIES} entries; the bundle was not examined"),
        );
    }
    let too_many = || {
        costly(
            "Bundle",
            format!("has more than {MAX_NODES} elements; not examined"),
        )
    };
    let mut stack = vec![(bundle, 1usize)];
    let mut nodes = 0usize;
    while let Some((value, depth)) = stack.pop() {
        nodes += 1;
        if nodes > MAX_NODES {
            return too_many();
        }
        let children: Box<dyn Iterator<Item = &Value>> = match value {
            Value::Array(items) => Box::new(items.iter()),
            Value::Object(map) => Box::new(map.values()),
            _ => continue,
        };
        for child in children {
            if child.is_array() || child.is_object() {
                if depth + 1 > MAX_DEPTH {
                    return costly(
                        "Bundle",
                        format!("is nested deeper than {MAX_DEPTH} levels; not examined"),
                    );
                }
                stack.push((child, depth + 1));
            } else {
                nodes += 1;
            }
        }
        // Leaves count too: a last container of half a million numbers is refused here.
        if nodes > MAX_NODES {
            return too_many();
        }
    }
    None
}

/// Drops a value without recursion (dropping a hostile, deeply nested value recursively would
/// overflow the stack).
pub(crate) fn dismantle(value: Value) {
    let mut stack = vec![value];
    while let Some(value) = stack.pop() {
        match value {
            Value::Array(items) => stack.extend(items),
            Value::Object(map) => stack.extend(map.into_iter().map(|(_, v)| v)),
            _ => {}
        }
    }
}

/// Checks one resource's header (type, id, required elements) and validates it against its own
/// schema definition; then does the same for its `contained` resources.
pub(crate) fn check_resource(
    schemas: &Schemas,
    resource: &Value,
    path: &Path<'_>,
    issues: &mut Vec<Issue>,
) {
    let Some(map) = resource.as_object() else {
        let text = "is not a FHIR resource (expected an object)";
        issues.push(Issue::error(IssueType::Structure, "profile.schema", text).at(path.render()));
        return;
    };
    let missing = |name: &'static str| {
        Issue::error(
            IssueType::Required,
            "profile.required",
            "is required but missing",
        )
        .at(path.with(Seg::Key(name)).render())
    };
    match map.get("resourceType") {
        None | Some(Value::Null) => issues.push(missing("resourceType")),
        Some(Value::String(ty)) if schemas.is_resource_type(ty) => {
            schemas.check(ty, resource, path, issues);
            for (rtype, required) in REQUIRED {
                if ty == rtype {
                    let absent = required
                        .iter()
                        .filter(|el| map.get(**el).is_none_or(Value::is_null));
                    issues.extend(absent.map(|el| missing(el)));
                }
            }
        }
        Some(_) => issues.push(
            Issue::error(
                IssueType::Value,
                "profile.schema",
                "is not a FHIR R4 resource type",
            )
            .at(path.with(Seg::Key("resourceType")).render()),
        ),
    }
    if map.get("id").is_none_or(Value::is_null) {
        issues.push(missing("id"));
    }
    if let Some(Value::Array(contained)) = map.get("contained") {
        for (i, inner) in contained.iter().enumerate() {
            let inner_path = path.with(Seg::Key("contained")).with(Seg::Index(i));
            check_resource(schemas, inner, &inner_path, issues);
        }
    }
}

/// Walks the whole bundle for empty values and repeated choices. Recursion is bounded by
/// [`too_costly`], which runs first.
pub(crate) struct Walker<'c> {
    /// Choice-element property name → its prefix (`valueString` → `value`).
    pub(crate) choices: &'c HashMap<String, String>,
    pub(crate) issues: Vec<Issue>,
}

impl Walker<'_> {
    pub(crate) fn walk<'v>(&mut self, value: &'v Value, path: &mut Path<'v>) {
        let empty = match value {
            Value::String(s) => s.is_empty(),
            Value::Array(items) => items.is_empty(),
            Value::Object(map) => map.is_empty(),
            _ => false,
        };
        if empty {
            let text = "is empty; FHIR forbids empty strings, arrays and objects (leave it out)";
            self.issues
                .push(Issue::error(IssueType::Invalid, "profile.empty", text).at(path.render()));
            return;
        }
        match value {
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    path.push(Seg::Index(i));
                    self.walk(item, path);
                    path.pop();
                }
            }
            Value::Object(map) => {
                self.check_choices(map, path);
                for (key, item) in map {
                    path.push(Seg::Key(key));
                    self.walk(item, path);
                    path.pop();
                }
            }
            _ => {}
        }
    }

    fn check_choices(&mut self, map: &serde_json::Map<String, Value>, path: &Path<'_>) {
        let mut seen: HashMap<&str, Vec<&str>> = HashMap::new();
        for key in map.keys() {
            if let Some(prefix) = self.choices.get(key) {
                seen.entry(prefix.as_str()).or_default().push(key);
            }
        }
        let mut repeated: Vec<_> = seen
            .into_iter()
            .filter(|(_, keys)| keys.len() > 1)
            .collect();
        repeated.sort_unstable();
        for (prefix, keys) in repeated {
            let names: Vec<String> = keys
                .iter()
                .filter(|k| is_plain_name(k))
                .map(|k| format!("`{k}`"))
                .collect();
            let text = format!(
                "has more than one `{prefix}[x]` element ({}); only one is allowed",
                names.join(", ")
            );
            self.issues
                .push(Issue::error(IssueType::Structure, "profile.choice", text).at(path.render()));
        }
    }
}
