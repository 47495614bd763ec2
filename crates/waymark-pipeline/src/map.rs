//! The map stage: envelope → mapping → validation → canonical bundle, or quarantine.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Value, json};
use waymark_bus::{Bus, Delivery, Message};
use waymark_core::Envelope;
use waymark_mapping::MappingSet;
use waymark_profile::{CanonicalBundle, Validator};
use waymark_store::Store;

use crate::{
    PipelineEvent, RECORD, Step, Telemetry,
    quarantine::{self, Refusal, Refused},
    worker::{Handler, transient_backoff},
};

/// Maps and validates one envelope. Pure: the same envelope always gives the same answer.
///
/// A bundle the profile refuses is refused with the validation issues **and** an information
/// issue naming the mapping and version that produced it (rule `mapping.produced-by`), so the
/// quarantine entry says which program to fix.
pub fn map_envelope(
    mappings: &MappingSet,
    validator: &Validator,
    envelope: &Envelope,
) -> Result<CanonicalBundle, Refusal> {
    let bundle = mappings
        .map(envelope)
        .map_err(|e| Refusal::from_error(&e))?;
    validator.validate(bundle).map_err(|mut outcome| {
        if let Some(mapping) = mappings.mapping_for(envelope.source, &envelope.message_type) {
            outcome.issues.push(mapping.issue());
        }
        Refusal {
            code: "profile.invalid".to_owned(),
            outcome,
        }
    })
}

/// The envelope's metadata, without its payload, as carried to the record stage.
pub(crate) fn envelope_meta(env: &Envelope) -> Value {
    json!({
        "id": env.id,
        "source": env.source,
        "messageType": env.message_type,
        "eventTime": env.event_time,
        "receivedAt": env.received_at,
    })
}

/// The map stage worker.
pub struct MapStage {
    /// Loaded mappings.
    pub mappings: Arc<MappingSet>,
    /// The profile validator.
    pub validator: Arc<Validator>,
    /// Where quarantine goes.
    pub store: Arc<dyn Store>,
    /// Where canonical bundles go.
    pub bus: Arc<dyn Bus>,
    /// Telemetry.
    pub telemetry: Telemetry,
}

#[async_trait]
impl Handler for MapStage {
    async fn handle(&self, delivery: &Delivery) -> Step {
        let bytes = delivery.message.body.expose();
        let envelope = match Envelope::from_bytes(bytes) {
            Ok(env) => env,
            Err(err) => {
                let refused = Refused {
                    id: &delivery.message.id,
                    envelope: None,
                    original: bytes,
                };
                return self
                    .quarantine(refused, Refusal::from_error(&err), delivery.attempt)
                    .await;
            }
        };
        match map_envelope(&self.mappings, &self.validator, &envelope) {
            Ok(bundle) => self.forward(&envelope, bundle, delivery.attempt).await,
            Err(refusal) => {
                let refused = Refused {
                    id: &envelope.id,
                    envelope: Some(&envelope),
                    original: bytes,
                };
                self.quarantine(refused, refusal, delivery.attempt).await
            }
        }
    }
}

impl MapStage {
    async fn forward(&self, envelope: &Envelope, bundle: CanonicalBundle, attempt: u32) -> Step {
        let body = json!({ "envelope": envelope_meta(envelope), "bundle": bundle.as_json() });
        let message = Message::new(envelope.id.clone(), body.to_string().into_bytes())
            .with_header("source", envelope.source.as_str())
            .with_header("message-type", envelope.message_type.clone());
        if let Err(err) = self.bus.publish(RECORD, message).await {
            tracing::warn!(message_id = %envelope.id, error = %err, "map: publish failed");
            return Step::Retry(transient_backoff(attempt));
        }
        self.telemetry.emit(PipelineEvent::Mapped {
            message_id: envelope.id.clone(),
            source: envelope.source,
            message_type: envelope.message_type.clone(),
        });
        Step::Done
    }

    async fn quarantine(&self, refused: Refused<'_>, refusal: Refusal, attempt: u32) -> Step {
        quarantine::keep(
            self.store.as_ref(),
            &self.telemetry,
            "map",
            refused,
            refusal,
            attempt,
        )
        .await
    }
}
