//! After a Consent is withdrawn: the purge of the person's undelivered notifications and the
//! recall notices to past recipients.
//!
//! 1. **Purge**: the person's not-yet-delivered notifications are removed from every
//!    subscription's delivery queue (`Bus::purge_key` by the key `enqueue` used: the Patient id
//!    of the person's latest record; one being posted right now finishes).
//! 2. **Recall**: a recall notice — `waymark_delivery::enqueue_recall`, `id-only` shape, no
//!    data — goes to every subscription that received the person's data, whatever its topic,
//!    and to the `consent.changed` / `record.updated` subscriptions of those recipients'
//!    organisations. The policy still runs for each recipient (the notice names a Patient the
//!    recipient may be told about); a recipient the policy now refuses even the Patient gets no
//!    notice (reported as `NotReleased`). Each notice queued is audited first.
//!
//! The purge matches the ordering key only, and recall notices carry the same key, so it also
//! removes a still-queued recall of an **earlier** withdrawal (the endpoint was down), or one
//! this withdrawal queued on an attempt that then failed part-way. The bus remembers purged
//! ids, so those cannot simply be queued again. Instead, on every queue the purge removed
//! something from, the recalls of the person's earlier withdrawals are queued again, oldest
//! first, under fresh message ids (`<event id>/requeued/<this purge>`, hashed) with their
//! original event numbers, before this withdrawal's recall; and should this withdrawal's own
//! recall come back `Duplicate` there (it was queued on an earlier attempt and just purged), it
//! is queued again the same way. A subscriber de-duplicates on the event number: it may get an
//! earlier recall twice (when the purge removed only data notifications after that recall had
//! been delivered), it never loses one. Everywhere else this withdrawal's recall has its stable
//! id (`event_id.child(subscription)`), so repeating a completed withdrawal (how a failed one
//! is retried: `ConsentChangeError::Notify`, then `withdraw_consent` again) queues nothing
//! twice there.

use std::collections::BTreeMap;

use chrono::Utc;
use waymark_bus::Published;
use waymark_core::{ErrorCode, MessageId};
use waymark_delivery::{EnqueueError, EventMeta, Subscription, queue_name};
use waymark_profile::CanonicalBundle;
use waymark_store::{CONSENT_CHANGED, PathwayEvent};

use super::{
    ConsentChange, ConsentChangeError, ReleaseStage,
    audit::{self, Push},
    wants,
};
use crate::{PipelineEvent, telemetry};

impl ReleaseStage {
    /// After a withdrawal: purges the person's undelivered notifications, then sends the recall
    /// notices to every past recipient (see the module documentation).
    pub(super) async fn recall(
        &self,
        event: PathwayEvent,
    ) -> Result<ConsentChange, ConsentChangeError> {
        let Some(bundle) = self.latest_canonical(&event.person_id).await? else {
            return Ok(ConsentChange {
                event,
                notified: Vec::new(),
                purged: 0,
            });
        };
        let purged = self.purge_undelivered(&event).await?;
        let past = self.store.past_recipients(&event.person_id).await?;
        let organisations = self.organisations_of(&past);
        let withdrawals = self.withdrawals(&event).await?;
        // Fresh for each purge: a purged id is remembered by the bus and never queued again.
        let requeue = format!(
            "requeued/{}/{}",
            event.event_id.as_str(),
            Utc::now().timestamp_nanos_opt().unwrap_or_default()
        );
        let mut notified = Vec::new();
        let subscriptions = self.subscriptions.snapshot();
        // Every enabled past recipient, whatever its status: one switched off now gets the
        // recall when it is switched back on.
        for sub in subscriptions.iter().filter(|s| {
            s.enabled
                && (past.contains(&s.id)
                    || (wants(s, CONSENT_CHANGED)
                        && organisations.contains(&s.recipient.organisation)))
        }) {
            let purged_here = purged.get(&sub.id).copied().unwrap_or(0) > 0;
            let mut sent = false;
            if purged_here {
                for earlier in withdrawals.iter().filter(|w| w.event_id != event.event_id) {
                    let id = earlier.event_id.child(&requeue);
                    sent |= self.recall_to(sub, earlier, &bundle, id).await?.is_some();
                }
            }
            let stable = event.event_id.clone();
            match self.recall_to(sub, &event, &bundle, stable).await? {
                // This withdrawal's own recall, queued on an earlier attempt, was just purged.
                Some(Published::Duplicate) if purged_here => {
                    let id = event.event_id.child(&requeue);
                    sent |= self.recall_to(sub, &event, &bundle, id).await?.is_some();
                }
                Some(_) => sent = true,
                None => {}
            }
            if sent {
                notified.push(sub.id.clone());
            }
        }
        Ok(ConsentChange {
            event,
            notified,
            purged: purged.values().sum(),
        })
    }

