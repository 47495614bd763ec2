//! Feed health end to end: the embedded hub with the mock NOMIS and the synthetic population,
//! the dashboard and the metrics fetched over HTTP, no identifier or name from the population
//! in any of them, a headless-Chromium screenshot of the dashboard, and the NOMIS row going
//! late then silent once the mock NOMIS is killed.

use crate::common;

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use common::{SECRET, eventually, http_get as get, repo_root};
use tokio::sync::mpsc;
use waymark::embedded::{EmbeddedHub, EmbeddedOptions, FeedRule, HealthConfig, demo_subscriptions};
use waymark_adapter_nomis::{Faults, MockNomis, Population, PushOptions};
use waymark_delivery::mock::MockReceiver;
use waymark_pipeline::Telemetry;

const CHROMIUM: &str = "/usr/bin/chromium";
/// NOMIS is expected every this many seconds in this test (late after one, silent after two).
const EVERY: u64 = 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_shows_nomis_without_phi_and_a_killed_feed_goes_late_then_silent() {
    let population = Population::synthetic(11, 10).with_faults(Faults { bad_events: true });
    let expected = population.expected();
    let nomis = MockNomis::start(population).await.unwrap();
    let healthcare = MockReceiver::start(vec![SECRET.to_owned()]).await.unwrap();
    let probation = MockReceiver::start(vec![SECRET.to_owned()]).await.unwrap();
    let data = tempfile::tempdir().unwrap();
    let hub = start_hub(&nomis, &healthcare, &probation, data.path()).await;
    let api = hub.api_addr();

    let pushed = nomis
        .push_to(&hub.nomis_endpoint(), PushOptions::default())
        .await;
    assert_eq!(pushed.acknowledged, expected.sent);
    let delivered = || healthcare.unique_ids().len() + probation.unique_ids().len();
    assert!(eventually(60, || delivered() >= expected.changes * 2).await);
    assert!(
        eventually(10, || recorded_and_delivered(
            &hub,
            expected.good,
            expected.changes
        ))
        .await,
        "the board saw every record and delivery"
    );

    // During the run: the pages, their counts and charts.
    let (status, html) = get(api, "/dashboard").await;
    assert_eq!(status, 200);
    assert!(
        html.contains("<a href=\"/dashboard/feeds/nomis\">nomis</a>"),
        "the NOMIS row"
    );
    assert!(html.contains("Healthy"), "NOMIS is healthy while it sends");
    assert!(
        html.matches("<svg").count() >= 3,
        "rate, lag and error charts"
    );
    let (_, json) = get(api, "/dashboard.json").await;
    let snap: serde_json::Value = serde_json::from_str(&json).unwrap();
    let feed = &snap["feeds"][0];
    assert_eq!(feed["source"], "nomis");
    assert_eq!(feed["status"], "healthy");
    assert_eq!(feed["recorded"], expected.good);
    assert!(feed["received"].as_u64().unwrap() >= expected.good as u64);
    assert!(
        feed["quarantined"].as_u64().unwrap() >= 1,
        "the bad messages"
    );
    assert!(feed["people"].as_u64().unwrap() >= 10);
    assert!(feed["lag_canonical"]["p50_secs"].is_number());
    assert!(
        !snap["sites"].as_array().unwrap().is_empty(),
        "sites from Encounter.location"
    );
    let subs = snap["subscriptions"].as_array().unwrap();
    assert!(
        subs.iter().all(|s| s["delivered"] == expected.changes),
        "{subs:?}"
    );
    let (status, metrics) = get(api, "/metrics").await;
    assert_eq!(status, 200);
    let received = feed["received"].as_u64().unwrap();
    assert!(metrics.contains(&format!(
        "waymark_messages_total{{source=\"nomis\",stage=\"ingest\",outcome=\"received\"}} {received}"
    )));
    assert!(
        metrics.contains("waymark_delivery_latency_seconds_count{subscription=\"hmp-healthcare\"}")
    );

    // No identifier or name from the population in any page or metric.
    let phi = population_phi(&healthcare);
    assert!(phi.len() > 20, "the canaries were collected: {}", phi.len());
    let mut pages = vec![html, json, metrics];
    for path in [
        "/dashboard/feeds/nomis",
        "/dashboard/feeds/nomis.json",
        "/dashboard/subscriptions/hmp-healthcare",
        "/dashboard/subscriptions/probation-yorkshire.json",
    ] {
        let (status, page) = get(api, path).await;
        assert_eq!(status, 200, "{path}");
        pages.push(page);
    }
    for page in &pages {
        assert_no_phi(page, &phi);
    }

    // A real browser renders it.
    let url = format!("http://{api}/dashboard");
    let shot = screenshot(&url, "dashboard.png").await;
    let dom = dump_dom(&url).await;
    assert!(
        dom.contains("<table>") && dom.contains("/dashboard/feeds/nomis"),
        "{dom}"
    );
    assert_no_phi(&dom, &phi);
    assert!(
        shot.metadata().unwrap().len() > 20_000,
        "a non-trivial screenshot"
    );
    screenshot(
        &format!("http://{api}/dashboard/feeds/nomis"),
        "feed-nomis.png",
    )
    .await;

    // Kill the source: the row goes late, then silent, and an alert is raised for each.
    nomis.stop().await;
    assert!(
        status_becomes(api, "late", 3 * EVERY).await,
        "NOMIS never went late"
    );
    assert!(
        status_becomes(api, "silent", 3 * EVERY).await,
        "NOMIS never went silent"
    );
    let (_, json) = get(api, "/dashboard.json").await;
    let snap: serde_json::Value = serde_json::from_str(&json).unwrap();
    let quiet: Vec<&str> = snap["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["code"] == "ops.feed-quiet" && a["subject"] == "nomis")
        .map(|a| a["severity"].as_str().unwrap())
        .collect();
    assert_eq!(
        quiet,
        ["critical", "warning"],
        "one alert per transition, newest first"
    );
    let (_, html) = get(api, "/dashboard").await;
    assert!(html.contains("Silent") && html.contains("ops.feed-quiet"));
    screenshot(&url, "dashboard-silent.png").await;
    hub.stop().await;
}

async fn start_hub(
    nomis: &MockNomis,
    healthcare: &MockReceiver,
    probation: &MockReceiver,
    data: &Path,
) -> EmbeddedHub {
    let opts = EmbeddedOptions {
        data_dir: data.to_owned(),
        mappings_dir: repo_root().join("mappings"),
        prison_api_url: nomis.base_url(),
        api_port: 0,
    };
    let subs = demo_subscriptions(&healthcare.url(), &probation.url(), SECRET);
    let health = HealthConfig {
        feeds: vec![FeedRule {
            source: "nomis".into(),
            expected_every_secs: EVERY,
            items: Vec::new(),
        }],
        bucket_secs: 1,
        ..HealthConfig::default()
    };
    let (tx, _deliveries) = mpsc::unbounded_channel();
    EmbeddedHub::start_with_health(&opts, subs, Telemetry::log_only(), tx, health)
        .await
        .unwrap()
}

fn recorded_and_delivered(hub: &EmbeddedHub, good: usize, changes: usize) -> bool {
    let snap = hub.health.lock().unwrap().snapshot(chrono::Utc::now());
    snap.feeds.iter().any(|f| f.recorded as usize == good)
        && snap
            .subscriptions
            .iter()
            .all(|s| s.delivered as usize == changes)
}

async fn status_becomes(api: SocketAddr, status: &str, secs: u64) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        let (_, json) = get(api, "/dashboard.json").await;
        let snap: serde_json::Value = serde_json::from_str(&json).unwrap();
        if snap["feeds"][0]["status"] == status {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    false
}

/// Every identifier value, name part, birth date and hub person id the receiving systems got.
fn population_phi(receiver: &MockReceiver) -> Vec<String> {
    let mut phi = Vec::new();
    for r in receiver.received() {
        for resource in waymark_fhir::entries(&r.body) {
            for id in resource["identifier"].as_array().into_iter().flatten() {
                phi.extend(id["value"].as_str().map(str::to_owned));
            }
            if resource["resourceType"] != "Patient" {
                continue;
            }
            phi.extend(resource["id"].as_str().map(str::to_owned));
            phi.extend(resource["birthDate"].as_str().map(str::to_owned));
            for name in resource["name"].as_array().into_iter().flatten() {
                phi.extend(name["family"].as_str().map(str::to_owned));
                for given in name["given"].as_array().into_iter().flatten() {
                    phi.extend(given.as_str().map(str::to_owned));
                }
            }
        }
    }
    phi.sort();
    phi.dedup();
    phi
}

fn assert_no_phi(page: &str, phi: &[String]) {
    let tokens: Vec<&str> = page
        .split(|c: char| !(c.is_alphanumeric() || c == '.' || c == '-' || c == '/'))
        .collect();
    for value in phi {
        let distinctive = value.len() >= 5 && value.chars().any(char::is_alphabetic);
        let leaked =
            (distinctive && page.contains(value.as_str())) || tokens.contains(&value.as_str());
        assert!(
            !leaked,
            "a population value ({} chars) appears in a page",
            value.len()
        );
    }
}

fn chromium(args: &[&str]) -> std::process::Child {
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: run deploy/local/test.sh (it installs Debian's chromium), \
         or `apt-get update && apt-get install -y chromium`"
    );
    let profile = tempfile::tempdir().unwrap().keep();
    Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn screenshots_dir() -> PathBuf {
    let dir = repo_root().join("target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn screenshot(url: &str, name: &str) -> PathBuf {
    let file = screenshots_dir().join(name);
    let _ = std::fs::remove_file(&file);
    let arg = format!("--screenshot={}", file.display());
    let url = url.to_owned();
    let child = chromium(&[&arg, "--window-size=1280,1400", &url]);
    let output = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "chromium failed: {:?}",
        output.status
    );
    let bytes = std::fs::read(&file).unwrap();
    assert!(bytes.starts_with(b"\x89PNG"), "{name} is a PNG");
    file
}

async fn dump_dom(url: &str) -> String {
    let child = chromium(&["--dump-dom", url]);
    let output = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    assert!(output.status.success());
    String::from_utf8(output.stdout).unwrap()
}
