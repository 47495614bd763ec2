//! The HJMD FHIR package (`profiles/hjmd/`), loaded once: profiles interpreted from their
//! differentials (see `profile.rs`), value sets expanded, identifier checks by system, the
//! profile-selection rules.
//!
//! Embedded at build time (see `build.rs`), so the binary works from any directory; or loaded
//! from a directory with [`Package::load_dir`]. A malformed file, or a profile that references a
//! value set the package does not hold, fails loading with the file and the JSON path named.

mod profile;

use std::collections::HashMap;
use std::path::Path as FsPath;
use std::sync::Arc;

use serde_json::Value;

use crate::ProfileError;
use crate::terminology::{Expansion, concept_codes};

pub(crate) use profile::{Element, Profile, Step, Strength};

const EMBEDDED: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/package_files.rs"));
const CHECK_URL: &str = "https://fhir.waymark.org.uk/StructureDefinition/hjmd-identifier-check";

#[derive(Debug)]
pub(crate) struct Rule {
    resource_type: String,
    data_class: Option<String>,
    r#where: Option<(Vec<String>, String)>,
    profile: String,
}

/// The loaded package. Immutable after loading.
#[derive(Debug, Default)]
pub struct Package {
    pub(crate) profiles: HashMap<String, Profile>,
    rules: Vec<Rule>,
    /// Identifier system → check name (`nhs-number`, `pnc-id`, ...).
    pub(crate) identifier_checks: HashMap<String, String>,
    /// `name@version` from `package.json`.
    id: String,
}

fn err(file: &str, path: impl Into<String>, reason: impl Into<String>) -> ProfileError {
    ProfileError::Package {
        file: file.to_owned(),
        path: path.into(),
        reason: reason.into(),
    }
}

impl Package {
    /// The package embedded in the binary.
    pub fn embedded() -> Result<Self, ProfileError> {
        Self::from_files(
            EMBEDDED
                .iter()
                .map(|(n, t)| ((*n).to_owned(), (*t).to_owned())),
        )
    }

    /// Loads every `*.json` file of a package directory (`role-policy.json` is not part of it).
    pub fn load_dir(dir: &FsPath) -> Result<Self, ProfileError> {
        let read = |e: std::io::Error| err(&dir.display().to_string(), "", e.to_string());
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(read)? {
            let path = entry.map_err(read)?.path();
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
            if let Some(name) = name.filter(|n| n.ends_with(".json") && n != "role-policy.json") {
                let text =
                    std::fs::read_to_string(&path).map_err(|e| err(&name, "", e.to_string()))?;
                files.push((name, text));
            }
        }
        files.sort();
        Self::from_files(files)
    }

    /// The package's `name@version` from its `package.json`, e.g. `uk.waymark.hjmd@0.1.0`
    /// (`unversioned` when it has none): what a re-drive records as the profiles it passed.
    pub fn id(&self) -> &str {
        &self.id
    }

