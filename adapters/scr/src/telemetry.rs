//! The adapter's telemetry: counters (read with [`Telemetry::snapshot`]) and the events it logs.
//! Every log line the adapter writes goes through one `emit()` here, so what may be logged is
//! visible in one place: message ids, journal sequence numbers, outcomes, error codes, sizes and
//! durations; never an NHS number, a name or a body.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use waymark_core::MessageId;

/// The adapter's counters, shared by the listener, the handle and the workers.
#[derive(Debug, Default)]
pub struct Telemetry {
    received: AtomicU64,
    coalesced: AtomicU64,
    rejected: AtomicU64,
    fetched: AtomicU64,
    retried: AtomicU64,
    published: AtomicU64,
    duplicates: AtomicU64,
    publish_failures: AtomicU64,
    no_consent: AtomicU64,
    no_result: AtomicU64,
    flawed: AtomicU64,
    failed: AtomicU64,
    lag_ms_last: AtomicU64,
    lag_ms_max: AtomicU64,
}

/// A copy of the counters at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TelemetrySnapshot {
    /// Pull requests received (journaled or coalesced).
    pub received: u64,
    /// Of those, coalesced with a pending request for the same person.
    pub coalesced: u64,
    /// Pull requests refused (malformed, invalid NHS number, journal full or failing).
    pub rejected: u64,
    /// SCR answers obtained (any outcome).
    pub fetched: u64,
    /// SCR requests retried (5xx, 429, timeout, dropped connection, malformed body).
    pub retried: u64,
    /// Envelopes the bus confirmed as new.
    pub published: u64,
    /// Envelopes the bus already held (same message id).
    pub duplicates: u64,
    /// Publishes the bus refused or failed (retried; the request stays pending).
    pub publish_failures: u64,
    /// Answers that were "no consent" (not published: done with that outcome, never retried).
    pub no_consent: u64,
    /// Answers that were "no record" (not published: done with that outcome).
    pub no_result: u64,
    /// Answers published with `context.error` (malformed, unexpected shape).
    pub flawed: u64,
    /// Requests given up on (kept in the journal as failed).
    pub failed: u64,
    /// Milliseconds from the latest published request's `requestedAt` to its publish.
    pub lag_ms_last: u64,
    /// The largest such lag seen.
    pub lag_ms_max: u64,
}

/// Which counter an outcome moves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Count {
    Received,
    Coalesced,
    Rejected,
    Fetched,
    Retried,
    PublishFailure,
    NoConsent,
    NoResult,
    Flawed,
    Failed,
}

impl Telemetry {
    pub(crate) fn count(&self, what: Count) {
        let counter = match what {
            Count::Received => &self.received,
            Count::Coalesced => &self.coalesced,
            Count::Rejected => &self.rejected,
            Count::Fetched => &self.fetched,
            Count::Retried => &self.retried,
            Count::PublishFailure => &self.publish_failures,
            Count::NoConsent => &self.no_consent,
            Count::NoResult => &self.no_result,
            Count::Flawed => &self.flawed,
            Count::Failed => &self.failed,
        };
        counter.fetch_add(1, Relaxed);
    }

    pub(crate) fn published(&self, duplicate: bool, lag_ms: u64) {
        if duplicate {
            self.duplicates.fetch_add(1, Relaxed);
        } else {
            self.published.fetch_add(1, Relaxed);
        }
        self.lag_ms_last.store(lag_ms, Relaxed);
        self.lag_ms_max.fetch_max(lag_ms, Relaxed);
    }

    /// The counters now.
    pub fn snapshot(&self) -> TelemetrySnapshot {
        TelemetrySnapshot {
            received: self.received.load(Relaxed),
            coalesced: self.coalesced.load(Relaxed),
            rejected: self.rejected.load(Relaxed),
            fetched: self.fetched.load(Relaxed),
            retried: self.retried.load(Relaxed),
            published: self.published.load(Relaxed),
            duplicates: self.duplicates.load(Relaxed),
            publish_failures: self.publish_failures.load(Relaxed),
            no_consent: self.no_consent.load(Relaxed),
            no_result: self.no_result.load(Relaxed),
            flawed: self.flawed.load(Relaxed),
            failed: self.failed.load(Relaxed),
            lag_ms_last: self.lag_ms_last.load(Relaxed),
            lag_ms_max: self.lag_ms_max.load(Relaxed),
        }
    }
}

/// A pull request was accepted (journaled, or coalesced with a pending one).
pub(crate) struct PullAccepted<'a> {
    pub seq: u64,
    pub reason: &'a str,
    pub coalesced: bool,
}

impl PullAccepted<'_> {
    pub(crate) fn emit(&self) {
        tracing::info!(
            seq = self.seq,
            reason = self.reason,
            coalesced = self.coalesced,
            "scr pull request accepted"
        );
    }
}

/// A pull request was refused.
pub(crate) struct PullRejected {
    pub code: &'static str,
}

impl PullRejected {
    pub(crate) fn emit(&self) {
        tracing::warn!(code = self.code, "scr pull request rejected");
    }
}

/// An SCR request failed and will be retried.
pub(crate) struct FetchRetry {
    pub seq: u64,
    pub code: &'static str,
    pub attempt: u32,
    pub wait_ms: u64,
}

impl FetchRetry {
    pub(crate) fn emit(&self) {
        tracing::debug!(
            seq = self.seq,
            code = self.code,
            attempt = self.attempt,
            wait_ms = self.wait_ms,
            "scr request failed; retrying"
        );
    }
}

/// An envelope was published; the request is done.
pub(crate) struct EnvelopePublished<'a> {
    pub seq: u64,
    pub id: &'a MessageId,
    pub message_type: &'a str,
    pub duplicate: bool,
    pub error_code: Option<&'a str>,
}

impl EnvelopePublished<'_> {
    pub(crate) fn emit(&self) {
        tracing::info!(
            seq = self.seq,
            message_id = %self.id,
            message_type = self.message_type,
            duplicate = self.duplicate,
            error_code = self.error_code.unwrap_or(""),
            "scr envelope published"
        );
    }
}

/// The bus refused or failed a publish; the request stays pending and is retried.
pub(crate) struct PublishFailed<'a> {
    pub seq: u64,
    pub id: &'a MessageId,
    pub code: &'static str,
}

impl PublishFailed<'_> {
    pub(crate) fn emit(&self) {
        tracing::warn!(
            seq = self.seq,
            message_id = %self.id,
            code = self.code,
            "scr publish failed; request stays pending"
        );
    }
}

/// A request was given up on; it stays in the journal as failed.
pub(crate) struct RequestFailed {
    pub seq: u64,
    pub code: &'static str,
}

impl RequestFailed {
    pub(crate) fn emit(&self) {
        tracing::error!(
            seq = self.seq,
            code = self.code,
            "scr request given up; kept in the journal as failed"
        );
    }
}

/// The journal could not record an outcome; the request stays pending and is redone later.
pub(crate) struct JournalFailed {
    pub seq: u64,
    pub code: &'static str,
}

impl JournalFailed {
    pub(crate) fn emit(&self) {
        tracing::error!(seq = self.seq, code = self.code, "scr journal write failed");
    }
}
