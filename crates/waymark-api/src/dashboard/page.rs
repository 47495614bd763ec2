//! HTML building blocks: escaping, number and time formats, the page frame and its style.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use waymark_health::{FeedStatus, LagView, SubscriptionStatus};

/// Escapes text for HTML content and attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A duration for a human: `0.4 s`, `42 s`, `3.2 min`, `5.1 h`, `142 d`.
pub fn duration(secs: Option<f64>) -> String {
    let Some(s) = secs else {
        return "—".to_owned();
    };
    if s < 10.0 {
        format!("{s:.1} s")
    } else if s < 120.0 {
        format!("{s:.0} s")
    } else if s < 7200.0 {
        format!("{:.1} min", s / 60.0)
    } else if s < 172_800.0 {
        format!("{:.1} h", s / 3600.0)
    } else {
        format!("{:.0} d", s / 86_400.0)
    }
}

/// A share as a percentage, or a dash.
pub fn percent(share: Option<f64>) -> String {
    share.map_or_else(|| "—".to_owned(), |s| format!("{:.0}%", s * 100.0))
}

/// A time as `HH:MM:SS` UTC, or "never".
pub fn clock(at: Option<DateTime<Utc>>) -> String {
    at.map_or_else(
        || "never".to_owned(),
        |t| t.format("%H:%M:%S UTC").to_string(),
    )
}

/// `p50 / p99` of a lag.
pub fn lag(view: &LagView) -> String {
    if view.samples == 0 {
        return "—".to_owned();
    }
    format!("{} / {}", duration(view.p50_secs), duration(view.p99_secs))
}

/// A status badge: a symbol and a word, never colour alone.
pub fn feed_badge(status: FeedStatus) -> String {
    let (class, symbol, word) = match status {
        FeedStatus::Healthy => ("ok", "✓", "Healthy"),
        FeedStatus::Late => ("warn", "!", "Late"),
        FeedStatus::Silent => ("bad", "✕", "Silent"),
        FeedStatus::NoData => ("none", "–", "No data yet"),
    };
    badge(class, symbol, word)
}

/// A subscription status badge.
pub fn sub_badge(status: SubscriptionStatus) -> String {
    let (class, symbol, word) = match status {
        SubscriptionStatus::Healthy => ("ok", "✓", "Healthy"),
        SubscriptionStatus::Failing => ("bad", "✕", "Failing"),
        SubscriptionStatus::Idle => ("none", "–", "Idle"),
    };
    badge(class, symbol, word)
}

fn badge(class: &str, symbol: &str, word: &str) -> String {
    format!(
        "<span class=\"badge {class}\"><span aria-hidden=\"true\">{symbol}</span> {word}</span>"
    )
}

/// A table: caption, header cells, and rows of already-escaped cells.
pub fn table(caption: &str, headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut html = format!("<table><caption>{}</caption><thead><tr>", esc(caption));
    for h in headers {
        let _ = write!(html, "<th scope=\"col\">{}</th>", esc(h));
    }
    html.push_str("</tr></thead><tbody>");
    if rows.is_empty() {
        let _ = write!(
            html,
            "<tr><td colspan=\"{}\" class=\"empty\">Nothing yet.</td></tr>",
            headers.len()
        );
    }
    for row in rows {
        html.push_str("<tr>");
        for (i, cell) in row.iter().enumerate() {
            let tag = if i == 0 { "th scope=\"row\"" } else { "td" };
            let close = if i == 0 { "th" } else { "td" };
            let _ = write!(html, "<{tag}>{cell}</{close}>");
        }
        html.push_str("</tr>");
    }
    html.push_str("</tbody></table>");
    html
}

/// The whole page around `body`.
pub fn frame(title: &str, generated: DateTime<Utc>, body: &str) -> String {
    format!(
        "<!DOCTYPE html><html lang=\"en-GB\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta http-equiv=\"refresh\" content=\"15\">\
         <title>{title} — Waymark</title><style>{STYLE}</style></head><body>\
         <header><div class=\"wrap\"><p class=\"brand\"><a href=\"/dashboard\">Waymark</a> \
         <span>feed health · health &amp; justice pathway</span></p></div></header>\
         <main class=\"wrap\"><h1>{title}</h1>\
         <p class=\"meta\">Generated {generated}. Refreshes every 15 s. \
         <a href=\"/dashboard.json\">JSON</a> · <a href=\"/metrics\">Prometheus metrics</a></p>\
         {body}\
         <p class=\"note\">This dashboard holds counts, codes and times only — no names, \
         identifiers or other person-level data. It is not yet behind authentication \
         (issue 10).</p></main></body></html>",
        title = esc(title),
        generated = generated.format("%Y-%m-%d %H:%M:%S UTC"),
    )
}

const STYLE: &str = "\
*{box-sizing:border-box}\
body{margin:0;font:15px/1.45 system-ui,-apple-system,'Segoe UI',Arial,sans-serif;color:#212b32;background:#f0f4f5}\
.wrap{max-width:1200px;margin:0 auto;padding:0 24px}\
header{background:#005eb8;color:#fff;padding:10px 0}\
header a{color:#fff;text-decoration:none;font-weight:700;font-size:20px}\
header span{opacity:.9;margin-left:8px}\
.brand{margin:0}\
h1{font-size:28px;margin:24px 0 4px}\
h2{font-size:20px;margin:28px 0 10px}\
.meta,.note{color:#4c6272;margin:0 0 12px}\
.note{margin-top:32px;font-size:13px}\
a{color:#005eb8}\
.summary{display:flex;gap:12px;flex-wrap:wrap;margin:16px 0}\
.tile{background:#fff;border-left:6px solid #005eb8;padding:12px 16px;min-width:180px}\
.tile strong{display:block;font-size:26px}\
table{width:100%;border-collapse:collapse;background:#fff;margin:0 0 8px}\
caption{text-align:left;font-weight:600;padding:8px 0;color:#212b32}\
th,td{padding:8px 10px;border-bottom:1px solid #d8dde0;text-align:left;vertical-align:top}\
thead th{background:#e8edee;font-size:13px;text-transform:uppercase;letter-spacing:.03em}\
tbody th{font-weight:600}\
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}\
.empty{color:#4c6272;font-style:italic}\
.badge{display:inline-block;padding:2px 8px;border-radius:3px;font-weight:700;font-size:13px;white-space:nowrap}\
.ok{background:#007f3b;color:#fff}.warn{background:#ffb81c;color:#212b32}\
.bad{background:#d5281b;color:#fff}.none{background:#d8dde0;color:#212b32}\
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(360px,1fr));gap:12px}\
figure{margin:0;background:#fff;padding:12px}\
figcaption{font-weight:600;margin-bottom:6px}\
svg text{font:11px system-ui,Arial,sans-serif;fill:#4c6272}\
.heat table{width:auto;min-width:480px}.heat td{text-align:center;font-variant-numeric:tabular-nums;min-width:120px}\
";
