//! The configuration file's types. Every field is documented: the documentation becomes the
//! JSON Schema's descriptions, which `waymark config schema` prints and
//! `docs/reference/config.schema.json` keeps.

use std::{collections::BTreeMap, net::SocketAddr, path::PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The version of the format this build reads.
pub const CONFIG_VERSION: u32 = 1;

/// A Waymark hub's configuration (TOML). Secrets may be given as `env:NAME` and are then read
/// from the environment variable `NAME`; `WAYMARK_BUS_URL` and `WAYMARK_STORE_URL`, when set,
/// override `hub.bus` and `hub.store`. Command-line flags override both.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The format version: 1.
    pub version: u32,
    /// Where the hub keeps its messages and records.
    pub hub: HubSection,
    /// The FHIR API.
    #[serde(default)]
    pub api: ApiSection,
    /// How many workers each stage runs, and the delivery shard.
    #[serde(default)]
    pub stages: StagesSection,
    /// Subscriptions.
    #[serde(default)]
    pub subscriptions: SubscriptionsSection,
    /// One table per source adapter, named by source (`athena`, `excelicare`, `systmone`,
    /// `nomis`, `scr`); each adapter checks its own table.
    #[serde(default)]
    pub feeds: BTreeMap<String, Map<String, Value>>,
}

/// Bus, store, mappings and policy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HubSection {
    /// The bus: `amqp://…` or `amqps://…` (RabbitMQ) or `sqlite://PATH` (the embedded bus, one
    /// process only). Holds a password: use `env:NAME`.
    pub bus: String,
    /// The store: `postgres://…` or `sqlite://PATH`. Holds a password: use `env:NAME`.
    pub store: String,
    /// The mappings folder.
    #[serde(default = "default_mappings")]
    pub mappings: PathBuf,
    /// The role policy file (JSON, reviewed by an IG lead; the format of
    /// `profiles/hjmd/role-policy.json`). Absent: that file, compiled in.
    #[serde(default)]
    pub policy: Option<PathBuf>,
}

/// The API's address and who may call it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiSection {
    /// Where the API listens, `ADDRESS:PORT`. Put TLS termination in front of it.
    #[serde(default = "default_listen")]
    #[schemars(with = "String")]
    pub listen: SocketAddr,
    /// The authentication file (issuers, JWKS, role mapping, allow-lists; JSON). Absent: the
    /// development issuer of `waymark token`, which production mode refuses.
    #[serde(default)]
    pub auth: Option<PathBuf>,
    /// Production mode: refuses the development issuer and the embedded bus.
    #[serde(default)]
    pub production: bool,
}

/// Workers and delivery sharding.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StagesSection {
    /// Concurrent workers per stage (per subscription for deliver), 1 to 64.
    #[serde(default = "default_workers")]
    pub workers: u16,
    /// The delivery shard `I/N` of this process: it delivers for the subscriptions whose id
    /// hashes to I mod N.
    #[serde(default = "default_shard")]
    pub shard: String,
}

/// Subscriptions and delivery defaults.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionsSection {
    /// A JSON file holding an array of subscriptions (version 1).
    #[serde(default)]
    pub file: Option<PathBuf>,
}

fn default_mappings() -> PathBuf {
    PathBuf::from("mappings")
}
fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}
fn default_workers() -> u16 {
    1
}
fn default_shard() -> String {
    "0/1".to_owned()
}

impl Default for ApiSection {
    fn default() -> Self {
        Self {
            listen: default_listen(),
            auth: None,
            production: false,
        }
    }
}

impl Default for StagesSection {
    fn default() -> Self {
        Self {
            workers: default_workers(),
            shard: default_shard(),
        }
    }
}
