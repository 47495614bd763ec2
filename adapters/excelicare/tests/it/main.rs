//! The adapter's integration tests, in one binary.

mod common;
mod conformance;
mod framing;
mod limits;
mod logs;
mod mappings;
