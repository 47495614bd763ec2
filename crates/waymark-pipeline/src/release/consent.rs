//! Consent changes at the release stage: recording a Consent, withdrawing one, and the
//! `consent.changed` notices to the person's past recipients.
//!
//! A Consent given or changed: the store keeps the new version, raises a `consent.changed`
//! pathway event, and this stage releases the person's latest record under the consents as
//! they now stand — through the normal policy and `waymark_delivery::enqueue` path — to every
//! subscription on `consent.changed` (or `record.updated`) held by an organisation that was a
//! past recipient of the person.
//!
//! Withdrawal: the store keeps a new `inactive` version (so every later release, which reads
//! consents at its own moment, stops releasing what the consent allowed) and raises the
//! `consent.changed` event; then the purge of undelivered notifications and the recall notices
//! follow (see `recall`).

use chrono::{DateTime, Utc};
use serde_json::Value;
use waymark_core::{ErrorCode, IssueType, Sensitive};
use waymark_delivery::Subscription;
use waymark_policy::{Consent, ConsentError};
use waymark_profile::CanonicalBundle;
use waymark_store::{CONSENT_CHANGED, NewConsent, PathwayEvent, StoreError};

use super::{ReleaseStage, event_facts, wants};

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

    /// The organisations holding the subscriptions `past`.
    pub(super) fn organisations_of(&self, past: &[String]) -> Vec<String> {
        self.subscriptions
            .snapshot()
            .iter()
            .filter(|s| past.contains(&s.id))
            .map(|s| s.recipient.organisation.clone())
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
        let subscriptions = self.subscriptions.snapshot();
        let facts = event_facts(bundle.as_json());
        let matching: Vec<&Subscription> = subscriptions
            .iter()
            .filter(|s| {
                wants(s, CONSENT_CHANGED)
                    && s.matches(&facts)
                    && organisations.contains(&s.recipient.organisation)
            })
            .collect();
        self.fan_out(&event, &bundle, &matching, 0)
            .await
            .map_err(|_| ConsentChangeError::Notify)?;
        let notified = matching.iter().map(|s| s.id.clone()).collect();
        Ok(ConsentChange {
            event,
            notified,
            purged: 0,
        })
    }

    pub(super) async fn latest_canonical(
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
