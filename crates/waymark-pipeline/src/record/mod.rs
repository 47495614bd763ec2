//! The record stage: decide who the bundle is about, merge it into that person's record and
//! raise the pathway events the change makes, all applied by the store in one transaction.
//!
//! The decisions are pure (`waymark-identity` places the record, `waymark-record` merges it and
//! detects events); this module is the IO around them. A record whose person's record changed
//! between read and write (another worker) is re-read and re-merged; nothing is decided on a
//! stale record.

mod change;
mod resolve;

use std::{sync::Arc, time::Duration};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;
use waymark_bus::{Bus, Delivery, Message};
use waymark_core::{MessageId, Sensitive, SourceSystem};
use waymark_identity::MatchConfig;
use waymark_profile::{CanonicalBundle, Validator};
use waymark_record::{RecordConfig, Topics};
use waymark_store::{ApplyOutcome, PathwayEvent, PersonChoice, RecordChange, Store, StoreError};

use crate::{
    PipelineEvent, RELEASE, Step, Telemetry, carried,
    quarantine::{self, Refusal, Refused},
    telemetry,
    worker::{Handler, transient_backoff},
};
use change::{Current, Provenance};
use resolve::{Resolved, Unresolved};

/// Decisions re-made when the store changed under them, before the message is retried later.
const CONFLICT_ATTEMPTS: u32 = 5;

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
    validator: Arc<Validator>,
    store: Arc<dyn Store>,
    bus: Arc<dyn Bus>,
    telemetry: Telemetry,
    topics: Arc<Topics>,
    matching: MatchConfig,
    record: RecordConfig,
}

/// Why a message could not be applied.
enum Failure {
    Refused(Refusal),
    Transient(StoreError),
}

impl RecordStage {
    /// The stage with `topics` (the HJMD package's, loaded at start-up) and the default
    /// matching thresholds and record settings.
    pub fn new(
        validator: Arc<Validator>,
        store: Arc<dyn Store>,
        bus: Arc<dyn Bus>,
        telemetry: Telemetry,
        topics: Arc<Topics>,
    ) -> Self {
        Self {
            validator,
            store,
            bus,
            telemetry,
            topics,
            matching: MatchConfig::default(),
            record: RecordConfig::default(),
        }
    }

    /// The same stage with matching thresholds of its own.
    pub fn with_matching(mut self, matching: MatchConfig) -> Self {
        self.matching = matching;
        self
    }
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
        let meta = &msg.envelope;
        match self.apply(meta, &bundle).await {
            Ok(outcome) => self.forward(meta, outcome, bundle, delivery.attempt).await,
            Err(Failure::Transient(err)) => {
                tracing::warn!(message_id = %meta.id, error = %err, "record: store failed");
                Step::Retry(transient_backoff(delivery.attempt))
            }
            Err(Failure::Refused(refusal)) => {
                self.refuse(&meta.id, bytes, refusal, delivery.attempt)
                    .await
            }
        }
    }
}

