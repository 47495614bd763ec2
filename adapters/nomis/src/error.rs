//! What can go wrong in the adapter. No variant carries an identifier, a name or a body: these
//! errors are logged, counted and written into `context.error` of an envelope.

use waymark_core::{ErrorCode, IssueType};

/// An error of the NOMIS adapter.
#[derive(Debug, thiserror::Error)]
pub enum NomisError {
    /// The configuration is invalid; the text names the field, never a value from a message.
    #[error("invalid nomis config: {0}")]
    Config(String),
    /// The SNS endpoint could not bind its address.
    #[error("cannot listen on the configured address: {0}")]
    Listen(std::io::Error),
    /// The SNS endpoint's server failed while running.
    #[error("the sns endpoint failed: {0}")]
    Serve(std::io::Error),
    /// The adapter's task ended abnormally.
    #[error("the adapter task ended abnormally")]
    Task,
    /// The HTTP client for the Prison API could not be built.
    #[error("cannot build the prison api client")]
    Client,
    /// The Prison API does not know the prisoner or booking (404). Not retried.
    #[error("prison api: not found")]
    NotFound,
    /// The Prison API answered with an unusable status or body (after retries for a 5xx or a
    /// 429). Transient (a 5xx or a 429): the endpoint answers SNS 503; otherwise published with
    /// `context.error`.
    #[error("prison api answered http {status} with no usable record")]
    Status {
        /// The HTTP status of the last attempt.
        status: u16,
    },
    /// The Prison API could not be reached, reset the connection or timed out (after retries).
    /// Transient: the endpoint answers SNS 503 and publishes nothing.
    #[error("prison api unreachable or timed out")]
    Unreachable,
    /// The event names no valid prison number or booking to look up.
    #[error("the event names no valid prison number or booking")]
    Unresolvable,
    /// The notification is too large to be a real offender event; it was not enriched.
    #[error("notification is {size} bytes, over the enrichment limit of {limit} bytes")]
    TooLarge {
        /// Its size in bytes.
        size: usize,
        /// The configured limit.
        limit: usize,
    },
}

impl NomisError {
    /// The HTTP status the Prison API answered, when there was one (for `context.error.status`).
    pub fn http_status(&self) -> Option<u16> {
        match self {
            Self::NotFound => Some(404),
            Self::Status { status } => Some(*status),
            _ => None,
        }
    }
}

impl ErrorCode for NomisError {
    fn code(&self) -> &'static str {
        match self {
            Self::Config(_) => "nomis.config",
            Self::Listen(_) => "nomis.listen",
            Self::Serve(_) => "nomis.serve",
            Self::Task => "nomis.task",
            Self::Client => "nomis.client",
            Self::NotFound => "nomis.prison-api.not-found",
            Self::Status { .. } => "nomis.prison-api.status",
            Self::Unreachable => "nomis.prison-api.unreachable",
            Self::Unresolvable => "nomis.unresolvable",
            Self::TooLarge { .. } => "nomis.too-large",
        }
    }

    fn issue_type(&self) -> IssueType {
        match self {
            Self::Config(_) => IssueType::Invalid,
            Self::Listen(_) | Self::Serve(_) | Self::Task | Self::Client => IssueType::Exception,
            Self::NotFound => IssueType::NotFound,
            Self::Status { status } if *status >= 500 || *status == 429 => IssueType::Transient,
            Self::Status { .. } => IssueType::Processing,
            Self::Unreachable => IssueType::Transient,
            Self::Unresolvable => IssueType::Value,
            Self::TooLarge { .. } => IssueType::TooCostly,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_the_contract_and_statuses_are_reported() {
        assert_eq!(NomisError::NotFound.code(), "nomis.prison-api.not-found");
        assert_eq!(NomisError::NotFound.http_status(), Some(404));
        let status = NomisError::Status { status: 500 };
        assert_eq!(
            (status.code(), status.http_status()),
            ("nomis.prison-api.status", Some(500))
        );
        assert!(status.is_transient());
        assert!(NomisError::Status { status: 429 }.is_transient());
        for permanent in [403, 400, 200] {
            assert!(!NomisError::Status { status: permanent }.is_transient());
        }
        assert!(NomisError::Unreachable.is_transient());
        assert!(!NomisError::NotFound.is_transient());
        assert_eq!(
            NomisError::Unreachable.code(),
            "nomis.prison-api.unreachable"
        );
        assert_eq!(NomisError::Unreachable.http_status(), None);
        assert_eq!(NomisError::Unresolvable.code(), "nomis.unresolvable");
        assert!(!NomisError::Unresolvable.is_transient());
    }
}
