//! The Athena adapter's integration tests, one binary: the conformance suite every adapter
//! passes, against the mock Athena on loopback and a real embedded bus.

mod common;
mod conformance;
mod faults;
mod limits;
