//! The adapter's telemetry: counters anyone holding a [`Telemetry`] can read (and await), and
//! every log line the adapter writes, each through one `emit()` here so what may be logged is
//! visible in one place: message ids, event kinds (checked to be plain tokens), sequence
//! numbers, counts, durations and error codes; never payloads, names, identifiers or cursors.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use tokio::sync::Notify;
use waymark_core::MessageId;

macro_rules! counters {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {
        #[derive(Default)]
        struct Counters { $($name: AtomicU64,)* }

        /// The counters at one moment.
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
        pub struct TelemetrySnapshot { $($(#[$doc])* pub $name: u64,)* }

        impl Counters {
            fn snapshot(&self) -> TelemetrySnapshot {
                TelemetrySnapshot { $($name: self.$name.load(Ordering::Acquire),)* }
            }
        }
    };
}

counters! {
    /// Pages of events received and read.
    pages,
    /// Events read from pages.
    received,
    /// Events the bus confirmed as new.
    published,
    /// Events the bus confirmed as already held (a replay or a re-emitted event: same id).
    duplicates,
    /// Events or responses the adapter could not use as they came: events with a malformed
    /// head (published with `context.error`) and pages that are not JSON (fetched again).
    rejected,
    /// Events skipped with a record: at or below the checkpoint's sequence (the feed went
    /// backwards), or refused by the bus as too large.
    skipped,
    /// Pages whose events went backwards past the checkpoint.
    cursor_regressions,
    /// Events whose time is earlier than an event published before them.
    late_events,
    /// Retries: of feed requests (429, 5xx, timeouts, dropped connections, invalid pages,
    /// refused tokens) and of publishes the bus refused or failed.
    retried,
    /// Answers 429 from the feed.
    rate_limited,
    /// Tokens fetched from the token endpoint.
    tokens,
    /// Checkpoints written.
    checkpoints,
    /// Times the adapter reached the end of the feed (a page saying no more, or an empty one)
    /// and waited `poll_interval_ms` before asking again.
    caught_up,
    /// Gauge: milliseconds between the last published event's time and its receipt.
    lag_ms,
}

/// The adapter's counters, shared with whoever runs it.
#[derive(Clone, Default)]
pub struct Telemetry {
    counters: Arc<Counters>,
    changed: Arc<Notify>,
}

impl std::fmt::Debug for Telemetry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Telemetry").field(&self.snapshot()).finish()
    }
}

/// Which counter to move.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Count {
    Pages,
    Received,
    Published,
    Duplicates,
    Rejected,
    Skipped,
    CursorRegressions,
    LateEvents,
    Retried,
    RateLimited,
    Tokens,
    Checkpoints,
    CaughtUp,
}

impl Telemetry {
    /// The counters now.
    pub fn snapshot(&self) -> TelemetrySnapshot {
        self.counters.snapshot()
    }

    /// Waits until `done` holds for the counters, at most `timeout`; returns the last snapshot
    /// and whether `done` held.
    pub async fn wait_for(
        &self,
        timeout: Duration,
        done: impl Fn(&TelemetrySnapshot) -> bool,
    ) -> (TelemetrySnapshot, bool) {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let changed = self.changed.notified();
            let now = self.snapshot();
            if done(&now) {
                return (now, true);
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                let last = self.snapshot();
                return (last, done(&last));
            }
        }
    }

    pub(crate) fn add(&self, count: Count, n: u64) {
        let c = &self.counters;
        let counter = match count {
            Count::Pages => &c.pages,
            Count::Received => &c.received,
            Count::Published => &c.published,
            Count::Duplicates => &c.duplicates,
            Count::Rejected => &c.rejected,
            Count::Skipped => &c.skipped,
            Count::CursorRegressions => &c.cursor_regressions,
            Count::LateEvents => &c.late_events,
            Count::Retried => &c.retried,
            Count::RateLimited => &c.rate_limited,
            Count::Tokens => &c.tokens,
            Count::Checkpoints => &c.checkpoints,
            Count::CaughtUp => &c.caught_up,
        };
        counter.fetch_add(n, Ordering::AcqRel);
        self.changed.notify_waiters();
    }

    pub(crate) fn incr(&self, count: Count) {
        self.add(count, 1);
    }

    pub(crate) fn set_lag(&self, lag: Duration) {
        let ms = u64::try_from(lag.as_millis()).unwrap_or(u64::MAX);
        self.counters.lag_ms.store(ms, Ordering::Release);
    }
}

