//! What can go wrong in the adapter. No variant carries an NHS number, a name or a body: these
//! errors are logged, counted, written into the journal and into `context.error`.

use waymark_core::{ErrorCode, IssueType};

/// An error of the SCR adapter.
#[derive(Debug, thiserror::Error)]
pub enum ScrError {
    /// The configuration is invalid; the text names the field, never a value.
    #[error("invalid scr config: {0}")]
    Config(String),
    /// The pull endpoint could not bind its address.
    #[error("cannot listen on the configured address: {0}")]
    Listen(std::io::Error),
    /// The pull endpoint's server failed while running.
    #[error("the pull endpoint failed: {0}")]
    Serve(std::io::Error),
    /// A task of the adapter ended abnormally.
    #[error("an adapter task ended abnormally")]
    Task,
    /// The HTTP client for the SCR API could not be built.
    #[error("cannot build the scr api client")]
    Client,
    /// A pull request names no valid NHS number (format or check digit). Not journaled.
    #[error("the pull request has no valid nhs number")]
    InvalidNhsNumber,
    /// A pull request is not a well-formed `{nhsNumber, reason, requestedAt}`.
    #[error("the pull request is malformed")]
    InvalidRequest,
    /// The journal could not be read or written (the request is not accepted).
    #[error("the pull journal cannot be written: {0}")]
    Journal(std::io::Error),
    /// The journal is at its size limit even after compaction (the request is not accepted).
    #[error("the pull journal is full")]
    JournalFull,
    /// The adapter is stopping and takes no new work.
    #[error("the adapter is stopping")]
    Stopping,
    /// The SCR API answered with an unusable status (after retries for a transient one).
    #[error("scr api answered http {status}")]
    Status {
        /// The HTTP status of the last attempt.
        status: u16,
    },
    /// The SCR API could not be reached, dropped the connection or timed out.
    #[error("scr api unreachable, dropped or timed out")]
    Unreachable,
    /// The SCR API answered 2xx with a body that is not the FHIR resource it should be.
    #[error("scr api answered with a malformed body")]
    Malformed,
    /// The answer is larger than the configured body limit.
    #[error("scr answer over the body limit of {limit} bytes")]
    TooLarge {
        /// The configured limit.
        limit: usize,
    },
    /// Retries ran out of the configured window; the request stays in the journal as failed.
    #[error("gave up after {attempts} attempts: {last}")]
    GaveUp {
        /// Attempts made.
        attempts: u32,
        /// The code of the last failure.
        last: &'static str,
    },
}

impl ScrError {
    /// The HTTP status the SCR API answered, when there was one (for `context.error.status`).
    pub fn http_status(&self) -> Option<u16> {
        match self {
            Self::Status { status } => Some(*status),
            _ => None,
        }
    }
}

impl ErrorCode for ScrError {
    fn code(&self) -> &'static str {
        match self {
            Self::Config(_) => "scr.config",
            Self::Listen(_) => "scr.listen",
            Self::Serve(_) => "scr.serve",
            Self::Task => "scr.task",
            Self::Client => "scr.client",
            Self::InvalidNhsNumber => "scr.request.nhs-number",
            Self::InvalidRequest => "scr.request.invalid",
            Self::Journal(_) => "scr.journal.io",
            Self::JournalFull => "scr.journal.full",
            Self::Stopping => "scr.stopping",
            Self::Status { .. } => "scr.api.status",
            Self::Unreachable => "scr.api.unreachable",
            Self::Malformed => "scr.api.malformed",
            Self::TooLarge { .. } => "scr.api.too-large",
            Self::GaveUp { .. } => "scr.api.gave-up",
        }
    }

    fn issue_type(&self) -> IssueType {
        match self {
            Self::Config(_) | Self::InvalidRequest => IssueType::Invalid,
            Self::InvalidNhsNumber => IssueType::Value,
            Self::Listen(_) | Self::Serve(_) | Self::Task | Self::Client => IssueType::Exception,
            Self::Journal(_) | Self::JournalFull | Self::Stopping | Self::Unreachable => {
                IssueType::Transient
            }
            Self::Status { status } if *status >= 500 || *status == 429 => IssueType::Transient,
            Self::Status { .. } | Self::GaveUp { .. } => IssueType::Processing,
            Self::Malformed => IssueType::Structure,
            Self::TooLarge { .. } => IssueType::TooCostly,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_transience() {
        assert!(ScrError::Status { status: 503 }.is_transient());
        assert!(ScrError::Status { status: 429 }.is_transient());
        assert!(!ScrError::Status { status: 400 }.is_transient());
        assert!(ScrError::Unreachable.is_transient());
        assert!(!ScrError::Malformed.is_transient());
        assert_eq!(ScrError::Status { status: 502 }.http_status(), Some(502));
        let gave_up = ScrError::GaveUp {
            attempts: 3,
            last: "scr.api.unreachable",
        };
        assert_eq!(gave_up.code(), "scr.api.gave-up");
        assert!(gave_up.to_string().contains("scr.api.unreachable"));
    }
}
