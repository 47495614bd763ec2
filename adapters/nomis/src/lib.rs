//! The NOMIS adapter: receives HMPPS offender events (SNS HTTP(S) notifications: reception,
//! transfer, release, status and record changes), asks the Prison API who the event is about
//! (`full-status` and the booking's alerts), and publishes each notification, bytes untouched, in
//! an [`Envelope`](waymark_core::Envelope) to the ingest queue. It also holds a faithful mock of
//! NOMIS ([`MockNomis`]): a Prison API stand-in serving a [`Population`] and a pusher that delivers
//! that population's notifications the way SNS does.
//!
//! This crate must never know about FHIR, mappings or policy: it wraps and enriches, nothing
//! more. It must never acknowledge a notification (answer 2xx) before the bus confirmed the
//! publish, never drop a notification it could not read (it is published with `context.error`
//! for the map stage to quarantine), never panic on any input, and never log, or put in an
//! error, a payload, a name or an identifier: only message ids, event types and error codes.
//!
//! A Prison API failure that may pass (unreachable, timed out, reset, 5xx or 429, after the
//! client's own retries) is neither published nor acknowledged: the endpoint answers 503 and
//! SNS delivers the notification again (counted as `enrich_deferred`). Only a permanent failure
//! (404, another refusal such as 403, an answer of the wrong shape, no usable prison number, a
//! body too large to enrich) is published with `context.error`.
//!
//! **Operator note.** While the Prison API is down the endpoint answers 503 to every
//! notification, so the SNS subscription's HTTP delivery policy decides how long an outage can
//! last before notifications are lost to SNS: set it to retry long enough to ride one out (for
//! example `numRetries` 100, `maxDelayTarget` 3600 s, `backoffFunction` exponential) and give
//! the subscription a dead-letter (redrive) queue, so that what SNS gives up on is kept and can
//! be re-published once the Prison API is back. Watch `enrich_deferred`: a steady rise is an
//! outage, not bad input.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod client;
mod config;
mod error;
mod faults;
mod ingest;
mod listener;
mod mock;
mod parse;
mod population;
mod pusher;
mod rng;
mod sns;
mod synthetic;
mod telemetry;

pub use client::{Enrichment, PrisonApi, PrisonNumber, RetryPolicy};
pub use config::{CONFIG_VERSION, NomisConfig, RunningAdapter};
pub use error::NomisError;
pub use ingest::{UNPARSEABLE, offline_envelope};
pub use listener::{ListenerState, MAX_BODY_BYTES, SNS_PATH, SNS_TYPE_HEADER, router};
pub use mock::{FAILING_PRISONER, MockNomis, UNKNOWN_PRISONER};
pub use parse::{
    Notification, OffenderEvent, ParseError, is_bst, london_to_utc, parse_event, parse_event_time,
    parse_notification, utc_to_london,
};
pub use population::{Expect, Expected, Population, PopulationError, Route, ScriptedNotification};
pub use pusher::{PushOptions, PushOutcome, PushReport, Pusher};
pub use synthetic::{Faults, RECENT_GAP, RECENT_WINDOW};
pub use telemetry::{Telemetry, TelemetrySnapshot};
pub use waymark_bus::AdapterContext;
