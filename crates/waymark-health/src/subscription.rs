//! What the board knows of one subscription's deliveries.

use std::collections::VecDeque;

use chrono::{DateTime, Utc};

use crate::{
    HealthConfig,
    snapshot::SubscriptionStatus,
    window::{Series, Window},
};

/// How one delivery attempt ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    Delivered,
    Retried,
    DeadLettered,
}

/// Counts, latencies and recent outcomes of one subscription.
#[derive(Clone, Debug)]
pub(crate) struct SubStats {
    pub released: u64,
    pub withheld: u64,
    pub withheld_resources: u64,
    pub delivered: u64,
    pub retried: u64,
    pub dead_lettered: u64,
    /// Recent attempt outcomes.
    recent: VecDeque<Outcome>,
    recent_cap: usize,
    /// Released → delivered (seconds).
    pub latency: Window,
    /// Source event → delivered (seconds).
    pub lag: Window,
    pub backlog: Option<u64>,
    pub dead_backlog: Option<u64>,
    pub last_delivered: Option<DateTime<Utc>>,
    pub series: Series,
    /// The last heartbeat failed, and nothing was delivered since.
    pub silent: bool,
    /// Switched off by a `410 Gone`, and nothing was delivered since.
    pub deactivated: bool,
}

impl SubStats {
    pub fn new(config: &HealthConfig) -> Self {
        Self {
            released: 0,
            withheld: 0,
            withheld_resources: 0,
            delivered: 0,
            retried: 0,
            dead_lettered: 0,
            recent: VecDeque::new(),
            recent_cap: config.delivery_window.max(1),
            latency: Window::new(config.window_samples),
            lag: Window::new(config.window_samples),
            backlog: None,
            dead_backlog: None,
            last_delivered: None,
            series: Series::new(config.bucket_secs, config.buckets_kept),
            silent: false,
            deactivated: false,
        }
    }

    pub fn outcome(&mut self, outcome: Outcome, now: DateTime<Utc>) {
        if self.recent.len() == self.recent_cap {
            self.recent.pop_front();
        }
        self.recent.push_back(outcome);
        let bucket = self.series.at(now);
        match outcome {
            Outcome::Delivered => {
                bucket.delivered += 1;
                self.delivered += 1;
                self.last_delivered = Some(now);
                // Delivering again: the endpoint answers, and the subscription is on.
                self.silent = false;
                self.deactivated = false;
            }
            Outcome::Retried => {
                bucket.failed += 1;
                self.retried += 1;
            }
            Outcome::DeadLettered => {
                bucket.failed += 1;
                self.dead_lettered += 1;
            }
        }
    }

    /// Share of all attempts that delivered.
    pub fn success_rate(&self) -> Option<f64> {
        let attempts = self.delivered + self.retried + self.dead_lettered;
        (attempts > 0).then(|| self.delivered as f64 / attempts as f64)
    }

    /// Failing when a recent attempt was dead-lettered or the recent success share is low.
    pub fn status(&self, config: &HealthConfig) -> SubscriptionStatus {
        if self.recent.is_empty() {
            return SubscriptionStatus::Idle;
        }
        let dead_in_recent = self.recent.contains(&Outcome::DeadLettered);
        let ok = self
            .recent
            .iter()
            .filter(|o| **o == Outcome::Delivered)
            .count() as f64
            / self.recent.len() as f64;
        let judged = self.recent.len() >= self.recent_cap.min(5);
        if dead_in_recent || (judged && ok < config.delivery_success_min) {
            SubscriptionStatus::Failing
        } else {
            SubscriptionStatus::Healthy
        }
    }
}
