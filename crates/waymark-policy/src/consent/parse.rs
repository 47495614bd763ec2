//! Reading FHIR R4 `Consent` JSON into [`Consent`]. Errors name the element, never its value.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use serde_json::Value;
use waymark_core::{DATA_CLASS_SYSTEM, DataClass, ErrorCode, IssueType, Role};

use super::{
    Actor, CONSENT_SCOPE_SYSTEM, Consent, ConsentStatus, PATIENT_PRIVACY, Provision, ProvisionType,
    RECIPIENT_ROLE_SYSTEM,
};

/// Nested provisions deeper than this are refused (a Consent is data from outside).
const MAX_DEPTH: usize = 8;

/// Why a `Consent` cannot be read. Names elements and codes of the hub's own systems, never
/// free text.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConsentError {
    /// Not a JSON object with `resourceType: Consent`.
    #[error("not a `Consent` resource")]
    NotAConsent,
    /// No valid `id`.
    #[error("consent has no valid `id`")]
    MissingId,
    /// `status` missing or not an R4 consent status.
    #[error("consent `{0}` has no valid `status`")]
    BadStatus(String),
    /// `scope` is not `patient-privacy`.
    #[error("consent `{0}` is not of scope `patient-privacy`")]
    WrongScope(String),
    /// No root `provision`.
    #[error("consent `{0}` has no `provision`")]
    NoProvision(String),
    /// The root provision has no `type`, or a `type` is not `permit` / `deny`.
    #[error("consent `{id}` has no valid `type` at `{path}`")]
    BadProvisionType {
        /// Consent id.
        id: String,
        /// Element path.
        path: String,
    },
    /// A data-class label code that is not a Waymark data class.
    #[error("consent `{id}` names an unknown data class at `{path}`")]
    UnknownDataClass {
        /// Consent id.
        id: String,
        /// Element path.
        path: String,
    },
    /// A recipient-role code that is not a Waymark role.
    #[error("consent `{id}` names an unknown recipient role at `{path}`")]
    UnknownRole {
        /// Consent id.
        id: String,
        /// Element path.
        path: String,
    },
    /// A date or dateTime that is not FHIR-shaped.
    #[error("consent `{id}` has an invalid date at `{path}`")]
    BadDate {
        /// Consent id.
        id: String,
        /// Element path.
        path: String,
    },
    /// An element of the wrong JSON type.
    #[error("consent `{id}` has an element of the wrong type at `{path}`")]
    WrongType {
        /// Consent id.
        id: String,
        /// Element path.
        path: String,
    },
    /// Provisions nested deeper than the hub reads.
    #[error("consent `{0}` nests provisions too deeply")]
    TooDeep(String),
}

impl ErrorCode for ConsentError {
    fn code(&self) -> &'static str {
        match self {
            Self::NotAConsent => "consent.not-a-consent",
            Self::MissingId => "consent.missing-id",
            Self::BadStatus(_) => "consent.status",
            Self::WrongScope(_) => "consent.scope",
            Self::NoProvision(_) => "consent.no-provision",
            Self::BadProvisionType { .. } => "consent.provision-type",
            Self::UnknownDataClass { .. } => "consent.unknown-data-class",
            Self::UnknownRole { .. } => "consent.unknown-role",
            Self::BadDate { .. } => "consent.date",
            Self::WrongType { .. } => "consent.wrong-type",
            Self::TooDeep(_) => "consent.too-deep",
        }
    }

    fn issue_type(&self) -> IssueType {
        IssueType::Invalid
    }
}

/// A FHIR `id`: 1–64 of `[A-Za-z0-9.-]`.
pub(crate) fn is_fhir_id(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

pub(super) fn consent(value: &Value) -> Result<Consent, ConsentError> {
    if value["resourceType"] != "Consent" {
        return Err(ConsentError::NotAConsent);
    }
    let id = value["id"]
        .as_str()
        .filter(|id| is_fhir_id(id))
        .ok_or(ConsentError::MissingId)?
        .to_owned();
    let status = status(&value["status"]).ok_or_else(|| ConsentError::BadStatus(id.clone()))?;
    let privacy = codings(&value["scope"])
        .any(|(s, c)| s == Some(CONSENT_SCOPE_SYSTEM) && c == Some(PATIENT_PRIVACY));
    if !privacy {
        return Err(ConsentError::WrongScope(id));
    }
    let cx = Cx { id: &id };
    let date_time = cx.date(&value["dateTime"], "dateTime", false)?;
    let root = &value["provision"];
    if !root.is_object() {
        return Err(ConsentError::NoProvision(id));
    }
    let provision = cx.provision(root, "provision", None, 0)?;
    Ok(Consent {
        id,
        status,
        date_time,
        provision,
    })
}

fn status(v: &Value) -> Option<ConsentStatus> {
    Some(match v.as_str()? {
        "draft" => ConsentStatus::Draft,
        "proposed" => ConsentStatus::Proposed,
        "active" => ConsentStatus::Active,
        "rejected" => ConsentStatus::Rejected,
        "inactive" => ConsentStatus::Inactive,
        "entered-in-error" => ConsentStatus::EnteredInError,
        _ => return None,
    })
}

/// `(system, code)` of every coding of a CodeableConcept.
fn codings(cc: &Value) -> impl Iterator<Item = (Option<&str>, Option<&str>)> {
    cc["coding"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| (c["system"].as_str(), c["code"].as_str()))
}

struct Cx<'a> {
    id: &'a str,
}

