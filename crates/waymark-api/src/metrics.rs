//! `/metrics`: the board in the Prometheus text exposition format (0.0.4), written by hand.
//! Names and labels are documented in `docs/reference/metrics.md`; labels carry sources,
//! sites, subscriptions, queues and codes — never patient data.

use std::fmt::Write as _;

use axum::{extract::State, response::IntoResponse};
use waymark_health::{FeedStatus, LagView, Snapshot, SubscriptionStatus};

use crate::dashboard::{SharedHealth, snapshot};

/// `GET /metrics`.
pub(crate) async fn metrics(State(health): State<SharedHealth>) -> impl IntoResponse {
    (
        [("content-type", "text/plain; version=0.0.4; charset=utf-8")],
        render(&snapshot(&health)),
    )
}

/// The exposition text of a snapshot.
pub fn render(snap: &Snapshot) -> String {
    let mut out = Out::default();
    feeds(&mut out, snap);
    subscriptions(&mut out, snap);
    out.family("waymark_queue_depth", "gauge", "Messages held by a queue.");
    for q in &snap.queues {
        out.sample(
            "waymark_queue_depth",
            &[("queue", &q.queue)],
            q.depth as f64,
        );
    }
    out.family(
        "waymark_alerts_total",
        "counter",
        "Alerts raised or cleared (kept ones).",
    );
    let mut counts = std::collections::BTreeMap::new();
    for a in &snap.alerts {
        let state = format!("{:?}", a.state).to_lowercase();
        *counts.entry((a.code, state)).or_insert(0u64) += 1;
    }
    for ((code, state), n) in counts {
        out.sample(
            "waymark_alerts_total",
            &[("code", code), ("state", &state)],
            n as f64,
        );
    }
    out.0
}

fn feeds(out: &mut Out, snap: &Snapshot) {
    let m = "waymark_messages_total";
    out.family(m, "counter", "Messages by source, stage and outcome.");
    for f in &snap.feeds {
        let s = f.source.as_str();
        out.sample(
            m,
            &[("source", s), ("stage", "ingest"), ("outcome", "received")],
            f.received as f64,
        );
        out.sample(
            m,
            &[("source", s), ("stage", "record"), ("outcome", "recorded")],
            f.recorded as f64,
        );
        out.sample(
            m,
            &[
                ("source", s),
                ("stage", "pipeline"),
                ("outcome", "quarantined"),
            ],
            f.quarantined as f64,
        );
    }
    let m = "waymark_quarantined_total";
    out.family(
        m,
        "counter",
        "Quarantined messages by source and error code (top codes).",
    );
    for f in &snap.feeds {
        for r in &f.top_reasons {
            out.sample(
                m,
                &[("source", &f.source), ("code", &r.code)],
                r.count as f64,
            );
        }
    }
    let m = "waymark_feed_last_seen_seconds";
    out.family(m, "gauge", "Seconds since the feed's last message.");
    for f in &snap.feeds {
        if let Some(quiet) = f.quiet_secs {
            out.sample(m, &[("source", &f.source)], quiet);
        }
    }
    let m = "waymark_feed_expected_interval_seconds";
    out.family(m, "gauge", "A message is expected at least this often.");
    for f in &snap.feeds {
        out.sample(m, &[("source", &f.source)], f.expected_every_secs as f64);
    }
    let m = "waymark_feed_status";
    out.family(
        m,
        "gauge",
        "1 for the feed's current status, 0 for the others.",
    );
    for f in &snap.feeds {
        for status in [
            FeedStatus::Healthy,
            FeedStatus::Late,
            FeedStatus::Silent,
            FeedStatus::NoData,
        ] {
            let v = if f.status == status { 1.0 } else { 0.0 };
            out.sample(m, &[("source", &f.source), ("status", status.label())], v);
        }
    }
    let m = "waymark_feed_lag_seconds";
    out.family(
        m,
        "summary",
        "Lag from the source event to the record or to delivery.",
    );
    for f in &snap.feeds {
        out.summary(
            m,
            &[("source", &f.source), ("to", "record")],
            &f.lag_canonical,
        );
        out.summary(
            m,
            &[("source", &f.source), ("to", "delivery")],
            &f.lag_delivered,
        );
    }
    let m = "waymark_feed_people";
    out.family(m, "gauge", "People in the feed's population (a count).");
    for f in &snap.feeds {
        out.sample(m, &[("source", &f.source)], f.people as f64);
    }
    let m = "waymark_feed_completeness_ratio";
    out.family(
        m,
        "gauge",
        "Share of the feed's people with the dataset item present.",
    );
    for f in &snap.feeds {
        for i in &f.items {
            out.sample(m, &[("source", &f.source), ("item", &i.item)], i.share);
        }
    }
    let m = "waymark_site_records_total";
    out.family(
        m,
        "counter",
        "Records applied per site (establishment or custody suite).",
    );
    for s in &snap.sites {
        out.sample(
            m,
            &[("source", &s.source), ("site", &s.site)],
            s.recorded as f64,
        );
    }
}

