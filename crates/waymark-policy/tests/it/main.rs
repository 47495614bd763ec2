//! All integration tests of this crate in one binary (one link, less disk and build time).

mod common;
mod consent;
mod properties;
mod property;
mod property_pull;
mod release;
