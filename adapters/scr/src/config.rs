//! The adapter's configuration and its `build()`, which opens the journal, starts the workers
//! and the pull endpoint.

use std::{net::SocketAddr, path::PathBuf, sync::Arc, time::Duration};

use serde::{Deserialize, Serialize};
use tokio::{net::TcpListener, sync::Notify, task::JoinHandle};
use waymark_bus::AdapterContext;
use waymark_core::Sensitive;

use crate::{
    ScrError,
    client::{RetryPolicy, ScrApi},
    handle::PullHandle,
    journal::Journal,
    listener::router,
    telemetry::Telemetry,
    worker::{self, Shared},
};

/// The config format version this build reads.
pub const CONFIG_VERSION: u32 = 1;

/// Configuration of the SCR feed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScrConfig {
    /// Config format version; must be `1`.
    pub version: u32,
    /// Address of the pull endpoint (`POST /pull`); port 0 picks a free one.
    pub listen: SocketAddr,
    /// Base URL of the SCR FHIR R4 API, e.g.
    /// `https://api.service.nhs.uk/summary-care-record/FHIR/R4`.
    pub scr_api_url: String,
    /// The bearer token sent as `Authorization` (an NHS Identity / APIM access token).
    pub auth_token: Sensitive<String>,
    /// The user's role session id, sent as `NHSD-Session-URID`.
    pub session_urid: String,
    /// The pull journal (the checkpoint): an append-only file, created if missing.
    pub journal_path: PathBuf,
    /// The journal's size limit in bytes (compacted when reached; new requests refused when
    /// it is still full). 4 KiB to 1 GiB.
    #[serde(default = "default_journal_max_bytes")]
    pub journal_max_bytes: u64,
    /// Timeout of one SCR request, in milliseconds (1 to 300000).
    #[serde(default = "default_request_timeout_ms")]
    pub request_timeout_ms: u64,
    /// SCR answers larger than this are refused (`scr.api.too-large`; real ones are under 200 KB).
    #[serde(default = "default_max_body_bytes")]
    pub max_body_bytes: usize,
    /// Wait before the first retry, in milliseconds; doubled before each later one.
    #[serde(default = "default_backoff_ms")]
    pub retry_backoff_ms: u64,
    /// The longest wait between two attempts, `Retry-After` included, in milliseconds.
    #[serde(default = "default_max_backoff_ms")]
    pub max_backoff_ms: u64,
    /// No retry starts later than this after a step's first attempt; then the request is
    /// marked failed in the journal (`scr.api.gave-up`).
    #[serde(default = "default_give_up_after_ms")]
    pub give_up_after_ms: u64,
    /// Attempts per step, the first included (1 to 100).
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    /// Requests worked on at once (1 to 64).
    #[serde(default = "default_workers")]
    pub workers: usize,
}

fn default_journal_max_bytes() -> u64 {
    64 * 1024 * 1024
}
fn default_request_timeout_ms() -> u64 {
    10_000
}
fn default_max_body_bytes() -> usize {
    4 * 1024 * 1024
}
fn default_backoff_ms() -> u64 {
    500
}
fn default_max_backoff_ms() -> u64 {
    30_000
}
fn default_give_up_after_ms() -> u64 {
    5 * 60_000
}
fn default_max_attempts() -> u32 {
    8
}
fn default_workers() -> usize {
    4
}

impl ScrConfig {
    /// A version-1 config with every optional field at its default.
    pub fn new(
        listen: SocketAddr,
        scr_api_url: impl Into<String>,
        auth_token: impl Into<String>,
        journal_path: impl Into<PathBuf>,
    ) -> Self {
        Self {
            version: CONFIG_VERSION,
            listen,
            scr_api_url: scr_api_url.into(),
            auth_token: Sensitive::new(auth_token.into()),
            session_urid: "555021935107".into(),
            journal_path: journal_path.into(),
            journal_max_bytes: default_journal_max_bytes(),
            request_timeout_ms: default_request_timeout_ms(),
            max_body_bytes: default_max_body_bytes(),
            retry_backoff_ms: default_backoff_ms(),
            max_backoff_ms: default_max_backoff_ms(),
            give_up_after_ms: default_give_up_after_ms(),
            max_attempts: default_max_attempts(),
            workers: default_workers(),
        }
    }

    /// Checks every field; the error names the field, never a value.
    pub fn validate(&self) -> Result<(), ScrError> {
        let fail = |what: &str| Err(ScrError::Config(what.to_owned()));
        if self.version != CONFIG_VERSION {
            return fail("`version` must be 1");
        }
        if !(4096..=1 << 30).contains(&self.journal_max_bytes) {
            return fail("`journal_max_bytes` must be 4096 to 1073741824");
        }
        if !(1..=300_000).contains(&self.request_timeout_ms) {
            return fail("`request_timeout_ms` must be 1 to 300000");
        }
        if !(1..=64 * 1024 * 1024).contains(&self.max_body_bytes) {
            return fail("`max_body_bytes` must be 1 to 67108864");
        }
        if self.retry_backoff_ms > self.max_backoff_ms || self.max_backoff_ms > 600_000 {
            return fail("`retry_backoff_ms` <= `max_backoff_ms` <= 600000");
        }
        if !(1..=100).contains(&self.max_attempts) {
            return fail("`max_attempts` must be 1 to 100");
        }
        if !(1..=64).contains(&self.workers) {
            return fail("`workers` must be 1 to 64");
        }
        let header_ok = |s: &str| s.bytes().all(|b| b.is_ascii_graphic());
        if !header_ok(self.auth_token.expose()) || !header_ok(&self.session_urid) {
            return fail("`auth_token` and `session_urid` must be printable ascii without spaces");
        }
        Ok(())
    }

