//! The in-process way to ask for a pull, the same one `POST /pull` uses.

use std::sync::Arc;

use tokio::sync::watch;
use waymark_core::ErrorCode;

use crate::{
    ScrError,
    journal::{Accepted, JournalStatus},
    request::PullRequest,
    telemetry::{Count, PullAccepted, PullRejected, TelemetrySnapshot},
    worker::{Shared, blocking},
};

/// Submits pull requests to a running adapter and reads its state. Cheap to clone.
#[derive(Clone)]
pub struct PullHandle {
    pub(crate) shared: Arc<Shared>,
    pub(crate) shutdown: watch::Receiver<bool>,
}

impl std::fmt::Debug for PullHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PullHandle").finish_non_exhaustive()
    }
}

impl PullHandle {
    /// Journals `request` (fsynced before this returns `Ok`), or coalesces it with a pending
    /// request for the same person. A worker then pulls and publishes the record.
    pub async fn submit(&self, request: PullRequest) -> Result<Accepted, ScrError> {
        let result = if *self.shutdown.borrow() {
            Err(ScrError::Stopping)
        } else {
            let reason = request.reason.clone();
            blocking(&self.shared.journal, move |j| j.submit(&request))
                .await
                .and_then(|r| r.map(|accepted| (accepted, reason)))
        };
        let telemetry = &self.shared.telemetry;
        match result {
            Ok((accepted, reason)) => {
                telemetry.count(Count::Received);
                let (seq, coalesced) = match accepted {
                    Accepted::Journaled { seq } => (seq, false),
                    Accepted::Coalesced { seq } => (seq, true),
                };
                if coalesced {
                    telemetry.count(Count::Coalesced);
                }
                PullAccepted {
                    seq,
                    reason: reason.as_str(),
                    coalesced,
                }
                .emit();
                self.shared.wake.notify_waiters();
                Ok(accepted)
            }
            Err(err) => {
                self.reject(&err);
                Err(err)
            }
        }
    }

    /// Counts and logs a refused request (also used by the listener for unreadable bodies).
    pub(crate) fn reject(&self, err: &ScrError) {
        self.shared.telemetry.count(Count::Rejected);
        PullRejected { code: err.code() }.emit();
    }

    /// Pending, done and failed requests in the journal.
    pub fn status(&self) -> JournalStatus {
        self.shared.journal.status()
    }

    /// The error codes of the requests given up on (no identifiers).
    pub fn failed_codes(&self) -> Vec<String> {
        self.shared.journal.failed_codes()
    }

    /// The adapter's counters now.
    pub fn telemetry(&self) -> TelemetrySnapshot {
        self.shared.telemetry.snapshot()
    }
}
