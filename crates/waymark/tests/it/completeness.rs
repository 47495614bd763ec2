//! "A mapping change that drops an item shows in completeness", end to end.
//!
//! The same synthetic population (whose prisoners have NOMIS alerts, mapped to Flags labelled
//! `risk-self`, `risk-others` and `physical-summary`) goes through the embedded hub twice, on
//! fresh data folders: once with the repo's mappings, once with `nomis/prison-movement.jq`
//! changed so that it silently stops emitting the Flags. Completeness is read from
//! `/dashboard.json` and `/dashboard` over HTTP: the flag items are present in the first run and
//! at 0% in the second, while `identity` and `detention` stay at 100%.
//!
//! Then the changed mapping is deployed on the first hub (stopped, restarted on the same files
//! with the same health board) and new prisoners arrive: the board, which remembers each
//! item's best completeness, raises `ops.completeness-drop` once for each flag item that fell
//! 20 points or more (the board counts people: one whose record carried an item keeps it, so
//! only newcomers can lower a share, which is why the same population cannot show the drop).

use crate::common;

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
};

use common::{World, copy_dir, eventually, http_get, repo_root};
use serde_json::Value;
use waymark::embedded::{EmbeddedHub, FeedRule, HealthBoard, HealthConfig};
use waymark_adapter_nomis::{Population, PushOptions};
use waymark_api::SharedHealth;
use waymark_mapping::MappingSet;

/// A seed whose prisoners carry all three kinds of alert: of its first 30, 57% have a self-harm
/// alert (`risk-self`), 67% a risk or security one (`risk-others`), 10% a medical one
/// (`physical-summary`); no share falls 20 points below its best as they arrive.
const SEED: u64 = 6;
/// Prisoners per batch (more than the board's `completeness_min_people`, 20).
const PEOPLE: usize = 30;
/// What every NOMIS bundle carries whatever the mapping change.
const CORE_ITEMS: [&str; 2] = ["identity", "detention"];
/// What the alerts become (ConceptMap `nomis-alert-type-to-data-class`).
const FLAG_ITEMS: [&str; 3] = ["risk-self", "risk-others", "physical-summary"];
const DROP: &str = "ops.completeness-drop";

/// NOMIS is expected to carry every item; the thresholds are the defaults (completeness judged
/// from 20 people on, a drop of 20 points from an item's best raises the alert).
fn health_config() -> HealthConfig {
    HealthConfig {
        feeds: vec![FeedRule {
            source: "nomis".into(),
            expected_every_secs: 15 * 60,
            items: CORE_ITEMS
                .iter()
                .chain(&FLAG_ITEMS)
                .map(|i| (*i).to_owned())
                .collect(),
        }],
        ..HealthConfig::default()
    }
}

fn new_board() -> SharedHealth {
    Arc::new(Mutex::new(HealthBoard::new(health_config())))
}

/// The repo's mappings, with `prison-movement.jq` reading the alerts from a key the adapter
/// does not set (as a careless rename would): it still compiles and every bundle is still valid,
/// it just no longer carries a Flag.
fn mappings_without_alerts(dir: &Path) -> PathBuf {
    let changed = dir.join("mappings");
    copy_dir(&repo_root().join("mappings"), &changed);
    let program = changed.join("nomis/prison-movement.jq");
    let text = std::fs::read_to_string(&program).unwrap();
    let reads_alerts = "(.context.alerts // [])";
    assert_eq!(text.matches(reads_alerts).count(), 1, "the mapping changed");
    assert_eq!(text.matches("# version: 1.0.0").count(), 1);
    let text = text
        .replacen(reads_alerts, "(.context.bookingAlerts // [])", 1)
        .replacen("# version: 1.0.0", "# version: 1.0.1", 1);
    std::fs::write(&program, text).unwrap();
    MappingSet::load(&changed).expect("the changed mappings still compile");
    changed
}

/// The prisoners of `Population::synthetic(seed, after)` beyond the first `before` (the same
/// people and notifications, byte for byte, as `synthetic(seed, before)`), with every route.
fn newcomers(seed: u64, before: usize, after: usize) -> Population {
    let known: BTreeSet<Vec<u8>> = Population::synthetic(seed, before)
        .notifications()
        .iter()
        .map(|n| n.body.clone())
        .collect();
    let all = Population::synthetic(seed, after);
    let mut population = Population::new();
    for route in all.routes() {
        population.add_route(route.clone());
    }
    for n in all.notifications() {
        if !known.contains(&n.body) {
            population.add_notification(n.clone());
        }
    }
    population
}

