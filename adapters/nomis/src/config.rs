//! The adapter's configuration and its `build()`, which starts the SNS endpoint.

use std::{net::SocketAddr, time::Duration};

use serde::{Deserialize, Serialize};
use tokio::{net::TcpListener, task::JoinHandle};
use waymark_bus::AdapterContext;

use crate::{
    NomisError,
    client::{PrisonApi, RetryPolicy},
    listener::{ListenerState, MAX_BODY_BYTES, SNS_PATH, router},
    telemetry::Telemetry,
};

/// The config format version this build reads.
pub const CONFIG_VERSION: u32 = 1;

/// Configuration of the NOMIS feed: where HMPPS offender-event notifications arrive (an SNS
/// HTTP(S) subscription) and how the Prison API is asked about the prisoner each is about.
///
/// SNS waits about 15 s for an answer before it counts a delivery as failed and retries, so keep
/// `request_timeout_ms × (enrichment_retries + 1)` plus the backoff well under that.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NomisConfig {
    /// Config format version; must be `1`.
    pub version: u32,
    /// Address the SNS subscription endpoint listens on (`POST /sns`); port 0 picks a free one.
    pub listen: SocketAddr,
    /// Base URL of the Prison API, e.g. `https://prison-api.example.gov.uk`.
    pub prison_api_url: String,
    /// Timeout of one Prison API request, in milliseconds (1 to 300000).
    #[serde(default = "default_request_timeout_ms")]
    pub request_timeout_ms: u64,
    /// How many times a failed Prison API request (5xx, 429, timeout, refused connection) is
    /// retried before the notification is published with `context.error` (0 to 20).
    #[serde(default = "default_enrichment_retries")]
    pub enrichment_retries: u32,
    /// Wait before the first retry, in milliseconds; doubled before each later one, at most 30 s.
    #[serde(default = "default_enrichment_backoff_ms")]
    pub enrichment_backoff_ms: u64,
    /// Notifications larger than this many bytes are published without enrichment, with
    /// `context.error` `nomis.too-large` (real offender events are about 2 KB). Bodies over
    /// 16 MiB are refused with 413 whatever this says.
    #[serde(default = "default_max_enrich_bytes")]
    pub max_enrich_bytes: usize,
}

fn default_request_timeout_ms() -> u64 {
    2_000
}
fn default_enrichment_retries() -> u32 {
    2
}
fn default_enrichment_backoff_ms() -> u64 {
    250
}
fn default_max_enrich_bytes() -> usize {
    1024 * 1024
}

impl NomisConfig {
    /// A version-1 config with every optional field at its default.
    pub fn new(listen: SocketAddr, prison_api_url: impl Into<String>) -> Self {
        Self {
            version: CONFIG_VERSION,
            listen,
            prison_api_url: prison_api_url.into(),
            request_timeout_ms: default_request_timeout_ms(),
            enrichment_retries: default_enrichment_retries(),
            enrichment_backoff_ms: default_enrichment_backoff_ms(),
            max_enrich_bytes: default_max_enrich_bytes(),
        }
    }

    /// Checks every field; the error names the field, never a value.
    pub fn validate(&self) -> Result<(), NomisError> {
        let fail = |what: &str| Err(NomisError::Config(what.to_owned()));
        if self.version != CONFIG_VERSION {
            return fail("`version` must be 1");
        }
        if !(1..=300_000).contains(&self.request_timeout_ms) {
            return fail("`request_timeout_ms` must be 1 to 300000");
        }
        if self.enrichment_retries > 20 {
            return fail("`enrichment_retries` must be at most 20");
        }
        if self.enrichment_backoff_ms > 60_000 {
            return fail("`enrichment_backoff_ms` must be at most 60000");
        }
        if !(1..=MAX_BODY_BYTES).contains(&self.max_enrich_bytes) {
            return fail("`max_enrich_bytes` must be 1 to 16777216");
        }
        Ok(())
    }

    /// The Prison API client this config describes.
    pub fn prison_api(&self) -> Result<PrisonApi, NomisError> {
        let retry = RetryPolicy {
            retries: self.enrichment_retries,
            backoff: Duration::from_millis(self.enrichment_backoff_ms),
        };
        PrisonApi::new(
            &self.prison_api_url,
            Duration::from_millis(self.request_timeout_ms),
            retry,
        )
    }

    /// Validates, binds the endpoint and starts serving until `cx.shutdown` turns `true`.
    pub async fn build(self, cx: AdapterContext) -> Result<RunningAdapter, NomisError> {
        self.validate()?;
        let api = self.prison_api()?;
        let telemetry = api.telemetry().clone();
        let state = ListenerState::new(cx.publisher, api, self.max_enrich_bytes);
        let listener = TcpListener::bind(self.listen)
            .await
            .map_err(NomisError::Listen)?;
        let local_addr = listener.local_addr().map_err(NomisError::Listen)?;
        let serve = axum::serve(listener, router(state))
            .with_graceful_shutdown(AdapterContext::stopped(cx.shutdown));
        let join = tokio::spawn(async move { serve.await.map_err(NomisError::Serve) });
        tracing::info!(%local_addr, "nomis sns endpoint listening");
        Ok(RunningAdapter {
            local_addr,
            join,
            telemetry,
        })
    }
}

/// The running adapter.
#[derive(Debug)]
pub struct RunningAdapter {
    /// Where the SNS endpoint listens.
    pub local_addr: SocketAddr,
    join: JoinHandle<Result<(), NomisError>>,
    telemetry: Telemetry,
}

impl RunningAdapter {
    /// The URL to subscribe to the SNS topic: `http://<local_addr>/sns`.
    pub fn endpoint(&self) -> String {
        format!("http://{}{SNS_PATH}", self.local_addr)
    }

    /// The adapter's counters.
    pub fn telemetry(&self) -> &Telemetry {
        &self.telemetry
    }

    /// Waits until the adapter has stopped (after a shutdown signal, once in-flight deliveries
    /// are answered).
    pub async fn stopped(self) -> Result<(), NomisError> {
        self.join.await.map_err(|_| NomisError::Task)?
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use waymark_core::ErrorCode;

    fn parse(text: &str) -> Result<NomisConfig, serde_json::Error> {
        serde_json::from_str(text)
    }

    #[test]
    fn reads_a_minimal_config_with_defaults() {
        let config = parse(
            r#"{"version":1,"listen":"127.0.0.1:0","prison_api_url":"http://localhost:8080"}"#,
        )
        .unwrap();
        assert_eq!(
            config,
            NomisConfig::new("127.0.0.1:0".parse().unwrap(), "http://localhost:8080")
        );
        config.validate().unwrap();
    }

    #[test]
    fn rejects_unknown_fields_and_other_versions() {
        assert!(
            parse(r#"{"version":1,"listen":"127.0.0.1:0","prison_api_url":"http://x","extra":1}"#)
                .is_err()
        );
        let mut config = NomisConfig::new("127.0.0.1:0".parse().unwrap(), "http://x");
        config.version = 2;
        assert_eq!(config.validate().unwrap_err().code(), "nomis.config");
        config.version = 1;
        config.max_enrich_bytes = MAX_BODY_BYTES + 1;
        assert!(config.validate().is_err());
        config.max_enrich_bytes = 10;
        config.prison_api_url = "localhost:8080".into();
        assert_eq!(config.prison_api().unwrap_err().code(), "nomis.config");
    }
}
