//! All integration tests of this crate in one binary (one link, less disk and build time).

mod common;
mod dead_letters;
mod deliver;
mod fhir;
mod files;
mod gaps;
mod isolation;
mod lifecycle;
mod notification;
mod outage;
mod outbound;
mod rotation;
mod signal;
mod webhooks;
