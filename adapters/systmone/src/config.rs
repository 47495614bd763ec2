//! The adapter's configuration and its `build()`, which opens the journal and starts the pull
//! endpoint, the workers and the change-notification poller.

use std::{net::SocketAddr, path::PathBuf, sync::Arc, time::Duration};

use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use waymark_bus::AdapterContext;

use crate::{
    SystmOneError,
    client::{GpcClient, RetryPolicy},
    feed::Poller,
    gpc::GpcIdentity,
    handle::PullHandle,
    journal::Journal,
    listener::router,
    running::RunningAdapter,
    telemetry::Telemetry,
    worker::Worker,
};

/// The config format version this build reads.
pub const CONFIG_VERSION: u32 = 1;
/// The largest answer the adapter will read, whatever the config says.
pub const MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;

/// Configuration of the SystmOne feed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SystmOneConfig {
    /// Config format version; must be `1`.
    pub version: u32,
    /// Address of the adapter's endpoint (`POST /pull`, `GET /status`); port 0 picks one.
    pub listen: SocketAddr,
    /// FHIR base URL of the GP Connect provider (through the Spine Secure Proxy).
    pub gpc_base_url: String,
    /// The pull journal (append-only, fsynced; holds NHS numbers, created 0600).
    pub journal_path: PathBuf,
    /// The change feed's cursor file.
    pub cursor_path: PathBuf,
    /// The journal is compacted past this size; new requests are refused if its live records
    /// alone reach it (1 KiB to 1 GiB).
    #[serde(default = "default_journal_max_bytes")]
    pub journal_max_bytes: u64,
    /// Timeout of one provider call, in milliseconds (1 to 300000).
    #[serde(default = "default_request_timeout_ms")]
    pub request_timeout_ms: u64,
    /// Answers larger than this are not read; the request is kept as failed (at most 16 MiB).
    #[serde(default = "default_max_response_bytes")]
    pub max_response_bytes: usize,
    /// First retry wait, in milliseconds; doubled each time.
    #[serde(default = "default_retry_initial_ms")]
    pub retry_initial_ms: u64,
    /// Longest wait between attempts (and cap on `Retry-After`), in milliseconds.
    #[serde(default = "default_retry_max_ms")]
    pub retry_max_ms: u64,
    /// A request is given up (kept in the journal as failed) once retried this long, in ms.
    #[serde(default = "default_give_up_after_ms")]
    pub give_up_after_ms: u64,
    /// Requests served at once (1 to 64); one person is never served twice at once.
    #[serde(default = "default_workers")]
    pub workers: usize,
    /// Whether to poll the change-notification feed.
    #[serde(default = "default_true")]
    pub poll_changes: bool,
    /// Wait between feed polls when there is nothing new, in milliseconds.
    #[serde(default = "default_poll_interval_ms")]
    pub poll_interval_ms: u64,
    /// Notifications asked for per feed page (1 to 10000).
    #[serde(default = "default_page_size")]
    pub page_size: u32,
    /// Medication is asked for from this many months before the request (1 to 1200).
    #[serde(default = "default_medication_months")]
    pub medication_months: u32,
    /// Who the adapter is to Spine.
    #[serde(default)]
    pub identity: GpcIdentity,
}

fn default_journal_max_bytes() -> u64 {
    16 * 1024 * 1024
}
fn default_request_timeout_ms() -> u64 {
    10_000
}
fn default_max_response_bytes() -> usize {
    8 * 1024 * 1024
}
fn default_retry_initial_ms() -> u64 {
    500
}
fn default_retry_max_ms() -> u64 {
    30_000
}
fn default_give_up_after_ms() -> u64 {
    15 * 60 * 1000
}
fn default_workers() -> usize {
    4
}
fn default_true() -> bool {
    true
}
fn default_poll_interval_ms() -> u64 {
    5_000
}
fn default_page_size() -> u32 {
    100
}
fn default_medication_months() -> u32 {
    12
}

impl SystmOneConfig {
    /// A version-1 config with every optional field at its default; journal and cursor files
    /// in `state_dir`.
    pub fn new(
        listen: SocketAddr,
        gpc_base_url: impl Into<String>,
        state_dir: &std::path::Path,
    ) -> Self {
        Self {
            version: CONFIG_VERSION,
            listen,
            gpc_base_url: gpc_base_url.into(),
            journal_path: state_dir.join("systmone-pulls.journal"),
            cursor_path: state_dir.join("systmone-changes.cursor"),
            journal_max_bytes: default_journal_max_bytes(),
            request_timeout_ms: default_request_timeout_ms(),
            max_response_bytes: default_max_response_bytes(),
            retry_initial_ms: default_retry_initial_ms(),
            retry_max_ms: default_retry_max_ms(),
            give_up_after_ms: default_give_up_after_ms(),
            workers: default_workers(),
            poll_changes: true,
            poll_interval_ms: default_poll_interval_ms(),
            page_size: default_page_size(),
            medication_months: default_medication_months(),
            identity: GpcIdentity::default(),
        }
    }