    /// The SCR API client this config describes.
    pub fn scr_api(&self) -> Result<ScrApi, ScrError> {
        let ms = Duration::from_millis;
        let retry = RetryPolicy {
            backoff: ms(self.retry_backoff_ms),
            max_backoff: ms(self.max_backoff_ms),
            give_up_after: ms(self.give_up_after_ms),
            max_attempts: self.max_attempts,
        };
        ScrApi::new(
            &self.scr_api_url,
            self.auth_token.clone(),
            &self.session_urid,
            ms(self.request_timeout_ms),
            self.max_body_bytes,
            retry,
        )
    }

    /// Validates, opens the journal (resuming its pending requests), starts the workers and the
    /// pull endpoint; all run until `cx.shutdown` turns `true`.
    pub async fn build(self, cx: AdapterContext) -> Result<RunningAdapter, ScrError> {
        self.validate()?;
        let api = self.scr_api()?;
        let (path, max) = (self.journal_path.clone(), self.journal_max_bytes);
        let journal = tokio::task::spawn_blocking(move || Journal::open(&path, max))
            .await
            .map_err(|_| ScrError::Task)??;
        let shared = Arc::new(Shared {
            journal: Arc::new(journal),
            api,
            publisher: cx.publisher,
            telemetry: Arc::new(Telemetry::default()),
            wake: Notify::new(),
            publish_backoff: Duration::from_millis(self.retry_backoff_ms.max(1)),
            publish_max_backoff: Duration::from_millis(self.max_backoff_ms.clamp(1, 5_000)),
        });
        let handle = PullHandle {
            shared: shared.clone(),
            shutdown: cx.shutdown.clone(),
        };
        let listener = TcpListener::bind(self.listen)
            .await
            .map_err(ScrError::Listen)?;
        let local_addr = listener.local_addr().map_err(ScrError::Listen)?;
        let serve = axum::serve(listener, router(handle.clone()))
            .with_graceful_shutdown(AdapterContext::stopped(cx.shutdown.clone()));
        let server = tokio::spawn(async move { serve.await.map_err(ScrError::Serve) });
        let workers = (0..self.workers)
            .map(|_| tokio::spawn(worker::run(shared.clone(), cx.shutdown.clone())))
            .collect();
        tracing::info!(%local_addr, pending = handle.status().pending, "scr pull endpoint listening");
        Ok(RunningAdapter {
            local_addr,
            handle,
            server,
            workers,
        })
    }
}

/// The running adapter.
#[derive(Debug)]
pub struct RunningAdapter {
    /// Where the pull endpoint listens.
    pub local_addr: SocketAddr,
    handle: PullHandle,
    server: JoinHandle<Result<(), ScrError>>,
    workers: Vec<JoinHandle<()>>,
}

impl RunningAdapter {
    /// The URL pull requests are posted to: `http://<local_addr>/pull`.
    pub fn endpoint(&self) -> String {
        format!("http://{}{}", self.local_addr, crate::listener::PULL_PATH)
    }

    /// The in-process handle (submit requests, read the journal and counters).
    pub fn handle(&self) -> PullHandle {
        self.handle.clone()
    }

    /// Waits until the adapter has stopped (after a shutdown signal: the endpoint answers what
    /// it has, workers put unfinished requests back and stop).
    pub async fn stopped(self) -> Result<(), ScrError> {
        for worker in self.workers {
            worker.await.map_err(|_| ScrError::Task)?;
        }
        self.server.await.map_err(|_| ScrError::Task)?
    }

    /// Stops every task at once, wherever it is (as a crash would); the journal keeps whatever
    /// was not marked done.
    pub fn abort(self) {
        self.server.abort();
        for worker in self.workers {
            worker.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use waymark_core::ErrorCode;

    #[test]
    fn reads_a_minimal_config_and_checks_fields() {
        let text = r#"{"version":1,"listen":"127.0.0.1:0","scr_api_url":"http://localhost:9000",
            "auth_token":"t","session_urid":"555021935107","journal_path":"/tmp/scr.journal"}"#;
        let config: ScrConfig = serde_json::from_str(text).unwrap();
        let expected = ScrConfig::new(
            "127.0.0.1:0".parse().unwrap(),
            "http://localhost:9000",
            "t",
            "/tmp/scr.journal",
        );
        assert_eq!(config, expected);
        config.validate().unwrap();
        assert!(!format!("{config:?}").contains("\"t\""));
        let mut bad = config.clone();
        bad.workers = 0;
        assert_eq!(bad.validate().unwrap_err().code(), "scr.config");
        let mut bad = config;
        bad.auth_token = Sensitive::new("a b".into());
        assert!(bad.validate().is_err());
    }
}
