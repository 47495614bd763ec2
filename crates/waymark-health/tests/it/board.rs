//! The board with an injected clock: statuses, alerts once per transition, lags, completeness,
//! subscriptions, and no person-level data out.

use chrono::{DateTime, Duration, TimeZone, Utc};
use waymark_health::{
    AlertState, FeedRule, FeedStatus, HealthBoard, HealthConfig, Observation, Severity,
    SubscriptionStatus, codes,
};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap()
}

fn at(secs: i64) -> DateTime<Utc> {
    t0() + Duration::seconds(secs)
}

fn config(every: u64) -> HealthConfig {
    HealthConfig {
        feeds: vec![FeedRule {
            source: "nomis".into(),
            expected_every_secs: every,
            items: Vec::new(),
        }],
        quarantine_min_messages: 4,
        completeness_min_people: 4,
        ..HealthConfig::default()
    }
}

fn recorded(person: &str, items: &[&str], event_secs: i64) -> Observation {
    Observation::Recorded {
        source: "nomis".into(),
        site: Some("MDI".into()),
        event_time: Some(at(event_secs)),
        person_key: person.into(),
        items: items.iter().map(|s| s.to_string()).collect(),
    }
}

fn received() -> Observation {
    Observation::Received {
        source: "nomis".into(),
    }
}

#[test]
fn a_quiet_feed_goes_late_then_silent_and_alerts_once_per_transition() {
    let mut board = HealthBoard::new(config(60));
    assert_eq!(board.snapshot(t0()).feeds[0].status, FeedStatus::NoData);
    assert!(board.evaluate(t0()).is_empty(), "no data is not an alert");
    board.observe(received(), t0());
    assert!(board.evaluate(at(30)).is_empty());
    assert_eq!(board.snapshot(at(30)).feeds[0].status, FeedStatus::Healthy);

    let late = board.evaluate(at(61));
    assert_eq!(late.len(), 1);
    assert_eq!(late[0].code, codes::FEED_QUIET);
    assert_eq!(
        (late[0].severity, late[0].state),
        (Severity::Warning, AlertState::Raised)
    );
    assert!(
        board.evaluate(at(90)).is_empty(),
        "raised once, not on every tick"
    );
    assert_eq!(board.snapshot(at(90)).feeds[0].status, FeedStatus::Late);

    let silent = board.evaluate(at(121));
    assert_eq!(silent.len(), 1);
    assert_eq!(silent[0].severity, Severity::Critical);
    assert!(board.evaluate(at(500)).is_empty());
    assert_eq!(board.snapshot(at(500)).feeds[0].status, FeedStatus::Silent);

    board.observe(received(), at(501));
    let back = board.evaluate(at(502));
    assert_eq!(back.len(), 1);
    assert_eq!(back[0].state, AlertState::Cleared);
    assert_eq!(
        board.snapshot(at(502)).alerts.len(),
        3,
        "newest first, all kept"
    );
    assert_eq!(board.snapshot(at(502)).alerts[0].state, AlertState::Cleared);
}

#[test]
fn lags_are_measured_from_the_source_event_to_canonical_and_to_delivery() {
    let mut board = HealthBoard::new(config(900));
    board.announce_subscription("hc");
    for i in 0..100 {
        board.observe(recorded(&format!("p{i}"), &["identity"], -i - 1), t0());
    }
    board.observe(
        Observation::Released {
            delivery: "d1".into(),
            subscription: "hc".into(),
            source: Some("nomis".into()),
            site: Some("MDI".into()),
            event_time: Some(at(-10)),
            withheld_resources: 2,
        },
        at(1),
    );
    board.observe(
        Observation::Delivered {
            delivery: "d1".into(),
            subscription: "hc".into(),
        },
        at(4),
    );
    let snap = board.snapshot(at(5));
    let feed = &snap.feeds[0];
    assert_eq!(feed.lag_canonical.p50_secs, Some(50.0));
    assert_eq!(feed.lag_canonical.p99_secs, Some(99.0));
    assert_eq!(feed.lag_delivered.p50_secs, Some(14.0));
    let sub = &snap.subscriptions[0];
    assert_eq!(sub.latency.p99_secs, Some(3.0));
    assert_eq!(
        (sub.released, sub.delivered, sub.withheld_resources),
        (1, 1, 2)
    );
    assert_eq!(sub.status, SubscriptionStatus::Healthy);
    assert_eq!(snap.sites[0].site, "MDI");
    assert_eq!(snap.sites[0].people, 100);
}

