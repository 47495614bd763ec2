//! The reliability test kit (issue 13). [`fuzz`] holds one pure entry point per parser the hub
//! exposes to bytes from outside the process — HL7 v2 ER7 and MLLP framing, each adapter's
//! decoder, FHIR validation, the mapping runner, webhook signing and the API's query values —
//! each taking `&[u8]` and driving the real code the way the hub does. Every one must return
//! normally on any input: errors are fine (they are typed), a panic, a hang or unbounded memory
//! is the bug. The cargo-fuzz crate (`fuzz/`, nightly) calls them; so does the stable test
//! `tests/it/corpus.rs`, which replays the committed corpus (`fuzz/corpus/<target>/`) and
//! [`mutate`]d variants of it on every test run. [`proxy`] is the fault-injecting TCP proxy
//! the fault tests put between the hub and a service (latency, resets, dropped and half-open
//! connections, stop / resume).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod fuzz;
pub mod mutate;
pub mod proxy;

pub use fuzz::{TARGETS, Target, target};
pub use mutate::{Mutator, mutate};
