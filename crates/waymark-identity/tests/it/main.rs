//! All integration tests of this crate in one binary (one link, less disk and build time).

mod index;
mod place;
mod properties;
mod property;
mod scoring;