    fn from_files(files: impl IntoIterator<Item = (String, String)>) -> Result<Self, ProfileError> {
        let mut parsed = Vec::new();
        for (name, text) in files {
            let json: Value = serde_json::from_str(&text).map_err(|e| {
                err(
                    &name,
                    format!("line {} column {}", e.line(), e.column()),
                    "is not valid JSON",
                )
            })?;
            parsed.push((name, json));
        }
        let by_type =
            |ty: &'static str| parsed.iter().filter(move |(_, j)| j["resourceType"] == ty);
        let systems: HashMap<String, Vec<String>> = by_type("CodeSystem")
            .filter_map(|(_, cs)| Some((cs["url"].as_str()?.to_owned(), concept_codes(cs))))
            .collect();
        let mut value_sets = HashMap::new();
        for (name, vs) in by_type("ValueSet") {
            let url = vs["url"]
                .as_str()
                .ok_or_else(|| err(name, "ValueSet.url", "is missing"))?;
            let exp = Expansion::build(vs, &systems).map_err(|r| err(name, "ValueSet", r))?;
            value_sets.insert(url.to_owned(), Arc::new(exp));
        }
        let mut pkg = Self {
            id: package_id(&parsed),
            ..Self::default()
        };
        for (name, ns) in by_type("NamingSystem") {
            if let Some(check) = ns["extension"][0]["valueCode"]
                .as_str()
                .filter(|_| ns["extension"][0]["url"] == CHECK_URL)
            {
                if ![
                    "nhs-number",
                    "pnc-id",
                    "cro-number",
                    "prison-number",
                    "digits",
                ]
                .contains(&check)
                {
                    return Err(err(
                        name,
                        "NamingSystem.extension[0].valueCode",
                        "names an unknown identifier check",
                    ));
                }
                let uri = ns["uniqueId"][0]["value"]
                    .as_str()
                    .ok_or_else(|| err(name, "NamingSystem.uniqueId[0].value", "is missing"))?;
                pkg.identifier_checks
                    .insert(uri.to_owned(), check.to_owned());
            }
        }
        for (name, sd) in by_type("StructureDefinition").filter(|(_, sd)| sd["kind"] == "resource")
        {
            let url = sd["url"]
                .as_str()
                .ok_or_else(|| err(name, "StructureDefinition.url", "is missing"))?;
            pkg.profiles
                .insert(url.to_owned(), profile::profile(name, sd, &value_sets)?);
        }
        let selection = parsed
            .iter()
            .find(|(n, _)| n == "selection.json")
            .map(|(_, j)| j);
        for (i, rule) in selection
            .and_then(|s| s["rules"].as_array())
            .into_iter()
            .flatten()
            .enumerate()
        {
            let at = format!("rules[{i}]");
            let profile = rule["profile"]
                .as_str()
                .filter(|p| pkg.profiles.contains_key(*p));
            let (Some(profile), Some(ty)) = (profile, rule["resourceType"].as_str()) else {
                return Err(err(
                    "selection.json",
                    at,
                    "names no resourceType or a profile that is not in the package",
                ));
            };
            let r#where = rule.get("where").map(|w| {
                let path = w["path"]
                    .as_str()
                    .unwrap_or_default()
                    .split('.')
                    .map(str::to_owned)
                    .collect();
                (path, w["code"].as_str().unwrap_or_default().to_owned())
            });
            pkg.rules.push(Rule {
                resource_type: ty.to_owned(),
                data_class: rule["dataClass"].as_str().map(str::to_owned),
                r#where,
                profile: profile.to_owned(),
            });
        }
        Ok(pkg)
    }

    /// The profile for a resource: its first `meta.profile` the package holds, else the first
    /// selection rule that matches (a `meta.profile` naming only profiles the package does not
    /// hold falls through to the rules); `None` when nothing matches.
    pub(crate) fn select(&self, resource: &Value, class: Option<&str>) -> Option<&Profile> {
        let claimed = resource["meta"]["profile"].as_array().into_iter().flatten();
        if let Some(p) = claimed
            .filter_map(Value::as_str)
            .find_map(|u| self.profiles.get(u))
        {
            return Some(p);
        }
        let ty = resource["resourceType"].as_str()?;
        let rule = self.rules.iter().find(|r| {
            r.resource_type == ty
                && r.data_class.as_deref().is_none_or(|c| Some(c) == class)
                && r.r#where
                    .as_ref()
                    .is_none_or(|(path, code)| has_code(resource, path, code))
        })?;
        self.profiles.get(&rule.profile)
    }
}

fn has_code(value: &Value, path: &[String], code: &str) -> bool {
    match (value, path.split_first()) {
        (Value::Array(items), _) => items.iter().any(|v| has_code(v, path, code)),
        (_, None) => value.as_str() == Some(code),
        (Value::Object(map), Some((head, rest))) => {
            map.get(head).is_some_and(|v| has_code(v, rest, code))
        }
        _ => false,
    }
}

/// `name@version` of the `package.json` among the files.
fn package_id(parsed: &[(String, Value)]) -> String {
    let manifest = parsed
        .iter()
        .find(|(n, _)| n == "package.json")
        .map(|(_, j)| j);
    match manifest.map(|m| (m["name"].as_str(), m["version"].as_str())) {
        Some((Some(name), Some(version))) => format!("{name}@{version}"),
        _ => "unversioned".to_owned(),
    }
}