fn subscriptions(out: &mut Out, snap: &Snapshot) {
    let m = "waymark_deliveries_total";
    out.family(
        m,
        "counter",
        "Delivery attempts by subscription and outcome.",
    );
    for s in &snap.subscriptions {
        for (outcome, n) in [
            ("delivered", s.delivered),
            ("retried", s.retried),
            ("dead_lettered", s.dead_lettered),
        ] {
            out.sample(
                m,
                &[("subscription", &s.id), ("outcome", outcome)],
                n as f64,
            );
        }
    }
    let m = "waymark_releases_total";
    out.family(
        m,
        "counter",
        "Release decisions by subscription: released, or withheld entirely.",
    );
    for s in &snap.subscriptions {
        out.sample(
            m,
            &[("subscription", &s.id), ("outcome", "released")],
            s.released as f64,
        );
        out.sample(
            m,
            &[("subscription", &s.id), ("outcome", "withheld")],
            s.withheld as f64,
        );
    }
    let m = "waymark_delivery_latency_seconds";
    out.family(m, "summary", "Released to delivered, per subscription.");
    for s in &snap.subscriptions {
        out.summary(m, &[("subscription", &s.id)], &s.latency);
    }
    let m = "waymark_subscription_status";
    out.family(
        m,
        "gauge",
        "1 for the subscription's current status, 0 for the others.",
    );
    for s in &snap.subscriptions {
        for status in [
            SubscriptionStatus::Healthy,
            SubscriptionStatus::Failing,
            SubscriptionStatus::Idle,
        ] {
            let v = if s.status == status { 1.0 } else { 0.0 };
            out.sample(m, &[("subscription", &s.id), ("status", status.label())], v);
        }
    }
    let m = "waymark_subscription_backlog";
    out.family(
        m,
        "gauge",
        "Messages waiting on a subscription's queue (queue=\"dead\": dead letters).",
    );
    for s in &snap.subscriptions {
        if let (Some(b), Some(d)) = (s.backlog, s.dead_backlog) {
            out.sample(
                m,
                &[("subscription", &s.id), ("queue", "delivery")],
                b as f64,
            );
            out.sample(m, &[("subscription", &s.id), ("queue", "dead")], d as f64);
        }
    }
}

#[derive(Default)]
struct Out(String);

impl Out {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.0, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        let labels: Vec<String> = labels
            .iter()
            .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
            .collect();
        let _ = writeln!(self.0, "{name}{{{}}} {value}", labels.join(","));
    }

    fn summary(&mut self, name: &str, labels: &[(&str, &str)], lag: &LagView) {
        for (q, v) in [("0.5", lag.p50_secs), ("0.99", lag.p99_secs)] {
            if let Some(v) = v {
                let mut with_q = labels.to_vec();
                with_q.push(("quantile", q));
                self.sample(name, &with_q, v);
            }
        }
        self.sample(&format!("{name}_sum"), labels, lag.sum_secs);
        self.sample(&format!("{name}_count"), labels, lag.samples as f64);
    }
}

fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
