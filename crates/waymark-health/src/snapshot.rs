//! What the board shows: serialisable views, free of person-level data by construction (they
//! hold only codes, counts, shares and times).

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::{Alert, FeedStatus, SeriesPoint};

/// The whole board at one moment.
#[derive(Clone, Debug, Serialize)]
pub struct Snapshot {
    /// The moment.
    pub generated_at: DateTime<Utc>,
    /// One per source, configured or seen.
    pub feeds: Vec<FeedView>,
    /// One per (source, site) seen.
    pub sites: Vec<SiteView>,
    /// One per subscription seen or announced.
    pub subscriptions: Vec<SubscriptionView>,
    /// Dataset items seen in any feed, in first-seen order.
    pub items: Vec<String>,
    /// Queue depths last supplied by the shell.
    pub queues: Vec<QueueView>,
    /// Alerts, newest first.
    pub alerts: Vec<Alert>,
}

/// p50 and p99 of a lag or latency.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct LagView {
    /// Median (seconds).
    pub p50_secs: Option<f64>,
    /// 99th percentile (seconds).
    pub p99_secs: Option<f64>,
    /// Samples ever measured.
    pub samples: u64,
    /// Sum of every sample ever measured (seconds).
    pub sum_secs: f64,
}

/// A quarantine reason and how often.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReasonCount {
    /// Error code.
    pub code: String,
    /// Messages.
    pub count: u64,
}

/// Completeness of one dataset item in one feed.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ItemShare {
    /// Data-class code.
    pub item: String,
    /// People with the item.
    pub present: usize,
    /// Share of the feed's people with the item (0..1).
    pub share: f64,
}

/// One source.
#[derive(Clone, Debug, Serialize)]
pub struct FeedView {
    /// Source code.
    pub source: String,
    /// Alive and timely?
    pub status: FeedStatus,
    /// Expected interval (seconds).
    pub expected_every_secs: u64,
    /// Last message.
    pub last_seen: Option<DateTime<Utc>>,
    /// Seconds since the last message.
    pub quiet_secs: Option<f64>,
    /// Messages received.
    pub received: u64,
    /// Records applied.
    pub recorded: u64,
    /// Messages quarantined.
    pub quarantined: u64,
    /// Quarantined / received.
    pub quarantine_rate: Option<f64>,
    /// Messages per minute over the rate window.
    pub per_minute: f64,
    /// Most frequent quarantine codes.
    pub top_reasons: Vec<ReasonCount>,
    /// Source event → canonical record.
    pub lag_canonical: LagView,
    /// Source event → delivered to a subscriber.
    pub lag_delivered: LagView,
    /// People in the feed's population (a count).
    pub people: usize,
    /// Mean completeness of the expected items.
    pub completeness: Option<f64>,
    /// Per item.
    pub items: Vec<ItemShare>,
    /// Per bucket over the run.
    pub series: Vec<SeriesPoint>,
}

/// One establishment or custody suite of a source.
#[derive(Clone, Debug, Serialize)]
pub struct SiteView {
    /// Source code.
    pub source: String,
    /// Site code (e.g. a prison establishment code).
    pub site: String,
    /// Last record.
    pub last_seen: Option<DateTime<Utc>>,
    /// Records applied.
    pub recorded: u64,
    /// People (a count).
    pub people: usize,
    /// Source event → canonical record.
    pub lag_canonical: LagView,
    /// Source event → delivered.
    pub lag_delivered: LagView,
    /// Mean completeness.
    pub completeness: Option<f64>,
}

/// Whether a subscription is being served.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SubscriptionStatus {
    /// Recent deliveries succeed.
    Healthy,
    /// Recent deliveries fail or were dead-lettered.
    Failing,
    /// No delivery attempt yet.
    Idle,
}

impl SubscriptionStatus {
    /// Lower-case label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Healthy => "healthy",
            Self::Failing => "failing",
            Self::Idle => "idle",
        }
    }
}

/// One subscription.
#[derive(Clone, Debug, Serialize)]
pub struct SubscriptionView {
    /// Subscription id.
    pub id: String,
    /// Served?
    pub status: SubscriptionStatus,
    /// Payloads queued.
    pub released: u64,
    /// Events of which the policy released nothing.
    pub withheld: u64,
    /// Resources withheld by the policy in released payloads.
    pub withheld_resources: u64,
    /// Notifications delivered.
    pub delivered: u64,
    /// Attempts retried.
    pub retried: u64,
    /// Notifications dead-lettered.
    pub dead_lettered: u64,
    /// Delivered / attempts.
    pub success_rate: Option<f64>,
    /// Released → delivered.
    pub latency: LagView,
    /// Source event → delivered.
    pub lag: LagView,
    /// Messages waiting on its queue.
    pub backlog: Option<u64>,
    /// Messages in its dead-letter queue.
    pub dead_backlog: Option<u64>,
    /// Last delivery.
    pub last_delivered: Option<DateTime<Utc>>,
    /// Per bucket over the run.
    pub series: Vec<SeriesPoint>,
    /// The alerts raised about it and not yet cleared (dead letters, silent endpoint, switched
    /// off, failing), newest first.
    pub alerts: Vec<Alert>,
}

/// A queue's depth.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct QueueView {
    /// Queue name.
    pub queue: String,
    /// Messages held.
    pub depth: u64,
}
