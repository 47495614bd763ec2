//! The release stage: for each event and each matching subscription, ask the policy engine
//! what that recipient may receive and queue the result for delivery (`fanout.rs`: one
//! consents read, one event-number transaction and one audit transaction per event).

use std::{sync::Arc, time::Duration};

use async_trait::async_trait;
use serde::Deserialize;
use waymark_bus::{Bus, BusError, Delivery};
use waymark_delivery::{EnqueueError, EventMeta, Subscription, SubscriptionStatus};
use waymark_policy::{Policy, PolicyError, Releasable, ReleaseContext};
use waymark_profile::{CanonicalBundle, Validator};
use waymark_store::{AuditLog, PathwayEvent, Store};

use crate::{
    PipelineEvent, Step, SubscriptionSet, Telemetry, carried,
    quarantine::{self, Refusal, Refused},
    worker::Handler,
};

mod audit;
mod consent;
mod facts;
mod fanout;
mod recall;

pub use audit::{RECALLED, REDELIVERED, RELEASED};
pub use consent::{ConsentChange, ConsentChangeError};
pub use facts::event_facts;

/// The topic raised with every change to a person's dataset (the record stage raises it
/// beside the specific topics, once per message that changed something).
pub const EVERY_CHANGE: &str = "record.updated";

/// Whether notifications are queued for a subscription: enabled, and `active` or `error` (an
/// `error` subscription is not delivered, but its events keep queueing for when it recovers;
/// `requested` and `off` get none).
pub fn queues_for(subscription: &Subscription) -> bool {
    subscription.enabled
        && matches!(
            subscription.status,
            SubscriptionStatus::Active | SubscriptionStatus::Error
        )
}

/// Whether a subscription wants an event of `topic`: it is queued for ([`queues_for`]), on its
/// own topic, or on consent changes as a subscriber to every change (a consent is part of the
/// person's dataset). Its filters are checked apart, against the event's facts.
pub fn wants(subscription: &Subscription, topic: &str) -> bool {
    queues_for(subscription)
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
    /// The live subscriptions.
    pub subscriptions: Arc<SubscriptionSet>,
    /// Event numbers and quarantine.
    pub store: Arc<dyn Store>,
    /// The audit trail: each notification queued is recorded in it first.
    pub audit: Arc<dyn AuditLog>,
    /// Where delivery queues live.
    pub bus: Arc<dyn Bus>,
    /// The delivery queues' retry window: a subscription's queue not yet declared (created
    /// since the hub started) is declared with it.
    pub retry_window: Duration,
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
        let subscriptions = self.subscriptions.snapshot();
        let facts = event_facts(bundle.as_json());
        let matching: Vec<&Subscription> = subscriptions
            .iter()
            .filter(|s| wants(s, &msg.event.topic) && s.matches(&facts))
            .collect();
        match self
            .fan_out(&msg.event, &bundle, &matching, delivery.attempt)
            .await
        {
            Ok(()) => Step::Done,
            Err(step) => step,
        }
    }
}

impl ReleaseStage {
    /// What the policy releases of `bundle` to `sub`'s recipient under the person's consents as
    /// they stand now (read at the moment of release, never cached past a change), about the
    /// hub's person (`Releasable::for_person`). The outer error is the store's (transient).
    async fn decide(
        &self,
        sub: &Subscription,
        event: &PathwayEvent,
        bundle: &CanonicalBundle,
    ) -> Result<Result<Releasable, PolicyError>, waymark_store::StoreError> {
        let consents = self.consents_now(&event.person_id).await?;
        Ok(self.decide_with(sub, event, bundle, &consents))
    }

    /// The person's current consents as the policy reads them (read now, never cached).
    async fn consents_now(
        &self,
        person_id: &str,
    ) -> Result<Vec<serde_json::Value>, waymark_store::StoreError> {
        let consents = self.store.consents(person_id).await?;
        Ok(consents
            .iter()
            .map(|c| serde_json::from_str(c.consent.expose()).unwrap_or(serde_json::Value::Null))
            .collect())
    }

    /// What the policy releases of `bundle` to `sub`'s recipient under `consents` (read by the
    /// caller for this release), about the hub's person. Pure but for the clock.
    fn decide_with(
        &self,
        sub: &Subscription,
        event: &PathwayEvent,
        bundle: &CanonicalBundle,
        consents: &[serde_json::Value],
    ) -> Result<Releasable, PolicyError> {
        let cx = ReleaseContext {
            consents,
            now: chrono::Utc::now(),
            break_glass: None,
        };
        // Keyed on the hub's person: the focus a subscriber pulls by, one order per person.
        self.policy
            .release_with_consent(bundle, &sub.recipient, &cx)
            .map(|released| released.for_person(&event.person_id))
    }

    /// `waymark_delivery::enqueue`; a subscription created since its queue was last declared
    /// gets the queue declared, and the same decision queued again.
    async fn enqueue(
        &self,
        sub: &Subscription,
        event: &PathwayEvent,
        bundle: &CanonicalBundle,
        meta: &EventMeta,
        releasable: Releasable,
    ) -> Result<(), EnqueueError> {
        match waymark_delivery::enqueue(self.bus.as_ref(), sub, meta, releasable).await {
            Err(EnqueueError::Bus(BusError::UnknownQueue(_))) => {}
            other => return other.map(|_| ()),
        }
        self.declare_queue(sub).await?;
        let again = match self.decide(sub, event, bundle).await {
            Ok(Ok(releasable)) => releasable,
            // The decision moved between the two reads: the message is redelivered and decided
            // afresh.
            _ => return Err(EnqueueError::Bus(BusError::UnknownQueue(sub.id.clone()))),
        };
        waymark_delivery::enqueue(self.bus.as_ref(), sub, meta, again)
            .await
            .map(|_| ())
    }

    /// Declares `sub`'s delivery queue with the hub's retry window.
    async fn declare_queue(&self, sub: &Subscription) -> Result<(), BusError> {
        let spec = waymark_delivery::queue_spec_for(sub, self.retry_window);
        self.bus.declare(&spec).await
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
