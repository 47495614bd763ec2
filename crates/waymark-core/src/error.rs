//! One error-code trait every crate's error enum implements, so the API edge can turn any error
//! into an `OperationOutcome` with the right HTTP status without knowing the crate.

/// The FHIR `OperationOutcome.issue.code` values Waymark uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IssueType {
    /// `invalid`: content is not valid.
    Invalid,
    /// `structure`: structural problem (not parseable, wrong shape).
    Structure,
    /// `required`: a required element is missing.
    Required,
    /// `value`: an element's value is wrong.
    Value,
    /// `not-found`: a referenced thing does not exist.
    NotFound,
    /// `too-costly`: too large or too deep to process.
    TooCostly,
    /// `forbidden`: the policy denied it.
    Forbidden,
    /// `transient`: try again later.
    Transient,
    /// `exception`: an unexpected internal failure.
    Exception,
    /// `processing`: a processing rule failed (e.g. a mapping).
    Processing,
}

impl IssueType {
    /// The FHIR code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Invalid => "invalid",
            Self::Structure => "structure",
            Self::Required => "required",
            Self::Value => "value",
            Self::NotFound => "not-found",
            Self::TooCostly => "too-costly",
            Self::Forbidden => "forbidden",
            Self::Transient => "transient",
            Self::Exception => "exception",
            Self::Processing => "processing",
        }
    }
}

/// Implemented by every crate's error enum.
///
/// `code` is a stable, machine-readable identifier (`mapping.runtime`, `bus.closed`, ...) used in
/// quarantine entries, metrics and `OperationOutcome.issue.details`; it never contains patient
/// data. `Display` of the error must not contain patient data either.
pub trait ErrorCode: std::error::Error {
    /// A stable dotted code, e.g. `nomis.prison-api.not-found`.
    fn code(&self) -> &'static str;
    /// The FHIR issue type.
    fn issue_type(&self) -> IssueType;
    /// Whether retrying the same input later may succeed (a network fault) or never will.
    fn is_transient(&self) -> bool {
        matches!(self.issue_type(), IssueType::Transient)
    }
}
