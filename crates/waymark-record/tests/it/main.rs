//! All integration tests of this crate in one binary (one link, less disk and build time).

mod common;
mod merge;
mod properties;
mod summary;
mod topics;
