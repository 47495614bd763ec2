//! What one message does to the person's record: the pure merge and event detection of
//! `waymark-record`, over the record as the store holds it.

use chrono::{DateTime, Utc};
use serde_json::json;
use waymark_core::{MessageId, SourceSystem};
use waymark_record::{DetectedEvent, Entry, PersonRecord, RecordConfig, Topics};
use waymark_store::{NewEvent, StoreError, StoredRecord};

/// The person's record as read, with the version the change must replace.
pub(crate) struct Current {
    pub version: u64,
    pub record: PersonRecord,
}

impl Current {
    /// The record of a person with no entries yet.
    pub fn empty(config: &RecordConfig) -> Self {
        Self {
            version: 0,
            record: PersonRecord::new(config.clone()),
        }
    }

    /// Reads a stored record. A record that no longer parses is a store fault, not input.
    pub fn read(stored: StoredRecord, config: &RecordConfig) -> Result<Self, StoreError> {
        let mut record: PersonRecord = serde_json::from_str(stored.record.expose())
            .map_err(|e| StoreError::Backend(format!("stored record does not parse: {e}")))?;
        record.set_config(config.clone());
        Ok(Self {
            version: stored.version,
            record,
        })
    }
}

/// One message's provenance.
pub(crate) struct Provenance<'a> {
    pub message_id: &'a MessageId,
    pub source: SourceSystem,
    pub event_time: DateTime<Utc>,
    pub recorded_at: DateTime<Utc>,
}

/// The merged record and the events the message raises.
pub(crate) struct Merged {
    pub record: PersonRecord,
    pub events: Vec<NewEvent>,
}

/// Applies the bundle to the record and detects its events. Pure.
pub(crate) fn merge(
    current: &Current,
    provenance: &Provenance<'_>,
    bundle: &serde_json::Value,
    topics: &Topics,
) -> Merged {
    let entry = Entry {
        message_id: provenance.message_id.as_str().to_owned(),
        source: provenance.source,
        event_time: provenance.event_time,
        recorded_at: provenance.recorded_at,
        bundle,
    };
    let mut record = current.record.clone();
    let change = record.apply(&entry);
    let events = waymark_record::detect(topics, &current.record, &record, &change)
        .into_iter()
        .map(new_event)
        .collect();
    Merged { record, events }
}

/// The store's form of a detected event: its detail names resources and items, never values.
fn new_event(event: DetectedEvent) -> NewEvent {
    NewEvent {
        detail: json!({
            "url": event.url,
            "source": event.source.as_str(),
            "focus": event.focus,
            "changed": event.changed,
        }),
        topic: event.topic,
        event_time: event.event_time,
    }
}
