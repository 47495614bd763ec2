//! All integration tests of this crate in one binary (one link, less disk and build time).

mod canary;
mod common;
mod conformance;
mod faults;
mod limits;
mod real_samples;
mod synthetic;
mod synthetic_at;
