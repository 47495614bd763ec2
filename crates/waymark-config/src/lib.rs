//! The hub's one configuration file (TOML, versioned): [`Config`] and its sections, [`load`]
//! and [`parse`] that explain every problem with the file, line, key and what was expected
//! ([`Problem`]), secrets from the environment (`env:NAME`, and `WAYMARK_BUS_URL` /
//! `WAYMARK_STORE_URL` overriding the file), and [`schema`], the JSON Schema generated from the
//! types. Example files: `deploy/config/`. `waymark config check FILE` is the command.
//!
//! Adapters' own tables (`[feeds.<source>]`) are checked by the adapters, in the binary.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod check;
mod load;
mod model;
mod problem;

pub use check::Env;
pub use load::{load, parse};
pub use model::{
    ApiSection, CONFIG_VERSION, Config, EndpointMode, HubSection, RETRY_WINDOW_RANGE,
    StagesSection, SubscriptionsSection, parse_duration,
};
pub use problem::{Problem, Problems, locate};

/// The JSON Schema of the configuration file, generated from [`Config`].
pub fn schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(Config)).unwrap_or_default()
}