impl Cx<'_> {
    fn provision(
        &self,
        v: &Value,
        path: &str,
        parent: Option<ProvisionType>,
        depth: usize,
    ) -> Result<Provision, ConsentError> {
        if depth > MAX_DEPTH {
            return Err(ConsentError::TooDeep(self.id.to_owned()));
        }
        let bad_type = || ConsentError::BadProvisionType {
            id: self.id.to_owned(),
            path: format!("{path}.type"),
        };
        let kind = match (v.get("type").map(Value::as_str), parent) {
            (Some(Some("permit")), _) => ProvisionType::Permit,
            (Some(Some("deny")), _) => ProvisionType::Deny,
            (None, Some(p)) => p.opposite(),
            _ => return Err(bad_type()),
        };
        let period = &v["period"];
        let period = (
            self.date(&period["start"], &format!("{path}.period.start"), false)?,
            self.date(&period["end"], &format!("{path}.period.end"), true)?,
        );
        let mut provisions = Vec::new();
        for (n, child) in self.array(v, "provision", path)?.iter().enumerate() {
            let child_path = format!("{path}.provision[{n}]");
            provisions.push(self.provision(child, &child_path, Some(kind), depth + 1)?);
        }
        Ok(Provision {
            kind,
            period,
            actors: self.actors(v, path)?,
            classes: self.classes(v, path)?,
            purposes: self
                .array(v, "purpose", path)?
                .iter()
                .filter_map(|c| c["code"].as_str().map(str::to_owned))
                .collect(),
            provisions,
        })
    }

    fn array<'v>(&self, v: &'v Value, key: &str, path: &str) -> Result<&'v [Value], ConsentError> {
        match v.get(key) {
            None => Ok(&[]),
            Some(Value::Array(items)) => Ok(items),
            Some(_) => Err(ConsentError::WrongType {
                id: self.id.to_owned(),
                path: format!("{path}.{key}"),
            }),
        }
    }

    fn actors(&self, v: &Value, path: &str) -> Result<Vec<Actor>, ConsentError> {
        let mut out = Vec::new();
        for (n, a) in self.array(v, "actor", path)?.iter().enumerate() {
            let mut role = None;
            for (system, code) in codings(&a["role"]) {
                if system == Some(RECIPIENT_ROLE_SYSTEM) {
                    let parsed = code.and_then(|c| c.parse::<Role>().ok());
                    role = Some(parsed.ok_or_else(|| ConsentError::UnknownRole {
                        id: self.id.to_owned(),
                        path: format!("{path}.actor[{n}].role"),
                    })?);
                }
            }
            let organisation = a["reference"]["identifier"]["value"]
                .as_str()
                .map(str::to_owned);
            out.push(Actor { role, organisation });
        }
        Ok(out)
    }

    fn classes(&self, v: &Value, path: &str) -> Result<Vec<DataClass>, ConsentError> {
        let mut out = Vec::new();
        for (n, label) in self.array(v, "securityLabel", path)?.iter().enumerate() {
            if label["system"] != DATA_CLASS_SYSTEM {
                continue;
            }
            let class = label["code"].as_str().and_then(|c| c.parse().ok());
            out.push(class.ok_or_else(|| ConsentError::UnknownDataClass {
                id: self.id.to_owned(),
                path: format!("{path}.securityLabel[{n}]"),
            })?);
        }
        Ok(out)
    }

    /// A FHIR date or dateTime; a date-only `end` lasts to the end of its day.
    fn date(
        &self,
        v: &Value,
        path: &str,
        end: bool,
    ) -> Result<Option<DateTime<Utc>>, ConsentError> {
        match v {
            Value::Null => Ok(None),
            Value::String(text) => fhir_date(text, end)
                .map(Some)
                .ok_or_else(|| self.bad_date(path)),
            _ => Err(self.bad_date(path)),
        }
    }

    fn bad_date(&self, path: &str) -> ConsentError {
        ConsentError::BadDate {
            id: self.id.to_owned(),
            path: path.to_owned(),
        }
    }
}

/// Parses `YYYY-MM-DD` or an RFC 3339 dateTime.
fn fhir_date(text: &str, end: bool) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    let day = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
    let time = if end {
        NaiveTime::from_hms_milli_opt(23, 59, 59, 999)?
    } else {
        NaiveTime::MIN
    };
    Some(day.and_time(time).and_utc())
}
