//! What can go wrong in the adapter. No variant carries an identifier, a name, a cursor or a
//! body: these errors are logged, counted and written into `context.error` of an envelope.

use waymark_core::{ErrorCode, IssueType};

/// An error of the Athena adapter.
#[derive(Debug, thiserror::Error)]
pub enum AthenaError {
    /// The configuration is invalid; the text names the field, never a value.
    #[error("invalid athena config: {0}")]
    Config(String),
    /// The HTTP client could not be built.
    #[error("cannot build the athena http client")]
    Client,
    /// The token endpoint refused the credentials or answered without a usable token.
    #[error("athena token endpoint answered http {status} with no usable token")]
    Token {
        /// The HTTP status (200 when the body was unusable).
        status: u16,
    },
    /// The feed refused the token even after a fresh one was fetched.
    #[error("athena feed refused a fresh token")]
    Unauthorized,
    /// The feed asked the adapter to slow down (429).
    #[error("athena feed rate limited the adapter")]
    RateLimited,
    /// The feed answered with an unusable status.
    #[error("athena feed answered http {status}")]
    Status {
        /// The HTTP status.
        status: u16,
    },
    /// The feed could not be reached, timed out or dropped the connection.
    #[error("athena feed unreachable, timed out or dropped the connection")]
    Unreachable,
    /// The feed answered 200 with a body that is not a page of events (e.g. invalid JSON).
    #[error("athena feed answered with a body that is not a page of events")]
    InvalidPage,
    /// The feed answered a page over [`crate::MAX_PAGE_BYTES`] or with more than
    /// [`crate::MAX_PAGE_EVENTS`] events: refused unread beyond the limit.
    #[error("athena feed answered a page over its limit of {limit} (bytes or events)")]
    TooLarge {
        /// The limit broken.
        limit: usize,
    },
    /// The checkpoint file could not be read, parsed or written.
    #[error("athena checkpoint {0}")]
    Checkpoint(&'static str),
    /// The adapter's task ended abnormally (panicked or was aborted).
    #[error("the athena adapter task ended abnormally")]
    Task,
}

impl ErrorCode for AthenaError {
    fn code(&self) -> &'static str {
        match self {
            Self::Config(_) => "athena.config",
            Self::Client => "athena.client",
            Self::Token { .. } => "athena.token",
            Self::Unauthorized => "athena.unauthorized",
            Self::RateLimited => "athena.rate-limited",
            Self::Status { .. } => "athena.status",
            Self::Unreachable => "athena.unreachable",
            Self::InvalidPage => "athena.invalid-page",
            Self::TooLarge { .. } => "athena.too-large",
            Self::Checkpoint(_) => "athena.checkpoint",
            Self::Task => "athena.task",
        }
    }

    fn issue_type(&self) -> IssueType {
        match self {
            Self::Config(_) => IssueType::Invalid,
            Self::Client | Self::Checkpoint(_) | Self::Task => IssueType::Exception,
            Self::Token { .. } | Self::Unauthorized => IssueType::Forbidden,
            Self::RateLimited | Self::Unreachable | Self::InvalidPage => IssueType::Transient,
            Self::Status { status } if *status >= 500 || *status == 408 => IssueType::Transient,
            Self::Status { .. } => IssueType::Processing,
            Self::TooLarge { .. } => IssueType::TooCostly,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_transience() {
        assert_eq!(AthenaError::InvalidPage.code(), "athena.invalid-page");
        assert!(AthenaError::InvalidPage.is_transient());
        assert!(AthenaError::Status { status: 503 }.is_transient());
        assert!(!AthenaError::Status { status: 400 }.is_transient());
        assert!(!AthenaError::Unauthorized.is_transient());
        assert_eq!(AthenaError::RateLimited.code(), "athena.rate-limited");
    }
}
