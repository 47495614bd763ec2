//! Layer 4: the HJMD profile constraints, interpreted from the StructureDefinitions'
//! differentials — cardinality, fixed and pattern values, bindings, value[x] types, the as-of
//! date — plus the profile's security labels and identifier formats by system (`labels.rs`).
//!
//! Issue texts name the element, the profile and the rule; never an element value (fixed and
//! pattern codes come from the profile, not from the data).

mod labels;
mod reach;

use serde_json::Value;
use waymark_core::{DATA_CLASS_SYSTEM, IssueType};
use waymark_fhir::{Issue, Severity, security_codes};

use crate::package::{Element, Package, Profile, Step, Strength};
use crate::path::{Path, Seg};
use crate::terminology::Verdict;
use reach::{count, reach, step_name};

fn issue(code: IssueType, rule: &str, at: &Path<'_>, text: String) -> Issue {
    Issue::error(code, rule, text).at(at.render())
}

fn warning(rule: &str, at: &Path<'_>, text: String) -> Issue {
    let mut i = Issue::error(IssueType::Value, rule, text).at(at.render());
    i.severity = Severity::Warning;
    i
}

/// Checks one resource (or the Bundle itself, with an empty path) against its profile.
pub(crate) fn check<'v>(
    pkg: &'v Package,
    resource: &'v Value,
    at: &Path<'v>,
    issues: &mut Vec<Issue>,
) {
    let labels: Vec<(&str, &str)> = security_codes(resource).collect();
    let class = labels
        .iter()
        .find(|(s, _)| *s == DATA_CLASS_SYSTEM)
        .map(|(_, c)| *c);
    let ty = resource["resourceType"].as_str().unwrap_or_default();
    let Some(profile) = pkg.select(resource, class) else {
        let text = format!(
            "is a {ty} that no HJMD profile covers (with this data-class label); the dataset has no place for it"
        );
        issues.push(issue(IssueType::Structure, "profile.unprofiled", at, text));
        return;
    };
    if profile.resource_type != ty {
        let text = format!(
            "claims the `{}` profile, which is for {} resources",
            profile.title, profile.resource_type
        );
        issues.push(issue(
            IssueType::Invalid,
            "profile.unprofiled",
            &at.with(Seg::Key("meta")).with(Seg::Key("profile")),
            text,
        ));
        return;
    }
    for element in &profile.elements {
        check_element(profile, element, resource, at, issues);
    }
    labels::check_labels(profile, &labels, at, issues);
    labels::check_identifiers(pkg, resource, &mut at.clone(), issues);
}

fn check_element<'v>(
    profile: &'v Profile,
    el: &'v Element,
    resource: &'v Value,
    at: &Path<'v>,
    issues: &mut Vec<Issue>,
) {
    let Some((last, parent_steps)) = el.steps.split_last() else {
        return;
    };
    let mut parents = Vec::new();
    reach(resource, parent_steps, at.clone(), &mut parents);
    let title = &profile.title;
    for (parent_at, parent) in &parents {
        let n = count(parent, last);
        let here = parent_at.with(Seg::Key(step_name(last)));
        if n < el.min {
            let (rule, text) = if el.as_of {
                (
                    "profile.as-of",
                    format!(
                        "needs its as-of date (the date the information was true on), which the `{title}` profile requires; without it nobody can tell how old the information is"
                    ),
                )
            } else {
                (
                    "profile.cardinality",
                    format!("is required by the `{title}` profile but missing"),
                )
            };
            issues.push(issue(IssueType::Required, rule, &here, text));
        }
        if el.max.is_some_and(|max| n > max) {
            let max = el.max.unwrap_or_default();
            let text =
                format!("may appear at most {max} time(s) in the `{title}` profile (found {n})");
            issues.push(issue(
                IssueType::Structure,
                "profile.cardinality",
                &here,
                text,
            ));
        }
    }
    let mut values = Vec::new();
    reach(resource, &el.steps, at.clone(), &mut values);
    for (value_at, value) in values {
        check_value(profile, el, &value_at, value, issues);
    }
}

fn check_value(
    profile: &Profile,
    el: &Element,
    at: &Path<'_>,
    value: &Value,
    issues: &mut Vec<Issue>,
) {
    let title = &profile.title;
    if at
        .last_key()
        .is_some_and(|key| !type_allowed(el, key, title, at, issues))
    {
        return;
    }
    if let Some(fixed) = el.fixed.as_ref().filter(|f| value != *f) {
        let shown = fixed
            .as_str()
            .map_or(String::new(), |s| format!(" (`{s}`)"));
        issues.push(issue(
            IssueType::Value,
            "profile.fixed",
            at,
            format!("must be exactly the value the `{title}` profile fixes{shown}"),
        ));
    }
    if let Some(pattern) = el.pattern.as_ref().filter(|p| !contains(value, p)) {
        let codes: Vec<String> = pattern_codes(pattern);
        let text = format!(
            "must carry the code the `{title}` profile requires ({})",
            codes.join(", ")
        );
        issues.push(issue(IssueType::Value, "profile.pattern", at, text));
    }
    if let Some((strength, exp)) = &el.binding {
        let vs = &exp.title;
        match (exp.check(value), strength) {
            (Verdict::In, _) => {}
            (Verdict::NotIn | Verdict::TextOnly, Strength::Required) => {
                let text = format!(
                    "must be coded from the value set `{vs}`, which the `{title}` profile requires here; the code given is not in it"
                );
                issues.push(issue(IssueType::Value, "profile.binding", at, text));
            }
            (Verdict::NotIn, Strength::Extensible) => {
                issues.push(warning(
                    "profile.binding",
                    at,
                    format!(
                        "should be coded from the value set `{vs}` where it has a suitable code"
                    ),
                ));
            }
            (Verdict::Unchecked, _) => {
                issues.push(warning("profile.binding", at, format!("could not be checked against the value set `{vs}`: it uses a code system this hub does not hold")));
            }
            (Verdict::TextOnly, Strength::Extensible) => {}
        }
    }
}

/// For a `[x]` element: whether the chosen type is one the profile allows (reported if not).
fn type_allowed(
    el: &Element,
    key: &str,
    title: &str,
    at: &Path<'_>,
    issues: &mut Vec<Issue>,
) -> bool {
    let Some(Step::Choice(prefix)) = el.steps.last() else {
        return true;
    };
    let suffix = key.strip_prefix(prefix.as_str()).unwrap_or_default();
    if el.types.is_empty() || el.types.iter().any(|t| t.eq_ignore_ascii_case(suffix)) {
        return true;
    }
    let text = format!(
        "has a type the `{title}` profile does not allow here (allowed: {})",
        el.types.join(", ")
    );
    issues.push(issue(IssueType::Structure, "profile.type", at, text));
    false
}

/// FHIR pattern semantics: every property of the pattern is in the value; array items of the
/// pattern each match some item of the value.
fn contains(value: &Value, pattern: &Value) -> bool {
    match (value, pattern) {
        (Value::Object(v), Value::Object(p)) => p
            .iter()
            .all(|(k, pv)| v.get(k).is_some_and(|vv| contains(vv, pv))),
        (Value::Array(v), Value::Array(p)) => {
            p.iter().all(|pv| v.iter().any(|vv| contains(vv, pv)))
        }
        _ => value == pattern,
    }
}

fn pattern_codes(pattern: &Value) -> Vec<String> {
    let codings = pattern["coding"]
        .as_array()
        .cloned()
        .unwrap_or_else(|| vec![pattern.clone()]);
    codings
        .iter()
        .filter_map(|c| Some(format!("`{}`", c["code"].as_str()?)))
        .collect()
}
