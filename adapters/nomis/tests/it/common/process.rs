//! An adapter "process" for restart tests: its own Tokio runtime, in which the embedded bus
//! file is opened and the adapter listens on a fixed port. Stopping it signals shutdown and
//! waits; aborting it shuts the runtime down at once, as a crash would: every task is dropped,
//! every socket closed, every in-flight delivery left unanswered.

use std::{net::SocketAddr, path::Path, time::Duration};

use tokio::{runtime::Runtime, sync::watch};
use waymark_adapter_nomis::{AdapterContext, NomisError, RunningAdapter, Telemetry};

use super::{
    gate::{Confirmed, GateBus, WAIT},
    test_config,
};

/// A running adapter in its own runtime.
pub struct Process {
    runtime: Runtime,
    adapter: RunningAdapter,
    telemetry: Telemetry,
    shutdown: watch::Sender<bool>,
}

impl Process {
    /// Opens the bus at `db` (publishes slowed by `slow_ms`) and starts the adapter on `listen`,
    /// waiting for the port to be free again after a previous process.
    pub fn start(
        db: &Path,
        listen: SocketAddr,
        prison_api_url: &str,
        confirmed: Confirmed,
        slow_ms: u64,
    ) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let (shutdown, signal) = watch::channel(false);
        let mut config = test_config(prison_api_url.to_owned());
        config.listen = listen;
        let db = db.to_owned();
        let adapter = runtime.block_on(async move {
            let bus = GateBus::open(&db, confirmed).await;
            bus.slow(slow_ms);
            let deadline = tokio::time::Instant::now() + WAIT;
            loop {
                let cx = AdapterContext {
                    publisher: bus.publisher(),
                    shutdown: signal.clone(),
                };
                match config.clone().build(cx).await {
                    Err(NomisError::Listen(_)) if tokio::time::Instant::now() < deadline => {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    built => break built.unwrap(),
                }
            }
        });
        let telemetry = adapter.telemetry().clone();
        Self {
            runtime,
            adapter,
            telemetry,
            shutdown,
        }
    }

    pub fn telemetry(&self) -> &Telemetry {
        &self.telemetry
    }

    /// Signals shutdown and waits for in-flight deliveries to be answered and the bus closed.
    pub fn stop(self) {
        self.shutdown.send(true).unwrap();
        self.runtime.block_on(self.adapter.stopped()).unwrap();
        self.runtime.shutdown_timeout(WAIT);
    }

    /// Drops everything the process runs, mid-delivery, like a crash.
    pub fn abort(self) {
        self.runtime.shutdown_timeout(WAIT);
    }
}
