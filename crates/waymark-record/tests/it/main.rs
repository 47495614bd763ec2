//! All integration tests of this crate in one binary (one link, less disk and build time).

mod common;
mod merge;
mod summary;
mod topics;
