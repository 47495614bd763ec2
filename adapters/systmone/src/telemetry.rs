//! The adapter's telemetry: counters ([`Telemetry`], read with [`Telemetry::snapshot`]) and the
//! log events. Every log line the adapter writes goes through one `emit()` here, so what may be
//! logged is visible in one place: message ids, journal sequence numbers, reasons (checked
//! tokens), error codes, statuses and sizes; never payloads, names, dates of birth or NHS numbers.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use waymark_core::MessageId;

/// The adapter's counters, shared by its tasks.
#[derive(Debug, Default)]
pub struct Telemetry {
    accepted: AtomicU64,
    coalesced: AtomicU64,
    rejected: AtomicU64,
    notifications: AtomicU64,
    upstream_calls: AtomicU64,
    retried: AtomicU64,
    received: AtomicU64,
    published: AtomicU64,
    duplicates: AtomicU64,
    flawed: AtomicU64,
    publish_failures: AtomicU64,
    failed: AtomicU64,
    feed_errors: AtomicU64,
}

/// The counters at one moment, with the journal's gauges.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TelemetrySnapshot {
    /// Pull requests journaled (new).
    pub accepted: u64,
    /// Pull requests covered by one already pending.
    pub coalesced: u64,
    /// Pull requests refused (invalid, journal full, stopping).
    pub rejected: u64,
    /// Change notifications read from the feed.
    pub notifications: u64,
    /// `$gpc.getstructuredrecord` calls made (retries included).
    pub upstream_calls: u64,
    /// Of those, retries.
    pub retried: u64,
    /// Final answers received (a record, or an error answer to publish).
    pub received: u64,
    /// Envelopes the bus stored (new ids).
    pub published: u64,
    /// Envelopes the bus already had (same id: same person, same content).
    pub duplicates: u64,
    /// Of the published, those carrying `context.error`.
    pub flawed: u64,
    /// Publishes the bus failed (retried).
    pub publish_failures: u64,
    /// Requests given up on and kept in the journal as failed (this process).
    pub failed: u64,
    /// Failed reads of the change-notification feed.
    pub feed_errors: u64,
    /// Journal: pending requests.
    pub pending: u64,
    /// Journal: requests being served.
    pub in_flight: u64,
    /// Journal: failed requests kept (all time).
    pub failed_kept: u64,
    /// Age of the oldest pending request, in milliseconds (0 when none): the adapter's lag.
    pub lag_ms: u64,
}

/// One counter.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Counter {
    Accepted,
    Coalesced,
    Rejected,
    Notifications,
    UpstreamCalls,
    Retried,
    Received,
    Published,
    Duplicates,
    Flawed,
    PublishFailures,
    Failed,
    FeedErrors,
}

impl Telemetry {
    fn counter(&self, counter: Counter) -> &AtomicU64 {
        match counter {
            Counter::Accepted => &self.accepted,
            Counter::Coalesced => &self.coalesced,
            Counter::Rejected => &self.rejected,
            Counter::Notifications => &self.notifications,
            Counter::UpstreamCalls => &self.upstream_calls,
            Counter::Retried => &self.retried,
            Counter::Received => &self.received,
            Counter::Published => &self.published,
            Counter::Duplicates => &self.duplicates,
            Counter::Flawed => &self.flawed,
            Counter::PublishFailures => &self.publish_failures,
            Counter::Failed => &self.failed,
            Counter::FeedErrors => &self.feed_errors,
        }
    }

    pub(crate) fn add(&self, counter: Counter, n: u64) {
        self.counter(counter).fetch_add(n, Relaxed);
    }

    pub(crate) fn incr(&self, counter: Counter) {
        self.add(counter, 1);
    }

