//! The shared vocabulary of Waymark: the [`Envelope`] every source message travels in, the
//! [`SourceSystem`]s, the [`Role`]s and [`DataClass`]es the policy is written against, the
//! [`Sensitive`] wrapper that keeps patient data out of logs, and the [`ErrorCode`] trait every
//! crate's error implements.
//!
//! This crate must never do IO, read the clock or hold global state: it is depended on by every
//! other crate, pure ones included.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod envelope;
mod error;
mod identifiers;
mod labels;
mod role;
mod sensitive;
mod source;

pub use envelope::{ENVELOPE_VERSION, Envelope, EnvelopeError, MessageId, NewEnvelope, checksum};
pub use error::{ErrorCode, IssueType};
pub use identifiers::{
    CRO_NUMBER_SYSTEM, CroNumber, IdentifierError, NHS_NUMBER_SYSTEM, NhsNumber, PNC_ID_SYSTEM,
    PRISON_NUMBER_SYSTEM, PncId, PrisonNumber,
};
pub use labels::{CONFIDENTIALITY_SYSTEM, Confidentiality, DATA_CLASS_SYSTEM, DataClass};
pub use role::{Role, UnknownRole};
pub use sensitive::Sensitive;
pub use source::{SourceSystem, UnknownSource};
