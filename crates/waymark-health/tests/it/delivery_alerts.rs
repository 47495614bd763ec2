//! The operator alerts of issue 9: a dead-lettered notification (resend it with `$resend`), a
//! silent endpoint (heartbeat failed) and a subscription switched off by `410 Gone` — each
//! raised and cleared once per transition, and listed on the subscription's view while open.

use chrono::{DateTime, TimeZone, Utc};
use waymark_health::{AlertState, HealthBoard, HealthConfig, Observation, Severity, codes};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap()
}

fn delivered(board: &mut HealthBoard) {
    let observation = Observation::Delivered {
        delivery: "d".into(),
        subscription: "gp".into(),
    };
    board.observe(observation, t0());
}

fn open_codes(board: &HealthBoard) -> Vec<&'static str> {
    let snapshot = board.snapshot(t0());
    snapshot.subscriptions[0]
        .alerts
        .iter()
        .map(|a| a.code)
        .collect()
}

#[test]
fn a_dead_letter_alerts_until_the_dead_letter_queue_is_empty() {
    let mut board = HealthBoard::new(HealthConfig::default());
    board.announce_subscription("gp");
    board.set_backlog("gp", 0, 0);
    assert!(board.evaluate(t0()).is_empty());
    let dead = Observation::DeadLettered {
        subscription: "gp".into(),
    };
    board.observe(dead, t0());
    board.set_backlog("gp", 0, 1);
    let raised: Vec<_> = board
        .evaluate(t0())
        .into_iter()
        .filter(|a| a.code == codes::DEAD_LETTER)
        .collect();
    assert_eq!(raised.len(), 1);
    assert_eq!(
        (raised[0].severity, raised[0].state),
        (Severity::Critical, AlertState::Raised)
    );
    assert!(raised[0].detail.contains("$resend"), "{}", raised[0].detail);
    assert!(open_codes(&board).contains(&codes::DEAD_LETTER));
    board.set_backlog("gp", 0, 2);
    assert!(
        board
            .evaluate(t0())
            .iter()
            .all(|a| a.code != codes::DEAD_LETTER),
        "once"
    );

    // Resent: the dead-letter queue is empty again.
    board.set_backlog("gp", 0, 0);
    let cleared: Vec<_> = board
        .evaluate(t0())
        .into_iter()
        .filter(|a| a.code == codes::DEAD_LETTER)
        .collect();
    assert_eq!(cleared.len(), 1);
    assert_eq!(cleared[0].state, AlertState::Cleared);
    assert!(!open_codes(&board).contains(&codes::DEAD_LETTER));
}

#[test]
fn a_failed_heartbeat_is_a_silent_endpoint_until_it_answers() {
    let mut board = HealthBoard::new(HealthConfig::default());
    let heartbeat = |delivered| Observation::Heartbeat {
        subscription: "gp".into(),
        delivered,
    };
    board.observe(heartbeat(true), t0());
    assert!(board.evaluate(t0()).is_empty());
    board.observe(heartbeat(false), t0());
    let alerts = board.evaluate(t0());
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].code, codes::SUBSCRIPTION_SILENT);
    assert_eq!(
        (alerts[0].severity, alerts[0].state),
        (Severity::Warning, AlertState::Raised)
    );
    assert_eq!(open_codes(&board), [codes::SUBSCRIPTION_SILENT]);
    board.observe(heartbeat(false), t0());
    assert!(board.evaluate(t0()).is_empty(), "once per transition");
    delivered(&mut board);
    let alerts = board.evaluate(t0());
    assert_eq!(alerts.len(), 1);
    assert_eq!(
        (alerts[0].code, alerts[0].state),
        (codes::SUBSCRIPTION_SILENT, AlertState::Cleared)
    );
    assert!(open_codes(&board).is_empty());
}

#[test]
fn a_gone_endpoint_switches_the_subscription_off_and_alerts() {
    let mut board = HealthBoard::new(HealthConfig::default());
    let gone = Observation::Deactivated {
        subscription: "gp".into(),
    };
    board.observe(gone, t0());
    let alerts = board.evaluate(t0());
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].code, codes::SUBSCRIPTION_DEACTIVATED);
    assert_eq!(alerts[0].subject, "gp");
    assert!(alerts[0].detail.contains("410"));
    assert_eq!(open_codes(&board), [codes::SUBSCRIPTION_DEACTIVATED]);
    assert!(board.evaluate(t0()).is_empty());
    // Switched back on, it delivers again.
    delivered(&mut board);
    let alerts = board.evaluate(t0());
    assert_eq!(
        (alerts[0].code, alerts[0].state),
        (codes::SUBSCRIPTION_DEACTIVATED, AlertState::Cleared)
    );
}
