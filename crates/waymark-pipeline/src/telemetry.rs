//! Typed telemetry: every stage reports what it did as a [`PipelineEvent`]; nothing in an event
//! is patient data (ids are hub-generated, codes are stable rule names).

use chrono::{DateTime, Utc};
use serde_json::Value;
use tokio::sync::mpsc;
use waymark_core::{MessageId, SourceSystem};

/// `Encounter.location.location.identifier.system` of a prison establishment.
pub(crate) const ESTABLISHMENT_SYSTEM: &str = "https://fhir.waymark.org.uk/Id/prison-establishment";
/// `Bundle.meta.source` starts with this, then `<source>#<envelope id>`.
const META_SOURCE_BASE: &str = "https://fhir.waymark.org.uk/source/";

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
        /// Source, when the envelope was readable.
        source: Option<SourceSystem>,
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
        /// Source.
        source: SourceSystem,
        /// Where it happened: establishment or custody suite code, from the canonical bundle.
        site: Option<String>,
        /// When it happened at the source.
        event_time: Option<DateTime<Utc>>,
        /// Dataset items (data-class codes) present in the bundle.
        items: Vec<String>,
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
        /// Source of the event, from the canonical bundle.
        source: Option<String>,
        /// Where it happened, from the canonical bundle.
        site: Option<String>,
        /// When it happened (source event time, else recorded time).
        event_time: DateTime<Utc>,
    },
    /// A release used break-glass: the privacy officer must be alerted. The clinician's reason
    /// is in the redaction manifest only, never here.
    BreakGlass {
        /// Event id.
        event_id: MessageId,
        /// Subscription.
        subscription: String,
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
        self.forward(event);
    }

    /// Forwards an event already logged (a fan-out passing events on).
    pub fn forward(&self, event: PipelineEvent) {
        if let Some(sink) = &self.sink {
            // A closed receiver means nobody is watching; the event is already logged.
            let _ = sink.send(event);
        }
    }
}

/// Where a canonical bundle's event happened: the establishment of its current (else first)
/// Encounter location. A code of the estate, never a person's identifier.
pub(crate) fn site_of(bundle: &Value) -> Option<String> {
    let locations: Vec<&Value> = waymark_fhir::entries(bundle)
        .filter(|r| r["resourceType"] == "Encounter")
        .flat_map(|r| r["location"].as_array().into_iter().flatten())
        .filter(|l| l["location"]["identifier"]["system"] == ESTABLISHMENT_SYSTEM)
        .collect();
    let current = locations.iter().find(|l| l["status"] == "active");
    current
        .or(locations.first())
        .and_then(|l| l["location"]["identifier"]["value"].as_str())
        .map(str::to_owned)
}

/// The source system code of a canonical bundle, from `Bundle.meta.source`.
pub(crate) fn source_of(bundle: &Value) -> Option<String> {
    let meta = bundle["meta"]["source"]
        .as_str()?
        .strip_prefix(META_SOURCE_BASE)?;
    meta.split('#').next().map(str::to_owned)
}

/// The dataset items (data-class codes) present in a canonical bundle, each once.
pub(crate) fn items_of(bundle: &Value) -> Vec<String> {
    let mut items: Vec<String> = waymark_fhir::entries(bundle)
        .filter_map(waymark_fhir::data_class)
        .map(|c| c.code().to_owned())
        .collect();
    items.sort();
    items.dedup();
    items
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn feed_facts_come_from_the_bundle_and_never_from_the_patient() {
        let location = |code: &str, status: &str| {
            json!({"location": {"identifier": {"system": ESTABLISHMENT_SYSTEM, "value": code}},
                   "status": status})
        };
        let bundle = json!({
            "meta": {"source": "https://fhir.waymark.org.uk/source/nomis#abc"},
            "entry": [
                {"resource": {"resourceType": "Patient", "meta": {"security": [
                    {"system": waymark_core::DATA_CLASS_SYSTEM, "code": "identity"}]}}},
                {"resource": {"resourceType": "Encounter", "location": [
                    location("LEI", "completed"), location("MDI", "active")]}}
            ]
        });
        assert_eq!(site_of(&bundle).as_deref(), Some("MDI"));
        assert_eq!(source_of(&bundle).as_deref(), Some("nomis"));
        assert_eq!(items_of(&bundle), ["identity"]);
        assert_eq!(site_of(&json!({"entry": []})), None);
    }
}
