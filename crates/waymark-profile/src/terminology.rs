//! Value-set expansion from the package's own CodeSystems, and code checks against it.
//!
//! A value set is expanded from its `compose.include`: enumerated concepts (any system) and whole
//! code systems that are in the package. An include of a whole code system that is not in the
//! package (SNOMED CT, v3 RoleCode, ...) or a filter cannot be expanded here: the expansion is
//! then *incomplete*, and a code not found in it is reported as "not checked", never silently
//! accepted.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

/// The codes of one value set.
#[derive(Debug, Default)]
pub(crate) struct Expansion {
    pub(crate) title: String,
    codes: HashSet<(String, String)>,
    /// False when part of the value set could not be expanded here.
    pub(crate) complete: bool,
}

/// How one coded value compares with a value set.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    In,
    NotIn,
    /// Not found, but the value set could not be fully expanded here.
    Unchecked,
    /// A CodeableConcept with text only.
    TextOnly,
}

impl Expansion {
    /// Expands `compose.include`; `Err(system)` names nothing (the caller names the file).
    pub(crate) fn build(
        vs: &Value,
        systems: &HashMap<String, Vec<String>>,
    ) -> Result<Self, String> {
        let mut exp = Self {
            title: vs["title"]
                .as_str()
                .or(vs["name"].as_str())
                .unwrap_or("value set")
                .to_owned(),
            codes: HashSet::new(),
            complete: true,
        };
        let includes = vs["compose"]["include"]
            .as_array()
            .ok_or("compose.include is missing")?;
        for (i, inc) in includes.iter().enumerate() {
            let system = inc["system"]
                .as_str()
                .ok_or_else(|| format!("compose.include[{i}].system is missing"))?;
            if inc.get("filter").is_some() {
                exp.complete = false;
            }
            match (inc["concept"].as_array(), systems.get(system)) {
                (Some(concepts), _) => {
                    for (j, c) in concepts.iter().enumerate() {
                        let code = c["code"].as_str().ok_or_else(|| {
                            format!("compose.include[{i}].concept[{j}].code is missing")
                        })?;
                        exp.codes.insert((system.to_owned(), code.to_owned()));
                    }
                }
                (None, Some(codes)) => {
                    exp.codes
                        .extend(codes.iter().map(|c| (system.to_owned(), c.clone())));
                }
                (None, None) => exp.complete = false,
            }
        }
        Ok(exp)
    }

    /// Checks a `code`, `Coding` or `CodeableConcept` value.
    pub(crate) fn check(&self, value: &Value) -> Verdict {
        let found = match value {
            Value::String(code) => self.codes.iter().any(|(_, c)| c == code),
            Value::Object(map) if map.contains_key("coding") => {
                let codings = map["coding"]
                    .as_array()
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                if codings.is_empty() {
                    return Verdict::TextOnly;
                }
                codings.iter().any(|c| self.has_coding(c))
            }
            Value::Object(map) if map.contains_key("code") => self.has_coding(value),
            Value::Object(_) => return Verdict::TextOnly,
            _ => false,
        };
        match (found, self.complete) {
            (true, _) => Verdict::In,
            (false, true) => Verdict::NotIn,
            (false, false) => Verdict::Unchecked,
        }
    }

    fn has_coding(&self, coding: &Value) -> bool {
        match (coding["system"].as_str(), coding["code"].as_str()) {
            (Some(s), Some(c)) => self.codes.contains(&(s.to_owned(), c.to_owned())),
            _ => false,
        }
    }
}

/// Concept codes of a CodeSystem, nested concepts included.
pub(crate) fn concept_codes(cs: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack: Vec<&Value> = vec![cs];
    while let Some(node) = stack.pop() {
        for c in node["concept"].as_array().into_iter().flatten() {
            if let Some(code) = c["code"].as_str() {
                out.push(code.to_owned());
            }
            stack.push(c);
        }
    }
    out
}
