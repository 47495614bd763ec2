//! The board: observations in, snapshots and alerts out. Time is always a parameter.

use std::collections::{BTreeMap, HashMap, VecDeque};

use chrono::{DateTime, Utc};

use crate::{
    Alert, HealthConfig, Observation,
    feed::{FeedStats, MAX_ITEMS},
    subscription::{Outcome, SubStats},
};

/// Deliveries awaiting their outcome, at most this many (the oldest are forgotten).
const PENDING_MAX: usize = 10_000;

/// A released payload awaiting delivery.
#[derive(Clone, Debug)]
struct Pending {
    released_at: DateTime<Utc>,
    event_time: Option<DateTime<Utc>>,
    source: Option<String>,
    site: Option<String>,
}

/// Aggregated feed health. Pure: see the crate documentation.
#[derive(Clone, Debug)]
pub struct HealthBoard {
    pub(crate) config: HealthConfig,
    pub(crate) items: Vec<String>,
    pub(crate) feeds: BTreeMap<String, FeedStats>,
    pub(crate) sites: BTreeMap<(String, String), FeedStats>,
    pub(crate) subs: BTreeMap<String, SubStats>,
    pending: HashMap<String, Pending>,
    pending_order: VecDeque<String>,
    pub(crate) queues: BTreeMap<String, u64>,
    pub(crate) conditions: BTreeMap<(&'static str, String), crate::Severity>,
    pub(crate) peaks: BTreeMap<(String, String), f64>,
    pub(crate) alerts: VecDeque<Alert>,
    pub(crate) break_glass: BTreeMap<String, crate::break_glass::Uses>,
}

impl HealthBoard {
    /// An empty board; every configured feed is listed (as `no-data`) until it is seen, and
    /// every item a rule expects is known from the start, so one never carried shows as 0%.
    pub fn new(config: HealthConfig) -> Self {
        let mut board = Self {
            config,
            items: Vec::new(),
            feeds: BTreeMap::new(),
            sites: BTreeMap::new(),
            subs: BTreeMap::new(),
            pending: HashMap::new(),
            pending_order: VecDeque::new(),
            queues: BTreeMap::new(),
            conditions: BTreeMap::new(),
            peaks: BTreeMap::new(),
            alerts: VecDeque::new(),
            break_glass: BTreeMap::new(),
        };
        let sources: Vec<String> = board
            .config
            .feeds
            .iter()
            .map(|r| r.source.clone())
            .collect();
        for source in sources {
            board.feed_mut(&source);
        }
        let expected: Vec<String> = board
            .config
            .feeds
            .iter()
            .flat_map(|r| r.items.iter().cloned())
            .collect();
        board.mask(&expected);
        board
    }

    /// The configuration.
    pub fn config(&self) -> &HealthConfig {
        &self.config
    }

    /// Lists a subscription before its first event, so an idle one shows.
    pub fn announce_subscription(&mut self, id: &str) {
        self.sub(id);
    }

    /// Records a queue's depth, as sampled by the shell.
    pub fn set_queue_depth(&mut self, queue: &str, depth: u64) {
        self.queues.insert(queue.to_owned(), depth);
    }

    /// Records a subscription's backlog and dead-letter backlog, as sampled by the shell.
    pub fn set_backlog(&mut self, subscription: &str, backlog: u64, dead: u64) {
        let sub = self.sub(subscription);
        sub.backlog = Some(backlog);
        sub.dead_backlog = Some(dead);
    }

