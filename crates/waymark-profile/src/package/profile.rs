//! One profile, interpreted from its StructureDefinition's differential: element paths as
//! steps, cardinality, fixed and pattern values, bindings (resolved to the package's expanded
//! value sets), `[x]` types, the as-of flag, and the profile's security labels.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;
use waymark_core::DataClass;

use super::err;
use crate::ProfileError;
use crate::terminology::Expansion;

const LABELS_URL: &str = "https://fhir.waymark.org.uk/StructureDefinition/hjmd-labels";
const AS_OF_URL: &str = "https://fhir.waymark.org.uk/StructureDefinition/hjmd-as-of";

/// The labels a profile's resources must carry.
#[derive(Debug, Clone)]
pub(crate) struct Labels {
    pub(crate) class: DataClass,
    /// Minimum confidentiality: 0 = N, 1 = R, 2 = V.
    pub(crate) min_confidentiality: u8,
    /// Required HL7 sensitivity codes (`v3-ActCode`), e.g. `PSY`.
    pub(crate) sensitivity: Vec<String>,
}

/// One step of an element path below the resource.
#[derive(Debug, Clone)]
pub(crate) enum Step {
    Name(String),
    /// `value[x]`: the prefix.
    Choice(String),
    /// `extension:slice`: the extension URL.
    Extension(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Strength {
    Required,
    Extensible,
}

#[derive(Debug)]
pub(crate) struct Element {
    pub(crate) steps: Vec<Step>,
    pub(crate) min: usize,
    pub(crate) max: Option<usize>,
    pub(crate) fixed: Option<Value>,
    pub(crate) pattern: Option<Value>,
    pub(crate) binding: Option<(Strength, Arc<Expansion>)>,
    pub(crate) types: Vec<String>,
    pub(crate) as_of: bool,
}

#[derive(Debug)]
pub(crate) struct Profile {
    pub(crate) title: String,
    pub(crate) resource_type: String,
    pub(crate) labels: Option<Labels>,
    pub(crate) elements: Vec<Element>,
}

pub(super) fn profile(
    file: &str,
    sd: &Value,
    value_sets: &HashMap<String, Arc<Expansion>>,
) -> Result<Profile, ProfileError> {
    let ty = sd["type"]
        .as_str()
        .ok_or_else(|| err(file, "StructureDefinition.type", "is missing"))?;
    let labels = match sd["extension"]
        .as_array()
        .and_then(|e| e.iter().find(|x| x["url"] == LABELS_URL))
    {
        Some(ext) => Some(labels(ext).ok_or_else(|| {
            err(
                file,
                "StructureDefinition.extension",
                "has an unreadable hjmd-labels extension",
            )
        })?),
        None => None,
    };
    let mut elements = Vec::new();
    let differential = sd["differential"]["element"].as_array().ok_or_else(|| {
        err(
            file,
            "StructureDefinition.differential.element",
            "is missing",
        )
    })?;
    for (i, e) in differential.iter().enumerate().skip(1) {
        let at = format!("StructureDefinition.differential.element[{i}]");
        elements
            .push(element(e, ty, value_sets).map_err(|(p, r)| err(file, format!("{at}{p}"), r))?);
    }
    Ok(Profile {
        title: sd["title"].as_str().unwrap_or(ty).to_owned(),
        resource_type: ty.to_owned(),
        labels,
        elements,
    })
}

fn labels(ext: &Value) -> Option<Labels> {
    let subs = ext["extension"].as_array()?;
    let code = |name: &'static str| {
        subs.iter()
            .filter(move |s| s["url"] == name)
            .filter_map(|s| s["valueCode"].as_str())
    };
    let class = code("dataClass").next()?.parse().ok()?;
    let min_confidentiality = match code("confidentiality").next()? {
        "N" => 0,
        "R" => 1,
        "V" => 2,
        _ => return None,
    };
    Some(Labels {
        class,
        min_confidentiality,
        sensitivity: code("sensitivity").map(str::to_owned).collect(),
    })
}

type ElementError = (String, String);

fn element(
    e: &Value,
    ty: &str,
    value_sets: &HashMap<String, Arc<Expansion>>,
) -> Result<Element, ElementError> {
    let id = e["id"]
        .as_str()
        .or(e["path"].as_str())
        .ok_or((".id".into(), "is missing".into()))?;
    let rest = id
        .strip_prefix(ty)
        .and_then(|r| r.strip_prefix('.'))
        .ok_or((".id".into(), format!("does not start with `{ty}.`")))?;
    let mut steps = Vec::new();
    for part in rest.split('.') {
        steps.push(match part.split_once(':') {
            Some(("extension", _)) => {
                let url = e["type"][0]["profile"][0].as_str().ok_or((
                    ".type[0].profile[0]".into(),
                    "is missing for an extension slice".into(),
                ))?;
                Step::Extension(url.to_owned())
            }
            Some(_) => {
                return Err((
                    ".id".into(),
                    "slices other than extension slices are not supported".into(),
                ));
            }
            None => match part.strip_suffix("[x]") {
                Some(prefix) => Step::Choice(prefix.to_owned()),
                None => Step::Name(part.to_owned()),
            },
        });
    }
    let binding = match e.get("binding") {
        Some(b) => binding(b, value_sets)?,
        None => None,
    };
    let max = match e["max"].as_str() {
        None | Some("*") => None,
        Some(m) => Some(
            m.parse()
                .map_err(|_| (".max".to_owned(), "is not a number or `*`".to_owned()))?,
        ),
    };
    let prefixed = |prefix: &str| {
        e.as_object().and_then(|m| {
            m.iter()
                .find(|(k, _)| k.starts_with(prefix))
                .map(|(_, v)| v.clone())
        })
    };
    Ok(Element {
        steps,
        min: e["min"]
            .as_u64()
            .map_or(0, |m| usize::try_from(m).unwrap_or(usize::MAX)),
        max,
        fixed: prefixed("fixed"),
        pattern: prefixed("pattern"),
        binding,
        types: e["type"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| t["code"].as_str().map(str::to_owned))
            .collect(),
        as_of: e["extension"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|x| x["url"] == AS_OF_URL && x["valueBoolean"] == true),
    })
}

fn binding(
    b: &Value,
    value_sets: &HashMap<String, Arc<Expansion>>,
) -> Result<Option<(Strength, Arc<Expansion>)>, ElementError> {
    let strength = match b["strength"].as_str() {
        Some("required") => Strength::Required,
        Some("extensible") => Strength::Extensible,
        Some("preferred" | "example") => return Ok(None),
        _ => {
            return Err((
                ".binding.strength".into(),
                "is not a FHIR binding strength".into(),
            ));
        }
    };
    let url = b["valueSet"]
        .as_str()
        .ok_or((".binding.valueSet".into(), "is missing".into()))?;
    let url = url.split('|').next().unwrap_or(url);
    let exp = value_sets.get(url).ok_or((
        ".binding.valueSet".into(),
        "names a value set that is not in the package".into(),
    ))?;
    Ok(Some((strength, exp.clone())))
}
