//! All integration tests of this crate in one binary (one link, less disk and build time).

mod common;
mod rabbit_broker;
mod rabbit_conformance;
mod rabbit_restart;
mod sqlite;
mod sqlite_restart;
mod sqlite_wait;
