//! `privacy.break-glass`: every record served under break-glass raises an alert for the privacy
//! officer naming the caller's role, organisation and count, never the person; it clears when
//! the window passes without a use.

use chrono::{DateTime, Duration, TimeZone, Utc};
use waymark_health::{AlertState, HealthBoard, HealthConfig, Observation, Severity, codes};

fn at(secs: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap() + Duration::seconds(secs)
}

fn glass(role: &str, organisation: &str) -> Observation {
    Observation::BreakGlass {
        role: role.into(),
        organisation: organisation.into(),
    }
}

fn board() -> HealthBoard {
    HealthBoard::new(HealthConfig {
        feeds: Vec::new(),
        break_glass_window_secs: 3600,
        ..HealthConfig::default()
    })
}

#[test]
fn each_use_raises_with_the_count_and_a_quiet_window_clears() {
    let mut board = board();
    assert!(board.evaluate(at(0)).is_empty());
    board.observe(glass("custody-healthcare", "RX1"), at(0));
    let raised = board.evaluate(at(1));
    assert_eq!(raised.len(), 1, "{raised:?}");
    let alert = &raised[0];
    assert_eq!(alert.code, codes::BREAK_GLASS);
    assert_eq!(alert.code, "privacy.break-glass");
    assert_eq!(alert.subject, "custody-healthcare/RX1");
    assert_eq!(alert.state, AlertState::Raised);
    assert_eq!(alert.severity, Severity::Warning);
    assert!(alert.detail.contains(": 1 record(s)"), "{}", alert.detail);
    assert!(alert.detail.contains("last 1 h"), "{}", alert.detail);
    assert!(board.evaluate(at(2)).is_empty(), "once per use");

    board.observe(glass("custody-healthcare", "RX1"), at(600));
    let again = board.evaluate(at(601));
    assert_eq!(again.len(), 1, "a second use is raised again");
    assert!(
        again[0].detail.contains(": 2 record(s)"),
        "{}",
        again[0].detail
    );

    assert!(
        board.evaluate(at(3601)).is_empty(),
        "one use still in the window"
    );
    let cleared = board.evaluate(at(4201));
    assert_eq!(cleared.len(), 1, "{cleared:?}");
    assert_eq!(cleared[0].state, AlertState::Cleared);
    assert!(board.evaluate(at(9000)).is_empty(), "cleared once");
    let kept = board.snapshot(at(9000)).alerts;
    assert_eq!(
        kept.len(),
        3,
        "two raises and a clear kept for the dashboard"
    );
}

#[test]
fn callers_are_told_apart_by_role_and_organisation() {
    let mut board = board();
    board.observe(glass("custody-healthcare", "RX1"), at(0));
    board.observe(glass("custody-healthcare", "RX2"), at(0));
    board.observe(glass("gp", "RX1"), at(0));
    board.observe(glass("gp", "RX1"), at(1));
    let mut alerts = board.evaluate(at(2));
    alerts.sort_by(|a, b| a.subject.cmp(&b.subject));
    let seen: Vec<(&str, bool)> = alerts
        .iter()
        .map(|a| (a.subject.as_str(), a.detail.contains(": 2 record(s)")))
        .collect();
    assert_eq!(
        seen,
        [
            ("custody-healthcare/RX1", false),
            ("custody-healthcare/RX2", false),
            ("gp/RX1", true),
        ]
    );
}

#[test]
fn the_alert_names_no_person_and_no_reason() {
    let mut board = board();
    // The observation has no field for either: the board cannot hold them. The snapshot and
    // the alert carry only what the observation gave.
    board.observe(glass("prison-healthcare", "HMP-A"), at(0));
    let alerts = board.evaluate(at(1));
    let json = serde_json::to_string(&board.snapshot(at(1))).unwrap();
    assert!(json.contains("privacy.break-glass"), "{json}");
    for alert in &alerts {
        let text = format!("{} {}", alert.subject, alert.detail);
        assert!(
            text.starts_with("prison-healthcare/HMP-A prison-healthcare at HMP-A: 1 record(s)"),
            "{text}"
        );
    }
}
