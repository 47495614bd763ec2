//! What can go wrong in the adapter. No variant carries an NHS number, a name or a body: these
//! errors are logged, counted, written into `context.error` of an envelope and into the journal.

use waymark_core::{ErrorCode, IssueType};

/// An error of the SystmOne adapter.
#[derive(Debug, thiserror::Error)]
pub enum SystmOneError {
    /// The configuration is invalid; the text names the field, never a value.
    #[error("invalid systmone config: {0}")]
    Config(String),
    /// The pull endpoint could not bind its address.
    #[error("cannot listen on the configured address: {0}")]
    Listen(std::io::Error),
    /// The pull endpoint's server failed while running.
    #[error("the pull endpoint failed: {0}")]
    Serve(std::io::Error),
    /// One of the adapter's tasks ended abnormally.
    #[error("an adapter task ended abnormally")]
    Task,
    /// The HTTP client could not be built.
    #[error("cannot build the gp connect client")]
    Client,
    /// The journal or the cursor file could not be read or written.
    #[error("journal io failed: {0}")]
    Journal(std::io::ErrorKind),
    /// The journal is at its size limit even after compaction; the request was not taken.
    #[error("journal is full ({size} bytes, limit {limit})")]
    JournalFull {
        /// Bytes the live records take.
        size: u64,
        /// The configured limit.
        limit: u64,
    },
    /// A pull request is not usable (bad NHS number, reason or time); the text names the field.
    #[error("invalid pull request: {0}")]
    InvalidRequest(&'static str),
    /// The adapter is stopping and takes no more requests.
    #[error("the adapter is stopping")]
    Stopping,
    /// GP Connect answered with an OperationOutcome error (`code` is the Spine error code,
    /// upper case, checked to be a plain token).
    #[error("gp connect answered http {status} ({spine_code})")]
    Gpc {
        /// The HTTP status.
        status: u16,
        /// The Spine error code, e.g. `PATIENT_NOT_FOUND`.
        spine_code: String,
    },
    /// The provider answered with an unusable status (after retries for a 5xx or 429).
    #[error("gp connect answered http {status}")]
    Status {
        /// The HTTP status of the last attempt.
        status: u16,
    },
    /// The provider could not be reached, timed out or dropped the connection (after retries).
    #[error("gp connect unreachable, timed out or dropped the connection")]
    Unreachable,
    /// The answer is not JSON, or not a Bundle or an OperationOutcome.
    #[error("gp connect answered with a malformed body")]
    Malformed,
    /// The answer is larger than the configured limit.
    #[error("gp connect answer over the limit of {limit} bytes")]
    TooLarge {
        /// The configured limit.
        limit: usize,
    },
    /// Retrying went on for longer than the configured window; the request is kept as failed.
    #[error("gave up after {elapsed_ms} ms: {last}")]
    GaveUp {
        /// How long the request was retried.
        elapsed_ms: u64,
        /// The last error's code.
        last: &'static str,
    },
}

impl SystmOneError {
    /// The HTTP status the provider answered, when there was one.
    pub fn http_status(&self) -> Option<u16> {
        match self {
            Self::Gpc { status, .. } | Self::Status { status } => Some(*status),
            _ => None,
        }
    }

    /// Whether waiting and asking again may help (5xx, 429, unreachable).
    pub fn retryable(&self) -> bool {
        match self {
            Self::Status { status } | Self::Gpc { status, .. } => *status >= 500 || *status == 429,
            Self::Unreachable => true,
            _ => false,
        }
    }
}

impl ErrorCode for SystmOneError {
    fn code(&self) -> &'static str {
        match self {
            Self::Config(_) => "systmone.config",
            Self::Listen(_) => "systmone.listen",
            Self::Serve(_) => "systmone.serve",
            Self::Task => "systmone.task",
            Self::Client => "systmone.client",
            Self::Journal(_) => "systmone.journal",
            Self::JournalFull { .. } => "systmone.journal-full",
            Self::InvalidRequest(_) => "systmone.invalid-request",
            Self::Stopping => "systmone.stopping",
            Self::Gpc { spine_code, .. } => gpc_code(spine_code),
            Self::Status { .. } => "systmone.gpc.status",
            Self::Unreachable => "systmone.gpc.unreachable",
            Self::Malformed => "systmone.gpc.malformed",
            Self::TooLarge { .. } => "systmone.gpc.too-large",
            Self::GaveUp { .. } => "systmone.gave-up",
        }
    }

    fn issue_type(&self) -> IssueType {
        match self {
            Self::Config(_) | Self::InvalidRequest(_) => IssueType::Invalid,
            Self::Listen(_) | Self::Serve(_) | Self::Task | Self::Client | Self::Journal(_) => {
                IssueType::Exception
            }
            Self::JournalFull { .. } | Self::TooLarge { .. } => IssueType::TooCostly,
            Self::Stopping | Self::Unreachable => IssueType::Transient,
            Self::Gpc { spine_code, .. } if spine_code == "PATIENT_NOT_FOUND" => {
                IssueType::NotFound
            }
            Self::Gpc { status, .. } | Self::Status { status }
                if *status >= 500 || *status == 429 =>
            {
                IssueType::Transient
            }
            Self::Gpc { .. } | Self::Status { .. } | Self::GaveUp { .. } => IssueType::Processing,
            Self::Malformed => IssueType::Structure,
        }
    }
}

/// The error code of a Spine error code (a fixed vocabulary; anything else is `other`).
fn gpc_code(spine: &str) -> &'static str {
    match spine {
        "PATIENT_NOT_FOUND" => "systmone.gpc.patient-not-found",
        "INVALID_NHS_NUMBER" => "systmone.gpc.invalid-nhs-number",
        "INVALID_PATIENT_DEMOGRAPHICS" => "systmone.gpc.invalid-demographics",
        "PATIENT_DECEASED" => "systmone.gpc.patient-deceased",
        "NO_PATIENT_CONSENT" => "systmone.gpc.no-consent",
        "NO_RELATIONSHIP" => "systmone.gpc.no-relationship",
        "BAD_REQUEST" => "systmone.gpc.bad-request",
        "INVALID_PARAMETER" => "systmone.gpc.invalid-parameter",
        "INVALID_RESOURCE" => "systmone.gpc.invalid-resource",
        "ACCESS_DENIED" => "systmone.gpc.access-denied",
        "INTERNAL_SERVER_ERROR" => "systmone.gpc.internal-error",
        _ => "systmone.gpc.other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_fixed_and_retryability_follows_the_status() {
        let nf = SystmOneError::Gpc {
            status: 404,
            spine_code: "PATIENT_NOT_FOUND".into(),
        };
        assert_eq!(nf.code(), "systmone.gpc.patient-not-found");
        assert_eq!(nf.http_status(), Some(404));
        assert!(!nf.retryable());
        let odd = SystmOneError::Gpc {
            status: 400,
            spine_code: "SOMETHING 9434765919".into(),
        };
        assert_eq!(odd.code(), "systmone.gpc.other");
        assert!(SystmOneError::Status { status: 503 }.retryable());
        assert!(SystmOneError::Status { status: 429 }.retryable());
        assert!(!SystmOneError::Status { status: 401 }.retryable());
        assert!(SystmOneError::Unreachable.retryable());
        assert!(!SystmOneError::Malformed.retryable());
    }
}
