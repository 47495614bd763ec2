//! Typed telemetry: every stage reports what it did as a [`PipelineEvent`]; nothing in an event
//! is patient data (ids are hub-generated, codes are stable rule names).

use tokio::sync::mpsc;
use waymark_core::{MessageId, SourceSystem};

/// Something a stage did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PipelineEvent {
    /// The map stage produced a valid canonical bundle.
    Mapped {
        /// Envelope id.
        message_id: MessageId,
        /// Source.
        source: SourceSystem,
        /// Source message type.
        message_type: String,
    },
    /// A stage refused a message; it is in quarantine.
    Quarantined {
        /// Envelope id.
        message_id: MessageId,
        /// Refusing stage.
        stage: &'static str,
        /// Error code.
        code: String,
    },
    /// The record stage applied a bundle and raised an event.
    Recorded {
        /// Envelope id.
        message_id: MessageId,
        /// Topic raised.
        topic: String,
        /// The hub's person id.
        person_id: String,
        /// False when it had been applied before (a redelivery).
        applied_now: bool,
    },
    /// The release stage queued a role-scoped payload for a subscription.
    Released {
        /// Event id.
        event_id: MessageId,
        /// Subscription.
        subscription: String,
        /// Per-subscription event number.
        event_number: u64,
        /// How many resources the policy withheld.
        withheld: usize,
    },
    /// The policy released nothing to a subscription for this event.
    NotReleased {
        /// Event id.
        event_id: MessageId,
        /// Subscription.
        subscription: String,
        /// Policy error code.
        code: String,
    },
}

/// Where stages report [`PipelineEvent`]s: a log line and, when attached, a channel.
#[derive(Clone, Debug, Default)]
pub struct Telemetry {
    sink: Option<mpsc::UnboundedSender<PipelineEvent>>,
}

impl Telemetry {
    /// Telemetry that only logs.
    pub fn log_only() -> Self {
        Self { sink: None }
    }

    /// Telemetry that logs and forwards every event to the returned receiver.
    pub fn channel() -> (Self, mpsc::UnboundedReceiver<PipelineEvent>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (Self { sink: Some(tx) }, rx)
    }

    /// Logs and forwards one event.
    pub fn emit(&self, event: PipelineEvent) {
        tracing::debug!(event = ?event, "pipeline");
        if let Some(sink) = &self.sink {
            // A closed receiver means nobody is watching; the event is already logged.
            let _ = sink.send(event);
        }
    }
}
