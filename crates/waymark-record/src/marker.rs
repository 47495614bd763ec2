//! Markers (Flags): current, stale past their review-by date, or ended. Computed at a given
//! `now`, never stored.

use chrono::{DateTime, Months, Utc};
use serde::{Deserialize, Serialize};

use crate::config::RecordConfig;
use crate::dates::{self, Bound};
use crate::version::Version;

/// What a marker means at a given time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum MarkerStatus {
    /// Active and within its review-by date.
    Current {
        /// When it must be reviewed by.
        review_by: DateTime<Utc>,
    },
    /// Active by the source, but past its review-by date: shown as stale, never as current.
    Stale {
        /// When the review was due.
        review_by: DateTime<Utc>,
    },
    /// Ended by the source (inactive or entered in error).
    Ended,
}

/// The review-by date of a marker: `Flag.period.end` (through the end of that day) when the
/// source gave one, else the configured interval after the as-of date.
pub fn review_by(version: &Version, config: &RecordConfig) -> Option<DateTime<Utc>> {
    let end = version.resource()["period"]["end"].as_str();
    match end.and_then(|e| dates::parse(e, Bound::End)) {
        Some(end) => Some(end),
        None => version
            .as_of
            .checked_add_months(Months::new(config.marker_review_months)),
    }
}

/// The status of a marker version at `now`.
pub fn status(version: &Version, config: &RecordConfig, now: DateTime<Utc>) -> MarkerStatus {
    let flag_status = version.resource()["status"].as_str();
    if matches!(flag_status, Some("inactive" | "entered-in-error")) {
        return MarkerStatus::Ended;
    }
    match review_by(version, config) {
        Some(review_by) if now <= review_by => MarkerStatus::Current { review_by },
        Some(review_by) => MarkerStatus::Stale { review_by },
        None => MarkerStatus::Stale {
            review_by: version.as_of,
        },
    }
}
