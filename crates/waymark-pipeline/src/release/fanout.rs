//! One event's release to its matching subscriptions, in a fixed order that costs the store a
//! constant number of transactions per event, whatever the number of subscriptions:
//!
//! 1. the person's consents, read once, now (shared by the subscriptions of the event);
//! 2. the policy's decision for each subscription (pure); a refusal is `not_released`;
//! 3. the event numbers of every released subscription, in one transaction
//!    (`Store::event_numbers`);
//! 4. their audit entries, in one transaction (`AuditLog::append_all`), before anything is
//!    queued: nothing reaches a delivery queue that the trail does not show;
//! 5. one bus enqueue per subscription (its own queue).
//!
//! A transient fault anywhere retries the whole event: numbers and enqueues are idempotent per
//! (subscription, event), and the audit entries appended again on the redelivery are marked
//! [`super::REDELIVERED`].

use waymark_core::ErrorCode;
use waymark_delivery::{EnqueueError, EventMeta, Subscription};
use waymark_policy::Releasable;
use waymark_profile::CanonicalBundle;
use waymark_store::PathwayEvent;

use super::{
    ReleaseStage,
    audit::{self, Push},
};
use crate::{PipelineEvent, Step, telemetry, worker::transient_backoff};

/// A subscription the policy released the event to, and what it releases.
struct Planned<'a> {
    sub: &'a Subscription,
    releasable: Releasable,
}

impl ReleaseStage {
    /// Releases `event` to each of `subs` (the subscriptions that want it); `Err` carries the
    /// retry step on a transient fault.
    pub(crate) async fn fan_out(
        &self,
        event: &PathwayEvent,
        bundle: &CanonicalBundle,
        subs: &[&Subscription],
        attempt: u32,
    ) -> Result<(), Step> {
        if subs.is_empty() {
            return Ok(());
        }
        let retry = |err: &dyn std::fmt::Display| {
            tracing::warn!(event_id = %event.event_id, error = %err, "release failed");
            Step::Retry(transient_backoff(attempt))
        };
        let consents = self
            .consents_now(&event.person_id)
            .await
            .map_err(|e| retry(&e))?;
        let planned = self.plan(event, bundle, subs, &consents);
        if planned.is_empty() {
            return Ok(());
        }
        let ids: Vec<String> = planned.iter().map(|p| p.sub.id.clone()).collect();
        let numbers = self
            .store
            .event_numbers(&event.event_id, &ids)
            .await
            .map_err(|e| retry(&e))?;
        self.alert_break_glass(event, &planned);
        // Audit first: nothing is queued that the trail does not show.
        let push = Push::Release { attempt };
        let records = planned
            .iter()
            .map(|p| audit::push_record(p.sub, event, &p.sub.topic, &p.releasable, push))
            .collect();
        self.audit
            .append_all(records)
            .await
            .map_err(|e| retry(&e))?;
        for (planned, number) in planned.into_iter().zip(numbers) {
            self.queue(planned, number, event, bundle, attempt).await?;
        }
        Ok(())
    }

    /// The policy's decision for each subscription under `consents`; a refusal is reported
    /// (`not_released`) and left out.
    fn plan<'a>(
        &self,
        event: &PathwayEvent,
        bundle: &CanonicalBundle,
        subs: &[&'a Subscription],
        consents: &[serde_json::Value],
    ) -> Vec<Planned<'a>> {
        subs.iter()
            .filter_map(|sub| match self.decide_with(sub, event, bundle, consents) {
                Ok(releasable) => Some(Planned { sub, releasable }),
                Err(err) => {
                    self.not_released(event, sub, err.code());
                    None
                }
            })
            .collect()
    }

    /// Tells the privacy officer of each break-glass release (never on a push today: a
    /// subscription is a standing order; kept so a future one cannot pass unseen).
    fn alert_break_glass(&self, event: &PathwayEvent, planned: &[Planned<'_>]) {
        for p in planned
            .iter()
            .filter(|p| p.releasable.privacy_officer_alert())
        {
            // The reason is the clinician's statement: in the manifest, never in a log.
            tracing::warn!(event_id = %event.event_id, subscription = %p.sub.id, "break-glass release: alert the privacy officer");
            self.telemetry.emit(PipelineEvent::BreakGlass {
                event_id: event.event_id.clone(),
                subscription: p.sub.id.clone(),
            });
        }
    }

    /// Queues one audited release as notification `number`; `Err` carries the retry step on a
    /// bus fault.
    async fn queue(
        &self,
        planned: Planned<'_>,
        number: u64,
        event: &PathwayEvent,
        bundle: &CanonicalBundle,
        attempt: u32,
    ) -> Result<(), Step> {
        let Planned { sub, releasable } = planned;
        let withheld = releasable.manifest().withheld.len();
        let meta = EventMeta {
            event_id: event.event_id.clone(),
            event_number: number,
            // A `record.updated` subscriber is notified of every change as a `record.updated` event.
            topic: sub.topic.clone(),
            timestamp: event.event_time,
            patient_id: releasable.patient_id().to_owned(),
        };
        match self.enqueue(sub, event, bundle, &meta, releasable).await {
            Ok(()) => {}
            Err(EnqueueError::Bus(err)) => {
                tracing::warn!(event_id = %event.event_id, subscription = %sub.id, error = %err, "release failed");
                return Err(Step::Retry(transient_backoff(attempt)));
            }
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
}
