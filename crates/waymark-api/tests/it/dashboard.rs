//! The dashboard and metrics routes without a socket, over a board fed by hand.

use std::sync::{Arc, Mutex};

use axum::{body::Body, http::Request};
use chrono::{Duration, Utc};
use http_body_util::BodyExt;
use tower::ServiceExt;
use waymark_api::{SharedHealth, health_routes};
use waymark_health::{HealthBoard, HealthConfig, Observation};

fn board() -> SharedHealth {
    let mut board = HealthBoard::new(HealthConfig::default());
    let now = Utc::now();
    board.announce_subscription("hmp-healthcare");
    for i in 0..5 {
        board.observe(
            Observation::Received {
                source: "nomis".into(),
            },
            now,
        );
        board.observe(
            Observation::Recorded {
                source: "nomis".into(),
                site: Some("MDI".into()),
                event_time: Some(now - Duration::seconds(30 + i)),
                person_key: format!("person-{i}"),
                items: vec!["identity".into(), "detention".into()],
            },
            now,
        );
        board.observe(
            Observation::Released {
                delivery: format!("d{i}"),
                subscription: "hmp-healthcare".into(),
                source: Some("nomis".into()),
                site: Some("MDI".into()),
                event_time: Some(now - Duration::seconds(30)),
                withheld_resources: 0,
            },
            now,
        );
        board.observe(
            Observation::Delivered {
                delivery: format!("d{i}"),
                subscription: "hmp-healthcare".into(),
            },
            now,
        );
    }
    board.observe(
        Observation::Quarantined {
            source: Some("nomis".into()),
            stage: "map".into(),
            code: "mapping.failed".into(),
        },
        now,
    );
    board.set_queue_depth("waymark.ingest", 3);
    board.evaluate(now);
    Arc::new(Mutex::new(board))
}

async fn get(path: &str) -> (u16, String, String) {
    let resp = health_routes(board())
        .oneshot(Request::get(path).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let kind = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (status, kind, String::from_utf8(bytes.to_vec()).unwrap())
}

#[tokio::test]
async fn the_overview_has_a_row_per_feed_charts_heat_map_and_alerts() {
    let (status, kind, html) = get("/dashboard").await;
    assert_eq!(status, 200);
    assert!(kind.starts_with("text/html"), "{kind}");
    assert!(html.contains("<h1>Feed health</h1>"));
    assert!(html.contains("<a href=\"/dashboard/feeds/nomis\">nomis</a>"));
    assert!(
        html.contains("Healthy"),
        "status in words, not colour alone"
    );
    assert!(html.contains("<caption>"), "tables are captioned");
    assert!(
        html.matches("<svg").count() >= 3,
        "rate, lag and errors charts"
    );
    assert!(html.contains("Completeness of dataset items") && html.contains("detention"));
    assert!(html.contains("MDI"), "the site row");
    assert!(html.contains("hmp-healthcare"));
    assert!(!html.contains("<script"), "readable without JavaScript");
}

#[tokio::test]
async fn json_versions_hold_the_same_facts_and_no_person_key() {
    let (status, _, body) = get("/dashboard.json").await;
    assert_eq!(status, 200);
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["feeds"][0]["source"], "nomis");
    assert_eq!(json["feeds"][0]["status"], "healthy");
    assert_eq!(
        json["feeds"][0]["received"], 6,
        "5 mapped + 1 refused by the map stage"
    );
    assert_eq!(json["feeds"][0]["people"], 5);
    assert!(!body.contains("person-"), "no person key leaves the board");
    let (status, _, feed) = get("/dashboard/feeds/nomis.json").await;
    assert_eq!(status, 200);
    assert!(feed.contains("\"quarantined\":1"));
    let (status, _, sub) = get("/dashboard/subscriptions/hmp-healthcare.json").await;
    assert_eq!(status, 200);
    assert!(sub.contains("\"delivered\":5"));
}

#[tokio::test]
async fn drill_downs_render_and_unknown_ones_are_operation_outcomes() {
    let (status, _, html) = get("/dashboard/feeds/nomis").await;
    assert_eq!(status, 200);
    assert!(html.contains("Feed: nomis") && html.contains("mapping.failed"));
    let (status, _, html) = get("/dashboard/subscriptions/hmp-healthcare").await;
    assert_eq!(status, 200);
    assert!(html.contains("Subscription: hmp-healthcare") && html.contains("<svg"));
    let (status, _, body) = get("/dashboard/feeds/nope").await;
    assert_eq!(status, 404);
    assert!(body.contains("OperationOutcome"));
}

#[tokio::test]
async fn metrics_are_prometheus_text_with_documented_names() {
    let (status, kind, text) = get("/metrics").await;
    assert_eq!(status, 200);
    assert!(kind.starts_with("text/plain; version=0.0.4"), "{kind}");
    for line in [
        "waymark_messages_total{source=\"nomis\",stage=\"ingest\",outcome=\"received\"} 6",
        "waymark_feed_status{source=\"nomis\",status=\"healthy\"} 1",
        "waymark_deliveries_total{subscription=\"hmp-healthcare\",outcome=\"delivered\"} 5",
        "waymark_delivery_latency_seconds_count{subscription=\"hmp-healthcare\"} 5",
        "waymark_queue_depth{queue=\"waymark.ingest\"} 3",
        "waymark_quarantined_total{source=\"nomis\",code=\"mapping.failed\"} 1",
        "# TYPE waymark_feed_lag_seconds summary",
    ] {
        assert!(text.contains(line), "missing {line} in\n{text}");
    }
    assert!(text.contains("waymark_feed_last_seen_seconds{source=\"nomis\"}"));
    let documented = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/reference/metrics.md"),
    )
    .unwrap();
    for name in text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split(' ').next())
    {
        assert!(
            documented.contains(&format!("`{name}`")),
            "{name} is not documented"
        );
    }
    assert!(!text.contains("person-"));
}