    /// Checks every field; the error names the field, never a value.
    pub fn validate(&self) -> Result<(), SystmOneError> {
        let checks: [(bool, &str); 10] = [
            (self.version == CONFIG_VERSION, "`version` must be 1"),
            (
                (1024..=1 << 30).contains(&self.journal_max_bytes),
                "`journal_max_bytes` must be 1024 to 1073741824",
            ),
            (
                (1..=300_000).contains(&self.request_timeout_ms),
                "`request_timeout_ms` must be 1 to 300000",
            ),
            (
                (1..=MAX_RESPONSE_BYTES).contains(&self.max_response_bytes),
                "`max_response_bytes` must be 1 to 16777216",
            ),
            (
                self.retry_initial_ms <= self.retry_max_ms && self.retry_max_ms <= 3_600_000,
                "`retry_initial_ms` must be at most `retry_max_ms`, at most 3600000",
            ),
            (
                self.give_up_after_ms <= 7 * 24 * 3_600_000,
                "`give_up_after_ms` must be at most 7 days",
            ),
            (
                (1..=64).contains(&self.workers),
                "`workers` must be 1 to 64",
            ),
            (
                (1..=3_600_000).contains(&self.poll_interval_ms),
                "`poll_interval_ms` must be 1 to 3600000",
            ),
            (
                (1..=10_000).contains(&self.page_size),
                "`page_size` must be 1 to 10000",
            ),
            (
                (1..=1200).contains(&self.medication_months),
                "`medication_months` must be 1 to 1200",
            ),
        ];
        match checks.iter().find(|(ok, _)| !ok) {
            Some((_, what)) => Err(SystmOneError::Config((*what).to_owned())),
            None => Ok(()),
        }
    }

    /// The GP Connect client this config describes.
    pub fn client(&self) -> Result<GpcClient, SystmOneError> {
        let retry = RetryPolicy {
            initial: Duration::from_millis(self.retry_initial_ms),
            max: Duration::from_millis(self.retry_max_ms),
            give_up_after: Duration::from_millis(self.give_up_after_ms),
        };
        GpcClient::new(
            &self.gpc_base_url,
            self.identity.clone(),
            Duration::from_millis(self.request_timeout_ms),
            retry,
            self.max_response_bytes,
            self.medication_months,
        )
    }

    /// Validates, opens the journal (pending requests are resumed), binds the endpoint and
    /// starts the workers and the poller, until `cx.shutdown` turns `true`.
    pub async fn build(self, cx: AdapterContext) -> Result<RunningAdapter, SystmOneError> {
        self.validate()?;
        let client = self.client()?;
        let (path, limit) = (self.journal_path.clone(), self.journal_max_bytes);
        let journal = tokio::task::spawn_blocking(move || Journal::open(&path, limit))
            .await
            .map_err(|_| SystmOneError::Task)??;
        let telemetry = Arc::new(Telemetry::default());
        let handle = PullHandle::new(journal, telemetry, cx.shutdown.clone());
        let listener = TcpListener::bind(self.listen)
            .await
            .map_err(SystmOneError::Listen)?;
        let local_addr = listener.local_addr().map_err(SystmOneError::Listen)?;
        let serve = axum::serve(listener, router(handle.clone()))
            .with_graceful_shutdown(AdapterContext::stopped(cx.shutdown.clone()));
        let mut tasks = vec![tokio::spawn(async move {
            serve.await.map_err(SystmOneError::Serve)
        })];
        for _ in 0..self.workers {
            let worker = Worker {
                handle: handle.clone(),
                client: client.clone(),
                publisher: cx.publisher.clone(),
                shutdown: cx.shutdown.clone(),
            };
            tasks.push(tokio::spawn(async move {
                worker.run().await;
                Ok(())
            }));
        }
        if self.poll_changes {
            let poller = Poller {
                handle: handle.clone(),
                client,
                cursor_path: self.cursor_path.clone(),
                page_size: self.page_size,
                interval: Duration::from_millis(self.poll_interval_ms),
                shutdown: cx.shutdown.clone(),
            };
            tasks.push(tokio::spawn(async move {
                poller.run().await;
                Ok(())
            }));
        }
        tracing::info!(%local_addr, workers = self.workers, "systmone adapter started");
        Ok(RunningAdapter::new(local_addr, handle, tasks))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use waymark_core::ErrorCode;

    #[test]
    fn reads_a_minimal_config_and_checks_fields() {
        let text = r#"{"version":1,"listen":"127.0.0.1:0","gpc_base_url":"http://localhost:1",
            "journal_path":"/tmp/j","cursor_path":"/tmp/c"}"#;
        let config: SystmOneConfig = serde_json::from_str(text).unwrap();
        config.validate().unwrap();
        assert_eq!(config.workers, 4);
        let mut bad = config.clone();
        bad.workers = 0;
        assert_eq!(bad.validate().unwrap_err().code(), "systmone.config");
        let mut bad = config;
        bad.gpc_base_url = "ftp://x".into();
        assert_eq!(bad.client().unwrap_err().code(), "systmone.config");
        assert!(serde_json::from_str::<SystmOneConfig>(r#"{"version":1,"x":1}"#).is_err());
    }
}
