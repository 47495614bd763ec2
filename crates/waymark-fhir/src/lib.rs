//! FHIR R4 helpers over `serde_json::Value`: bundle entries, security labels and
//! `OperationOutcome`. The pipeline works on JSON values, validated by `waymark-profile`, so
//! nothing a source sends is silently dropped (ADR 0001).
//!
//! Pure: no IO, no clock. Must never put element *values* into an `OperationOutcome`: locations
//! and rule names only, so outcomes can be logged and shown to an integration engineer.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod bundle;
mod outcome;

pub use bundle::{data_class, entries, entries_mut, reference_of, security_codes};
pub use outcome::{Issue, OperationOutcome, Severity};