impl RecordStage {
    /// Resolves, merges and applies, re-reading when another worker changed the record first.
    async fn apply(
        &self,
        meta: &EnvelopeMeta,
        bundle: &CanonicalBundle,
    ) -> Result<ApplyOutcome, Failure> {
        let recorded_at = Utc::now();
        for _ in 0..CONFLICT_ATTEMPTS {
            let change = self.change(meta, bundle, recorded_at).await?;
            match self.store.apply(change).await {
                // Another worker changed the record, or linked one of these identifiers, since
                // they were read: decide again on what the store holds now.
                Err(StoreError::VersionConflict(_) | StoreError::ConflictingIdentity(_)) => {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                Err(err @ (StoreError::Backend(_) | StoreError::PersonNotActive(_))) => {
                    return Err(Failure::Transient(err));
                }
                Err(err) => return Err(Failure::Refused(Refusal::from_error(&err))),
                Ok(outcome) => return Ok(outcome),
            }
        }
        Err(Failure::Transient(StoreError::VersionConflict(
            "record kept changing".to_owned(),
        )))
    }

    /// The store change for this message, from the current state of the store.
    async fn change(
        &self,
        meta: &EnvelopeMeta,
        bundle: &CanonicalBundle,
        recorded_at: DateTime<Utc>,
    ) -> Result<RecordChange, Failure> {
        let resolved = resolve::resolve(self.store.as_ref(), bundle.patient(), &self.matching)
            .await
            .map_err(|e| match e {
                Unresolved::NoIdentity => Failure::Refused(Refusal::from_error(
                    &StoreError::NoIdentifier(meta.id.clone()),
                )),
                Unresolved::Store(err) => Failure::Transient(err),
            })?;
        let current = self.current(&resolved.person).await?;
        let provenance = Provenance {
            message_id: &meta.id,
            source: meta.source,
            event_time: meta.event_time.unwrap_or(recorded_at),
            recorded_at,
        };
        let merged = change::merge(&current, &provenance, bundle.as_json(), &self.topics);
        Ok(self.record_change(meta, bundle, recorded_at, resolved, current.version, merged))
    }

    async fn current(&self, person: &PersonChoice) -> Result<Current, Failure> {
        let PersonChoice::Existing(person_id) = person else {
            return Ok(Current::empty(&self.record));
        };
        match self.store.person_record(person_id).await {
            Ok(Some(stored)) => Current::read(stored, &self.record).map_err(Failure::Transient),
            Ok(None) => Ok(Current::empty(&self.record)),
            Err(err) => Err(Failure::Transient(err)),
        }
    }

    fn record_change(
        &self,
        meta: &EnvelopeMeta,
        bundle: &CanonicalBundle,
        recorded_at: DateTime<Utc>,
        resolved: Resolved,
        version: u64,
        merged: change::Merged,
    ) -> RecordChange {
        RecordChange {
            message_id: meta.id.clone(),
            source: meta.source,
            message_type: meta.message_type.clone(),
            event_time: meta.event_time,
            recorded_at,
            bundle: Sensitive::new(bundle.as_json().to_string()),
            person: resolved.person,
            identifiers: resolved.identifiers,
            demographics: Sensitive::new(
                serde_json::to_string(&resolved.profile).unwrap_or_default(),
            ),
            block_keys: resolved.block_keys,
            expected_version: version,
            record: Sensitive::new(serde_json::to_string(&merged.record).unwrap_or_default()),
            events: merged.events,
            review: resolved.review,
        }
    }

    /// Publishes each event the message raised (again, on a redelivery: the bus dedupes).
    async fn forward(
        &self,
        meta: &EnvelopeMeta,
        outcome: ApplyOutcome,
        bundle: CanonicalBundle,
        attempt: u32,
    ) -> Step {
        let (person_id, events, applied_now) = match outcome {
            ApplyOutcome::Applied {
                person_id, events, ..
            } => (person_id, events, true),
            ApplyOutcome::AlreadyApplied { person_id, events } => (person_id, events, false),
        };
        for event in &events {
            if let Err(step) = self.publish(meta, event, &bundle, attempt).await {
                return step;
            }
        }
        self.telemetry.emit(PipelineEvent::Recorded {
            message_id: meta.id.clone(),
            topic: events
                .first()
                .map_or_else(|| "record.unchanged".to_owned(), |e| e.topic.clone()),
            person_id,
            applied_now,
            source: meta.source,
            site: telemetry::site_of(bundle.as_json()),
            event_time: meta.event_time,
            items: telemetry::items_of(bundle.as_json()),
        });
        Step::Done
    }

    async fn publish(
        &self,
        meta: &EnvelopeMeta,
        event: &PathwayEvent,
        bundle: &CanonicalBundle,
        attempt: u32,
    ) -> Result<(), Step> {
        let body = json!({ "event": event, "bundle": bundle.as_json() });
        let message = Message::new(event.event_id.clone(), body.to_string().into_bytes())
            .with_key(event.person_id.clone())
            .with_header("topic", event.topic.clone());
        self.bus
            .publish(RELEASE, message)
            .await
            .map(|_| ())
            .map_err(|err| {
                tracing::warn!(message_id = %meta.id, error = %err, "record: publish failed");
                Step::Retry(transient_backoff(attempt))
            })
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
