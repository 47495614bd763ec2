//! Drill-down pages: one feed, one subscription.

use waymark_health::{FeedView, SiteView, SubscriptionView};

use super::{
    overview::{feed_charts, subscriptions_table},
    page::{self, clock, duration, esc, feed_badge, lag, percent, table},
    svg,
};

/// One feed: status, counts, charts, reasons, items and its sites.
pub fn feed(feed: &FeedView, sites: &[SiteView], now: chrono::DateTime<chrono::Utc>) -> String {
    let facts = vec![
        vec!["Status".to_owned(), feed_badge(feed.status)],
        vec!["Last message".to_owned(), clock(feed.last_seen)],
        vec![
            "Expected every".to_owned(),
            duration(Some(feed.expected_every_secs as f64)),
        ],
        vec!["Messages received".to_owned(), feed.received.to_string()],
        vec!["Records applied".to_owned(), feed.recorded.to_string()],
        vec![
            "Messages / min".to_owned(),
            format!("{:.1}", feed.per_minute),
        ],
        vec![
            "Lag to record (p50 / p99)".to_owned(),
            lag(&feed.lag_canonical),
        ],
        vec![
            "Lag to delivery (p50 / p99)".to_owned(),
            lag(&feed.lag_delivered),
        ],
        vec![
            "Quarantined".to_owned(),
            format!("{} ({})", feed.quarantined, percent(feed.quarantine_rate)),
        ],
        vec!["People".to_owned(), feed.people.to_string()],
    ];
    let mut body = table("At a glance", &["Measure", "Value"], &facts);
    body.push_str("<h2>Activity over the run</h2>");
    body.push_str(&feed_charts(feed));
    body.push_str("<h2>Quarantine reasons</h2>");
    let reasons: Vec<Vec<String>> = feed
        .top_reasons
        .iter()
        .map(|r| {
            vec![
                format!("<code>{}</code>", esc(&r.code)),
                r.count.to_string(),
            ]
        })
        .collect();
    body.push_str(&table(
        "Most frequent error codes",
        &["Code", "Messages"],
        &reasons,
    ));
    body.push_str("<h2>Completeness</h2>");
    let items: Vec<Vec<String>> = feed
        .items
        .iter()
        .map(|i| vec![esc(&i.item), i.present.to_string(), percent(Some(i.share))])
        .collect();
    body.push_str(&table(
        "Dataset items: people with the item present",
        &["Item", "People", "Share"],
        &items,
    ));
    body.push_str("<h2>Sites</h2>");
    let rows: Vec<Vec<String>> = sites
        .iter()
        .filter(|s| s.source == feed.source)
        .map(|s| {
            vec![
                esc(&s.site),
                clock(s.last_seen),
                s.recorded.to_string(),
                lag(&s.lag_canonical),
                percent(s.completeness),
            ]
        })
        .collect();
    body.push_str(&table(
        "Establishments and custody suites of this feed",
        &[
            "Site",
            "Last record",
            "Records",
            "Lag to record",
            "Completeness",
        ],
        &rows,
    ));
    page::frame(&format!("Feed: {}", feed.source), now, &body)
}

/// One subscription: its row, and charts of deliveries and failures.
pub fn subscription(sub: &SubscriptionView, now: chrono::DateTime<chrono::Utc>) -> String {
    let mut body = subscriptions_table(std::slice::from_ref(sub));
    let facts = vec![
        vec!["Released".to_owned(), sub.released.to_string()],
        vec!["Retried attempts".to_owned(), sub.retried.to_string()],
        vec!["Latency (p50 / p99)".to_owned(), lag(&sub.latency)],
        vec!["Source event to delivery".to_owned(), lag(&sub.lag)],
        vec!["Last delivery".to_owned(), clock(sub.last_delivered)],
    ];
    body.push_str(&table("Deliveries", &["Measure", "Value"], &facts));
    if !sub.alerts.is_empty() {
        let open: Vec<Vec<String>> = sub
            .alerts
            .iter()
            .map(|a| vec![a.code.to_owned(), clock(Some(a.at)), a.detail.clone()])
            .collect();
        body.push_str(&table("Open alerts", &["Alert", "Since", "Detail"], &open));
    }
    let starts: Vec<_> = sub.series.iter().map(|p| p.start).collect();
    let delivered: Vec<f64> = sub
        .series
        .iter()
        .map(|p| p.bucket.delivered as f64)
        .collect();
    let failed: Vec<f64> = sub.series.iter().map(|p| p.bucket.failed as f64).collect();
    body.push_str("<h2>Activity over the run</h2><div class=\"charts\">");
    body.push_str(&svg::bars(
        "sub-delivered",
        "Notifications delivered per bucket",
        &starts,
        &delivered,
        "notifications",
        "#007f3b",
    ));
    body.push_str(&svg::bars(
        "sub-failed",
        "Failed attempts per bucket",
        &starts,
        &failed,
        "attempts",
        "#d5281b",
    ));
    body.push_str("</div>");
    page::frame(&format!("Subscription: {}", sub.id), now, &body)
}
