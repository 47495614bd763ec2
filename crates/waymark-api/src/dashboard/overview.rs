//! The overview a commissioner reads in ten seconds: a row per feed, then sites,
//! subscriptions, charts, the completeness heat-map and the alerts.

use waymark_health::{
    AlertState, FeedStatus, FeedView, Snapshot, SubscriptionStatus, SubscriptionView,
};

use super::{
    page::{self, clock, duration, esc, feed_badge, lag, percent, sub_badge, table},
    svg,
};

/// The overview page.
pub fn render(snap: &Snapshot) -> String {
    let mut body = summary(snap);
    body.push_str("<h2 id=\"feeds\">Feeds</h2>");
    body.push_str(&feeds_table(snap));
    body.push_str("<h2 id=\"activity\">Activity over the run</h2>");
    for feed in snap.feeds.iter().filter(|f| !f.series.is_empty()) {
        body.push_str(&feed_charts(feed));
    }
    body.push_str("<h2 id=\"completeness\">Completeness of dataset items</h2>");
    body.push_str(&heat_map(snap));
    body.push_str("<h2 id=\"sites\">Sites</h2>");
    body.push_str(&sites_table(snap));
    body.push_str("<h2 id=\"subscriptions\">Subscriptions</h2>");
    body.push_str(&subscriptions_table(&snap.subscriptions));
    body.push_str("<h2 id=\"alerts\">Alerts</h2>");
    body.push_str(&alerts_table(snap));
    body.push_str("<h2 id=\"queues\">Queues</h2>");
    body.push_str(&queues_table(snap));
    page::frame("Feed health", snap.generated_at, &body)
}

fn summary(snap: &Snapshot) -> String {
    let healthy = snap
        .feeds
        .iter()
        .filter(|f| f.status == FeedStatus::Healthy)
        .count();
    let failing = snap
        .subscriptions
        .iter()
        .filter(|s| s.status == SubscriptionStatus::Failing)
        .count();
    let raised = snap
        .alerts
        .iter()
        .filter(|a| a.state == AlertState::Raised)
        .count();
    let tile = |value: String, label: &str| {
        format!(
            "<div class=\"tile\"><strong>{value}</strong>{}</div>",
            esc(label)
        )
    };
    format!(
        "<div class=\"summary\">{}{}{}</div>",
        tile(
            format!("{healthy} of {}", snap.feeds.len()),
            "feeds healthy"
        ),
        tile(
            format!("{failing} of {}", snap.subscriptions.len()),
            "subscriptions failing"
        ),
        tile(raised.to_string(), "alerts raised")
    )
}

fn feeds_table(snap: &Snapshot) -> String {
    let rows: Vec<Vec<String>> = snap
        .feeds
        .iter()
        .map(|f| {
            vec![
                format!("<a href=\"/dashboard/feeds/{0}\">{0}</a>", esc(&f.source)),
                feed_badge(f.status),
                format!("{} ({} ago)", clock(f.last_seen), duration(f.quiet_secs)),
                duration(Some(f.expected_every_secs as f64)),
                format!("{:.1}", f.per_minute),
                lag(&f.lag_canonical),
                lag(&f.lag_delivered),
                format!("{} ({})", f.quarantined, percent(f.quarantine_rate)),
                format!("{} ({} people)", percent(f.completeness), f.people),
            ]
        })
        .collect();
    table(
        "Every feed: is it alive, timely and complete? (lags are p50 / p99 from the source event)",
        &[
            "Feed",
            "Status",
            "Last message",
            "Expected every",
            "Messages / min",
            "Lag to record",
            "Lag to delivery",
            "Quarantined",
            "Completeness",
        ],
        &rows,
    )
}

/// Rate, lag and errors of one feed, as three charts.
pub fn feed_charts(feed: &FeedView) -> String {
    let starts: Vec<_> = feed.series.iter().map(|p| p.start).collect();
    let rate: Vec<f64> = feed
        .series
        .iter()
        .map(|p| p.bucket.received as f64)
        .collect();
    let lags: Vec<f64> = feed
        .series
        .iter()
        .map(|p| p.lag_mean_secs.unwrap_or(0.0))
        .collect();
    let (lag_values, lag_unit) = scaled(&lags);
    let errors: Vec<f64> = feed
        .series
        .iter()
        .map(|p| p.bucket.quarantined as f64)
        .collect();
    let id = |kind: &str| format!("{}-{kind}", esc(&feed.source));
    format!(
        "<div class=\"charts\">{}{}{}</div>",
        svg::bars(
            &id("rate"),
            &format!("{}: messages received per bucket", feed.source),
            &starts,
            &rate,
            "msgs",
            "#005eb8"
        ),
        svg::bars(
            &id("lag"),
            &format!("{}: mean lag, source event to record", feed.source),
            &starts,
            &lag_values,
            lag_unit,
            "#330072"
        ),
        svg::bars(
            &id("errors"),
            &format!("{}: messages quarantined per bucket", feed.source),
            &starts,
            &errors,
            "msgs",
            "#d5281b"
        ),
    )
}

