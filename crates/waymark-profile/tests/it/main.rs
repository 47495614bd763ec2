//! All integration tests of this crate in one binary (one link, less disk and build time).

mod package;
mod reference;
mod validate;
