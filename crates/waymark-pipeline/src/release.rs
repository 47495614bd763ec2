//! The release stage: for each event and each matching subscription, ask the policy engine
//! what that recipient may receive and queue the result for delivery.

use std::sync::Arc;

use async_trait::async_trait;
use serde::Deserialize;
use waymark_bus::{Bus, Delivery};
use waymark_core::ErrorCode;
use waymark_delivery::{EnqueueError, EventMeta, Subscription};
use waymark_policy::{Policy, ReleaseContext};
use waymark_profile::{CanonicalBundle, Validator};
use waymark_store::{PathwayEvent, Store};

use crate::{
    PipelineEvent, Step, Telemetry, carried,
    quarantine::{self, Refusal, Refused},
    telemetry,
    worker::{Handler, transient_backoff},
};

mod consent;

pub use consent::{ConsentChange, ConsentChangeError};

/// The topic raised with every change to a person's dataset (the record stage raises it
/// beside the specific topics, once per message that changed something).
pub const EVERY_CHANGE: &str = "record.updated";

/// Whether a subscription wants an event of `topic`: its own topic, and consent changes for
/// subscribers to every change (a consent is part of the person's dataset).
pub fn wants(subscription: &Subscription, topic: &str) -> bool {
    subscription.enabled
        && (subscription.topic == topic
            || (subscription.topic == EVERY_CHANGE && topic == waymark_store::CONSENT_CHANGED))
}

#[derive(Deserialize)]
struct ReleaseMessage {
    event: PathwayEvent,
}

/// The release stage worker.
pub struct ReleaseStage {
    /// Re-checks what it reads from the bus.
    pub validator: Arc<Validator>,
    /// The role policy.
    pub policy: Arc<Policy>,
    /// Active subscriptions.
    pub subscriptions: Arc<Vec<Subscription>>,
    /// Event numbers and quarantine.
    pub store: Arc<dyn Store>,
    /// Where delivery queues live.
    pub bus: Arc<dyn Bus>,
    /// Telemetry.
    pub telemetry: Telemetry,
}

#[async_trait]
impl Handler for ReleaseStage {
    async fn handle(&self, delivery: &Delivery) -> Step {
        let bytes = delivery.message.body.expose();
        let refused = Refused {
            id: &delivery.message.id,
            envelope: None,
            original: bytes,
        };
        let (msg, bundle) =
            match carried::read::<ReleaseMessage>(bytes, &self.validator, "release.decode") {
                Ok(read) => read,
                Err(refusal) => return self.refuse(refused, refusal, delivery.attempt).await,
            };
        for sub in self
            .subscriptions
            .iter()
            .filter(|s| wants(s, &msg.event.topic))
        {
            if let Err(step) = self
                .release_to(sub, &msg.event, &bundle, delivery.attempt)
                .await
            {
                return step;
            }
        }
        Step::Done
    }
}

