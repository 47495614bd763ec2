//! The conformance rig: the mock NOMIS on loopback, the real embedded bus behind a gate in a
//! temp dir, and the real adapter between them.

use std::{collections::HashSet, path::PathBuf, sync::Arc};

use chrono::Utc;
use tokio::sync::watch;
use waymark_adapter_nomis::{
    AdapterContext, MockNomis, Population, PushOptions, PushReport, Pusher, RunningAdapter,
    TelemetrySnapshot, offline_envelope,
};
use waymark_core::MessageId;

use super::{
    fast_push,
    gate::{Confirmed, GateBus},
    test_config,
};

/// The mock, the gated embedded bus (its file in `dir`) and a running adapter.
pub struct Rig {
    pub dir: tempfile::TempDir,
    pub bus: Arc<GateBus>,
    pub mock: MockNomis,
    pub adapter: RunningAdapter,
    shutdown: watch::Sender<bool>,
}

impl Rig {
    pub async fn start(population: Population) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let bus = GateBus::open(&dir.path().join("bus.db"), Confirmed::default()).await;
        let mock = MockNomis::start(population).await.unwrap();
        let (shutdown, signal) = watch::channel(false);
        let cx = AdapterContext {
            publisher: bus.publisher(),
            shutdown: signal,
        };
        let adapter = test_config(mock.base_url()).build(cx).await.unwrap();
        Self {
            dir,
            bus,
            mock,
            adapter,
            shutdown,
        }
    }

    pub fn bus_path(&self) -> PathBuf {
        self.dir.path().join("bus.db")
    }

    pub fn pusher(&self, options: PushOptions) -> Pusher {
        self.mock.pusher(self.adapter.endpoint(), options)
    }

    /// Pushes the mock's whole script, in order, redelivering like SNS.
    pub async fn push_all(&self) -> PushReport {
        self.mock
            .push_to(&self.adapter.endpoint(), fast_push())
            .await
    }

    pub fn snapshot(&self) -> TelemetrySnapshot {
        self.adapter.telemetry().snapshot()
    }

    /// Signals shutdown, waits for the adapter and the mock to stop; the counters at the end.
    pub async fn stop(self) -> TelemetrySnapshot {
        let telemetry = self.adapter.telemetry().clone();
        self.shutdown.send(true).unwrap();
        self.adapter.stopped().await.unwrap();
        self.mock.stop().await;
        telemetry.snapshot()
    }
}

/// The message id each of `bodies` is published under (derived from the notification alone).
pub fn id_of(body: &[u8]) -> MessageId {
    offline_envelope(body.to_vec(), Utc::now(), serde_json::Value::Null).id
}

/// The message ids the mock's script should be published under, each once.
pub fn expected_ids(population: &Population) -> HashSet<MessageId> {
    let script = population.notifications();
    script.iter().map(|n| id_of(&n.body)).collect()
}
