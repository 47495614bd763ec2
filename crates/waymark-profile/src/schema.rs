//! Layer 1: the official FHIR R4 JSON Schema, one compiled definition per resource type.
//!
//! The vendored schema validates through a root `oneOf` over every resource type, which gives
//! useless errors. Instead each resource is validated against its own `#/definitions/<type>`,
//! compiled from the subset of definitions it reaches. `ResourceList` (what `Bundle.entry.resource`
//! and `contained` point at) is relaxed to `{}`: the validator walks to those resources itself and
//! validates each against its own definition, so error paths stay precise. Complex types are
//! tightened to `"type": "object"`, which the official schema leaves out.

use std::collections::{BTreeSet, HashMap};
use std::sync::OnceLock;

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::paths::LocationSegment;
use jsonschema::{Draft, PatternOptions, ValidationError};
use serde_json::{Map, Value, json};
use waymark_core::IssueType;
use waymark_fhir::Issue;

use crate::ProfileError;
use crate::path::{Path, Seg, is_plain_name, push_seg};

/// The official R4 JSON Schema, unmodified (see `vendor/fhir-r4/README.md`).
const FHIR_R4_SCHEMA: &str = include_str!("../../../vendor/fhir-r4/fhir.schema.json");

/// Resource types compiled when the validator is built: the ones the hub emits.
pub(crate) const EAGER_TYPES: &[&str] = &["Bundle", "Patient", "Encounter", "Flag", "Provenance"];

type Compiled = Result<jsonschema::Validator, String>;

/// Compiled per-resource-type schemas, built lazily and cached.
pub(crate) struct Schemas {
    definitions: Map<String, Value>,
    compiled: HashMap<String, OnceLock<Compiled>>,
    /// Choice-element property name → its prefix (`valueString` → `value`), from the schema.
    pub(crate) choices: HashMap<String, String>,
}

impl Schemas {
    /// Parses the embedded schema and compiles [`EAGER_TYPES`].
    pub(crate) fn r4() -> Result<Self, ProfileError> {
        let mut root: Value = serde_json::from_str(FHIR_R4_SCHEMA).map_err(|e| {
            ProfileError::Schema(format!("the embedded R4 schema is not JSON: {e}"))
        })?;
        let types: Vec<String> = root["discriminator"]["mapping"]
            .as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        let Some(Value::Object(mut definitions)) = root.get_mut("definitions").map(Value::take)
        else {
            return Err(ProfileError::Schema(
                "the embedded R4 schema has no definitions".into(),
            ));
        };
        if types.is_empty() {
            return Err(ProfileError::Schema(
                "the embedded R4 schema lists no resource types".into(),
            ));
        }
        definitions.insert("ResourceList".into(), json!({}));
        // The official schema never says that a complex type is an object, so a string where a
        // `Coding` belongs would pass; FHIR JSON requires an object there.
        for def in definitions.values_mut() {
            if let Some(def) = def.as_object_mut().filter(|d| d.contains_key("properties")) {
                def.insert("type".into(), json!("object"));
            }
        }
        let compiled = types.into_iter().map(|t| (t, OnceLock::new())).collect();
        let choices = choice_names(&definitions);
        let schemas = Self {
            definitions,
            compiled,
            choices,
        };
        for ty in EAGER_TYPES {
            if let Some(Err(e)) = schemas.get(ty) {
                return Err(ProfileError::Schema(format!("definition `{ty}`: {e}")));
            }
        }
        Ok(schemas)
    }

    /// Whether `ty` is an R4 resource type.
    pub(crate) fn is_resource_type(&self, ty: &str) -> bool {
        self.compiled.contains_key(ty)
    }

    fn get(&self, ty: &str) -> Option<&Compiled> {
        self.compiled
            .get(ty)
            .map(|cell| cell.get_or_init(|| self.compile(ty)))
    }

    fn compile(&self, ty: &str) -> Compiled {
        let mut subset = Map::new();
        let mut todo = vec![ty.to_owned()];
        while let Some(name) = todo.pop() {
            if subset.contains_key(&name) {
                continue;
            }
            let def = self
                .definitions
                .get(&name)
                .ok_or_else(|| format!("no definition `{name}`"))?;
            let mut refs = BTreeSet::new();
            collect_refs(def, &mut refs);
            todo.extend(refs.into_iter().filter(|r| !subset.contains_key(r)));
            subset.insert(name, def.clone());
        }
        let doc = json!({
            "$schema": "http://json-schema.org/draft-06/schema#",
            "$ref": format!("#/definitions/{ty}"),
            "definitions": subset,
        });
        jsonschema::options()
            .with_draft(Draft::Draft6)
            .with_pattern_options(PatternOptions::regex())
            .build(&doc)
            .map_err(|e| e.to_string())
    }

    /// Validates `instance` against the definition of `ty`, adding issues located under `base`.
    pub(crate) fn check(
        &self,
        ty: &str,
        instance: &Value,
        base: &Path<'_>,
        issues: &mut Vec<Issue>,
    ) {
        match self.get(ty) {
            Some(Ok(validator)) => {
                for err in validator.iter_errors(instance) {
                    issues.extend(issues_for(&err, base));
                }
            }
            Some(Err(_)) => issues.push(
                Issue::error(
                    IssueType::Exception,
                    "profile.schema",
                    "the schema of this resource type could not be compiled",
                )
                .at(base.render()),
            ),
            None => {}
        }
    }
}

