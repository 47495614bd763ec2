//! `MappingError`: why a mapping could not be loaded or could not map a message.
//!
//! No variant carries input values: runtime reasons are an error *kind* or text the mapping
//! author wrote in `error("...")`.

use std::path::PathBuf;

use waymark_core::{ErrorCode, IssueType, MessageId, SourceSystem};

/// Why loading mappings or mapping a message failed.
#[derive(Debug, thiserror::Error)]
pub enum MappingError {
    /// A file or folder under the mappings directory could not be read, or a ConceptMap is
    /// malformed.
    #[error("cannot load `{}`: {reason}", path.display())]
    Load {
        /// The file or folder.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// A mapping's comment header is missing, malformed, or claims a (source, message type)
    /// another mapping already claims.
    #[error("`{}` line {line}: {reason}", file.display())]
    Header {
        /// The mapping file.
        file: PathBuf,
        /// 1-based line of the problem.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// A mapping program does not parse or compile.
    #[error("`{}`:{line}:{column}: {reason}", file.display())]
    Compile {
        /// The mapping file.
        file: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column (in characters).
        column: usize,
        /// What the compiler expected or could not find.
        reason: String,
    },
    /// No mapping handles this (source, message type).
    #[error("no mapping for `{source_system}` message type `{message_type}`")]
    NoMapping {
        /// The envelope's source.
        source_system: SourceSystem,
        /// The envelope's message type.
        message_type: String,
    },
    /// The payload is larger than [`crate::MAX_PAYLOAD_BYTES`], or the context larger than
    /// [`crate::MAX_CONTEXT_BYTES`].
    #[error("message `{message_id}` {part} is {size} bytes, over the {limit}-byte limit")]
    TooLarge {
        /// The envelope id.
        message_id: MessageId,
        /// `payload` or `context`.
        part: &'static str,
        /// Payload size in bytes.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The payload is not JSON (or nests deeper than the parser allows).
    #[error("message `{message_id}` payload is not JSON: {reason}")]
    NotJson {
        /// The envelope id.
        message_id: MessageId,
        /// Where parsing failed (line and column, never content).
        reason: String,
    },
    /// The program raised an error while mapping.
    #[error("mapping `{mapping}` {version} failed on message `{message_id}`: {reason}")]
    Runtime {
        /// Mapping id, e.g. `nomis/prison-movement`.
        mapping: String,
        /// Mapping version from its header.
        version: String,
        /// The envelope id.
        message_id: MessageId,
        /// The error kind, or the text the program passed to `error(...)`. Never input values.
        reason: String,
    },
    /// The run exceeded a bound of the sandbox: time, steps or recursion depth (see
    /// [`crate::Limits`]).
    #[error("mapping `{mapping}` {version} was stopped on message `{message_id}`: {reason}")]
    Limit {
        /// Mapping id.
        mapping: String,
        /// Mapping version.
        version: String,
        /// The envelope id.
        message_id: MessageId,
        /// Which bound.
        limit: crate::Limit,
        /// The bound, in words.
        reason: String,
    },
    /// The runner cannot take work: too many stuck runs are still going, or no worker thread
    /// could be started. Transient from the message's point of view.
    #[error("the mapping runner is unavailable: {reason}")]
    Unavailable {
        /// Why.
        reason: String,
    },
    /// The program ran but its output is not one Bundle the runner can complete.
    #[error(
        "mapping `{mapping}` {version} gave unusable output for message `{message_id}`: {reason}"
    )]
    Output {
        /// Mapping id.
        mapping: String,
        /// Mapping version.
        version: String,
        /// The envelope id.
        message_id: MessageId,
        /// What is wrong with the output (shape only, never values).
        reason: String,
    },
}

impl ErrorCode for MappingError {
    fn code(&self) -> &'static str {
        match self {
            Self::Load { .. } => "mapping.load",
            Self::Header { .. } => "mapping.header",
            Self::Compile { .. } => "mapping.compile",
            Self::NoMapping { .. } => "mapping.no-mapping",
            Self::TooLarge { .. } => "mapping.too-large",
            Self::NotJson { .. } => "mapping.not-json",
            Self::Runtime { .. } => "mapping.runtime",
            Self::Output { .. } => "mapping.output",
            Self::Limit { limit, .. } => match limit {
                crate::Limit::Time => "mapping.timeout",
                crate::Limit::Steps => "mapping.steps",
                crate::Limit::Depth => "mapping.recursion",
            },
            Self::Unavailable { .. } => "mapping.unavailable",
        }
    }

    fn issue_type(&self) -> IssueType {
        match self {
            Self::Load { .. } | Self::Header { .. } | Self::Compile { .. } => IssueType::Exception,
            Self::NoMapping { .. } => IssueType::NotFound,
            Self::TooLarge { .. } | Self::Limit { .. } => IssueType::TooCostly,
            Self::Unavailable { .. } => IssueType::Transient,
            Self::NotJson { .. } => IssueType::Structure,
            Self::Runtime { .. } | Self::Output { .. } => IssueType::Processing,
        }
    }
}
