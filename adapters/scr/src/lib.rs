//! The SCR adapter: pulls a person's NHS Summary Care Record (the GP summary: medications,
//! allergies, diagnoses, risks to patient) from the SCR FHIR R4 API when the hub asks for it by
//! NHS number, and publishes the answer, bytes untouched, in one
//! [`Envelope`](waymark_core::Envelope) to the ingest queue. It also holds a mock SCR
//! ([`MockScr`]) serving a synthetic population with fault injection.
//!
//! A pull is asked for with a [`PullRequest`] `{nhsNumber, reason, requestedAt}`, in process
//! through [`PullHandle::submit`] or over HTTP at `POST /pull`; either is acknowledged only once
//! the request is fsynced in the journal, the adapter's checkpoint. Workers take pending
//! requests, search the SCR, publish, and mark the request done only after the bus confirmed.
//! "No consent" (access control refused) and "no result" are answers, not records: nothing is
//! published, the request is marked done with that outcome in the journal and counted
//! (`no_consent`, `no_result`), and it is never retried.
//!
//! This crate must never know about FHIR mappings or policy, never acknowledge before the
//! journal holds the request, never mark a request done before the bus confirmed, never panic
//! on any input, and never log, or put in an error, an NHS number, a name or a body.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod classify;
mod client;
mod config;
mod error;
mod handle;
mod ingest;
mod journal;
mod listener;
mod mock;
mod request;
mod telemetry;
mod worker;

pub use classify::GP_SUMMARY_TYPE;
pub use client::{Answer, NHS_NUMBER_SYSTEM, RetryPolicy, SESSION_URID_HEADER, ScrApi};
pub use config::{CONFIG_VERSION, RunningAdapter, ScrConfig};
pub use error::ScrError;
pub use handle::PullHandle;
pub use ingest::{
    GP_SUMMARY, MALFORMED_CODE, NO_CONSENT, NO_RESULT, UNPARSEABLE, envelope_for, message_id,
};
pub use journal::{Accepted, JournalStatus};
pub use listener::{MAX_PULL_BYTES, PULL_PATH, router};
pub use mock::{Faults, MockScr, ScrPerson, ScrPopulation, ScrState};
pub use request::{Nhs, PullReason, PullRequest};
pub use telemetry::TelemetrySnapshot;
pub use waymark_bus::AdapterContext;
