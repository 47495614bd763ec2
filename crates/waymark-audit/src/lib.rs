//! The tamper-evident audit trail, pure (no IO, no clock): what one request was
//! ([`AuditRecord`]), the hash chain ([`chain`], [`AuditEntry`], [`Head`]), its check
//! ([`verify`], [`Verifier`], [`Tamper`]) and its FHIR R4 form ([`to_audit_event`],
//! [`searchset`]).
//!
//! Every request — allowed or denied — becomes one record, appended before its response leaves
//! the hub. Each entry carries the previous entry's hash, and the log's [`Head`] is stored apart
//! and moved with each append, so verification detects a changed, deleted, reordered or
//! inserted entry and a cut tail. What it cannot detect: someone with the database owner's
//! rights who rewrites the chain from some entry onwards **and** the head to match (or replaces
//! the whole log and its head). Against that, publish the head (`waymark audit verify` prints
//! it) somewhere the database's owner cannot write, and compare.
//!
//! Records hold identifiers of persons and callers and a break-glass reason: never log them.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod chain;
mod fhir;
mod record;

pub use chain::{
    AuditEntry, GENESIS, Head, Tamper, TamperKind, Verified, Verifier, chain, entry_hash, verify,
};
pub use fhir::{searchset, to_audit_event};
pub use record::{AuditRecord, ClassDecision, sanitise_path};
