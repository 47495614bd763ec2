//! The in-process way to ask for a pull ([`PullHandle`]), shared by the pull endpoint, the
//! change-notification poller and the workers. Journal IO runs on the blocking pool.

use std::sync::{Arc, Mutex, PoisonError};

use chrono::Utc;
use tokio::sync::{Notify, watch};
use waymark_core::ErrorCode;

use crate::{
    SystmOneError,
    journal::{Journal, JournalStats, Submitted},
    request::PullRequest,
    telemetry::{Counter, JournalFailed, PullAccepted, PullRejected, Telemetry, TelemetrySnapshot},
};

/// Asks the adapter to pull records. Cheap to clone.
#[derive(Clone)]
pub struct PullHandle {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for PullHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PullHandle").finish_non_exhaustive()
    }
}

struct Shared {
    journal: Mutex<Journal>,
    wake: Notify,
    telemetry: Arc<Telemetry>,
    shutdown: watch::Receiver<bool>,
}

impl PullHandle {
    pub(crate) fn new(
        journal: Journal,
        telemetry: Arc<Telemetry>,
        shutdown: watch::Receiver<bool>,
    ) -> Self {
        Self {
            shared: Arc::new(Shared {
                journal: Mutex::new(journal),
                wake: Notify::new(),
                telemetry,
                shutdown,
            }),
        }
    }

    /// Journals a pull request durably (fsync) and returns once it is; a request for a person
    /// who already has one pending is coalesced into it. Refused while the adapter stops.
    pub async fn pull(&self, request: PullRequest) -> Result<Submitted, SystmOneError> {
        let telemetry = &self.shared.telemetry;
        if *self.shared.shutdown.borrow() {
            telemetry.incr(Counter::Rejected);
            return Err(SystmOneError::Stopping);
        }
        let reason = request.reason.clone();
        let result = self.with_journal(move |j| j.submit(request)).await;
        match &result {
            Ok(submitted) => {
                let counter = if submitted.coalesced {
                    Counter::Coalesced
                } else {
                    Counter::Accepted
                };
                telemetry.incr(counter);
                PullAccepted {
                    seq: submitted.seq,
                    reason: reason.as_str(),
                    coalesced: submitted.coalesced,
                }
                .emit();
                self.shared.wake.notify_waiters();
                self.shared.wake.notify_one();
            }
            Err(err) => {
                telemetry.incr(Counter::Rejected);
                PullRejected { code: err.code() }.emit();
            }
        }
        result
    }

    /// The counters and the journal's gauges.
    pub fn telemetry(&self) -> TelemetrySnapshot {
        let mut snapshot = self.shared.telemetry.counters();
        let stats = self.journal_stats();
        snapshot.pending = stats.pending;
        snapshot.in_flight = stats.in_flight;
        snapshot.failed_kept = stats.failed;
        snapshot.lag_ms = stats.oldest_requested_at.map_or(0, |at| {
            u64::try_from((Utc::now() - at).num_milliseconds().max(0)).unwrap_or(0)
        });
        snapshot
    }

    /// The journal's counts.
    pub fn journal_stats(&self) -> JournalStats {
        self.lock().stats()
    }

    /// Error codes of the requests kept as failed, oldest first.
    pub fn failed_codes(&self) -> Vec<String> {
        self.lock().failed_codes()
    }

    pub(crate) fn counters(&self) -> &Telemetry {
        &self.shared.telemetry
    }

    pub(crate) fn take(&self) -> Option<(u64, PullRequest)> {
        self.lock().take()
    }

    pub(crate) fn release(&self, seq: u64) {
        self.lock().release(seq);
        self.shared.wake.notify_one();
    }

    pub(crate) async fn done(&self, seq: u64) -> Result<(), SystmOneError> {
        self.logged(self.with_journal(move |j| j.done(seq)).await)
    }

    pub(crate) async fn fail(&self, seq: u64, code: &'static str) -> Result<(), SystmOneError> {
        self.logged(self.with_journal(move |j| j.fail(seq, code)).await)
    }

    /// Resolves when a request may have become available (or after `max`).
    pub(crate) async fn wait_for_work(&self, max: std::time::Duration) {
        let _ = tokio::time::timeout(max, self.shared.wake.notified()).await;
    }

    fn logged(&self, result: Result<(), SystmOneError>) -> Result<(), SystmOneError> {
        if let Err(err) = &result {
            JournalFailed { code: err.code() }.emit();
        }
        result
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Journal> {
        self.shared
            .journal
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    async fn with_journal<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Journal) -> Result<T, SystmOneError> + Send + 'static,
    ) -> Result<T, SystmOneError> {
        let shared = self.shared.clone();
        tokio::task::spawn_blocking(move || {
            let mut journal = shared
                .journal
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            f(&mut journal)
        })
        .await
        .map_err(|_| SystmOneError::Task)?
    }
}
