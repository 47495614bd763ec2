//! All integration tests of this crate in one binary (one link, less disk and build time).

mod consent;
mod fanout;
mod live;
mod map_refusal;
mod push;
mod record_identity;
mod stages;