impl ReleaseStage {
    /// Releases one event to one subscription; `Err` carries the retry step on a transient fault.
    pub(crate) async fn release_to(
        &self,
        sub: &Subscription,
        event: &PathwayEvent,
        bundle: &CanonicalBundle,
        attempt: u32,
    ) -> Result<(), Step> {
        // Consent is read at the moment of each release, never cached past a change.
        let consents = self.store.consents(&event.person_id).await.map_err(|e| {
            tracing::warn!(event_id = %event.event_id, subscription = %sub.id, error = %e, "consents unreadable");
            Step::Retry(transient_backoff(attempt))
        })?;
        let consents: Vec<serde_json::Value> = consents
            .iter()
            .map(|c| serde_json::from_str(c.consent.expose()).unwrap_or(serde_json::Value::Null))
            .collect();
        let cx = ReleaseContext {
            consents: &consents,
            now: chrono::Utc::now(),
            break_glass: None,
        };
        let releasable = match self
            .policy
            .release_with_consent(bundle, &sub.recipient, &cx)
        {
            Ok(releasable) => releasable,
            Err(err) => {
                self.not_released(event, sub, err.code());
                return Ok(());
            }
        };
        let retry = |err: &dyn std::fmt::Display| {
            tracing::warn!(event_id = %event.event_id, subscription = %sub.id, error = %err, "release failed");
            Step::Retry(transient_backoff(attempt))
        };
        let number = self
            .store
            .event_number(&sub.id, &event.event_id)
            .await
            .map_err(|e| retry(&e))?;
        let meta = EventMeta {
            event_id: event.event_id.clone(),
            event_number: number,
            // A `record.updated` subscriber is notified of every change as a `record.updated` event.
            topic: sub.topic.clone(),
            timestamp: event.event_time,
            patient_id: releasable.patient_id().to_owned(),
        };
        if releasable.privacy_officer_alert() {
            // The reason is the clinician's statement: in the manifest, never in a log.
            tracing::warn!(event_id = %event.event_id, subscription = %sub.id, "break-glass release: alert the privacy officer");
            self.telemetry.emit(PipelineEvent::BreakGlass {
                event_id: event.event_id.clone(),
                subscription: sub.id.clone(),
            });
        }
        let withheld = releasable.manifest().withheld.len();
        match waymark_delivery::enqueue(self.bus.as_ref(), sub, &meta, releasable).await {
            Ok(_) => {}
            Err(EnqueueError::Bus(err)) => return Err(retry(&err)),
            Err(err) => {
                // A mismatch the release stage itself caused: never retried, always reported.
                tracing::error!(event_id = %event.event_id, subscription = %sub.id, code = err.code(), "release refused by enqueue");
                self.not_released(event, sub, err.code());
                return Ok(());
            }
        }
        self.telemetry.emit(PipelineEvent::Released {
            event_id: event.event_id.clone(),
            subscription: sub.id.clone(),
            event_number: number,
            withheld,
            source: telemetry::source_of(bundle.as_json()),
            site: telemetry::site_of(bundle.as_json()),
            event_time: event.event_time,
        });
        Ok(())
    }

    fn not_released(&self, event: &PathwayEvent, sub: &Subscription, code: &str) {
        self.telemetry.emit(PipelineEvent::NotReleased {
            event_id: event.event_id.clone(),
            subscription: sub.id.clone(),
            code: code.to_owned(),
        });
    }

    async fn refuse(&self, refused: Refused<'_>, refusal: Refusal, attempt: u32) -> Step {
        quarantine::keep(
            self.store.as_ref(),
            &self.telemetry,
            "release",
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

    fn sub(topic: &str, enabled: bool) -> Subscription {
        serde_json::from_value(serde_json::json!({
            "version": 1, "id": "s", "topic": topic, "endpoint": "http://127.0.0.1:9/",
            "recipient": {"organisation": "o", "role": "probation", "purpose": "p"},
            "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw0123456789ab",
            "payload": "id-only", "enabled": enabled
        }))
        .unwrap()
    }

    #[test]
    fn topics_match_exactly_every_change_takes_consent_and_disabled_matches_none() {
        assert!(wants(&sub("prison.reception", true), "prison.reception"));
        assert!(!wants(&sub("prison.reception", true), "prison.release"));
        // `record.updated` is raised beside the specific topic: matching both would notify twice.
        assert!(!wants(&sub(EVERY_CHANGE, true), "prison.release"));
        assert!(wants(&sub(EVERY_CHANGE, true), EVERY_CHANGE));
        assert!(wants(
            &sub(EVERY_CHANGE, true),
            waymark_store::CONSENT_CHANGED
        ));
        assert!(!wants(
            &sub("prison.reception", true),
            waymark_store::CONSENT_CHANGED
        ));
        assert!(!wants(&sub(EVERY_CHANGE, false), EVERY_CHANGE));
    }
}
