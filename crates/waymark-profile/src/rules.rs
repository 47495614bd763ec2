//! Layer 3: the Waymark bundle rules (CONTRACTS "Labels"): a `collection` Bundle about exactly
//! one Patient, with a Provenance, `urn:uuid:` full URLs that resolve, and on every resource but
//! the Provenance exactly one data-class and one confidentiality label.

use std::collections::{HashMap, HashSet};

use serde_json::Value;
use waymark_core::{CONFIDENTIALITY_SYSTEM, DATA_CLASS_SYSTEM, DataClass, IssueType};
use waymark_fhir::{Issue, security_codes};

use crate::SOURCE_EVENT_SYSTEM;
use crate::path::{Path, Seg};

fn bundle_issue(code: IssueType, location: impl Into<String>, text: impl Into<String>) -> Issue {
    Issue::error(code, "profile.bundle", text).at(location)
}

/// Runs the bundle rules; returns the index of the one Patient entry when there is exactly one.
pub(crate) fn check(bundle: &Value, issues: &mut Vec<Issue>) -> Option<usize> {
    if bundle["resourceType"] != "Bundle" {
        issues.push(bundle_issue(
            IssueType::Value,
            "Bundle.resourceType",
            "must be `Bundle`",
        ));
    }
    if bundle["type"] != "collection" {
        issues.push(bundle_issue(
            IssueType::Value,
            "Bundle.type",
            "must be `collection`",
        ));
    }
    let tags = bundle["meta"]["tag"].as_array().into_iter().flatten();
    if tags.filter(|t| t["system"] == SOURCE_EVENT_SYSTEM).count() > 1 {
        let text = "has more than one source-event tag";
        issues.push(bundle_issue(IssueType::Invalid, "Bundle.meta.tag", text));
    }
    let entries = bundle["entry"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let full_urls = check_full_urls(entries, issues);
    let mut patients = Vec::new();
    let mut provenances = 0;
    for (i, entry) in entries.iter().enumerate() {
        let Some(resource) = entry.get("resource") else {
            continue;
        };
        let path = Path::entry_resource(i);
        match resource["resourceType"].as_str() {
            Some("Patient") => patients.push(i),
            Some("Provenance") => provenances += 1,
            _ => {}
        }
        if resource["resourceType"] != "Provenance" {
            check_labels(resource, &path, issues);
        }
        check_references(resource, &mut path.clone(), &full_urls, issues);
    }
    if patients.len() != 1 {
        let text = format!(
            "must contain exactly one Patient (found {})",
            patients.len()
        );
        issues.push(bundle_issue(IssueType::Invalid, "Bundle.entry", text));
    }
    if provenances == 0 {
        let text = "must contain a Provenance naming the source";
        issues.push(bundle_issue(IssueType::Required, "Bundle.entry", text));
    }
    (patients.len() == 1).then(|| patients[0])
}

/// Each entry has a resource and `fullUrl` = `urn:uuid:<resource id>`, used once.
fn check_full_urls<'b>(entries: &'b [Value], issues: &mut Vec<Issue>) -> HashSet<&'b str> {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, entry) in entries.iter().enumerate() {
        let at = |field: &str| format!("Bundle.entry[{i}].{field}");
        let Some(resource) = entry.get("resource") else {
            issues.push(bundle_issue(
                IssueType::Required,
                at("resource"),
                "is required but missing",
            ));
            continue;
        };
        let Some(url) = entry["fullUrl"].as_str() else {
            issues.push(bundle_issue(
                IssueType::Required,
                at("fullUrl"),
                "is required but missing",
            ));
            continue;
        };
        let id = resource["id"].as_str();
        if id.is_some_and(|id| url.strip_prefix("urn:uuid:") != Some(id)) {
            let text = "must be `urn:uuid:` followed by the resource id";
            issues.push(bundle_issue(IssueType::Value, at("fullUrl"), text));
        }
        if seen.insert(url, i).is_some() {
            let text = "is the same as another entry's fullUrl";
            issues.push(bundle_issue(IssueType::Invalid, at("fullUrl"), text));
        }
    }
    seen.into_keys().collect()
}

/// Exactly one known data-class label and one N/R/V confidentiality label.
fn check_labels(resource: &Value, path: &Path<'_>, issues: &mut Vec<Issue>) {
    let labels: Vec<(&str, &str)> = security_codes(resource).collect();
    let classes: Vec<&str> = labels
        .iter()
        .filter(|(s, _)| *s == DATA_CLASS_SYSTEM)
        .map(|(_, c)| *c)
        .collect();
    let levels: Vec<&str> = labels
        .iter()
        .filter(|(s, _)| *s == CONFIDENTIALITY_SYSTEM)
        .map(|(_, c)| *c)
        .collect();
    let mut problems = Vec::new();
    match classes.as_slice() {
        [code] if code.parse::<DataClass>().is_ok() => {}
        [_] => problems.push("its data-class label is not a known data class".to_owned()),
        other => problems.push(format!(
            "needs exactly one data-class label (found {})",
            other.len()
        )),
    }
    match levels.as_slice() {
        ["N" | "R" | "V"] => {}
        [_] => problems.push("its confidentiality label is not N, R or V".to_owned()),
        other => {
            problems.push(format!(
                "needs exactly one confidentiality label (found {})",
                other.len()
            ));
        }
    }
    if !problems.is_empty() {
        let location = path
            .with(Seg::Key("meta"))
            .with(Seg::Key("security"))
            .render();
        let code = if classes.is_empty() || levels.is_empty() {
            IssueType::Required
        } else {
            IssueType::Invalid
        };
        issues.push(Issue::error(code, "profile.label", problems.join("; ")).at(location));
    }
}

/// Every `reference` of the form `urn:uuid:...` names an entry's fullUrl.
fn check_references<'v>(
    value: &'v Value,
    path: &mut Path<'v>,
    full_urls: &HashSet<&str>,
    issues: &mut Vec<Issue>,
) {
    match value {
        Value::Object(map) => {
            for (key, item) in map {
                path.push(Seg::Key(key));
                if let ("reference", Value::String(r)) = (key.as_str(), item) {
                    if r.starts_with("urn:uuid:") && !full_urls.contains(r.as_str()) {
                        let text = "refers to an entry that is not in the bundle";
                        issues.push(
                            Issue::error(IssueType::NotFound, "profile.reference", text)
                                .at(path.render()),
                        );
                    }
                } else {
                    check_references(item, path, full_urls, issues);
                }
                path.pop();
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                path.push(Seg::Index(i));
                check_references(item, path, full_urls, issues);
                path.pop();
            }
        }
        _ => {}
    }
}
