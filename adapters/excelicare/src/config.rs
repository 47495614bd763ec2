//! The adapter's configuration and its `build()`, which starts the MLLP listener.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use serde::{Deserialize, Serialize};
use tokio::{net::TcpListener, task::JoinHandle};
use waymark_bus::AdapterContext;

use crate::{
    ExcelicareError,
    server::{Limits, Shared, serve},
    telemetry::{Metrics, MetricsSnapshot},
};

/// The config format version this build reads.
pub const CONFIG_VERSION: u32 = 1;
/// The largest `max_frame_bytes` allowed (the bus takes 32 MiB envelopes).
pub const MAX_FRAME_LIMIT: usize = 16 * 1024 * 1024;

/// Configuration of the ExceliCare feed: where ExceliCare's MLLP client connects, and how long
/// and how large a message may be.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExcelicareConfig {
    /// Config format version; must be `1`.
    pub version: u32,
    /// Address the MLLP listener binds; port 0 picks a free one.
    pub listen: SocketAddr,
    /// Frames larger than this many bytes are answered `AR` (code 104) without being buffered
    /// or published (1 to 16777216; default 1 MiB, the map stage's payload limit).
    #[serde(default = "default_max_frame_bytes")]
    pub max_frame_bytes: usize,
    /// How long a frame in progress may go without a byte before it is dropped as truncated
    /// and the connection closed, in milliseconds (1 to 600000; default 30 s).
    #[serde(default = "default_read_timeout_ms")]
    pub read_timeout_ms: u64,
    /// How long a connection may sit idle between frames before it is closed, in milliseconds
    /// (1 to 86400000; default 10 min). Senders reconnect when they next have a message.
    #[serde(default = "default_idle_timeout_ms")]
    pub idle_timeout_ms: u64,
    /// Connections served at once; more are closed at once (1 to 1024; default 16).
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
}

fn default_max_frame_bytes() -> usize {
    1024 * 1024
}
fn default_read_timeout_ms() -> u64 {
    30_000
}
fn default_idle_timeout_ms() -> u64 {
    600_000
}
fn default_max_connections() -> usize {
    16
}

impl ExcelicareConfig {
    /// A version-1 config with every optional field at its default.
    pub fn new(listen: SocketAddr) -> Self {
        Self {
            version: CONFIG_VERSION,
            listen,
            max_frame_bytes: default_max_frame_bytes(),
            read_timeout_ms: default_read_timeout_ms(),
            idle_timeout_ms: default_idle_timeout_ms(),
            max_connections: default_max_connections(),
        }
    }

    /// Checks every field; the error names the field, never a value.
    pub fn validate(&self) -> Result<(), ExcelicareError> {
        let fail = |what: &str| Err(ExcelicareError::Config(what.to_owned()));
        if self.version != CONFIG_VERSION {
            return fail("`version` must be 1");
        }
        if !(1..=MAX_FRAME_LIMIT).contains(&self.max_frame_bytes) {
            return fail("`max_frame_bytes` must be 1 to 16777216");
        }
        if !(1..=600_000).contains(&self.read_timeout_ms) {
            return fail("`read_timeout_ms` must be 1 to 600000");
        }
        if !(1..=86_400_000).contains(&self.idle_timeout_ms) {
            return fail("`idle_timeout_ms` must be 1 to 86400000");
        }
        if !(1..=1024).contains(&self.max_connections) {
            return fail("`max_connections` must be 1 to 1024");
        }
        Ok(())
    }

    fn limits(&self) -> Limits {
        Limits {
            max_frame: self.max_frame_bytes,
            read_timeout: Duration::from_millis(self.read_timeout_ms),
            idle_timeout: Duration::from_millis(self.idle_timeout_ms),
            max_connections: self.max_connections,
        }
    }

    /// Validates, binds the listener and serves until `cx.shutdown` turns `true`.
    pub async fn build(self, cx: AdapterContext) -> Result<RunningAdapter, ExcelicareError> {
        self.validate()?;
        let listener = TcpListener::bind(self.listen)
            .await
            .map_err(ExcelicareError::Listen)?;
        let local_addr = listener.local_addr().map_err(ExcelicareError::Listen)?;
        let metrics = Arc::new(Metrics::default());
        let shared = Shared {
            publisher: cx.publisher,
            metrics: metrics.clone(),
            limits: self.limits(),
        };
        let join = tokio::spawn(serve(listener, shared, cx.shutdown));
        tracing::info!(%local_addr, "excelicare mllp listener listening");
        Ok(RunningAdapter {
            local_addr,
            metrics,
            join,
        })
    }
}

/// The running adapter.
#[derive(Debug)]
pub struct RunningAdapter {
    /// Where the MLLP listener listens.
    pub local_addr: SocketAddr,
    metrics: Arc<Metrics>,
    join: JoinHandle<()>,
}

impl RunningAdapter {
    /// The counters now.
    pub fn metrics(&self) -> MetricsSnapshot {
        self.metrics.snapshot()
    }

    /// The live counters (to read after the adapter stopped, or from another task).
    pub fn metrics_handle(&self) -> Arc<Metrics> {
        self.metrics.clone()
    }

    /// Waits until the adapter has stopped (after a shutdown signal, once every connection has
    /// answered the frame in hand).
    pub async fn stopped(self) -> Result<(), ExcelicareError> {
        self.join.await.map_err(|_| ExcelicareError::Task)
    }

    /// Stops at once, as a crash would: connections are dropped mid-frame or before their
    /// answer. Nothing is lost: what was not answered `AA`/`AE`/`AR` is resent by the sender.
    pub async fn abort(self) {
        self.join.abort();
        let _ = self.join.await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use waymark_core::ErrorCode;

    #[test]
    fn reads_a_minimal_config_with_defaults_and_rejects_bad_fields() {
        let config: ExcelicareConfig =
            serde_json::from_str(r#"{"version":1,"listen":"127.0.0.1:2575"}"#).unwrap();
        assert_eq!(
            config,
            ExcelicareConfig::new("127.0.0.1:2575".parse().unwrap())
        );
        config.validate().unwrap();
        let extra = r#"{"version":1,"listen":"127.0.0.1:0","x":1}"#;
        assert!(serde_json::from_str::<ExcelicareConfig>(extra).is_err());
        let bad = [
            ExcelicareConfig {
                version: 2,
                ..config.clone()
            },
            ExcelicareConfig {
                max_frame_bytes: MAX_FRAME_LIMIT + 1,
                ..config.clone()
            },
            ExcelicareConfig {
                read_timeout_ms: 0,
                ..config.clone()
            },
            ExcelicareConfig {
                idle_timeout_ms: 0,
                ..config.clone()
            },
            ExcelicareConfig {
                max_connections: 0,
                ..config.clone()
            },
        ];
        for config in bad {
            assert_eq!(config.validate().unwrap_err().code(), "excelicare.config");
        }
    }
}
