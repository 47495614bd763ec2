//! Item identity: which dataset item a resource is, across messages and sources.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The stable key of one dataset item of a person.
///
/// Singletons are named by their HJMD item code (`self-harm-history`, `expected-release-date`,
/// `primary-diagnosis`) or `patient`; resources with an identity of their own are
/// `<kind>:<uuid>` (`prison-episode:…`, `flag:…`, `medication:…`), the uuid a v5 hash of the
/// resource type and the source's identifier (else its id). A key never holds an identifier in
/// clear, so keys may be logged and put into events.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ItemKey(String);

impl ItemKey {
    pub(crate) fn new(text: impl Into<String>) -> Self {
        Self(text.into())
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The item code of a singleton, or the kind of an identified item (`prison-episode`).
    pub fn name(&self) -> &str {
        self.0.split_once(':').map_or(&self.0, |(name, _)| name)
    }
}

impl fmt::Display for ItemKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What kind of item a key names; decides how values are compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ItemKind {
    /// The person's demographics from one source (compared on date of birth).
    Patient,
    /// A single-answer item (an HJMD item Observation, the primary diagnosis): compared on the
    /// answer (`value[x]`, `Condition.code`).
    Answer,
    /// A marker (Flag): has a review-by date and can go stale.
    Marker,
    /// A custody or prison episode (Encounter).
    Episode,
    /// The expected release date, read from a prison episode.
    ExpectedReleaseDate,
    /// The expected release destination, read from a prison episode.
    ReleaseDestination,
    /// Any other resource with an identity of its own (medication, care team, agency, ...).
    Resource,
}

impl ItemKind {
    /// Whether the item is a value read from inside a resource (which may be absent).
    pub fn is_derived(self) -> bool {
        matches!(self, Self::ExpectedReleaseDate | Self::ReleaseDestination)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_codes_or_kinds() {
        assert_eq!(ItemKey::new("epilepsy").name(), "epilepsy");
        assert_eq!(ItemKey::new("flag:1234").name(), "flag");
        assert_eq!(
            serde_json::to_value(ItemKind::ExpectedReleaseDate).unwrap(),
            "expected-release-date"
        );
    }
}
