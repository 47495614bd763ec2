//! All integration tests of this crate in one binary (one link, less disk and build time).

mod board;
mod break_glass;
mod delivery_alerts;
