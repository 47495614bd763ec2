//! The SystmOne adapter: pulls a person's prison healthcare record from SystmOne through GP
//! Connect Access Record: Structured (`POST /Patient/$gpc.getstructuredrecord`, FHIR STU3
//! CareConnect bundles: problems, medication with dates, allergies) when the hub asks (a
//! [`PullRequest`]: reception into prison, identification) and when SystmOne's change feed says
//! a record changed, and publishes each answer, bytes untouched, in an
//! [`Envelope`](waymark_core::Envelope) to the ingest queue. The STU3 → R4 conversion is the
//! map stage's (`mappings/systmone/`). It also holds a mock SystmOne ([`MockSystmOne`]).
//!
//! Pull requests are journaled (append-only file, fsynced) before they are acknowledged; a
//! request is marked done only after the bus confirmed the publish; on start, pending requests
//! are resumed (the journal is the checkpoint). The message id is derived from (source, NHS
//! number, hash of the answer), so pulling the same record twice is idempotent downstream.
//!
//! This crate must never look at what the record says (only whether it is a Bundle), never
//! acknowledge a request it has not journaled, never drop a request silently (a request given
//! up on stays in the journal as failed, and is counted), never panic on any input, and never
//! log, or put in an error, a payload, a name, a date of birth or an NHS number.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod client;
mod config;
mod envelope;
mod error;
mod feed;
mod gpc;
mod handle;
mod journal;
mod listener;
pub mod mock;
mod request;
mod running;
mod telemetry;
mod worker;

pub use client::{Answer, Fetch, GpcClient, RetryPolicy};
pub use config::{CONFIG_VERSION, MAX_RESPONSE_BYTES, SystmOneConfig};
pub use envelope::{MESSAGE_TYPE, envelope_for, message_id, offline_envelope, person_key};
pub use error::SystmOneError;
pub use feed::{CHANGES_PATH, ChangeNotification, FEED_INTERACTION_ID, read_cursor};
pub use gpc::{GpcIdentity, INTERACTION_ID, STRUCTURED_RECORD_PATH, bearer_jwt, parameters};
pub use handle::PullHandle;
pub use journal::{JournalStats, Submitted};
pub use listener::{MAX_PULL_BYTES, PULL_PATH, STATUS_PATH, router};
pub use mock::MockSystmOne;
pub use request::{PullRequest, Reason};
pub use running::RunningAdapter;
pub use telemetry::{Telemetry, TelemetrySnapshot};
pub use waymark_bus::AdapterContext;