    /// The counters (the journal gauges are filled in by the adapter's handle).
    pub fn counters(&self) -> TelemetrySnapshot {
        let get = |c| self.counter(c).load(Relaxed);
        TelemetrySnapshot {
            accepted: get(Counter::Accepted),
            coalesced: get(Counter::Coalesced),
            rejected: get(Counter::Rejected),
            notifications: get(Counter::Notifications),
            upstream_calls: get(Counter::UpstreamCalls),
            retried: get(Counter::Retried),
            received: get(Counter::Received),
            published: get(Counter::Published),
            duplicates: get(Counter::Duplicates),
            flawed: get(Counter::Flawed),
            publish_failures: get(Counter::PublishFailures),
            failed: get(Counter::Failed),
            feed_errors: get(Counter::FeedErrors),
            ..TelemetrySnapshot::default()
        }
    }
}

/// A pull request was journaled or coalesced.
pub(crate) struct PullAccepted<'a> {
    pub seq: u64,
    pub reason: &'a str,
    pub coalesced: bool,
}

impl PullAccepted<'_> {
    pub(crate) fn emit(&self) {
        tracing::debug!(
            seq = self.seq,
            reason = self.reason,
            coalesced = self.coalesced,
            "systmone pull request journaled"
        );
    }
}

/// A pull request was refused.
pub(crate) struct PullRejected {
    pub code: &'static str,
}

impl PullRejected {
    pub(crate) fn emit(&self) {
        tracing::warn!(code = self.code, "systmone pull request refused");
    }
}

/// A GP Connect call failed and will be retried.
pub(crate) struct UpstreamRetry {
    pub seq: u64,
    pub code: &'static str,
    pub status: Option<u16>,
    pub wait_ms: u64,
}

impl UpstreamRetry {
    pub(crate) fn emit(&self) {
        tracing::debug!(
            seq = self.seq,
            code = self.code,
            status = self.status.unwrap_or(0),
            wait_ms = self.wait_ms,
            "systmone gp connect retry"
        );
    }
}

/// An envelope was published; the request is done.
pub(crate) struct EnvelopePublished<'a> {
    pub seq: u64,
    pub id: &'a MessageId,
    pub duplicate: bool,
    pub error_code: Option<&'a str>,
    pub size: usize,
}

impl EnvelopePublished<'_> {
    pub(crate) fn emit(&self) {
        tracing::info!(
            seq = self.seq,
            message_id = %self.id,
            duplicate = self.duplicate,
            error_code = self.error_code.unwrap_or(""),
            size = self.size,
            "systmone envelope published"
        );
    }
}

/// The bus failed a publish; the request stays in flight and the publish is retried.
pub(crate) struct PublishFailed<'a> {
    pub seq: u64,
    pub id: &'a MessageId,
    pub code: &'static str,
}

impl PublishFailed<'_> {
    pub(crate) fn emit(&self) {
        tracing::warn!(seq = self.seq, message_id = %self.id, code = self.code,
            "systmone publish failed; request not done");
    }
}

/// A request was given up on and kept in the journal as failed.
pub(crate) struct RequestFailed {
    pub seq: u64,
    pub code: &'static str,
}

impl RequestFailed {
    pub(crate) fn emit(&self) {
        tracing::error!(
            seq = self.seq,
            code = self.code,
            "systmone request failed; kept in the journal"
        );
    }
}

/// The journal could not be written.
pub(crate) struct JournalFailed {
    pub code: &'static str,
}

impl JournalFailed {
    pub(crate) fn emit(&self) {
        tracing::error!(code = self.code, "systmone journal write failed");
    }
}

/// The change-notification feed could not be read.
pub(crate) struct FeedFailed {
    pub code: &'static str,
}

impl FeedFailed {
    pub(crate) fn emit(&self) {
        tracing::warn!(code = self.code, "systmone change feed read failed");
    }
}

/// A page of change notifications was journaled and the cursor moved.
pub(crate) struct FeedAdvanced {
    pub count: usize,
    pub cursor: u64,
}

impl FeedAdvanced {
    pub(crate) fn emit(&self) {
        tracing::debug!(
            count = self.count,
            cursor = self.cursor,
            "systmone change notifications journaled"
        );
    }
}