/// Seconds scaled to a readable unit.
fn scaled(secs: &[f64]) -> (Vec<f64>, &'static str) {
    let max = secs.iter().copied().fold(0.0_f64, f64::max);
    let (div, unit) = if max >= 172_800.0 {
        (86_400.0, "days")
    } else if max >= 7200.0 {
        (3600.0, "h")
    } else if max >= 120.0 {
        (60.0, "min")
    } else {
        (1.0, "s")
    };
    (secs.iter().map(|s| s / div).collect(), unit)
}

fn heat_map(snap: &Snapshot) -> String {
    let sources: Vec<&FeedView> = snap.feeds.iter().filter(|f| f.people > 0).collect();
    let mut headers = vec!["Dataset item"];
    headers.extend(sources.iter().map(|f| f.source.as_str()));
    let rows: Vec<Vec<String>> = snap
        .items
        .iter()
        .map(|item| {
            let mut row = vec![esc(item)];
            for feed in &sources {
                let share = feed.items.iter().find(|s| &s.item == item).map(|s| s.share);
                row.push(heat_cell(share));
            }
            row
        })
        .collect();
    format!(
        "<div class=\"heat\">{}</div>",
        table(
            "Share of each feed's people with the item present (darker is more complete)",
            &headers,
            &rows
        )
    )
}

fn heat_cell(share: Option<f64>) -> String {
    let Some(share) = share else {
        return "—".to_owned();
    };
    // From pale to NHS blue; text switches to white where the background gets dark.
    let light = 95.0 - share * 58.0;
    let text = if share > 0.55 { "#fff" } else { "#212b32" };
    format!(
        "<span style=\"display:block;padding:4px;background:hsl(212,100%,{light:.0}%);color:{text}\">{}</span>",
        percent(Some(share))
    )
}

fn sites_table(snap: &Snapshot) -> String {
    let rows: Vec<Vec<String>> = snap
        .sites
        .iter()
        .map(|s| {
            vec![
                esc(&s.site),
                esc(&s.source),
                clock(s.last_seen),
                s.recorded.to_string(),
                s.people.to_string(),
                lag(&s.lag_canonical),
                lag(&s.lag_delivered),
                percent(s.completeness),
            ]
        })
        .collect();
    table(
        "Per establishment or custody suite",
        &[
            "Site",
            "Feed",
            "Last record",
            "Records",
            "People",
            "Lag to record",
            "Lag to delivery",
            "Completeness",
        ],
        &rows,
    )
}

/// The subscriptions table.
pub fn subscriptions_table(subs: &[SubscriptionView]) -> String {
    let rows: Vec<Vec<String>> = subs
        .iter()
        .map(|s| {
            vec![
                format!(
                    "<a href=\"/dashboard/subscriptions/{0}\">{0}</a>",
                    esc(&s.id)
                ),
                sub_badge(s.status),
                s.delivered.to_string(),
                percent(s.success_rate),
                duration(s.latency.p99_secs),
                s.backlog.map_or("—".to_owned(), |b| b.to_string()),
                format!(
                    "{} (queue {})",
                    s.dead_lettered,
                    s.dead_backlog.map_or("—".to_owned(), |b| b.to_string())
                ),
                format!("{} events, {} resources", s.withheld, s.withheld_resources),
            ]
        })
        .collect();
    table(
        "Every subscriber: are notifications arriving?",
        &[
            "Subscription",
            "Status",
            "Delivered",
            "Success rate",
            "Latency p99",
            "Backlog",
            "Dead letters",
            "Withheld by policy",
        ],
        &rows,
    )
}

fn alerts_table(snap: &Snapshot) -> String {
    let rows: Vec<Vec<String>> = snap
        .alerts
        .iter()
        .map(|a| {
            let state = match a.state {
                AlertState::Raised => format!("{:?} raised", a.severity),
                AlertState::Cleared => "Cleared".to_owned(),
            };
            vec![
                clock(Some(a.at)),
                esc(&state),
                format!("<code>{}</code>", esc(a.code)),
                esc(&a.subject),
                esc(&a.detail),
            ]
        })
        .collect();
    table(
        "Alerts, newest first (logged by the hub; not yet subscribable topics)",
        &["When", "State", "Code", "About", "Detail"],
        &rows,
    )
}

fn queues_table(snap: &Snapshot) -> String {
    let rows: Vec<Vec<String>> = snap
        .queues
        .iter()
        .map(|q| vec![esc(&q.queue), q.depth.to_string()])
        .collect();
    table("Messages waiting on each queue", &["Queue", "Depth"], &rows)
}