/// Every choice-element property name in R4 (`valueString`, `effectivePeriod`, ...) with its
/// prefix: in each definition, scalar properties named `<prefix><Type>` where `<Type>` is a FHIR
/// type name and at least two share the prefix.
fn choice_names(definitions: &Map<String, Value>) -> HashMap<String, String> {
    let type_names: Vec<String> = definitions
        .keys()
        .filter(|name| !name.contains('_'))
        .map(|name| {
            let mut chars = name.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect();
    let split = |prop: &str| -> Option<String> {
        let suffix = type_names
            .iter()
            .filter(|t| prop.len() > t.len() && prop.ends_with(t.as_str()))
            .max_by_key(|t| t.len())?;
        let prefix = &prop[..prop.len() - suffix.len()];
        prefix
            .starts_with(|c: char| c.is_ascii_lowercase())
            .then(|| prefix.to_owned())
    };
    let mut choices = HashMap::new();
    for def in definitions.values() {
        let Some(props) = def.get("properties").and_then(Value::as_object) else {
            continue;
        };
        let mut groups: HashMap<String, Vec<&String>> = HashMap::new();
        for (name, schema) in props {
            if name.starts_with('_') || schema.get("type").and_then(Value::as_str) == Some("array")
            {
                continue;
            }
            if let Some(prefix) = split(name) {
                groups.entry(prefix).or_default().push(name);
            }
        }
        for (prefix, names) in groups.into_iter().filter(|(_, names)| names.len() > 1) {
            choices.extend(names.into_iter().map(|n| (n.clone(), prefix.clone())));
        }
    }
    choices
}

/// Names of the definitions `value` refers to (`#/definitions/<name>`).
fn collect_refs(value: &Value, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("$ref", Value::String(r)) => {
                        if let Some(name) = r.strip_prefix("#/definitions/") {
                            out.insert(name.to_owned());
                        }
                    }
                    _ => collect_refs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

/// Turns one schema error into issues whose text never contains the instance value.
fn issues_for(err: &ValidationError<'_>, base: &Path<'_>) -> Vec<Issue> {
    let mut location = base.render();
    for seg in err.instance_path().segments() {
        match seg {
            LocationSegment::Property(p) => push_seg(&mut location, Seg::Key(&p)),
            LocationSegment::Index(i) => push_seg(&mut location, Seg::Index(i)),
        }
    }
    let (code, text) = match err.kind() {
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            return unexpected
                .iter()
                .map(|name| unexpected_property(name, &location))
                .collect();
        }
        ValidationErrorKind::Required { property } => {
            let name = property.as_str().unwrap_or_default();
            push_seg(&mut location, Seg::Key(name));
            let issue = Issue::error(
                IssueType::Required,
                "profile.required",
                "is required but missing",
            );
            return vec![issue.at(location)];
        }
        kind => describe(kind),
    };
    vec![Issue::error(code, "profile.schema", text).at(location)]
}

fn unexpected_property(name: &str, location: &str) -> Issue {
    let text = if is_plain_name(name) {
        format!("has a property FHIR does not define: `{name}`")
    } else {
        "has a property FHIR does not define".to_owned()
    };
    Issue::error(IssueType::Structure, "profile.schema", text).at(location)
}

/// Plain-language text for an error kind, built from the schema side only.
fn describe(kind: &ValidationErrorKind) -> (IssueType, String) {
    use ValidationErrorKind as K;
    let value = |text: &str| (IssueType::Value, text.to_owned());
    match kind {
        K::Type { kind } => {
            let expected = match kind {
                TypeKind::Single(t) => t.to_string(),
                TypeKind::Multiple(set) => set
                    .iter()
                    .map(|t| t.to_string())
                    .collect::<Vec<_>>()
                    .join(" or "),
            };
            (
                IssueType::Structure,
                format!("is not of the expected type (expected {expected})"),
            )
        }
        K::Enum { .. } => value("is not one of the allowed codes"),
        K::Constant { expected_value } => match expected_value.as_str() {
            Some(s) if is_plain_name(s) => (IssueType::Value, format!("must be `{s}`")),
            _ => value("does not have the fixed value the definition requires"),
        },
        K::Pattern { .. } => value("is not in the format FHIR requires for its data type"),
        K::Format { format } => (IssueType::Value, format!("is not a valid `{format}`")),
        K::MinLength { .. } => value("is too short"),
        K::MaxLength { .. } => value("is too long"),
        K::Minimum { .. } | K::ExclusiveMinimum { .. } => value("is below the allowed minimum"),
        K::Maximum { .. } | K::ExclusiveMaximum { .. } => value("is above the allowed maximum"),
        K::MultipleOf { .. } => value("is not a multiple of the required step"),
        K::MinItems { .. } => value("has too few items"),
        K::MaxItems { .. } => value("has too many items"),
        K::UniqueItems => value("has repeated items where they must be unique"),
        K::OneOfNotValid { .. } | K::AnyOf { .. } => (
            IssueType::Structure,
            "does not match any of the allowed shapes".to_owned(),
        ),
        K::OneOfMultipleValid { .. } => (
            IssueType::Structure,
            "matches more than one of the allowed shapes".to_owned(),
        ),
        K::FalseSchema | K::Not { .. } => (IssueType::Structure, "is not allowed here".to_owned()),
        K::Referencing(_) => (
            IssueType::Exception,
            "the schema could not resolve one of its references".to_owned(),
        ),
        other => (
            IssueType::Invalid,
            format!("fails the schema rule `{}`", other.keyword()),
        ),
    }
}
