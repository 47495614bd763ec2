//! Building a [`Snapshot`] from the board at a given moment.

use chrono::{DateTime, Utc};

use crate::{
    FeedView, HealthBoard, QueueView, SiteView, Snapshot, SubscriptionView, feed::lag_view,
    feed_status,
};

/// Quarantine reasons listed per feed.
const TOP_REASONS: usize = 5;

impl HealthBoard {
    /// The board as seen at `now`.
    pub fn snapshot(&self, now: DateTime<Utc>) -> Snapshot {
        Snapshot {
            generated_at: now,
            feeds: self.feeds.keys().map(|s| self.feed_view(s, now)).collect(),
            sites: self.site_views(),
            subscriptions: self.subs.keys().map(|id| self.sub_view(id)).collect(),
            items: self.items.clone(),
            queues: self
                .queues
                .iter()
                .map(|(queue, depth)| QueueView {
                    queue: queue.clone(),
                    depth: *depth,
                })
                .collect(),
            alerts: self.alerts.iter().cloned().collect(),
        }
    }

    fn expected_items(&self, source: &str) -> &[String] {
        self.config.rule(source).map_or(&[], |r| r.items.as_slice())
    }

    fn feed_view(&self, source: &str, now: DateTime<Utc>) -> FeedView {
        let every = self.config.expected_every(source);
        let Some(feed) = self.feeds.get(source) else {
            return self.empty_feed(source, every);
        };
        let window = chrono::Duration::seconds(
            i64::try_from(self.config.rate_window_secs.max(60)).unwrap_or(900),
        );
        let since = now - window;
        let span_min = feed.first_seen.map_or(1.0, |first| {
            ((now - first.max(since)).num_seconds() as f64 / 60.0).clamp(1.0, f64::MAX)
        });
        FeedView {
            source: source.to_owned(),
            status: feed_status(
                feed.last_seen,
                now,
                every,
                self.config.silent_after_intervals,
            ),
            expected_every_secs: every,
            last_seen: feed.last_seen,
            quiet_secs: feed
                .last_seen
                .map(|t| ((now - t).num_milliseconds() as f64 / 1000.0).max(0.0)),
            received: feed.received,
            recorded: feed.recorded,
            quarantined: feed.quarantined,
            quarantine_rate: feed.quarantine_rate(),
            per_minute: feed.series.sum_since(since, |b| b.received) as f64 / span_min,
            top_reasons: feed.top_reasons(TOP_REASONS),
            lag_canonical: lag_view(&feed.lag_canonical),
            lag_delivered: lag_view(&feed.lag_delivered),
            people: feed.people(),
            completeness: feed.overall(&self.items, self.expected_items(source)),
            items: feed.completeness(&self.items),
            series: feed.series.points(),
        }
    }

    fn empty_feed(&self, source: &str, every: u64) -> FeedView {
        FeedView {
            source: source.to_owned(),
            status: crate::FeedStatus::NoData,
            expected_every_secs: every,
            last_seen: None,
            quiet_secs: None,
            received: 0,
            recorded: 0,
            quarantined: 0,
            quarantine_rate: None,
            per_minute: 0.0,
            top_reasons: Vec::new(),
            lag_canonical: Default::default(),
            lag_delivered: Default::default(),
            people: 0,
            completeness: None,
            items: Vec::new(),
            series: Vec::new(),
        }
    }

    fn site_views(&self) -> Vec<SiteView> {
        self.sites
            .iter()
            .map(|((source, site), stats)| SiteView {
                source: source.clone(),
                site: site.clone(),
                last_seen: stats.last_seen,
                recorded: stats.recorded,
                people: stats.people(),
                lag_canonical: lag_view(&stats.lag_canonical),
                lag_delivered: lag_view(&stats.lag_delivered),
                completeness: stats.overall(&self.items, self.expected_items(source)),
            })
            .collect()
    }

    fn sub_view(&self, id: &str) -> SubscriptionView {
        let Some(sub) = self.subs.get(id) else {
            return SubscriptionView::idle(id);
        };
        SubscriptionView {
            id: id.to_owned(),
            status: sub.status(&self.config),
            released: sub.released,
            withheld: sub.withheld,
            withheld_resources: sub.withheld_resources,
            delivered: sub.delivered,
            retried: sub.retried,
            dead_lettered: sub.dead_lettered,
            success_rate: sub.success_rate(),
            latency: lag_view(&sub.latency),
            lag: lag_view(&sub.lag),
            backlog: sub.backlog,
            dead_backlog: sub.dead_backlog,
            last_delivered: sub.last_delivered,
            series: sub.series.points(),
            alerts: self.open_alerts(id),
        }
    }

    /// The raised alerts about subscription `id` whose condition still holds, newest first.
    fn open_alerts(&self, id: &str) -> Vec<crate::Alert> {
        self.alerts
            .iter()
            .filter(|a| a.subject == id && a.state == crate::AlertState::Raised)
            .filter(|a| SUBSCRIPTION_CODES.contains(&a.code))
            .filter(|a| self.conditions.contains_key(&(a.code, a.subject.clone())))
            .fold(Vec::new(), |mut open: Vec<crate::Alert>, a| {
                if !open.iter().any(|o| o.code == a.code) {
                    open.push(a.clone());
                }
                open
            })
    }

    /// One feed's view, if the feed is known.
    pub fn feed(&self, source: &str, now: DateTime<Utc>) -> Option<FeedView> {
        self.feeds
            .contains_key(source)
            .then(|| self.feed_view(source, now))
    }

    /// One subscription's view, if the subscription is known.
    pub fn subscription(&self, id: &str) -> Option<SubscriptionView> {
        self.subs.contains_key(id).then(|| self.sub_view(id))
    }
}

/// The alert codes whose subject is a subscription id.
const SUBSCRIPTION_CODES: [&str; 4] = [
    crate::codes::SUBSCRIPTION_FAILING,
    crate::codes::DEAD_LETTER,
    crate::codes::SUBSCRIPTION_SILENT,
    crate::codes::SUBSCRIPTION_DEACTIVATED,
];

impl SubscriptionView {
    fn idle(id: &str) -> Self {
        Self {
            id: id.to_owned(),
            status: crate::SubscriptionStatus::Idle,
            released: 0,
            withheld: 0,
            withheld_resources: 0,
            delivered: 0,
            retried: 0,
            dead_lettered: 0,
            success_rate: None,
            latency: Default::default(),
            lag: Default::default(),
            backlog: None,
            dead_backlog: None,
            last_delivered: None,
            series: Vec::new(),
            alerts: Vec::new(),
        }
    }
}
