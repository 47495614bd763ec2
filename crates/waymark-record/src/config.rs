//! Settings of the record: history depth and the default marker review interval.

use serde::{Deserialize, Serialize};

/// How the record keeps history and judges markers. `version: 1`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RecordConfig {
    /// Format version.
    pub version: u32,
    /// A marker (Flag) with no `period.end` is due for review this many months after its as-of
    /// date; past that it is shown as stale, not current.
    pub marker_review_months: u32,
    /// Versions kept per item and source (the latest ones; at least 1). Keeping the latest N is
    /// order-independent, so the record stays the same whatever order messages arrive in.
    pub history_per_source: usize,
}

impl Default for RecordConfig {
    fn default() -> Self {
        Self {
            version: 1,
            marker_review_months: 12,
            history_per_source: 20,
        }
    }
}

impl RecordConfig {
    /// Versions kept per item and source, never fewer than one.
    pub(crate) fn history_limit(&self) -> usize {
        self.history_per_source.max(1)
    }
}
