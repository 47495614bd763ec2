//! Expected-interval rules and thresholds, and the pure feed-status function.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// How often a feed is expected to send, and which dataset items it is expected to carry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedRule {
    /// Source system code, e.g. `nomis`.
    pub source: String,
    /// A message is expected at least this often (seconds).
    pub expected_every_secs: u64,
    /// Dataset items (data-class codes) the feed should carry for every person; empty: the
    /// items it has carried at least once.
    #[serde(default)]
    pub items: Vec<String>,
}

/// Thresholds of the board. `version: 1`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HealthConfig {
    /// Format version.
    pub version: u32,
    /// One rule per known feed.
    pub feeds: Vec<FeedRule>,
    /// Interval for a source with no rule (seconds).
    pub default_expected_every_secs: u64,
    /// A feed quiet for more than this many intervals is silent (more than one: late).
    pub silent_after_intervals: u32,
    /// Width of one time-series bucket (seconds).
    pub bucket_secs: u64,
    /// Buckets kept per series (older ones are dropped).
    pub buckets_kept: usize,
    /// Samples kept per percentile window.
    pub window_samples: usize,
    /// Rate over this many seconds for "messages per minute".
    pub rate_window_secs: u64,
    /// Quarantine share of received messages above which `ops.quarantine-rate` is raised.
    pub quarantine_rate_max: f64,
    /// Messages needed before the quarantine rate is judged.
    pub quarantine_min_messages: u64,
    /// Drop (share, 0..1) from an item's best completeness that raises `ops.completeness-drop`.
    pub completeness_drop: f64,
    /// People needed before completeness is judged.
    pub completeness_min_people: usize,
    /// Delivery outcomes considered for a subscription's status.
    pub delivery_window: usize,
    /// Success share under which a subscription is failing.
    pub delivery_success_min: f64,
    /// Alerts kept for display.
    pub alerts_kept: usize,
    /// Break-glass reads are counted over this many seconds; `privacy.break-glass` clears when
    /// a role and organisation has used none for that long.
    pub break_glass_window_secs: u64,
}

impl Default for HealthConfig {
    fn default() -> Self {
        Self {
            version: 1,
            feeds: vec![FeedRule {
                source: "nomis".to_owned(),
                expected_every_secs: 15 * 60,
                items: Vec::new(),
            }],
            default_expected_every_secs: 60 * 60,
            silent_after_intervals: 2,
            bucket_secs: 60,
            buckets_kept: 240,
            window_samples: 2048,
            rate_window_secs: 15 * 60,
            quarantine_rate_max: 0.2,
            quarantine_min_messages: 20,
            completeness_drop: 0.2,
            completeness_min_people: 20,
            delivery_window: 20,
            delivery_success_min: 0.8,
            alerts_kept: 200,
            break_glass_window_secs: 24 * 60 * 60,
        }
    }
}

impl HealthConfig {
    /// The rule for `source`, if configured.
    pub fn rule(&self, source: &str) -> Option<&FeedRule> {
        self.feeds.iter().find(|r| r.source == source)
    }

    /// Expected interval of `source` (seconds).
    pub fn expected_every(&self, source: &str) -> u64 {
        self.rule(source)
            .map_or(self.default_expected_every_secs, |r| r.expected_every_secs)
            .max(1)
    }
}

/// Whether a feed is alive and timely.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FeedStatus {
    /// Sent within its expected interval.
    Healthy,
    /// Quiet for more than one interval.
    Late,
    /// Quiet for more than `silent_after_intervals` intervals.
    Silent,
    /// Never seen since the hub started.
    NoData,
}

impl FeedStatus {
    /// Lower-case label, as shown and exported.
    pub fn label(self) -> &'static str {
        match self {
            Self::Healthy => "healthy",
            Self::Late => "late",
            Self::Silent => "silent",
            Self::NoData => "no-data",
        }
    }
}

/// The status of a feed last seen at `last_seen`, at `now`, expected every `every_secs`.
pub fn feed_status(
    last_seen: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    every_secs: u64,
    silent_after_intervals: u32,
) -> FeedStatus {
    let Some(last) = last_seen else {
        return FeedStatus::NoData;
    };
    let quiet = (now - last).num_milliseconds().max(0);
    let every = i64::try_from(every_secs.saturating_mul(1000)).unwrap_or(i64::MAX);
    if quiet <= every {
        FeedStatus::Healthy
    } else if quiet <= every.saturating_mul(i64::from(silent_after_intervals.max(1))) {
        FeedStatus::Late
    } else {
        FeedStatus::Silent
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn status_goes_healthy_late_silent_as_time_passes() {
        let seen = Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).unwrap();
        let at = |secs| seen + chrono::Duration::seconds(secs);
        assert_eq!(feed_status(None, seen, 900, 2), FeedStatus::NoData);
        assert_eq!(feed_status(Some(seen), at(0), 900, 2), FeedStatus::Healthy);
        assert_eq!(
            feed_status(Some(seen), at(900), 900, 2),
            FeedStatus::Healthy
        );
        assert_eq!(feed_status(Some(seen), at(901), 900, 2), FeedStatus::Late);
        assert_eq!(feed_status(Some(seen), at(1800), 900, 2), FeedStatus::Late);
        assert_eq!(
            feed_status(Some(seen), at(1801), 900, 2),
            FeedStatus::Silent
        );
        // A clock behind the last message is treated as "just seen".
        assert_eq!(feed_status(Some(seen), at(-5), 900, 2), FeedStatus::Healthy);
    }

    #[test]
    fn nomis_is_expected_every_fifteen_minutes_by_default() {
        let config = HealthConfig::default();
        assert_eq!(config.expected_every("nomis"), 900);
        assert_eq!(config.expected_every("other"), 3600);
    }
}
