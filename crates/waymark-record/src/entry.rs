//! What the record stage applies: one canonical bundle with its provenance.

use chrono::{DateTime, Utc};
use serde_json::Value;
use waymark_core::SourceSystem;

/// `Bundle.meta.tag` system naming what the source said happened (the map stage's hint).
pub const SOURCE_EVENT_SYSTEM: &str = "https://fhir.waymark.org.uk/CodeSystem/hjmd-source-event";

/// One canonical bundle about one person (the map stage's output, validated), with where and
/// when it came from. `Debug` shows the provenance, never the bundle.
#[derive(Clone)]
pub struct Entry<'a> {
    /// The stable message id (envelope id); applying it twice is a no-op.
    pub message_id: String,
    /// The source system.
    pub source: SourceSystem,
    /// When the source says it happened: the merge order.
    pub event_time: DateTime<Utc>,
    /// When the hub recorded it (kept, never used for ordering).
    pub recorded_at: DateTime<Utc>,
    /// The canonical bundle (`collection`).
    pub bundle: &'a Value,
}

impl Entry<'_> {
    /// The bundle's source-event tag (e.g. `prison.reception`), if any.
    pub fn source_event(&self) -> Option<&str> {
        self.bundle["meta"]["tag"]
            .as_array()?
            .iter()
            .find(|tag| tag["system"] == SOURCE_EVENT_SYSTEM)?["code"]
            .as_str()
    }
}

impl std::fmt::Debug for Entry<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entry")
            .field("message_id", &self.message_id)
            .field("source", &self.source)
            .field("event_time", &self.event_time)
            .finish_non_exhaustive()
    }
}
