//! The record stage: link the bundle to a person, append it to the record, raise the event.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use waymark_bus::{Bus, Delivery, Message};
use waymark_core::{MessageId, Sensitive, SourceSystem};
use waymark_profile::{CanonicalBundle, Validator};
use waymark_store::{NewRecord, Store, StoreError, StrongId};

use crate::{
    PipelineEvent, RELEASE, Step, Telemetry, carried,
    quarantine::{self, Refusal, Refused},
    telemetry,
    worker::{Handler, transient_backoff},
};

/// Identifier systems that link records deterministically, most trusted first.
const STRONG_SYSTEMS: [&str; 5] = [
    "https://fhir.nhs.uk/Id/nhs-number",
    "https://fhir.waymark.org.uk/Id/pnc-id",
    "https://fhir.waymark.org.uk/Id/cro-number",
    "https://fhir.waymark.org.uk/Id/nomis-prison-number",
    "https://fhir.waymark.org.uk/Id/nomis-booking-id",
];

/// The Patient's strong identifiers, most trusted first.
pub fn strong_identifiers(patient: &Value) -> Vec<StrongId> {
    let ids = patient["identifier"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    STRONG_SYSTEMS
        .iter()
        .flat_map(|system| {
            ids.iter()
                .filter(move |id| id["system"] == *system)
                .filter_map(move |id| {
                    let value = id["value"].as_str()?;
                    Some(StrongId {
                        system: (*system).to_owned(),
                        value: Sensitive::new(value.to_owned()),
                    })
                })
        })
        .collect()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EnvelopeMeta {
    id: MessageId,
    source: SourceSystem,
    message_type: String,
    event_time: Option<DateTime<Utc>>,
}

#[derive(Deserialize)]
struct RecordMessage {
    envelope: EnvelopeMeta,
}

/// The record stage worker.
pub struct RecordStage {
    /// Re-checks what it reads from the bus.
    pub validator: Arc<Validator>,
    /// The record.
    pub store: Arc<dyn Store>,
    /// Where events go.
    pub bus: Arc<dyn Bus>,
    /// Telemetry.
    pub telemetry: Telemetry,
}

#[async_trait]
impl Handler for RecordStage {
    async fn handle(&self, delivery: &Delivery) -> Step {
        let bytes = delivery.message.body.expose();
        let (msg, bundle) =
            match carried::read::<RecordMessage>(bytes, &self.validator, "record.decode") {
                Ok(read) => read,
                Err(refusal) => {
                    return self
                        .refuse(&delivery.message.id, bytes, refusal, delivery.attempt)
                        .await;
                }
            };
        let record = new_record(&msg.envelope, &bundle);
        match self.store.record(record).await {
            Ok(outcome) => {
                self.forward(&msg.envelope, outcome, bundle, delivery.attempt)
                    .await
            }
            Err(err @ StoreError::Backend(_)) => {
                tracing::warn!(message_id = %msg.envelope.id, error = %err, "record: store failed");
                Step::Retry(transient_backoff(delivery.attempt))
            }
            Err(err) => {
                self.refuse(
                    &msg.envelope.id,
                    bytes,
                    Refusal::from_error(&err),
                    delivery.attempt,
                )
                .await
            }
        }
    }
}

fn new_record(meta: &EnvelopeMeta, bundle: &CanonicalBundle) -> NewRecord {
    NewRecord {
        message_id: meta.id.clone(),
        source: meta.source,
        message_type: meta.message_type.clone(),
        event_time: meta.event_time,
        recorded_at: Utc::now(),
        identifiers: strong_identifiers(bundle.patient()),
        topic: bundle.source_event().unwrap_or("record.updated").to_owned(),
        bundle: Sensitive::new(bundle.as_json().to_string()),
    }
}

impl RecordStage {
    async fn forward(
        &self,
        meta: &EnvelopeMeta,
        outcome: waymark_store::RecordOutcome,
        bundle: CanonicalBundle,
        attempt: u32,
    ) -> Step {
        let event = &outcome.event;
        let body = json!({ "event": event, "bundle": bundle.as_json() });
        let message = Message::new(event.event_id.clone(), body.to_string().into_bytes())
            .with_key(event.person_id.clone())
            .with_header("topic", event.topic.clone());
        if let Err(err) = self.bus.publish(RELEASE, message).await {
            tracing::warn!(message_id = %meta.id, error = %err, "record: publish failed");
            return Step::Retry(transient_backoff(attempt));
        }
        self.telemetry.emit(PipelineEvent::Recorded {
            message_id: meta.id.clone(),
            topic: event.topic.clone(),
            person_id: event.person_id.clone(),
            applied_now: outcome.applied_now,
            source: meta.source,
            site: telemetry::site_of(bundle.as_json()),
            event_time: meta.event_time,
            items: telemetry::items_of(bundle.as_json()),
        });
        Step::Done
    }

    async fn refuse(&self, id: &MessageId, bytes: &[u8], refusal: Refusal, attempt: u32) -> Step {
        let refused = Refused {
            id,
            envelope: None,
            original: bytes,
        };
        quarantine::keep(
            self.store.as_ref(),
            &self.telemetry,
            "record",
            refused,
            refusal,
            attempt,
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strong_identifiers_are_ordered_by_trust_and_skip_unknown_systems() {
        let patient = json!({"identifier": [
            {"system": "https://fhir.waymark.org.uk/Id/nomis-booking-id", "value": "1200835"},
            {"system": "https://example.org/local", "value": "x"},
            {"system": "https://fhir.waymark.org.uk/Id/nomis-prison-number", "value": "A5089DY"},
            {"system": "https://fhir.nhs.uk/Id/nhs-number"}
        ]});
        let ids = strong_identifiers(&patient);
        let systems: Vec<&str> = ids.iter().map(|i| i.system.as_str()).collect();
        assert_eq!(systems, [STRONG_SYSTEMS[3], STRONG_SYSTEMS[4]]);
        assert_eq!(ids[0].value.expose(), "A5089DY");
    }
}
