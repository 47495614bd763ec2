//! Consent changes at the release stage: recording a Consent, withdrawing one, and the
//! `consent.changed` notices to the person's past recipients.
//!
//! A Consent given or changed: the store keeps the new version, raises a `consent.changed`
//! pathway event, and this stage releases the person's latest record under the consents as
//! they now stand — through the normal policy and `waymark_delivery::enqueue` path — to every
//! subscription on `consent.changed` (or `record.updated`) held by an organisation that was a
//! past recipient of the person.
//!
//! Withdrawal, concretely: the store keeps a new `inactive` version (so every later release,
//! which reads consents at its own moment, stops releasing what the consent allowed) and raises
//! the `consent.changed` event (the audit); then this stage
//! 1. purges the person's not-yet-delivered notifications from every subscription's delivery
//!    queue (`Bus::purge_key` by the key `enqueue` used: the Patient id of the person's latest
//!    record; one being posted right now finishes), and
//! 2. sends a recall notice — `waymark_delivery::enqueue_recall`, `id-only` shape, no data — to
//!    every subscription that received the person's data, whatever its topic, and to the
//!    `consent.changed` / `record.updated` subscriptions of those recipients' organisations. The
//!    policy still runs for each recipient (the notice names a Patient the recipient may be told
//!    about); a recipient the policy now refuses even the Patient gets no notice (reported as
//!    `NotReleased`).
//!
//! Both steps are repeatable, so a failed withdrawal (`ConsentChangeError::Notify`) is retried by
//! calling `withdraw_consent` again: the store then writes no new version but returns the
//! withdrawal's stored `consent.changed` event, and the purge and the recall run again (recall
//! notices are deduplicated by `event_id.child(subscription)`, so a repeat queues none twice).
//!
//! The purge matches the ordering key only, and recall notices carry the same key, so it also
//! removes a still-queued `consent.changed` notice for the person — an earlier withdrawal's
//! recall, or one this withdrawal queued on an attempt that then failed part-way through the
//! recalls. The bus remembers purged ids, so such a notice is not queued again; the recipient
//! still gets this withdrawal's recall on every subscription whose recall was not yet queued.
//! Skipping recall notices needs a purge that can filter on the `topic` header (`Bus` change).
use chrono::{DateTime, Utc};
use serde_json::Value;
use waymark_core::{ErrorCode, IssueType, Sensitive};
use waymark_delivery::{EnqueueError, EventMeta, Subscription, queue_name};
use waymark_policy::ReleaseContext;
use waymark_policy::{Consent, ConsentError};
use waymark_profile::CanonicalBundle;
use waymark_store::{CONSENT_CHANGED, NewConsent, PathwayEvent, StoreError};

use super::{ReleaseStage, wants};
use crate::{PipelineEvent, telemetry};

/// Why a consent change was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConsentChangeError {
    /// The Consent does not read (named element, no content).
    #[error(transparent)]
    Malformed(#[from] ConsentError),
    /// The store failed; retry.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A transient fault while sending the notices; retry (the change itself is stored).
    #[error("consent change stored, but sending its notice failed; retry")]
    Notify,
}

impl ErrorCode for ConsentChangeError {
    fn code(&self) -> &'static str {
        match self {
            Self::Malformed(e) => e.code(),
            Self::Store(e) => e.code(),
            Self::Notify => "consent.notify",
        }
    }

    fn issue_type(&self) -> IssueType {
        match self {
            Self::Malformed(e) => e.issue_type(),
            Self::Store(e) => e.issue_type(),
            Self::Notify => IssueType::Transient,
        }
    }
}

/// What a consent change did.
#[derive(Debug)]
pub struct ConsentChange {
    /// The `consent.changed` pathway event.
    pub event: PathwayEvent,
    /// The subscriptions a notice was queued for.
    pub notified: Vec<String>,
    /// How many not-yet-delivered notifications about the person were purged from delivery
    /// queues (withdrawal only; 0 when a Consent is given or changed).
    pub purged: u64,
}

impl ReleaseStage {
    /// Records a Consent given or changed for `person_id` (refused unless it reads), and
    /// notifies past recipients.
    pub async fn record_consent(
        &self,
        person_id: &str,
        consent: &Value,
        at: DateTime<Utc>,
    ) -> Result<ConsentChange, ConsentChangeError> {
        let parsed = Consent::from_json(consent)?;
        let status = consent["status"].as_str().unwrap_or("active").to_owned();
        let event = self
            .store
            .put_consent(NewConsent {
                person_id: person_id.to_owned(),
                consent_id: parsed.id,
                status,
                consent: Sensitive::new(consent.to_string()),
                recorded_at: at,
            })
            .await?;
        self.notify_consent_changed(event).await
    }

