//! `CanonicalBundle`: a bundle that passed validation.

use serde_json::Value;
use waymark_fhir::Issue;

use crate::SOURCE_EVENT_SYSTEM;

/// A bundle that passed every layer of [`crate::Validator::validate`].
///
/// Only the validator constructs it (no other constructor, no `Deserialize`), so a function that
/// takes a `CanonicalBundle` knows it holds a valid canonical bundle about exactly one Patient.
/// `Debug` prints no content.
#[derive(Clone)]
pub struct CanonicalBundle {
    json: Value,
    patient: usize,
    warnings: Vec<Issue>,
}

impl CanonicalBundle {
    pub(crate) fn new(json: Value, patient: usize, warnings: Vec<Issue>) -> Self {
        Self {
            json,
            patient,
            warnings,
        }
    }

    /// What validation could not check or advises (never errors): e.g. a code from a code
    /// system this hub does not hold. Never silent: callers log or show these.
    pub fn warnings(&self) -> &[Issue] {
        &self.warnings
    }

    /// The bundle JSON.
    pub fn as_json(&self) -> &Value {
        &self.json
    }

    /// Unwraps the bundle JSON (it is no longer known to be valid once changed).
    pub fn into_json(self) -> Value {
        self.json
    }

    /// The one Patient resource.
    pub fn patient(&self) -> &Value {
        &self.json["entry"][self.patient]["resource"]
    }

    /// What the source said happened: the `hjmd-source-event` tag code of `Bundle.meta.tag`,
    /// e.g. `prison.reception`.
    pub fn source_event(&self) -> Option<&str> {
        self.json["meta"]["tag"]
            .as_array()?
            .iter()
            .find(|tag| tag["system"] == SOURCE_EVENT_SYSTEM)?["code"]
            .as_str()
    }
}

impl std::fmt::Debug for CanonicalBundle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CanonicalBundle")
            .field(
                "entries",
                &self.json["entry"].as_array().map_or(0, Vec::len),
            )
            .finish_non_exhaustive()
    }
}
