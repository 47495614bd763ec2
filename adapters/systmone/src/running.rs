//! The running adapter: where it listens, its handle, and how to stop it.

use std::net::SocketAddr;

use tokio::task::JoinHandle;

use crate::{SystmOneError, handle::PullHandle, listener::PULL_PATH, telemetry::TelemetrySnapshot};

/// The running adapter.
#[derive(Debug)]
pub struct RunningAdapter {
    /// Where the pull endpoint listens.
    pub local_addr: SocketAddr,
    handle: PullHandle,
    tasks: Vec<JoinHandle<Result<(), SystmOneError>>>,
}

impl RunningAdapter {
    pub(crate) fn new(
        local_addr: SocketAddr,
        handle: PullHandle,
        tasks: Vec<JoinHandle<Result<(), SystmOneError>>>,
    ) -> Self {
        Self {
            local_addr,
            handle,
            tasks,
        }
    }

    /// The URL to post pull requests to: `http://<local_addr>/pull`.
    pub fn endpoint(&self) -> String {
        format!("http://{}{PULL_PATH}", self.local_addr)
    }

    /// The in-process way to ask for pulls.
    pub fn handle(&self) -> PullHandle {
        self.handle.clone()
    }

    /// The counters and journal gauges.
    pub fn telemetry(&self) -> TelemetrySnapshot {
        self.handle.telemetry()
    }

    /// Waits until every task has stopped (after a shutdown signal, once in-flight requests
    /// are published or put back as pending).
    pub async fn stopped(self) -> Result<(), SystmOneError> {
        let mut result = Ok(());
        for task in self.tasks {
            match task.await {
                Ok(Ok(())) => {}
                Ok(Err(err)) => result = Err(err),
                Err(_) => result = Err(SystmOneError::Task),
            }
        }
        result
    }

    /// Stops every task abruptly (as a crash would), and waits until they are gone. Requests
    /// not yet marked done stay in the journal for the next start.
    pub async fn abort(self) {
        for task in &self.tasks {
            task.abort();
        }
        for task in self.tasks {
            let _ = task.await;
        }
    }
}
