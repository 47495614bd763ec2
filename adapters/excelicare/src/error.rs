//! What can go wrong in the adapter itself. No variant carries an identifier, a name or a
//! message: these errors are logged and counted.

use waymark_core::{ErrorCode, IssueType};

/// An error of the ExceliCare adapter.
#[derive(Debug, thiserror::Error)]
pub enum ExcelicareError {
    /// The configuration is invalid; the text names the field, never a value from a message.
    #[error("invalid excelicare config: {0}")]
    Config(String),
    /// The MLLP listener could not bind its address.
    #[error("cannot listen on the configured address: {0}")]
    Listen(std::io::Error),
    /// The adapter's task ended abnormally (panicked or was aborted).
    #[error("the adapter task ended abnormally")]
    Task,
}

impl ErrorCode for ExcelicareError {
    fn code(&self) -> &'static str {
        match self {
            Self::Config(_) => "excelicare.config",
            Self::Listen(_) => "excelicare.listen",
            Self::Task => "excelicare.task",
        }
    }

    fn issue_type(&self) -> IssueType {
        match self {
            Self::Config(_) => IssueType::Invalid,
            Self::Listen(_) | Self::Task => IssueType::Exception,
        }
    }
}