    /// Withdraws the person's Consent `consent_id`: stops future releases, audits the change and
    /// notifies past recipients. `None` when the person has no such Consent. When it is already
    /// withdrawn, the purge and the recall run again for that withdrawal's event (how a failed
    /// withdrawal is retried).
    pub async fn withdraw_consent(
        &self,
        person_id: &str,
        consent_id: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<ConsentChange>, ConsentChangeError> {
        match self
            .store
            .withdraw_consent(person_id, consent_id, at)
            .await?
        {
            Some(event) => Ok(Some(self.recall(event).await?)),
            None => Ok(None),
        }
    }

    /// After a withdrawal: purges the person's undelivered notifications, then sends the recall
    /// notice to every past recipient.
    async fn recall(&self, event: PathwayEvent) -> Result<ConsentChange, ConsentChangeError> {
        let Some(bundle) = self.latest_canonical(&event.person_id).await? else {
            return Ok(ConsentChange {
                event,
                notified: Vec::new(),
                purged: 0,
            });
        };
        let purged = self.purge_undelivered(&event, &bundle).await?;
        let past = self.store.past_recipients(&event.person_id).await?;
        let organisations = self.organisations_of(&past);
        let mut notified = Vec::new();
        for sub in self.subscriptions.iter().filter(|s| {
            s.enabled
                && (past.contains(&s.id)
                    || (wants(s, CONSENT_CHANGED)
                        && organisations.contains(&s.recipient.organisation.as_str())))
        }) {
            if self.recall_to(sub, &event, &bundle).await? {
                notified.push(sub.id.clone());
            }
        }
        Ok(ConsentChange {
            event,
            notified,
            purged,
        })
    }

    /// Removes every ready notification keyed on the person's Patient id from every
    /// subscription's delivery queue. Returns how many.
    async fn purge_undelivered(
        &self,
        event: &PathwayEvent,
        bundle: &CanonicalBundle,
    ) -> Result<u64, ConsentChangeError> {
        // `enqueue` keys on `Releasable::patient_id`, the bundle's Patient resource id.
        let Some(patient_id) = waymark_fhir::entries(bundle.as_json())
            .find(|r| r["resourceType"] == "Patient")
            .and_then(|r| r["id"].as_str())
        else {
            return Ok(0);
        };
        let mut purged = 0;
        for sub in self.subscriptions.iter() {
            purged += self
                .bus
                .purge_key(&queue_name(&sub.id), patient_id)
                .await
                .map_err(|e| {
                    tracing::warn!(event_id = %event.event_id, subscription = %sub.id, error = %e, "purging undelivered notifications failed");
                    ConsentChangeError::Notify
                })?;
        }
        tracing::info!(event_id = %event.event_id, purged, "undelivered notifications purged after a consent withdrawal");
        Ok(purged)
    }

    /// Queues one recall notice. False when the policy refuses the recipient even the Patient.
    async fn recall_to(
        &self,
        sub: &Subscription,
        event: &PathwayEvent,
        bundle: &CanonicalBundle,
    ) -> Result<bool, ConsentChangeError> {
        let consents = self.store.consents(&event.person_id).await?;
        let consents: Vec<Value> = consents
            .iter()
            .map(|c| serde_json::from_str(c.consent.expose()).unwrap_or(Value::Null))
            .collect();
        let cx = ReleaseContext {
            consents: &consents,
            now: Utc::now(),
            break_glass: None,
        };
        let releasable = match self
            .policy
            .release_with_consent(bundle, &sub.recipient, &cx)
        {
            Ok(releasable) => releasable,
            Err(err) => {
                tracing::warn!(event_id = %event.event_id, subscription = %sub.id, code = err.code(), "no recall notice: the policy releases nothing");
                self.not_released(event, sub, err.code());
                return Ok(false);
            }
        };
        let number = self.store.event_number(&sub.id, &event.event_id).await?;
        let meta = EventMeta {
            event_id: event.event_id.clone(),
            event_number: number,
            topic: CONSENT_CHANGED.to_owned(),
            timestamp: event.event_time,
            patient_id: releasable.patient_id().to_owned(),
        };
        match waymark_delivery::enqueue_recall(self.bus.as_ref(), sub, &meta, releasable).await {
            Ok(_) => {}
            Err(EnqueueError::Bus(err)) => {
                tracing::warn!(event_id = %event.event_id, subscription = %sub.id, error = %err, "recall notice failed");
                return Err(ConsentChangeError::Notify);
            }
            Err(err) => {
                tracing::error!(event_id = %event.event_id, subscription = %sub.id, code = err.code(), "recall refused by enqueue");
                self.not_released(event, sub, err.code());
                return Ok(false);
            }
        }
        self.telemetry.emit(PipelineEvent::Released {
            event_id: event.event_id.clone(),
            subscription: sub.id.clone(),
            event_number: number,
            withheld: 0,
            source: telemetry::source_of(bundle.as_json()),
            site: telemetry::site_of(bundle.as_json()),
            event_time: event.event_time,
        });
        Ok(true)
    }

    /// The organisations holding the subscriptions `past`.
    fn organisations_of(&self, past: &[String]) -> Vec<&str> {
        self.subscriptions
            .iter()
            .filter(|s| past.contains(&s.id))
            .map(|s| s.recipient.organisation.as_str())
            .collect()
    }

    async fn notify_consent_changed(
        &self,
        event: PathwayEvent,
    ) -> Result<ConsentChange, ConsentChangeError> {
        let past = self.store.past_recipients(&event.person_id).await?;
        let organisations = self.organisations_of(&past);
        let Some(bundle) = self.latest_canonical(&event.person_id).await? else {
            return Ok(ConsentChange {
                event,
                notified: Vec::new(),
                purged: 0,
            });
        };
        let mut notified = Vec::new();
        for sub in self.subscriptions.iter().filter(|s| {
            wants(s, CONSENT_CHANGED) && organisations.contains(&s.recipient.organisation.as_str())
        }) {
            self.release_to(sub, &event, &bundle, 0)
                .await
                .map_err(|_| ConsentChangeError::Notify)?;
            notified.push(sub.id.clone());
        }
        Ok(ConsentChange {
            event,
            notified,
            purged: 0,
        })
    }

    async fn latest_canonical(
        &self,
        person_id: &str,
    ) -> Result<Option<CanonicalBundle>, ConsentChangeError> {
        let Some(text) = self.store.latest_bundle(person_id).await? else {
            return Ok(None);
        };
        let json: Value = serde_json::from_str(text.expose()).unwrap_or(Value::Null);
        match self.validator.validate(json) {
            Ok(bundle) => Ok(Some(bundle)),
            Err(_) => {
                tracing::error!(person = %person_id, "stored record does not revalidate; no consent notice sent");
                Ok(None)
            }
        }
    }
}