/// Pushes the world's population and waits until both receivers hold every notification and
/// the board has seen `total.0` records, and `total.1` deliveries per subscription, in all (a
/// notification per message that changed a record).
async fn push_and_settle(
    world: &World,
    hub: &EmbeddedHub,
    population: &Population,
    total: (usize, usize),
) {
    let expected = population.expected();
    assert!(
        population
            .notifications()
            .iter()
            .all(|n| !n.label.starts_with("ALERT")),
        "prison-movement.jq maps every event pushed (none for prisoner-alert.jq)"
    );
    let pushed = world
        .nomis
        .push_to(&hub.nomis_endpoint(), PushOptions::default())
        .await;
    assert_eq!(pushed.acknowledged, expected.sent);
    let want = expected.changes * 2;
    assert!(
        eventually(120, || world.delivered() >= want).await,
        "delivered {} of {want}",
        world.delivered()
    );
    let settled = || {
        let snap = hub.health.lock().unwrap().snapshot(chrono::Utc::now());
        snap.feeds
            .iter()
            .any(|f| f.source == "nomis" && f.recorded as usize == total.0)
            && snap
                .subscriptions
                .iter()
                .all(|s| s.delivered as usize == total.1)
    };
    assert!(
        eventually(10, settled).await,
        "the board saw every record and delivery"
    );
}

/// What `/dashboard.json` says of NOMIS.
#[derive(Debug)]
struct Seen {
    snap: Value,
    people: u64,
    recorded: u64,
    quarantined: u64,
    completeness: f64,
    /// Share per item; an item the feed never listed counts as 0.
    shares: BTreeMap<&'static str, f64>,
    present: BTreeMap<&'static str, u64>,
}

