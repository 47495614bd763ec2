//! Alerts: each condition's state is recomputed at `now` and compared with the last one; a
//! change produces exactly one [`Alert`].

use chrono::{DateTime, Utc};

use crate::{
    Alert, AlertState, FeedStatus, HealthBoard, Severity, SubscriptionStatus, codes, feed_status,
};

impl HealthBoard {
    /// Re-judges every condition at `now`; returns the alerts raised or cleared since the last
    /// call (also kept for the dashboard). Call it on a timer and after observations.
    pub fn evaluate(&mut self, now: DateTime<Utc>) -> Vec<Alert> {
        let mut judged = Vec::new();
        self.judge_feeds(now, &mut judged);
        self.judge_completeness(&mut judged);
        self.judge_subscriptions(&mut judged);
        let mut alerts: Vec<Alert> = judged
            .into_iter()
            .filter_map(|(code, subject, level, detail)| {
                self.transition(code, subject, level, detail, now)
            })
            .collect();
        alerts.extend(self.judge_break_glass(now));
        alerts
    }

    fn judge_feeds(&self, now: DateTime<Utc>, out: &mut Vec<Judged>) {
        for (source, feed) in &self.feeds {
            let every = self.config.expected_every(source);
            let status = feed_status(
                feed.last_seen,
                now,
                every,
                self.config.silent_after_intervals,
            );
            let level = match status {
                FeedStatus::Late => Some(Severity::Warning),
                FeedStatus::Silent => Some(Severity::Critical),
                FeedStatus::Healthy | FeedStatus::NoData => None,
            };
            let detail = format!("{source} is {} (expected every {every} s)", status.label());
            out.push((codes::FEED_QUIET, source.clone(), level, detail));
            let rate = feed.quarantine_rate().unwrap_or(0.0);
            let high = feed.received >= self.config.quarantine_min_messages
                && rate > self.config.quarantine_rate_max;
            let detail = format!(
                "{source}: {} of {} messages quarantined ({:.0}%)",
                feed.quarantined,
                feed.received,
                rate * 100.0
            );
            let level = high.then_some(Severity::Warning);
            out.push((codes::QUARANTINE_RATE, source.clone(), level, detail));
        }
    }

    fn judge_completeness(&mut self, out: &mut Vec<Judged>) {
        let min_people = self.config.completeness_min_people;
        let drop = self.config.completeness_drop;
        for (source, feed) in &self.feeds {
            if feed.people() < min_people {
                continue;
            }
            for share in feed.completeness(&self.items) {
                let key = (source.clone(), share.item.clone());
                let peak = self.peaks.entry(key).or_insert(share.share);
                *peak = peak.max(share.share);
                let low = *peak - share.share >= drop;
                let detail = format!(
                    "{source}: {} present for {:.0}% of people (best {:.0}%)",
                    share.item,
                    share.share * 100.0,
                    *peak * 100.0
                );
                let subject = format!("{source}/{}", share.item);
                out.push((
                    codes::COMPLETENESS_DROP,
                    subject,
                    low.then_some(Severity::Warning),
                    detail,
                ));
            }
        }
    }

    fn judge_subscriptions(&self, out: &mut Vec<Judged>) {
        for (id, sub) in &self.subs {
            let failing = sub.status(&self.config) == SubscriptionStatus::Failing;
            let detail = format!(
                "{id}: {} delivered, {} retried, {} dead-lettered",
                sub.delivered, sub.retried, sub.dead_lettered
            );
            let level = failing.then_some(Severity::Critical);
            out.push((codes::SUBSCRIPTION_FAILING, id.clone(), level, detail));
            // Sampled dead-letter depth when the shell gives one, else "ever dead-lettered".
            let dead = sub.dead_backlog.unwrap_or(sub.dead_lettered);
            let detail = format!(
                "{id}: {dead} notification(s) dead-lettered: fix the endpoint, then resend them \
                 with $resend"
            );
            let level = (dead > 0).then_some(Severity::Critical);
            out.push((codes::DEAD_LETTER, id.clone(), level, detail));
            let detail = format!("{id}: a heartbeat was not accepted: the endpoint is silent");
            let level = sub.silent.then_some(Severity::Warning);
            out.push((codes::SUBSCRIPTION_SILENT, id.clone(), level, detail));
            let detail = format!("{id}: the endpoint answered 410 Gone: subscription switched off");
            let level = sub.deactivated.then_some(Severity::Critical);
            out.push((codes::SUBSCRIPTION_DEACTIVATED, id.clone(), level, detail));
        }
    }

    fn transition(
        &mut self,
        code: &'static str,
        subject: String,
        level: Option<Severity>,
        detail: String,
        at: DateTime<Utc>,
    ) -> Option<Alert> {
        let key = (code, subject.clone());
        let old = self.conditions.get(&key).copied();
        if old == level {
            return None;
        }
        let (severity, state) = match (level, old) {
            (Some(new), _) => (new, AlertState::Raised),
            (None, Some(old)) => (old, AlertState::Cleared),
            (None, None) => return None,
        };
        match level {
            Some(level) => self.conditions.insert(key, level),
            None => self.conditions.remove(&key),
        };
        let alert = Alert {
            code,
            subject,
            severity,
            state,
            at,
            detail,
        };
        self.keep(alert.clone());
        Some(alert)
    }

    /// Keeps `alert` for the dashboard (newest first, at most `alerts_kept`).
    pub(crate) fn keep(&mut self, alert: Alert) {
        self.alerts.push_front(alert);
        self.alerts.truncate(self.config.alerts_kept.max(1));
    }
}

type Judged = (&'static str, String, Option<Severity>, String);
