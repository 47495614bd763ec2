//! The adapter's configuration and its `build()`, which starts the poller.

use std::{path::PathBuf, time::Duration};

use serde::{Deserialize, Serialize};
use tokio::task::JoinHandle;
use waymark_bus::AdapterContext;
use waymark_core::Sensitive;

use crate::{
    AthenaError, Checkpoint,
    client::{ApiSettings, AthenaApi},
    poller::{Backoff, Poller},
    telemetry::{Telemetry, TelemetrySnapshot},
};

/// The config format version this build reads.
pub const CONFIG_VERSION: u32 = 1;

/// A secret from the config; `Debug` never shows it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Configuration of the Athena feed: where the feed and its token endpoint are, where the
/// checkpoint lives, and how hard to pull.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AthenaConfig {
    /// Config format version; must be `1`.
    pub version: u32,
    /// Base URL of the Athena API, e.g. `https://athena.example.police.uk` (the feed is
    /// `GET <base_url>/api/v1/custody-events`).
    pub base_url: String,
    /// The OAuth 2 token endpoint (client credentials).
    pub token_url: String,
    /// The OAuth 2 client id.
    pub client_id: String,
    /// The OAuth 2 client secret.
    pub client_secret: Secret,
    /// The checkpoint file (cursor and last sequence); written atomically after each page.
    pub checkpoint_path: PathBuf,
    /// Events asked for per page (1 to 1000).
    #[serde(default = "default_page_size")]
    pub page_size: u32,
    /// Wait between polls once the feed is caught up, in milliseconds (1 to 3600000).
    #[serde(default = "default_poll_interval_ms")]
    pub poll_interval_ms: u64,
    /// Timeout of one request, in milliseconds (1 to 300000).
    #[serde(default = "default_request_timeout_ms")]
    pub request_timeout_ms: u64,
    /// Wait before the first retry of a failed request or publish, in milliseconds; doubled
    /// before each later one up to `max_backoff_ms` (0 to 60000).
    #[serde(default = "default_backoff_ms")]
    pub backoff_ms: u64,
    /// The longest wait between retries, in milliseconds (1 to 600000).
    #[serde(default = "default_max_backoff_ms")]
    pub max_backoff_ms: u64,
    /// The longest `Retry-After` honoured, in milliseconds (a longer one is cut to this; 1 to
    /// 3600000).
    #[serde(default = "default_max_retry_after_ms")]
    pub max_retry_after_ms: u64,
}

fn default_page_size() -> u32 {
    100
}
fn default_poll_interval_ms() -> u64 {
    5_000
}
fn default_request_timeout_ms() -> u64 {
    10_000
}
fn default_backoff_ms() -> u64 {
    250
}
fn default_max_backoff_ms() -> u64 {
    30_000
}
fn default_max_retry_after_ms() -> u64 {
    120_000
}

impl AthenaConfig {
    /// A version-1 config with every optional field at its default.
    pub fn new(
        base_url: impl Into<String>,
        token_url: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
        checkpoint_path: impl Into<PathBuf>,
    ) -> Self {
        Self {
            version: CONFIG_VERSION,
            base_url: base_url.into(),
            token_url: token_url.into(),
            client_id: client_id.into(),
            client_secret: Secret(client_secret.into()),
            checkpoint_path: checkpoint_path.into(),
            page_size: default_page_size(),
            poll_interval_ms: default_poll_interval_ms(),
            request_timeout_ms: default_request_timeout_ms(),
            backoff_ms: default_backoff_ms(),
            max_backoff_ms: default_max_backoff_ms(),
            max_retry_after_ms: default_max_retry_after_ms(),
        }
    }

    /// Checks every field; the error names the field, never a value.
    pub fn validate(&self) -> Result<(), AthenaError> {
        let fail = |what: &str| Err(AthenaError::Config(what.to_owned()));
        let is_http = |u: &str| u.starts_with("http://") || u.starts_with("https://");
        let checks: [(bool, &str); 12] = [
            (self.version == CONFIG_VERSION, "`version` must be 1"),
            (is_http(&self.base_url), "`base_url` must be an http(s) url"),
            (
                is_http(&self.token_url),
                "`token_url` must be an http(s) url",
            ),
            (!self.client_id.is_empty(), "`client_id` must not be empty"),
            (
                !self.client_secret.0.is_empty(),
                "`client_secret` must not be empty",
            ),
            (
                !self.checkpoint_path.as_os_str().is_empty(),
                "`checkpoint_path` must not be empty",
            ),
            (
                (1..=1000).contains(&self.page_size),
                "`page_size` must be 1 to 1000",
            ),
            (
                (1..=3_600_000).contains(&self.poll_interval_ms),
                "`poll_interval_ms` must be 1 to 3600000",
            ),
            (
                (1..=300_000).contains(&self.request_timeout_ms),
                "`request_timeout_ms` must be 1 to 300000",
            ),
            (
                self.backoff_ms <= 60_000,
                "`backoff_ms` must be at most 60000",
            ),
            (
                (1..=600_000).contains(&self.max_backoff_ms),
                "`max_backoff_ms` must be 1 to 600000",
            ),
            (
                (1..=3_600_000).contains(&self.max_retry_after_ms),
                "`max_retry_after_ms` must be 1 to 3600000",
            ),
        ];
        match checks.iter().find(|(ok, _)| !ok) {
            Some((_, what)) => fail(what),
            None => Ok(()),
        }
    }

