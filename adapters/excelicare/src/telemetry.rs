//! The adapter's counters and telemetry events. Every log line the adapter writes goes through
//! one `emit()` here, so what may be logged is visible in one place: message ids, message types
//! (checked to be plain tokens), ACK codes, error codes and sizes; never payloads, names,
//! identifiers or control ids.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use waymark_core::MessageId;

use crate::ack::AckCode;

/// Live counters of one running adapter (shared by its connections).
#[derive(Debug, Default)]
pub struct Metrics {
    connections: AtomicU64,
    received: AtomicU64,
    bytes: AtomicU64,
    published: AtomicU64,
    duplicates: AtomicU64,
    quarantined: AtomicU64,
    rejected: AtomicU64,
    publish_failed: AtomicU64,
    truncated: AtomicU64,
    garbage_bytes: AtomicU64,
    acks: [AtomicU64; 3],
    lag_ms_last: AtomicU64,
    lag_ms_max: AtomicU64,
}

/// A copy of the counters at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MetricsSnapshot {
    /// Connections accepted.
    pub connections: u64,
    /// Whole frames received (oversized ones included).
    pub received: u64,
    /// Bytes read from senders.
    pub bytes: u64,
    /// Envelopes the bus stored for the first time.
    pub published: u64,
    /// Envelopes the bus already held (a resend of a message already taken): retries that
    /// were absorbed.
    pub duplicates: u64,
    /// Of the published (new or duplicate), those carrying `context.error` (`AE`/`AR`).
    pub quarantined: u64,
    /// Frames answered `AR` and not published (over the size limit, or refused by the bus as
    /// too large).
    pub rejected: u64,
    /// Publishes that failed: answered `AR` 207, so the sender retries.
    pub publish_failed: u64,
    /// Frames cut off before their end block (discarded; the sender resends).
    pub truncated: u64,
    /// Bytes outside any frame (discarded).
    pub garbage_bytes: u64,
    /// `AA` sent.
    pub acks_aa: u64,
    /// `AE` sent.
    pub acks_ae: u64,
    /// `AR` sent.
    pub acks_ar: u64,
    /// Receive time minus MSH-7 of the last accepted message, in milliseconds (0 if in the
    /// future).
    pub lag_ms_last: u64,
    /// The largest such lag seen.
    pub lag_ms_max: u64,
}

impl Metrics {
    /// The counters now.
    pub fn snapshot(&self) -> MetricsSnapshot {
        let get = |c: &AtomicU64| c.load(Relaxed);
        MetricsSnapshot {
            connections: get(&self.connections),
            received: get(&self.received),
            bytes: get(&self.bytes),
            published: get(&self.published),
            duplicates: get(&self.duplicates),
            quarantined: get(&self.quarantined),
            rejected: get(&self.rejected),
            publish_failed: get(&self.publish_failed),
            truncated: get(&self.truncated),
            garbage_bytes: get(&self.garbage_bytes),
            acks_aa: get(&self.acks[0]),
            acks_ae: get(&self.acks[1]),
            acks_ar: get(&self.acks[2]),
            lag_ms_last: get(&self.lag_ms_last),
            lag_ms_max: get(&self.lag_ms_max),
        }
    }

    pub(crate) fn connection(&self) {
        self.connections.fetch_add(1, Relaxed);
    }

    pub(crate) fn read(&self, n: usize) {
        self.bytes.fetch_add(n as u64, Relaxed);
    }

    pub(crate) fn frame(&self) {
        self.received.fetch_add(1, Relaxed);
    }

    pub(crate) fn published(&self, duplicate: bool, flawed: bool) {
        let counter = if duplicate {
            &self.duplicates
        } else {
            &self.published
        };
        counter.fetch_add(1, Relaxed);
        if flawed {
            self.quarantined.fetch_add(1, Relaxed);
        }
    }

    pub(crate) fn rejected(&self) {
        self.rejected.fetch_add(1, Relaxed);
    }

    pub(crate) fn publish_failed(&self) {
        self.publish_failed.fetch_add(1, Relaxed);
    }

    pub(crate) fn truncated(&self) {
        self.truncated.fetch_add(1, Relaxed);
    }

    pub(crate) fn garbage(&self, n: usize) {
        self.garbage_bytes.fetch_add(n as u64, Relaxed);
    }

    pub(crate) fn ack(&self, code: AckCode) {
        let i = match code {
            AckCode::Accept => 0,
            AckCode::Error => 1,
            AckCode::Reject => 2,
        };
        self.acks[i].fetch_add(1, Relaxed);
    }

    pub(crate) fn lag(&self, ms: u64) {
        self.lag_ms_last.store(ms, Relaxed);
        self.lag_ms_max.fetch_max(ms, Relaxed);
    }
}

/// An envelope was published and the message answered.
pub(crate) struct FramePublished<'a> {
    pub id: &'a MessageId,
    pub message_type: &'a str,
    pub duplicate: bool,
    pub error_code: Option<&'a str>,
    pub ack: AckCode,
}

impl FramePublished<'_> {
    pub(crate) fn emit(&self) {
        tracing::info!(
            message_id = %self.id,
            message_type = self.message_type,
            duplicate = self.duplicate,
            error_code = self.error_code.unwrap_or(""),
            ack = self.ack.as_str(),
            "excelicare envelope published"
        );
    }
}

/// The bus refused or failed a publish; the message is answered `AR` 207 (resend).
pub(crate) struct PublishFailed<'a> {
    pub id: &'a MessageId,
    pub code: &'static str,
}

impl PublishFailed<'_> {
    pub(crate) fn emit(&self) {
        tracing::warn!(message_id = %self.id, code = self.code, "excelicare publish failed; answered AR");
    }
}

/// A frame was not published: answered `AR`, or discarded (truncated, garbage).
pub(crate) struct FrameDiscarded {
    pub reason: &'static str,
    pub size: usize,
}

impl FrameDiscarded {
    pub(crate) fn emit(&self) {
        tracing::warn!(
            reason = self.reason,
            size = self.size,
            "excelicare frame discarded"
        );
    }
}

/// The answer could not be written (the sender hung up); it will resend.
pub(crate) struct AckNotSent<'a> {
    pub id: &'a MessageId,
}

impl AckNotSent<'_> {
    pub(crate) fn emit(&self) {
        tracing::info!(message_id = %self.id, "excelicare ack not delivered; sender will resend");
    }
}