async fn dashboard_json(hub: &EmbeddedHub) -> Seen {
    let (status, json) = http_get(hub.api_addr(), "/dashboard.json").await;
    assert_eq!(status, 200);
    let snap: Value = serde_json::from_str(&json).unwrap();
    let feed = snap["feeds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["source"] == "nomis")
        .expect("a NOMIS row")
        .clone();
    let item = |name: &str| {
        feed["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["item"] == name)
            .cloned()
    };
    let mut shares = BTreeMap::new();
    let mut present = BTreeMap::new();
    for name in CORE_ITEMS.iter().chain(&FLAG_ITEMS) {
        let found = item(name);
        let share = found.as_ref().map_or(0.0, |i| i["share"].as_f64().unwrap());
        let count = found.as_ref().map_or(0, |i| i["present"].as_u64().unwrap());
        shares.insert(*name, share);
        present.insert(*name, count);
    }
    Seen {
        people: feed["people"].as_u64().unwrap(),
        recorded: feed["recorded"].as_u64().unwrap(),
        quarantined: feed["quarantined"].as_u64().unwrap(),
        completeness: feed["completeness"].as_f64().unwrap(),
        shares,
        present,
        snap,
    }
}

/// The `ops.completeness-drop` alerts: (subject, state), newest first.
fn drop_alerts(snap: &Value) -> Vec<(String, String)> {
    snap["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["code"] == DROP)
        .map(|a| {
            (
                a["subject"].as_str().unwrap().to_owned(),
                a["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// The item's row of the completeness heat-map on `/dashboard`.
async fn heat_map_row(hub: &EmbeddedHub, item: &str) -> String {
    let (status, html) = http_get(hub.api_addr(), "/dashboard").await;
    assert_eq!(status, 200);
    let start = html.find("id=\"completeness\"").expect("the heat-map");
    let end = html.find("id=\"sites\"").expect("the sites after it");
    let map = &html[start..end];
    let head = format!("<th scope=\"row\">{item}</th>");
    let at = map
        .find(&head)
        .unwrap_or_else(|| panic!("no {item} row in the heat-map: {map}"));
    let row = &map[at..];
    row[..row.find("</tr>").unwrap()].to_owned()
}

/// The percentage a heat-map cell shows.
fn cell(row: &str) -> &str {
    let end = row.rfind("</span>").expect("a shaded cell");
    let start = row[..end].rfind('>').unwrap() + 1;
    &row[start..end]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mapping_change_that_drops_the_alert_flags_shows_in_completeness() {
    let temp = tempfile::tempdir().unwrap();
    let real = repo_root().join("mappings");
    let changed = mappings_without_alerts(temp.path());
    let population = Population::synthetic(SEED, PEOPLE);
    let good = population.expected().good;
    let changes = population.expected().changes;

    // 1. The repo's mappings: every item present, the flag items for some of the people.
    let first = World::new(population.clone()).await;
    let board = new_board();
    let hub = first
        .start_hub_on(first.data.path(), &real, board.clone())
        .await;
    push_and_settle(&first, &hub, &population, (good, changes)).await;
    let before = dashboard_json(&hub).await;
    eprintln!(
        "real mappings: {} people, completeness {:.3}, shares {:?}, present {:?}",
        before.people, before.completeness, before.shares, before.present
    );
    assert_eq!(before.people, PEOPLE as u64);
    assert_eq!(before.recorded, good as u64);
    assert_eq!(before.quarantined, 0);
    for item in CORE_ITEMS {
        assert_eq!(before.shares[item], 1.0, "{item}");
    }
    for item in FLAG_ITEMS {
        assert!(before.shares[item] > 0.0, "{item}: {:?}", before.shares);
        assert!(before.shares[item] < 1.0, "{item}: not everyone has one");
    }
    assert!(before.completeness > 0.4);
    assert_eq!(
        drop_alerts(&before.snap),
        [],
        "the real mappings drop nothing"
    );
    let row = heat_map_row(&hub, "risk-others").await;
    assert_ne!(cell(&row), "0%", "{row}");
    hub.stop().await;

    // 2. The changed mapping, the same population, fresh files and board: the flag items are
    //    at 0%, the rest untouched, nothing quarantined.
    let second = World::new(population.clone()).await;
    let hub = second
        .start_hub_on(second.data.path(), &changed, new_board())
        .await;
    push_and_settle(&second, &hub, &population, (good, changes)).await;
    let after = dashboard_json(&hub).await;
    eprintln!(
        "changed mapping: {} people, completeness {:.3}, shares {:?}, present {:?}",
        after.people, after.completeness, after.shares, after.present
    );
    assert_eq!(after.people, before.people, "the same people");
    assert_eq!(after.recorded, before.recorded, "every bundle still valid");
    assert_eq!(after.quarantined, 0);
    for item in CORE_ITEMS {
        assert_eq!(after.shares[item], 1.0, "{item}");
    }
    for item in FLAG_ITEMS {
        assert_eq!(after.shares[item], 0.0, "{item}: {:?}", after.shares);
    }
    assert!(
        (after.completeness - 0.4).abs() < 1e-9,
        "two of the five expected items: {}",
        after.completeness
    );
    for item in FLAG_ITEMS {
        let row = heat_map_row(&hub, item).await;
        assert_eq!(cell(&row), "0%", "{item}: {row}");
    }
    for item in CORE_ITEMS {
        let row = heat_map_row(&hub, item).await;
        assert_eq!(cell(&row), "100%", "{item}: {row}");
    }
    let receivers_flags = common::received_classes(&second.healthcare)
        .iter()
        .filter(|c| FLAG_ITEMS.contains(&c.code()))
        .count();
    assert_eq!(receivers_flags, 0, "no Flag reached the receivers either");
    hub.stop().await;

    // 3. The changed mapping deployed on the first hub (same files, same board), then new
    //    prisoners arrive: completeness of the flag items falls from its best, and the board
    //    raises the drop alert once per item that fell far enough.
    let arrivals = newcomers(SEED, PEOPLE, PEOPLE * 2);
    let third = World::new(arrivals.clone()).await;
    let hub = third
        .start_hub_on(first.data.path(), &changed, board.clone())
        .await;
    let total = (
        good + arrivals.expected().good,
        changes + arrivals.expected().changes,
    );
    push_and_settle(&third, &hub, &arrivals, total).await;
    let deployed = dashboard_json(&hub).await;
    let alerts = drop_alerts(&deployed.snap);
    eprintln!(
        "after the deployment: {} people, completeness {:.3}, shares {:?}, present {:?}, \
         drop alerts {alerts:?}",
        deployed.people, deployed.completeness, deployed.shares, deployed.present
    );
    assert_eq!(deployed.people, 2 * PEOPLE as u64, "all newcomers");
    for item in CORE_ITEMS {
        assert_eq!(deployed.shares[item], 1.0, "{item}");
    }
    for item in FLAG_ITEMS {
        assert_eq!(
            deployed.present[item], before.present[item],
            "{item}: no newcomer has one"
        );
    }
    // Halved from their best, `risk-self` and `risk-others` fell more than 20 points;
    // `physical-summary`, rarer, did not. Raised once each, never cleared.
    let mut subjects: Vec<&str> = alerts.iter().map(|(s, _)| s.as_str()).collect();
    subjects.sort_unstable();
    assert_eq!(
        subjects,
        ["nomis/risk-others", "nomis/risk-self"],
        "{alerts:?}"
    );
    assert!(
        alerts.iter().all(|(_, state)| state == "raised"),
        "{alerts:?}"
    );
    let row = heat_map_row(&hub, "risk-others").await;
    let share = deployed.shares["risk-others"];
    assert!(
        share > 0.0 && share < before.shares["risk-others"],
        "fell, not to zero"
    );
    assert_eq!(cell(&row), format!("{:.0}%", share * 100.0), "{row}");
    let (_, html) = http_get(hub.api_addr(), "/dashboard").await;
    assert!(
        html.contains(&format!("<code>{DROP}</code>")) && html.contains("nomis/risk-others"),
        "the alert on the dashboard"
    );
    hub.stop().await;
}