    fn api(&self, telemetry: Telemetry) -> Result<AthenaApi, AthenaError> {
        let settings = ApiSettings {
            base_url: self.base_url.clone(),
            token_url: self.token_url.clone(),
            client_id: self.client_id.clone(),
            client_secret: Sensitive::new(self.client_secret.0.clone()),
            timeout: Duration::from_millis(self.request_timeout_ms),
        };
        AthenaApi::new(settings, telemetry)
    }

    /// Validates, reads the checkpoint and starts polling until `cx.shutdown` turns `true`.
    pub async fn build(self, cx: AdapterContext) -> Result<RunningAdapter, AthenaError> {
        self.validate()?;
        let checkpoint = Checkpoint::load(&self.checkpoint_path)?;
        let telemetry = Telemetry::default();
        let backoff = Backoff {
            first: Duration::from_millis(self.backoff_ms),
            max: Duration::from_millis(self.max_backoff_ms),
            max_retry_after: Duration::from_millis(self.max_retry_after_ms),
        };
        let poller = Poller {
            api: self.api(telemetry.clone())?,
            publisher: cx.publisher,
            shutdown: cx.shutdown,
            telemetry: telemetry.clone(),
            checkpoint_path: self.checkpoint_path.clone(),
            page_size: self.page_size,
            poll_interval: Duration::from_millis(self.poll_interval_ms),
            backoff,
        };
        let join = tokio::spawn(poller.run(checkpoint));
        tracing::info!(page_size = self.page_size, "athena poller started");
        Ok(RunningAdapter { join, telemetry })
    }
}

/// The running adapter.
#[derive(Debug)]
pub struct RunningAdapter {
    join: JoinHandle<Result<(), AthenaError>>,
    telemetry: Telemetry,
}

impl RunningAdapter {
    /// The adapter's counters (live).
    pub fn telemetry(&self) -> Telemetry {
        self.telemetry.clone()
    }

    /// The counters now.
    pub fn snapshot(&self) -> TelemetrySnapshot {
        self.telemetry.snapshot()
    }

    /// Waits until the adapter has stopped (after a shutdown signal, at the next event or
    /// wait; the page in progress is not checkpointed).
    pub async fn stopped(self) -> Result<(), AthenaError> {
        self.join.await.map_err(|_| AthenaError::Task)?
    }

    /// Stops the adapter's task at once, wherever it is (as a crash would).
    pub async fn abort(self) {
        self.join.abort();
        let _ = self.join.await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use waymark_core::ErrorCode;

    fn config() -> AthenaConfig {
        AthenaConfig::new(
            "http://127.0.0.1:1",
            "http://127.0.0.1:1/oauth/token",
            "id",
            "s3cret",
            "/tmp/cp",
        )
    }

    #[test]
    fn reads_a_minimal_config_with_defaults() {
        let text = r#"{"version":1,"base_url":"http://127.0.0.1:1","token_url":"http://127.0.0.1:1/oauth/token",
            "client_id":"id","client_secret":"s3cret","checkpoint_path":"/tmp/cp"}"#;
        let parsed: AthenaConfig = serde_json::from_str(text).unwrap();
        assert_eq!(parsed, config());
        parsed.validate().unwrap();
        assert!(!format!("{parsed:?}").contains("s3cret"));
    }

    #[test]
    fn rejects_bad_fields_naming_the_field() {
        let mut c = config();
        c.version = 2;
        assert_eq!(c.validate().unwrap_err().code(), "athena.config");
        let mut c = config();
        c.base_url = "ftp://x".into();
        assert!(c.validate().unwrap_err().to_string().contains("`base_url`"));
        let mut c = config();
        c.page_size = 0;
        assert!(
            c.validate()
                .unwrap_err()
                .to_string()
                .contains("`page_size`")
        );
        let mut c = config();
        c.client_secret = Secret(String::new());
        assert!(c.validate().is_err());
        let extra = r#"{"version":1,"base_url":"http://x","token_url":"http://x","client_id":"i",
            "client_secret":"s","checkpoint_path":"c","extra":1}"#;
        assert!(serde_json::from_str::<AthenaConfig>(extra).is_err());
    }
}