    /// Takes in one observation made at `now`.
    pub fn observe(&mut self, observation: Observation, now: DateTime<Utc>) {
        match observation {
            Observation::Received { source } => self.feed_mut(&source).receive(now),
            Observation::Quarantined {
                source,
                code,
                stage,
            } => {
                let source = source.unwrap_or_else(|| "unknown".to_owned());
                let feed = self.feed_mut(&source);
                if stage == "map" {
                    // Received but never mapped: the map stage's refusals are arrivals too.
                    feed.receive(now);
                }
                feed.quarantine(&code, now);
            }
            Observation::Recorded {
                source,
                site,
                event_time,
                person_key,
                items,
            } => self.recorded(&source, site, event_time, &person_key, &items, now),
            Observation::Released {
                delivery,
                subscription,
                source,
                site,
                event_time,
                withheld_resources,
            } => {
                let sub = self.sub(&subscription);
                sub.released += 1;
                sub.withheld_resources += withheld_resources as u64;
                let pending = Pending {
                    released_at: now,
                    event_time,
                    source,
                    site,
                };
                self.remember(delivery, pending);
            }
            Observation::Withheld { subscription, .. } => self.sub(&subscription).withheld += 1,
            Observation::Delivered {
                delivery,
                subscription,
            } => self.delivered(&delivery, &subscription, now),
            Observation::Retried { subscription } => {
                self.sub(&subscription).outcome(Outcome::Retried, now);
            }
            Observation::DeadLettered { subscription } => {
                self.sub(&subscription).outcome(Outcome::DeadLettered, now);
            }
            Observation::Deactivated { subscription } => self.sub(&subscription).deactivated = true,
            Observation::Heartbeat {
                subscription,
                delivered,
            } => self.sub(&subscription).silent = !delivered,
            Observation::BreakGlass { role, organisation } => {
                self.break_glass_used(&role, &organisation, now);
            }
        }
    }

    fn recorded(
        &mut self,
        source: &str,
        site: Option<String>,
        event_time: Option<DateTime<Utc>>,
        person_key: &str,
        items: &[String],
        now: DateTime<Utc>,
    ) {
        let mask = self.mask(items);
        let lag = event_time.map(|t| secs(now - t));
        self.feed_mut(source).record(lag, person_key, mask, now);
        if let Some(site) = site {
            self.site(source, &site).record(lag, person_key, mask, now);
        }
    }

    fn delivered(&mut self, delivery: &str, subscription: &str, now: DateTime<Utc>) {
        let pending = self.pending.remove(delivery);
        let sub = self.sub(subscription);
        sub.outcome(Outcome::Delivered, now);
        let Some(pending) = pending else { return };
        sub.latency.push(secs(now - pending.released_at));
        let Some(event_time) = pending.event_time else {
            return;
        };
        let lag = secs(now - event_time);
        sub.lag.push(lag);
        if let Some(source) = &pending.source {
            self.feed_mut(source).lag_delivered.push(lag);
            if let Some(site) = &pending.site {
                self.site(source, site).lag_delivered.push(lag);
            }
        }
    }

    fn remember(&mut self, delivery: String, pending: Pending) {
        if self.pending.len() >= PENDING_MAX
            && let Some(oldest) = self.pending_order.pop_front()
        {
            self.pending.remove(&oldest);
        }
        self.pending_order.push_back(delivery.clone());
        self.pending.insert(delivery, pending);
        while self.pending_order.len() > PENDING_MAX * 2 {
            self.pending_order.pop_front();
        }
    }

    /// The bit mask of `items`, registering new ones (at most [`MAX_ITEMS`]).
    fn mask(&mut self, items: &[String]) -> u64 {
        let mut mask = 0u64;
        for item in items {
            let bit = match self.items.iter().position(|i| i == item) {
                Some(bit) => bit,
                None if self.items.len() < MAX_ITEMS => {
                    self.items.push(item.clone());
                    self.items.len() - 1
                }
                None => continue,
            };
            mask |= 1 << bit;
        }
        mask
    }

    pub(crate) fn feed_mut(&mut self, source: &str) -> &mut FeedStats {
        let config = &self.config;
        self.feeds
            .entry(source.to_owned())
            .or_insert_with(|| FeedStats::new(config))
    }

    fn site(&mut self, source: &str, site: &str) -> &mut FeedStats {
        let config = &self.config;
        self.sites
            .entry((source.to_owned(), site.to_owned()))
            .or_insert_with(|| FeedStats::new(config))
    }

    fn sub(&mut self, id: &str) -> &mut SubStats {
        let config = &self.config;
        self.subs
            .entry(id.to_owned())
            .or_insert_with(|| SubStats::new(config))
    }
}

/// A duration in seconds; negative (a source clock ahead of ours) counts as zero.
fn secs(d: chrono::TimeDelta) -> f64 {
    (d.num_milliseconds() as f64 / 1000.0).max(0.0)
}