    /// Every withdrawal of the person so far, oldest first, `latest` last.
    async fn withdrawals(
        &self,
        latest: &PathwayEvent,
    ) -> Result<Vec<PathwayEvent>, ConsentChangeError> {
        let mut all = Vec::new();
        for consent in self.store.consents(&latest.person_id).await? {
            if consent.status != "inactive" {
                continue;
            }
            // Already withdrawn: the store returns that withdrawal's event, writing nothing.
            let withdrawn = self
                .store
                .withdraw_consent(&latest.person_id, &consent.consent_id, latest.event_time)
                .await?;
            if let Some(earlier) = withdrawn.filter(|e| e.event_id != latest.event_id) {
                all.push(earlier);
            }
        }
        all.sort_by_key(|e| e.event_time);
        all.push(latest.clone());
        Ok(all)
    }

    /// Removes every ready notification keyed on the person's id from every
    /// subscription's delivery queue. Returns how many, by subscription.
    async fn purge_undelivered(
        &self,
        event: &PathwayEvent,
    ) -> Result<BTreeMap<String, u64>, ConsentChangeError> {
        let mut purged = BTreeMap::new();
        // `enqueue` keys on `Releasable::patient_id`: the hub's person id (`for_person`).
        let patient_id = event.person_id.as_str();
        for sub in self.subscriptions.snapshot().iter() {
            let removed = match self.bus.purge_key(&queue_name(&sub.id), patient_id).await {
                Ok(removed) => removed,
                // Never declared: nothing was ever queued for it.
                Err(waymark_bus::BusError::UnknownQueue(_)) => 0,
                Err(e) => {
                    tracing::warn!(event_id = %event.event_id, subscription = %sub.id, error = %e, "purging undelivered notifications failed");
                    return Err(ConsentChangeError::Notify);
                }
            };
            purged.insert(sub.id.clone(), removed);
        }
        let total: u64 = purged.values().sum();
        tracing::info!(event_id = %event.event_id, purged = total, "undelivered notifications purged after a consent withdrawal");
        Ok(purged)
    }

    /// Queues the recall notice of withdrawal `event` for `sub`, as notification event `id`
    /// (the message id is `id.child(subscription)`). `None` when the policy refuses the
    /// recipient even the Patient.
    async fn recall_to(
        &self,
        sub: &Subscription,
        event: &PathwayEvent,
        bundle: &CanonicalBundle,
        id: MessageId,
    ) -> Result<Option<Published>, ConsentChangeError> {
        let releasable = match self.decide(sub, event, bundle).await? {
            Ok(releasable) => releasable,
            Err(err) => {
                tracing::warn!(event_id = %event.event_id, subscription = %sub.id, code = err.code(), "no recall notice: the policy releases nothing");
                self.not_released(event, sub, err.code());
                return Ok(None);
            }
        };
        let number = self.store.event_number(&sub.id, &event.event_id).await?;
        let record = audit::push_record(sub, event, CONSENT_CHANGED, &releasable, Push::Recall);
        self.audit.append(record).await?;
        let meta = EventMeta {
            event_id: id,
            event_number: number,
            topic: CONSENT_CHANGED.to_owned(),
            timestamp: event.event_time,
            patient_id: releasable.patient_id().to_owned(),
        };
        let published = match waymark_delivery::enqueue_recall(
            self.bus.as_ref(),
            sub,
            &meta,
            releasable,
        )
        .await
        {
            Ok(published) => published,
            Err(EnqueueError::Bus(err)) => {
                tracing::warn!(event_id = %event.event_id, subscription = %sub.id, error = %err, "recall notice failed");
                return Err(ConsentChangeError::Notify);
            }
            Err(err) => {
                tracing::error!(event_id = %event.event_id, subscription = %sub.id, code = err.code(), "recall refused by enqueue");
                self.not_released(event, sub, err.code());
                return Ok(None);
            }
        };
        self.telemetry.emit(PipelineEvent::Released {
            event_id: meta.event_id.clone(),
            subscription: sub.id.clone(),
            event_number: number,
            withheld: 0,
            source: telemetry::source_of(bundle.as_json()),
            site: telemetry::site_of(bundle.as_json()),
            event_time: event.event_time,
        });
        Ok(Some(published))
    }
}
