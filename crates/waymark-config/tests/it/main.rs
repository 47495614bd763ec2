//! All integration tests of this crate in one binary.

mod examples;
mod problems;
mod schema;