#[test]
fn quarantine_rate_and_reasons_are_per_source() {
    let mut board = HealthBoard::new(config(900));
    for _ in 0..4 {
        board.observe(received(), t0());
    }
    for code in ["mapping.failed", "profile.invalid", "profile.invalid"] {
        board.observe(
            Observation::Quarantined {
                source: Some("nomis".into()),
                stage: "map".into(),
                code: code.into(),
            },
            t0(),
        );
    }
    let alerts = board.evaluate(t0());
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].code, codes::QUARANTINE_RATE);
    let feed = &board.snapshot(t0()).feeds[0];
    assert_eq!(feed.received, 7, "map-stage refusals were received too");
    assert_eq!(feed.quarantine_rate, Some(3.0 / 7.0));
    assert_eq!(feed.top_reasons[0].code, "profile.invalid");
    assert_eq!(feed.top_reasons[0].count, 2);
}

#[test]
fn completeness_counts_people_and_a_drop_raises_an_alert_once() {
    let mut board = HealthBoard::new(config(900));
    for p in ["a", "b", "c", "d"] {
        board.observe(recorded(p, &["identity", "detention"], 0), t0());
    }
    assert!(board.evaluate(t0()).is_empty());
    let feed = &board.snapshot(t0()).feeds[0];
    assert_eq!(feed.completeness, Some(1.0));
    assert_eq!(feed.people, 4);
    for p in ["e", "f", "g", "h"] {
        board.observe(recorded(p, &["identity"], 0), t0());
    }
    let alerts = board.evaluate(t0());
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0].code, codes::COMPLETENESS_DROP);
    assert_eq!(alerts[0].subject, "nomis/detention");
    assert!(board.evaluate(t0()).is_empty());
    let feed = &board.snapshot(t0()).feeds[0];
    assert_eq!(feed.completeness, Some(0.75));
}

#[test]
fn a_dead_letter_makes_a_subscription_failing() {
    let mut board = HealthBoard::new(config(900));
    board.announce_subscription("probation");
    assert_eq!(
        board.snapshot(t0()).subscriptions[0].status,
        SubscriptionStatus::Idle
    );
    board.set_backlog("probation", 7, 1);
    board.observe(
        Observation::Retried {
            subscription: "probation".into(),
        },
        t0(),
    );
    board.observe(
        Observation::DeadLettered {
            subscription: "probation".into(),
        },
        t0(),
    );
    let alerts = board.evaluate(t0());
    let codes: Vec<&str> = alerts.iter().map(|a| a.code).collect();
    assert_eq!(codes, [codes::SUBSCRIPTION_FAILING, codes::DEAD_LETTER]);
    let sub = &board.snapshot(t0()).subscriptions[0];
    assert_eq!(sub.status, SubscriptionStatus::Failing);
    assert_eq!((sub.backlog, sub.dead_backlog), (Some(7), Some(1)));
    assert_eq!(sub.success_rate, Some(0.0));
}

#[test]
fn no_person_key_leaves_the_board() {
    let mut board = HealthBoard::new(config(900));
    board.observe(
        recorded("person-key-CANARY-A1234BC", &["identity"], 0),
        t0(),
    );
    board.evaluate(at(10_000));
    let json = serde_json::to_string(&board.snapshot(at(10_000))).unwrap();
    assert!(!json.contains("CANARY"), "{json}");
    assert!(!format!("{:?}", board.snapshot(t0())).contains("CANARY"));
}

#[test]
fn an_expected_item_never_carried_shows_as_zero() {
    let mut config = config(900);
    config.feeds[0].items = vec!["identity".into(), "risk-self".into()];
    let mut board = HealthBoard::new(config);
    assert_eq!(board.snapshot(t0()).items, ["identity", "risk-self"]);
    for p in ["a", "b", "c", "d"] {
        board.observe(recorded(p, &["identity", "detention"], 0), t0());
    }
    let feed = &board.snapshot(t0()).feeds[0];
    let share = |item: &str| feed.items.iter().find(|s| s.item == item).map(|s| s.share);
    assert_eq!(share("identity"), Some(1.0));
    assert_eq!(share("risk-self"), Some(0.0), "listed, at 0%");
    assert_eq!(share("detention"), Some(1.0), "carried though not expected");
    assert_eq!(
        feed.completeness,
        Some(0.5),
        "the mean over the expected items"
    );
    assert!(board.evaluate(t0()).is_empty(), "never carried is no drop");
}
