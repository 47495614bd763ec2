//! What the board knows of one feed (a source, or one site of a source).

use std::{
    collections::{BTreeMap, HashMap},
    hash::{DefaultHasher, Hash, Hasher},
};

use chrono::{DateTime, Utc};

use crate::{
    HealthConfig,
    snapshot::{ItemShare, LagView, ReasonCount},
    window::{Series, Window},
};

/// Dataset items the board can tell apart (one bit each in a person's mask).
pub(crate) const MAX_ITEMS: usize = 64;

/// Counts, lags, reasons and completeness of one feed.
#[derive(Clone, Debug)]
pub(crate) struct FeedStats {
    pub first_seen: Option<DateTime<Utc>>,
    pub last_seen: Option<DateTime<Utc>>,
    pub received: u64,
    pub recorded: u64,
    pub quarantined: u64,
    pub reasons: BTreeMap<String, u64>,
    pub lag_canonical: Window,
    pub lag_delivered: Window,
    /// Hashed person key → bit mask of items seen for that person. Never exported.
    people: HashMap<u64, u64>,
    pub series: Series,
}

impl FeedStats {
    pub fn new(config: &HealthConfig) -> Self {
        Self {
            first_seen: None,
            last_seen: None,
            received: 0,
            recorded: 0,
            quarantined: 0,
            reasons: BTreeMap::new(),
            lag_canonical: Window::new(config.window_samples),
            lag_delivered: Window::new(config.window_samples),
            people: HashMap::new(),
            series: Series::new(config.bucket_secs, config.buckets_kept),
        }
    }

    /// Marks the feed alive at `now`.
    pub fn seen(&mut self, now: DateTime<Utc>) {
        self.first_seen.get_or_insert(now);
        self.last_seen = Some(self.last_seen.map_or(now, |last| last.max(now)));
    }

    pub fn receive(&mut self, now: DateTime<Utc>) {
        self.seen(now);
        self.received += 1;
        self.series.at(now).received += 1;
    }

    pub fn quarantine(&mut self, code: &str, now: DateTime<Utc>) {
        self.quarantined += 1;
        *self.reasons.entry(code.to_owned()).or_default() += 1;
        self.series.at(now).quarantined += 1;
    }

    /// A record applied: its lag and the items present for the (hashed) person.
    pub fn record(
        &mut self,
        lag_secs: Option<f64>,
        person_key: &str,
        mask: u64,
        now: DateTime<Utc>,
    ) {
        self.seen(now);
        self.recorded += 1;
        if let Some(lag) = lag_secs {
            self.lag_canonical.push(lag);
            let bucket = self.series.at(now);
            bucket.lag_sum_secs += lag;
            bucket.lag_count += 1;
        }
        *self.people.entry(hash_key(person_key)).or_default() |= mask;
    }

    /// People seen in this feed.
    pub fn people(&self) -> usize {
        self.people.len()
    }

    /// Share of people with item number `bit`.
    pub fn share(&self, bit: usize) -> Option<f64> {
        if self.people.is_empty() || bit >= MAX_ITEMS {
            return None;
        }
        let present = self
            .people
            .values()
            .filter(|m| *m & (1 << bit) != 0)
            .count();
        Some(present as f64 / self.people.len() as f64)
    }

    /// Completeness of each item in `items` (index = bit).
    pub fn completeness(&self, items: &[String]) -> Vec<ItemShare> {
        items
            .iter()
            .enumerate()
            .filter_map(|(bit, item)| {
                let share = self.share(bit)?;
                let present = self
                    .people
                    .values()
                    .filter(|m| *m & (1 << bit) != 0)
                    .count();
                Some(ItemShare {
                    item: item.clone(),
                    present,
                    share,
                })
            })
            .collect()
    }

    /// Mean completeness over `expected` items, or over the items ever present.
    pub fn overall(&self, items: &[String], expected: &[String]) -> Option<f64> {
        let shares: Vec<f64> = self
            .completeness(items)
            .into_iter()
            .filter(|s| {
                if expected.is_empty() {
                    s.present > 0
                } else {
                    expected.contains(&s.item)
                }
            })
            .map(|s| s.share)
            .collect();
        let missing = expected.iter().filter(|e| !items.contains(e)).count();
        let n = shares.len() + missing;
        (n > 0 && !self.people.is_empty()).then(|| shares.iter().sum::<f64>() / n as f64)
    }

    pub fn quarantine_rate(&self) -> Option<f64> {
        (self.received > 0).then(|| self.quarantined as f64 / self.received as f64)
    }

    pub fn top_reasons(&self, n: usize) -> Vec<ReasonCount> {
        let mut reasons: Vec<ReasonCount> = self
            .reasons
            .iter()
            .map(|(code, count)| ReasonCount {
                code: code.clone(),
                count: *count,
            })
            .collect();
        reasons.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.code.cmp(&b.code)));
        reasons.truncate(n);
        reasons
    }
}

/// p50 and p99 of a window.
pub(crate) fn lag_view(window: &Window) -> LagView {
    LagView {
        p50_secs: window.percentile(50.0),
        p99_secs: window.percentile(99.0),
        samples: window.count(),
        sum_secs: window.sum(),
    }
}

fn hash_key(key: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    "waymark-health/person".hash(&mut hasher);
    key.hash(&mut hasher);
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completeness_is_the_share_of_people_with_the_item() {
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let mut feed = FeedStats::new(&HealthConfig::default());
        let items = [
            "identity".to_owned(),
            "detention".to_owned(),
            "medication".to_owned(),
        ];
        feed.record(None, "p1", 0b011, now);
        feed.record(None, "p2", 0b001, now);
        feed.record(None, "p2", 0b010, now); // same person, more items: union
        feed.record(None, "p3", 0b001, now);
        feed.record(None, "p4", 0b001, now);
        assert_eq!(feed.people(), 4);
        let shares = feed.completeness(&items);
        assert_eq!(shares[0].share, 1.0);
        assert_eq!(shares[1].share, 0.5);
        assert_eq!(shares[2].share, 0.0);
        // Items ever present: identity and detention.
        assert_eq!(feed.overall(&items, &[]), Some(0.75));
        // Expected items, one never present at all.
        let expected = ["identity".to_owned(), "consent".to_owned()];
        assert_eq!(feed.overall(&items, &expected), Some(0.5));
    }
}
