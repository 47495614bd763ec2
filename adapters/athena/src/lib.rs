//! The Athena adapter: polls Athena's (the police custody record system's) REST feed of custody
//! events — `GET /api/v1/custody-events?cursor=…&limit=…` with a bearer token from the token
//! endpoint — follows its pages, and publishes each custody event, bytes untouched, in an
//! [`Envelope`](waymark_core::Envelope) to the ingest queue. Its cursor is written to a
//! checkpoint file (atomically, fsynced) only once every event of a page was confirmed by the
//! bus, so a crash or a stop loses nothing and a replay is idempotent (message ids derive from
//! Athena's event ids). It also holds a mock Athena ([`MockAthena`]) serving a custody feed drawn
//! from the shared synthetic population, with fault injection.
//!
//! This crate must never know about FHIR, mappings or policy. It must never advance its cursor
//! past an event the bus has not confirmed, never drop an event it could not read (it is
//! published with `context.error` for the map stage to quarantine), never panic on any input, and
//! never log, or put in an error, a payload, a name or an identifier: only message ids, event
//! kinds, sequence numbers, counts and error codes.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod checkpoint;
mod client;
mod config;
mod error;
mod event;
mod mock;
mod poller;
mod rng;
mod telemetry;

pub use checkpoint::Checkpoint;
pub use client::{FEED_PATH, MAX_PAGE_BYTES, MAX_PAGE_EVENTS, Page, TOKEN_PATH};
pub use config::{AthenaConfig, CONFIG_VERSION, RunningAdapter, Secret};
pub use error::AthenaError;
pub use event::{FLAWED_CODE, UNPARSEABLE, envelope_for_event};
pub use mock::{
    Expect, Expected, Feed, FeedFaults, FeedItem, HttpFaults, MOCK_CLIENT_ID, MOCK_CLIENT_SECRET,
    MockAthena, MockStats,
};
pub use telemetry::{Telemetry, TelemetrySnapshot};
pub use waymark_bus::AdapterContext;
