//! All integration tests of this crate in one binary (one link, less disk and build time).

mod fixtures;
mod helpers;
mod limits;
mod runner;
mod tools;
