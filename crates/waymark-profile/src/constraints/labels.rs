//! The profile's security labels (data class, minimum confidentiality, HL7 sensitivity) and the
//! identifier formats checked by system (the NamingSystems' `hjmd-identifier-check`).

use serde_json::Value;
use waymark_core::{
    CONFIDENTIALITY_SYSTEM, CroNumber, DATA_CLASS_SYSTEM, IssueType, NhsNumber, PncId, PrisonNumber,
};
use waymark_fhir::Issue;

use super::issue;
use crate::package::{Package, Profile};
use crate::path::{Path, Seg};

const SENSITIVITY_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/v3-ActCode";

pub(super) fn check_labels(
    profile: &Profile,
    labels: &[(&str, &str)],
    at: &Path<'_>,
    issues: &mut Vec<Issue>,
) {
    let Some(want) = &profile.labels else { return };
    let at = at.with(Seg::Key("meta")).with(Seg::Key("security"));
    let title = &profile.title;
    let mut problems = Vec::new();
    let classes: Vec<&str> = labels
        .iter()
        .filter(|(s, _)| *s == DATA_CLASS_SYSTEM)
        .map(|(_, c)| *c)
        .collect();
    if classes != [want.class.code()] {
        problems.push(format!(
            "must be labelled with data class `{}` (the class of the `{title}` profile)",
            want.class.code()
        ));
    }
    let level = labels
        .iter()
        .find(|(s, _)| *s == CONFIDENTIALITY_SYSTEM)
        .and_then(|(_, c)| ["N", "R", "V"].iter().position(|l| l == c));
    if level.is_some_and(|l| l < usize::from(want.min_confidentiality)) {
        let min = ["N", "R", "V"][usize::from(want.min_confidentiality)];
        problems.push(format!(
            "must be at least confidentiality `{min}` for this data class"
        ));
    }
    for code in &want.sensitivity {
        if !labels
            .iter()
            .any(|(s, c)| *s == SENSITIVITY_SYSTEM && c == code)
        {
            problems.push(format!("must carry the HL7 sensitivity label `{code}`"));
        }
    }
    if !problems.is_empty() {
        issues.push(issue(
            IssueType::Invalid,
            "profile.label",
            &at,
            problems.join("; "),
        ));
    }
}

/// Every `identifier` whose system has a check in the package must pass it.
pub(super) fn check_identifiers<'v>(
    pkg: &Package,
    value: &'v Value,
    at: &mut Path<'v>,
    issues: &mut Vec<Issue>,
) {
    match value {
        Value::Object(map) => {
            let system = map.get("system").and_then(Value::as_str);
            let check = system.and_then(|s| pkg.identifier_checks.get(s));
            if let (Some(check), Some(v)) = (check, map.get("value")) {
                let value_at = at.with(Seg::Key("value"));
                if let Some(reason) = identifier_problem(check, v) {
                    issues.push(issue(
                        IssueType::Value,
                        "profile.identifier",
                        &value_at,
                        reason,
                    ));
                }
            }
            for (k, v) in map {
                at.push(Seg::Key(k));
                check_identifiers(pkg, v, at, issues);
                at.pop();
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                at.push(Seg::Index(i));
                check_identifiers(pkg, v, at, issues);
                at.pop();
            }
        }
        _ => {}
    }
}

fn identifier_problem(check: &str, value: &Value) -> Option<String> {
    let Some(text) = value.as_str() else {
        return Some("must be text".to_owned());
    };
    let result = match check {
        "nhs-number" => NhsNumber::parse(text).map(|_| ()),
        "pnc-id" => PncId::parse(text).map(|_| ()),
        "cro-number" => CroNumber::parse(text).map(|_| ()),
        "prison-number" => PrisonNumber::parse(text).map(|_| ()),
        _ if text.bytes().all(|b| b.is_ascii_digit()) => Ok(()),
        _ => return Some("must be digits only for this identifier system".to_owned()),
    };
    result
        .err()
        .map(|e| format!("{e} (checked by the identifier's system)"))
}
