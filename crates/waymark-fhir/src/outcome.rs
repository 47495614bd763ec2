//! `OperationOutcome`: how every rejection is explained.

use serde_json::{Value, json};
use waymark_core::{ErrorCode, IssueType};

/// Issue severity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    /// `fatal`
    Fatal,
    /// `error`
    Error,
    /// `warning`
    Warning,
    /// `information`
    Information,
}

impl Severity {
    fn code(self) -> &'static str {
        match self {
            Self::Fatal => "fatal",
            Self::Error => "error",
            Self::Warning => "warning",
            Self::Information => "information",
        }
    }
}

/// One issue: what is wrong, where, in words a non-programmer understands.
#[derive(Clone, Debug, PartialEq)]
pub struct Issue {
    /// How bad.
    pub severity: Severity,
    /// FHIR issue type.
    pub code: IssueType,
    /// Stable machine code, e.g. `profile.schema`.
    pub rule: String,
    /// FHIRPath-style location, e.g. `Bundle.entry[3].resource.identifier[0].value`.
    pub location: Option<String>,
    /// Human text. Never element values.
    pub text: String,
}

impl Issue {
    /// An error issue.
    pub fn error(code: IssueType, rule: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            severity: Severity::Error,
            code,
            rule: rule.into(),
            location: None,
            text: text.into(),
        }
    }

    /// Sets the location.
    pub fn at(mut self, location: impl Into<String>) -> Self {
        self.location = Some(location.into());
        self
    }

    fn to_json(&self) -> Value {
        let mut issue = json!({
            "severity": self.severity.code(),
            "code": self.code.code(),
            "details": {
                "coding": [{ "system": RULE_SYSTEM, "code": self.rule }],
                "text": self.text,
            },
        });
        if let Some(loc) = &self.location {
            issue["expression"] = json!([loc]);
        }
        issue
    }
}

const RULE_SYSTEM: &str = "https://fhir.waymark.org.uk/CodeSystem/issue-rule";

/// A FHIR `OperationOutcome`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OperationOutcome {
    /// The issues, in the order found.
    pub issues: Vec<Issue>,
}

impl OperationOutcome {
    /// An outcome with one issue.
    pub fn single(issue: Issue) -> Self {
        Self {
            issues: vec![issue],
        }
    }

    /// One issue describing an error from any Waymark crate.
    pub fn from_error(err: &dyn ErrorCode) -> Self {
        Self::single(Issue::error(err.issue_type(), err.code(), err.to_string()))
    }

    /// True when there is no error or fatal issue.
    pub fn is_ok(&self) -> bool {
        !self
            .issues
            .iter()
            .any(|i| matches!(i.severity, Severity::Error | Severity::Fatal))
    }

    /// The FHIR JSON. An empty outcome says "all OK" as FHIR requires one issue.
    pub fn to_json(&self) -> Value {
        let issues: Vec<Value> = if self.issues.is_empty() {
            vec![json!({"severity": "information", "code": "informational",
                        "details": {"text": "no issues found"}})]
        } else {
            self.issues.iter().map(Issue::to_json).collect()
        };
        json!({ "resourceType": "OperationOutcome", "issue": issues })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_outcome_is_ok_and_still_has_an_issue() {
        let oo = OperationOutcome::default();
        assert!(oo.is_ok());
        assert_eq!(oo.to_json()["issue"][0]["code"], "informational");
    }

    #[test]
    fn error_issue_carries_location_and_rule() {
        let oo = OperationOutcome::single(
            Issue::error(IssueType::Required, "profile.required", "status is missing")
                .at("Bundle.entry[1].resource.status"),
        );
        assert!(!oo.is_ok());
        let j = oo.to_json();
        assert_eq!(
            j["issue"][0]["expression"][0],
            "Bundle.entry[1].resource.status"
        );
        assert_eq!(
            j["issue"][0]["details"]["coding"][0]["code"],
            "profile.required"
        );
        assert_eq!(j["issue"][0]["code"], "required");
    }
}
