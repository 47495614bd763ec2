//! What can go wrong loading a policy or releasing a bundle.

use waymark_core::{DataClass, ErrorCode, IssueType, Role};

/// A policy that does not load, or a release that cannot happen. Messages name rules, roles and
/// classes, never resource content.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// Not JSON of the policy shape (includes unknown fields).
    #[error("role policy is not valid JSON of the policy shape: {0}")]
    Malformed(String),
    /// No `version` field.
    #[error("role policy has no `version`")]
    MissingVersion,
    /// A version this build does not read.
    #[error("role policy version {0} is not supported (this build reads version 1)")]
    UnsupportedVersion(u32),
    /// A role name that is not a Waymark role.
    #[error("role policy names unknown role `{0}`")]
    UnknownRole(String),
    /// A data class name that is not a Waymark data class.
    #[error("role policy for `{role}` names unknown data class `{class}`")]
    UnknownClass {
        /// The role entry.
        role: Role,
        /// The unknown name.
        class: String,
    },
    /// A legal basis that is not one of [`LegalBasis`](crate::LegalBasis).
    #[error("role policy for `{role}` names unknown legal basis `{basis}`")]
    UnknownBasis {
        /// The role entry.
        role: Role,
        /// The unknown name.
        basis: String,
    },
    /// The `consent` section names a basis that is not one of [`LegalBasis`](crate::LegalBasis).
    #[error("role policy `consent` section names unknown legal basis `{0}`")]
    UnknownConsentBasis(String),
    /// The derived-alerts file does not load.
    #[error("derived alerts: {0}")]
    DerivedAlerts(String),
    /// The same role has two entries.
    #[error("role policy lists role `{0}` twice")]
    DuplicateRole(Role),
    /// The same class is granted twice to one role.
    #[error("role policy grants `{class}` to `{role}` twice")]
    DuplicateGrant {
        /// The role entry.
        role: Role,
        /// The class granted twice.
        class: DataClass,
    },
    /// The same class is listed twice under `never`.
    #[error("role policy lists `{class}` twice under `never` for `{role}`")]
    DuplicateNever {
        /// The role entry.
        role: Role,
        /// The class listed twice.
        class: DataClass,
    },
    /// A class is both granted and listed under `never`.
    #[error("role policy both grants `{class}` to `{role}` and lists it under `never`")]
    Contradiction {
        /// The role entry.
        role: Role,
        /// The class.
        class: DataClass,
    },
    /// A role has no entry (every role must be decided explicitly, even if it gets nothing).
    #[error("role policy has no entry for role `{0}`")]
    MissingRole(Role),
    /// The bundle has no Patient with an id (a canonical bundle always has one).
    #[error("bundle has no Patient with an id")]
    NoPatient,
    /// The Patient itself is withheld from this recipient, so nothing is released.
    #[error("nothing is releasable to role `{role}`: the Patient is withheld by rule `{rule}`")]
    NothingReleasable {
        /// The recipient's role.
        role: Role,
        /// The rule that withheld the Patient.
        rule: String,
    },
}

impl ErrorCode for PolicyError {
    fn code(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "policy.malformed",
            Self::MissingVersion => "policy.missing-version",
            Self::UnsupportedVersion(_) => "policy.version",
            Self::UnknownRole(_) => "policy.unknown-role",
            Self::UnknownClass { .. } => "policy.unknown-class",
            Self::UnknownBasis { .. } => "policy.unknown-basis",
            Self::UnknownConsentBasis(_) => "policy.unknown-consent-basis",
            Self::DerivedAlerts(_) => "policy.derived-alerts",
            Self::DuplicateRole(_) => "policy.duplicate-role",
            Self::DuplicateGrant { .. } => "policy.duplicate-grant",
            Self::DuplicateNever { .. } => "policy.duplicate-never",
            Self::Contradiction { .. } => "policy.contradiction",
            Self::MissingRole(_) => "policy.missing-role",
            Self::NoPatient => "policy.no-patient",
            Self::NothingReleasable { .. } => "policy.nothing-releasable",
        }
    }

    fn issue_type(&self) -> IssueType {
        match self {
            Self::NothingReleasable { .. } => IssueType::Forbidden,
            Self::NoPatient => IssueType::Required,
            _ => IssueType::Invalid,
        }
    }
}
