//! The adapter's telemetry: counters anyone holding a [`Telemetry`] can read, and every log line
//! the adapter writes, each through one `emit()` here so what may be logged is visible in one
//! place: message ids, event types (already checked to be plain tokens), error codes and sizes;
//! never payloads, names or identifiers.

use std::sync::{
    Arc,
    atomic::{AtomicU64, Ordering},
};

use waymark_core::MessageId;

macro_rules! counters {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {
        #[derive(Debug, Default)]
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
    /// Notification deliveries read (within the body limit; confirmations not included).
    received,
    /// Envelopes the bus confirmed as new (each answered 2xx).
    published,
    /// Envelopes the bus confirmed as already held (a redelivery: same id; answered 2xx).
    duplicates,
    /// Of those confirmed (new or already held), envelopes carrying `context.error`.
    flawed,
    /// Deliveries answered 413, which SNS sees: a body over 16 MiB, or an envelope the bus
    /// refused as too large. Nothing is published.
    rejected,
    /// Deliveries answered 503 because the bus failed the publish (SNS delivers them again).
    unacked,
    /// Deliveries answered 503 because the Prison API failed transiently (unreachable, timed
    /// out, reset, 5xx or 429) after the client's retries: nothing is published and SNS
    /// delivers them again. Rising steadily: the Prison API is down.
    enrich_deferred,
    /// Prison API requests retried (5xx, 429, timeouts, refused connections).
    retried,
    /// SNS subscription or unsubscription confirmations answered without publishing.
    confirmations,
    /// Gauge: milliseconds between the last confirmed event's time and its receipt.
    lag_ms,
}

/// The adapter's counters, shared by the endpoint and its Prison API client.
#[derive(Clone, Debug, Default)]
pub struct Telemetry(Arc<Counters>);

impl Telemetry {
    /// The counters now.
    pub fn snapshot(&self) -> TelemetrySnapshot {
        self.0.snapshot()
    }

    fn add(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::AcqRel);
    }

    pub(crate) fn received(&self) {
        Self::add(&self.0.received);
    }

    /// A publish the bus confirmed; `lag_ms` when the event has a time.
    pub(crate) fn confirmed(&self, duplicate: bool, flawed: bool, lag_ms: Option<u64>) {
        Self::add(if duplicate {
            &self.0.duplicates
        } else {
            &self.0.published
        });
        if flawed {
            Self::add(&self.0.flawed);
        }
        if let Some(lag) = lag_ms {
            self.0.lag_ms.store(lag, Ordering::Release);
        }
    }

    pub(crate) fn rejected(&self) {
        Self::add(&self.0.rejected);
    }

    pub(crate) fn unacked(&self) {
        Self::add(&self.0.unacked);
    }

    pub(crate) fn enrich_deferred(&self) {
        Self::add(&self.0.enrich_deferred);
    }

    pub(crate) fn retried(&self) {
        Self::add(&self.0.retried);
    }

    pub(crate) fn confirmation(&self) {
        Self::add(&self.0.confirmations);
    }
}

/// An SNS subscription-lifecycle message that needs no action from the adapter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Confirmation {
    /// `SubscriptionConfirmation`.
    Subscribe,
    /// `UnsubscribeConfirmation`.
    Unsubscribe,
}

impl Confirmation {
    /// Reads the `x-amz-sns-message-type` header value.
    pub(crate) fn from_header(value: &str) -> Option<Self> {
        match value {
            "SubscriptionConfirmation" => Some(Self::Subscribe),
            "UnsubscribeConfirmation" => Some(Self::Unsubscribe),
            _ => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Subscribe => "SubscriptionConfirmation",
            Self::Unsubscribe => "UnsubscribeConfirmation",
        }
    }
}

/// A subscription confirmation was received and answered 200 without further action.
pub(crate) struct ConfirmationIgnored(pub Confirmation);

impl ConfirmationIgnored {
    pub(crate) fn emit(&self) {
        tracing::info!(
            sns_type = self.0.as_str(),
            "sns confirmation received; nothing to do"
        );
    }
}

/// An envelope was published; the delivery is acknowledged.
pub(crate) struct EnvelopePublished<'a> {
    pub id: &'a MessageId,
    pub message_type: &'a str,
    pub duplicate: bool,
    pub error_code: Option<&'a str>,
}

impl EnvelopePublished<'_> {
    pub(crate) fn emit(&self) {
        tracing::info!(
            message_id = %self.id,
            event_type = self.message_type,
            duplicate = self.duplicate,
            error_code = self.error_code.unwrap_or(""),
            "nomis envelope published"
        );
    }
}

/// The bus refused or failed a publish; the delivery is not acknowledged.
pub(crate) struct PublishFailed<'a> {
    pub id: &'a MessageId,
    pub code: &'static str,
}

impl PublishFailed<'_> {
    pub(crate) fn emit(&self) {
        tracing::warn!(message_id = %self.id, code = self.code, "nomis publish failed; not acked");
    }
}

/// The Prison API failed transiently after retries; the delivery is not acknowledged (503) and
/// nothing is published. Only the message id and the error code are logged.
pub(crate) struct EnrichmentDeferred<'a> {
    pub id: &'a MessageId,
    pub code: &'static str,
}

impl EnrichmentDeferred<'_> {
    pub(crate) fn emit(&self) {
        tracing::warn!(
            message_id = %self.id,
            code = self.code,
            "nomis enrichment failed transiently; not acked, sns will redeliver"
        );
    }
}

/// A notification could not be decoded or enriched; it is published with `context.error`.
pub(crate) struct NotificationFlawed<'a> {
    pub id: &'a MessageId,
    pub code: &'static str,
    pub size: usize,
}

impl NotificationFlawed<'_> {
    pub(crate) fn emit(&self) {
        tracing::warn!(
            message_id = %self.id,
            code = self.code,
            size = self.size,
            "nomis notification flawed; publishing for quarantine"
        );
    }
}