/// An envelope was published (or the bus already held it).
pub(crate) struct EnvelopePublished<'a> {
    pub id: &'a MessageId,
    pub kind: &'a str,
    pub sequence: Option<u64>,
    pub duplicate: bool,
    pub error_code: Option<&'a str>,
}

impl EnvelopePublished<'_> {
    pub(crate) fn emit(&self) {
        tracing::debug!(
            message_id = %self.id,
            event_kind = self.kind,
            sequence = self.sequence,
            duplicate = self.duplicate,
            error_code = self.error_code.unwrap_or(""),
            "athena envelope published"
        );
    }
}

/// The bus failed a publish; it is retried and the cursor stays where it was.
pub(crate) struct PublishFailed<'a> {
    pub id: &'a MessageId,
    pub code: &'static str,
    pub retry_in: Duration,
}

impl PublishFailed<'_> {
    pub(crate) fn emit(&self) {
        tracing::warn!(
            message_id = %self.id,
            code = self.code,
            retry_in_ms = u64::try_from(self.retry_in.as_millis()).unwrap_or(u64::MAX),
            "athena publish failed; cursor not advanced, retrying"
        );
    }
}

/// An event was skipped with a record.
pub(crate) struct EventSkipped<'a> {
    pub id: &'a MessageId,
    pub reason: &'static str,
    pub sequence: Option<u64>,
    pub checkpoint: Option<u64>,
}

impl EventSkipped<'_> {
    pub(crate) fn emit(&self) {
        tracing::warn!(
            message_id = %self.id,
            reason = self.reason,
            sequence = self.sequence,
            checkpoint_sequence = self.checkpoint,
            "athena event skipped"
        );
    }
}

/// An event's head was malformed; it is published with `context.error`.
pub(crate) struct EventFlawed<'a> {
    pub id: &'a MessageId,
    pub size: usize,
}

impl EventFlawed<'_> {
    pub(crate) fn emit(&self) {
        tracing::warn!(
            message_id = %self.id,
            code = crate::FLAWED_CODE,
            size = self.size,
            "athena event malformed; publishing for quarantine"
        );
    }
}

/// A feed request failed; it is retried after `retry_in`.
pub(crate) struct FetchFailed {
    pub code: &'static str,
    pub status: Option<u16>,
    pub retry_in: Duration,
}

impl FetchFailed {
    pub(crate) fn emit(&self) {
        tracing::warn!(
            code = self.code,
            status = self.status,
            retry_in_ms = u64::try_from(self.retry_in.as_millis()).unwrap_or(u64::MAX),
            "athena feed request failed; retrying"
        );
    }
}

/// A page was fully published and the checkpoint moved.
pub(crate) struct PageDone {
    pub events: usize,
    pub last_sequence: Option<u64>,
    pub has_more: bool,
}

impl PageDone {
    pub(crate) fn emit(&self) {
        tracing::debug!(
            events = self.events,
            last_sequence = self.last_sequence,
            has_more = self.has_more,
            "athena page done; checkpoint written"
        );
    }
}

/// The checkpoint could not be written; retried.
pub(crate) struct CheckpointFailed {
    pub code: &'static str,
}

impl CheckpointFailed {
    pub(crate) fn emit(&self) {
        tracing::error!(code = self.code, "athena checkpoint not written; retrying");
    }
}
