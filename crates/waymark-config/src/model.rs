//! The configuration file's types. Every field is documented: the documentation becomes the
//! JSON Schema's descriptions, which `waymark config schema` prints and
//! `docs/reference/config.schema.json` keeps.

use std::{collections::BTreeMap, net::SocketAddr, path::PathBuf, time::Duration};

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
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionsSection {
    /// A JSON file holding an array of subscriptions (version 1). They are written to the store
    /// at start-up (unless stored unchanged); subscriptions created through the API live in the
    /// store alone.
    #[serde(default)]
    pub file: Option<PathBuf>,
    /// Which webhook endpoints subscriptions may name and deliveries may reach: `local` (http
    /// to loopback, private addresses allowed: demos and tests) or `production` (https only;
    /// private, loopback, link-local and other internal addresses refused, also when a name
    /// resolves to one). Absent: `production` when `api.production` is set, else `local`.
    #[serde(default)]
    pub endpoints: Option<EndpointMode>,
    /// How long a notification is retried before it is dead-lettered (and an operator alerted):
    /// a number and a unit, `s`, `m`, `h` or `d`, from 1 minute to 30 days. Default `72h`.
    #[serde(default = "default_retry_window")]
    pub retry_window: String,
}

/// Which webhook endpoints are allowed (see [`SubscriptionsSection::endpoints`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum EndpointMode {
    /// http to loopback and private addresses allowed: demos and tests.
    Local,
    /// https only, public addresses only.
    Production,
}

impl SubscriptionsSection {
    /// The endpoint mode in force: the one given, else `production` in production mode.
    pub fn endpoint_mode(&self, production: bool) -> EndpointMode {
        self.endpoints.unwrap_or(if production {
            EndpointMode::Production
        } else {
            EndpointMode::Local
        })
    }

    /// The retry window; `None` when it does not read or is out of range (the configuration
    /// check reports it).
    pub fn retry_window(&self) -> Option<Duration> {
        parse_duration(&self.retry_window).filter(|d| RETRY_WINDOW_RANGE.contains(d))
    }
}

impl Default for SubscriptionsSection {
    fn default() -> Self {
        Self {
            file: None,
            endpoints: None,
            retry_window: default_retry_window(),
        }
    }
}

/// The retry windows accepted: 1 minute to 30 days.
pub const RETRY_WINDOW_RANGE: std::ops::RangeInclusive<Duration> =
    Duration::from_secs(60)..=Duration::from_secs(30 * 86_400);

/// Reads `90s`, `15m`, `72h` or `3d`. Pure.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let unit = text.chars().last()?;
    let seconds_per = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3_600,
        'd' => 86_400,
        _ => return None,
    };
    let number: u64 = text[..text.len() - 1].parse().ok()?;
    number.checked_mul(seconds_per).map(Duration::from_secs)
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
fn default_retry_window() -> String {
    "72h".to_owned()
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
