//! Bounded sample windows with percentiles, and bounded per-bucket time series.

use std::collections::{BTreeMap, VecDeque};

use chrono::{DateTime, Utc};
use serde::Serialize;

/// The `p`-th percentile (0..=100, nearest rank) of `samples`; `None` when empty.
pub fn percentile(samples: &[f64], p: f64) -> Option<f64> {
    if samples.is_empty() {
        return None;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = (p.clamp(0.0, 100.0) / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.saturating_sub(1)).copied()
}

/// The last `cap` samples of a measure.
#[derive(Clone, Debug)]
pub struct Window {
    cap: usize,
    samples: VecDeque<f64>,
    total: u64,
    sum: f64,
}

impl Window {
    /// An empty window keeping `cap` samples.
    pub fn new(cap: usize) -> Self {
        Self {
            cap: cap.max(1),
            samples: VecDeque::new(),
            total: 0,
            sum: 0.0,
        }
    }

    /// Adds a sample, dropping the oldest beyond the cap.
    pub fn push(&mut self, value: f64) {
        if self.samples.len() == self.cap {
            self.samples.pop_front();
        }
        self.samples.push_back(value);
        self.total += 1;
        self.sum += value;
    }

    /// The `p`-th percentile of the kept samples.
    pub fn percentile(&self, p: f64) -> Option<f64> {
        let samples: Vec<f64> = self.samples.iter().copied().collect();
        percentile(&samples, p)
    }

    /// Samples ever pushed.
    pub fn count(&self) -> u64 {
        self.total
    }

    /// Sum of every sample ever pushed.
    pub fn sum(&self) -> f64 {
        self.sum
    }
}

/// Counts in one time bucket.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Bucket {
    /// Messages received.
    pub received: u64,
    /// Messages quarantined.
    pub quarantined: u64,
    /// Notifications delivered.
    pub delivered: u64,
    /// Delivery attempts failed (retried or dead-lettered).
    pub failed: u64,
    /// Sum of source-event → canonical lags (seconds).
    pub lag_sum_secs: f64,
    /// Lags summed.
    pub lag_count: u64,
}

/// One bucket of a series, as exported.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SeriesPoint {
    /// Start of the bucket.
    pub start: DateTime<Utc>,
    /// The counts.
    #[serde(flatten)]
    pub bucket: Bucket,
    /// Mean source-event → canonical lag in the bucket (seconds).
    pub lag_mean_secs: Option<f64>,
}

/// Per-bucket counts over the run, at most `keep` buckets.
#[derive(Clone, Debug)]
pub struct Series {
    width: i64,
    keep: usize,
    buckets: BTreeMap<i64, Bucket>,
}

impl Series {
    /// A series of `width_secs` buckets keeping `keep` of them.
    pub fn new(width_secs: u64, keep: usize) -> Self {
        Self {
            width: i64::try_from(width_secs.max(1)).unwrap_or(60),
            keep: keep.max(1),
            buckets: BTreeMap::new(),
        }
    }

    /// The bucket holding `at`, created (and the oldest dropped) as needed.
    pub fn at(&mut self, at: DateTime<Utc>) -> &mut Bucket {
        let key = at.timestamp().div_euclid(self.width) * self.width;
        if let std::collections::btree_map::Entry::Vacant(slot) = self.buckets.entry(key) {
            slot.insert(Bucket::default());
            while self.buckets.len() > self.keep {
                self.buckets.pop_first();
            }
        }
        self.buckets.entry(key).or_default()
    }

    /// Sum of `f` over buckets starting at or after `since`.
    pub fn sum_since(&self, since: DateTime<Utc>, f: impl Fn(&Bucket) -> u64) -> u64 {
        let from = since.timestamp().div_euclid(self.width) * self.width;
        self.buckets.range(from..).map(|(_, b)| f(b)).sum()
    }

    /// Every kept bucket, oldest first, with empty buckets filled in between.
    pub fn points(&self) -> Vec<SeriesPoint> {
        let (Some(first), Some(last)) = (self.buckets.keys().next(), self.buckets.keys().last())
        else {
            return Vec::new();
        };
        (*first..=*last)
            .step_by(usize::try_from(self.width).unwrap_or(60))
            .filter_map(|key| {
                let bucket = self.buckets.get(&key).cloned().unwrap_or_default();
                let start = DateTime::from_timestamp(key, 0)?;
                let lag_mean_secs =
                    (bucket.lag_count > 0).then(|| bucket.lag_sum_secs / bucket.lag_count as f64);
                Some(SeriesPoint {
                    start,
                    bucket,
                    lag_mean_secs,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let samples: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&samples, 50.0), Some(50.0));
        assert_eq!(percentile(&samples, 99.0), Some(99.0));
        assert_eq!(percentile(&samples, 100.0), Some(100.0));
        assert_eq!(percentile(&[7.0], 99.0), Some(7.0));
        assert_eq!(percentile(&[3.0, 1.0, 2.0], 50.0), Some(2.0));
        assert_eq!(percentile(&[], 50.0), None);
    }

    #[test]
    fn a_window_keeps_only_its_last_samples() {
        let mut w = Window::new(3);
        for v in [100.0, 1.0, 2.0, 3.0] {
            w.push(v);
        }
        assert_eq!(w.percentile(100.0), Some(3.0));
        assert_eq!(w.count(), 4);
    }

    #[test]
    fn a_series_is_bounded_and_fills_gaps() {
        let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).unwrap();
        let mut s = Series::new(60, 3);
        s.at(t0).received += 1;
        s.at(t0 + chrono::Duration::seconds(59)).received += 1;
        s.at(t0 + chrono::Duration::minutes(2)).received += 5;
        let points = s.points();
        assert_eq!(points.len(), 3);
        assert_eq!(
            points.iter().map(|p| p.bucket.received).collect::<Vec<_>>(),
            [2, 0, 5]
        );
        s.at(t0 + chrono::Duration::minutes(10)).received += 1;
        s.at(t0 + chrono::Duration::minutes(11)).received += 1;
        assert_eq!(
            s.sum_since(t0, |b| b.received),
            7,
            "the oldest bucket is gone"
        );
    }
}
