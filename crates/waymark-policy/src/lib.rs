//! The release stage's pure core: the role policy, and redaction of a canonical bundle down to
//! what one recipient may see.
//!
//! The role policy is data (`profiles/hjmd/role-policy.json`, see [`Policy::from_json`]): for
//! each [`Role`](waymark_core::Role), the data classes it may receive and the legal basis for
//! each. [`Policy::release`] takes a validated [`CanonicalBundle`](waymark_profile::CanonicalBundle)
//! and a [`Recipient`] and returns a [`Releasable`]: the bundle with every resource the role may
//! not see removed (and every resource whose data class cannot be read — default deny), plus a
//! [`Manifest`] of what was released, under which basis, and what was withheld by which rule.
//!
//! **Architecture invariant:** [`Releasable`] can be constructed only here, by
//! [`Policy::release`]; delivery and the API accept nothing else, so nothing reaches a subscriber
//! without passing the policy.
//!
//! This crate must never do IO, read the clock or hold global state, and must never put resource
//! content into an error or a manifest (resource ids are hub-generated uuids and may appear).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod alerts;
pub mod consent;
pub mod decide;
mod error;
mod manifest;
mod policy;
mod recipient;
mod redact;
mod release;
mod release_alerts;
mod release_summary;

pub use alerts::{DerivedAlert, DerivedAlerts};
pub use consent::{Consent, ConsentDecision, ConsentError, ConsentSet};
pub use decide::{BreakGlass, BreakGlassRecord, BreakGlassStatus, ReleaseContext};
pub use error::PolicyError;
pub use manifest::{Manifest, Released, Withheld};
pub use policy::{ConsentRules, Grant, LegalBasis, POLICY_VERSION, Policy, Refusal, RolePolicy};
pub use recipient::Recipient;
pub use redact::{DATA_ABSENT_REASON_URL, OBSERVATION_VALUE_SYSTEM, REDACTED_CODE};
pub use release::Releasable;
