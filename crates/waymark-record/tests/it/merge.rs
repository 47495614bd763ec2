//! The record: order-independent, idempotent merge (a seeded property test over shuffled
//! entries), discrepancies kept side by side, same-source supersession, markers.

use crate::common;

use common::*;
use waymark_core::{DataClass, SourceSystem};
use waymark_record::{ChangeKind, ItemKind, MarkerStatus, PersonRecord, RecordConfig};

const SOURCES: [SourceSystem; 4] = [
    SourceSystem::Nomis,
    SourceSystem::Systmone,
    SourceSystem::Athena,
    SourceSystem::Excelicare,
];

/// One random resource about `pid` from a small pool of overlapping items.
fn random_resource(rng: &mut Rng, pid: &str, n: usize, src: &str) -> serde_json::Value {
    let id = uid(&format!("{src}-{n}-{}", rng.next()));
    let day = format!("2025-0{}-1{}", 1 + rng.below(9), rng.below(10));
    match rng.below(5) {
        0 | 1 => {
            let code = *rng.pick(&["self-harm-history", "epilepsy", "ost-current", "mappa"]);
            let value = *rng.pick(&["Y", "N", "UNK"]);
            answer(pid, &id, code, value, &day, DataClass::RiskSelf)
        }
        2 => {
            let ident = format!("shared-{}", rng.below(4));
            let class = *rng.pick(&[DataClass::RiskSelf, DataClass::RiskOthers]);
            let status = *rng.pick(&["active", "inactive"]);
            let end = rng.pick(&[None, Some("2026-06-30")]).map(str::to_owned);
            flag(pid, &id, &ident, class, status, &day, end.as_deref())
        }
        3 => {
            let stay = Stay {
                booking: rng.pick::<&str>(&["100", "200"]),
                status: rng.pick::<&str>(&["in-progress", "finished"]),
                at: rng.pick::<&str>(&["LEI", "HMI", "MDI"]),
                earlier: if rng.below(2) == 0 { &[] } else { &["LEI"] },
                erd: *rng.pick(&[None, Some("2025-11-30"), Some("2026-02-01")]),
                destination: *rng.pick(&[None, Some("Approved premises, Leeds")]),
            };
            prison(pid, &id, &stay)
        }
        _ => {
            let ident = format!("med-{}", rng.below(3));
            let status = *rng.pick(&["active", "stopped"]);
            medication(
                pid,
                &id,
                &ident,
                "Methadone 60mg",
                "opiate-substitution",
                status,
                &day,
            )
        }
    }
}

/// ≥ 50 entries from several sources, many sharing an event time, a few delivered twice.
fn generate(seed: u64, count: usize) -> Vec<Msg> {
    let mut rng = Rng::new(seed);
    let mut msgs = Vec::new();
    for n in 0..count {
        let source = *rng.pick(&SOURCES);
        let pid = uid(&format!("patient-{source}"));
        let mut resources = vec![patient(&pid, "Testperson", "1990-01-01")];
        for _ in 0..1 + rng.below(4) {
            resources.push(random_resource(&mut rng, &pid, n, source.as_str()));
        }
        let time = format!("2025-03-0{}T1{}:00:00Z", 1 + rng.below(3), rng.below(3));
        let id = format!("{:016x}", rng.next());
        msgs.push(msg(&id, source, &time, resources, "record.updated"));
    }
    for _ in 0..5 {
        let again = msgs[rng.below(count)].clone();
        msgs.push(again);
    }
    msgs
}

fn check_order_independence(seed: u64, config: RecordConfig) {
    let msgs = generate(seed, 60);
    let entries: Vec<_> = msgs.iter().map(Msg::entry).collect();
    let reference = PersonRecord::from_entries(config.clone(), &entries);
    let expected = serde_json::to_string(&reference).unwrap();
    assert!(reference.message_count() >= 55);
    let mut rng = Rng::new(seed ^ 0xabcd);
    let mut order: Vec<usize> = (0..msgs.len()).collect();
    for round in 0..100 {
        rng.shuffle(&mut order);
        let mut record = PersonRecord::new(config.clone());
        for &i in &order {
            let entry = msgs[i].entry();
            record.apply(&entry);
            if round % 10 == 0 {
                let before = record.clone();
                let again = record.apply(&entry);
                assert!(
                    again.is_empty() && again.duplicate,
                    "a repeat changed something"
                );
                assert_eq!(record, before, "a repeat changed the record");
            }
        }
        assert_eq!(
            serde_json::to_string(&record).unwrap(),
            expected,
            "round {round}"
        );
        let shuffled: Vec<_> = order.iter().map(|&i| msgs[i].entry()).collect();
        assert_eq!(
            PersonRecord::from_entries(config.clone(), &shuffled),
            reference
        );
    }
    let stored: PersonRecord = serde_json::from_str(&expected).unwrap();
    assert_eq!(stored, reference, "the stored JSON reads back");
}

#[test]
fn any_order_gives_the_same_record_and_repeats_change_nothing() {
    check_order_independence(7, RecordConfig::default());
}

#[test]
fn order_independence_holds_when_history_is_cut_short() {
    let config = RecordConfig {
        history_per_source: 2,
        ..RecordConfig::default()
    };
    check_order_independence(11, config);
    check_order_independence(12, config_one());
}

fn config_one() -> RecordConfig {
    RecordConfig {
        history_per_source: 1,
        ..RecordConfig::default()
    }
}

fn self_harm(id: &str, source: SourceSystem, time: &str, value: &str, as_of: &str) -> Msg {
    let pid = uid(&format!("p-{source}"));
    let obs = answer(
        &pid,
        &uid(id),
        "self-harm-history",
        value,
        as_of,
        DataClass::RiskSelf,
    );
    msg(
        id,
        source,
        time,
        vec![patient(&pid, "Testperson", "1990-01-01"), obs],
        "record.updated",
    )
}

#[test]
fn different_sources_disagreeing_are_kept_side_by_side_and_flagged() {
    let nomis = self_harm(
        "n1",
        SourceSystem::Nomis,
        "2026-01-03T09:00:00Z",
        "Y",
        "2026-01-03",
    );
    let s1 = self_harm(
        "s1",
        SourceSystem::Systmone,
        "2025-11-20T09:00:00Z",
        "N",
        "2025-11-20",
    );
    let record = PersonRecord::from_entries(RecordConfig::default(), &[nomis.entry(), s1.entry()]);
    let item = record.item_named("self-harm-history").unwrap();
    assert!(item.has_discrepancy());
    assert_eq!(record.discrepancies().len(), 1);
    assert_eq!(record.discrepancies()[0].as_str(), "self-harm-history");
    let sources: Vec<SourceSystem> = item.currents().map(|(s, _)| s).collect();
    assert_eq!(sources, [SourceSystem::Systmone, SourceSystem::Nomis]);
    // a second SystmOne answer that agrees with NOMIS resolves it; the old one is history
    let s2 = self_harm(
        "s2",
        SourceSystem::Systmone,
        "2026-02-01T09:00:00Z",
        "Y",
        "2026-02-01",
    );
    let mut record = record;
    let change = record.apply(&s2.entry());
    assert!(
        change
            .items
            .iter()
            .any(|c| c.key.as_str() == "self-harm-history" && c.kind == ChangeKind::Changed)
    );
    let item = record.item_named("self-harm-history").unwrap();
    assert!(!item.has_discrepancy());
    assert_eq!(item.history(SourceSystem::Systmone).len(), 2);
}

#[test]
fn two_sources_with_different_expected_release_dates_are_a_discrepancy() {
    let stay = |booking, erd| Stay {
        booking,
        status: "in-progress",
        at: "LEI",
        earlier: &[],
        erd: Some(erd),
        destination: None,
    };
    let a = msg(
        "a",
        SourceSystem::Nomis,
        "2025-01-01T00:00:00Z",
        vec![prison("p", &uid("e1"), &stay("1", "2025-11-30"))],
        "record.updated",
    );
    let b = msg(
        "b",
        SourceSystem::Systmone,
        "2025-01-02T00:00:00Z",
        vec![prison("p", &uid("e2"), &stay("2", "2026-01-02"))],
        "record.updated",
    );
    let record = PersonRecord::from_entries(RecordConfig::default(), &[a.entry(), b.entry()]);
    let keys: Vec<&str> = record.discrepancies().iter().map(|k| k.as_str()).collect();
    assert_eq!(keys, ["expected-release-date"]);
    assert_eq!(
        record.item_named("expected-release-date").unwrap().kind(),
        ItemKind::ExpectedReleaseDate
    );
}

#[test]
fn the_same_source_later_supersedes_and_an_older_message_is_history() {
    let old = self_harm(
        "old",
        SourceSystem::Nomis,
        "2025-01-01T00:00:00Z",
        "N",
        "2025-01-01",
    );
    let new = self_harm(
        "new",
        SourceSystem::Nomis,
        "2025-06-01T00:00:00Z",
        "Y",
        "2025-06-01",
    );
    let mut record = PersonRecord::default();
    let first = record.apply(&new.entry());
    assert!(
        first
            .items
            .iter()
            .any(|c| c.key.as_str() == "self-harm-history" && c.kind == ChangeKind::Added)
    );
    let late = record.apply(&old.entry());
    assert!(
        late.items
            .iter()
            .all(|c| c.key.as_str() != "self-harm-history")
    );
    assert!(
        late.history
            .iter()
            .any(|k| k.as_str() == "self-harm-history")
    );
    assert!(
        !late.changes_dataset(),
        "an older message changes no current value"
    );
    let item = record.item_named("self-harm-history").unwrap();
    assert!(!item.has_discrepancy());
    assert_eq!(item.current(SourceSystem::Nomis).unwrap().message_id, "new");
    assert_eq!(item.history(SourceSystem::Nomis).len(), 2);
    // the same value again under a new message only refreshes
    let again = self_harm(
        "again",
        SourceSystem::Nomis,
        "2025-07-01T00:00:00Z",
        "Y",
        "2025-06-01",
    );
    let change = record.apply(&again.entry());
    assert!(!change.changes_dataset());
    assert!(change.items.iter().all(|c| c.kind == ChangeKind::Refreshed));
}

#[test]
fn markers_are_current_stale_or_ended_at_a_given_time() {
    let pid = "p";
    let mk = |id: &str, status: &str, end: Option<&str>| {
        msg(
            id,
            SourceSystem::Nomis,
            "2024-01-01T00:00:00Z",
            vec![flag(
                pid,
                &uid(id),
                id,
                DataClass::RiskOthers,
                status,
                "2024-01-01",
                end,
            )],
            "record.updated",
        )
    };
    let msgs = [
        mk("open", "active", None),
        mk("dated", "active", Some("2026-06-30")),
        mk("off", "inactive", Some("2024-03-01")),
    ];
    let record = PersonRecord::from_entries(
        RecordConfig::default(),
        &msgs.iter().map(Msg::entry).collect::<Vec<_>>(),
    );
    let status = |ident: &str, now: &str| {
        let (key, _) = record
            .items()
            .find(|(_, i)| {
                i.current(SourceSystem::Nomis).unwrap().resource()["identifier"][0]["value"]
                    == ident
            })
            .unwrap();
        record
            .marker_status(key, SourceSystem::Nomis, t(now))
            .unwrap()
    };
    assert!(matches!(
        status("open", "2024-12-31"),
        MarkerStatus::Current { .. }
    ));
    match status("open", "2025-06-01") {
        MarkerStatus::Stale { review_by } => assert_eq!(review_by, t("2025-01-01")),
        other => panic!("expected stale, got {other:?}"),
    }
    assert!(matches!(
        status("dated", "2026-06-30T23:00:00Z"),
        MarkerStatus::Current { .. }
    ));
    assert!(matches!(
        status("dated", "2026-07-01"),
        MarkerStatus::Stale { .. }
    ));
    assert_eq!(status("off", "2024-02-01"), MarkerStatus::Ended);
    let short = RecordConfig {
        marker_review_months: 3,
        ..RecordConfig::default()
    };
    let mut record = record.clone();
    record.set_config(short);
    let (key, _) = record
        .items()
        .find(|(_, i)| {
            i.kind() == ItemKind::Marker
                && i.current(SourceSystem::Nomis).unwrap().resource()["identifier"][0]["value"]
                    == "open"
        })
        .unwrap();
    assert!(matches!(
        record
            .marker_status(key, SourceSystem::Nomis, t("2024-06-01"))
            .unwrap(),
        MarkerStatus::Stale { .. }
    ));
}

#[test]
fn nothing_about_the_person_is_printed() {
    let pid = uid("p");
    let m = msg(
        "m",
        SourceSystem::Nomis,
        "2025-01-01T00:00:00Z",
        vec![
            patient(&pid, "Canaryname", "1990-01-01"),
            answer(
                &pid,
                &uid("o"),
                "triggers",
                "CANARY-TRIGGER",
                "2025-01-01",
                DataClass::RiskSelf,
            ),
        ],
        "record.updated",
    );
    let mut record = PersonRecord::default();
    let change = record.apply(&m.entry());
    let printed = format!("{record:?} {change:?} {:?}", m.entry());
    assert!(
        !printed.contains("Canaryname") && !printed.contains("CANARY-TRIGGER"),
        "{printed}"
    );
    assert!(printed.contains("[redacted]"));
}

#[test]
fn unlabelled_resources_are_skipped_not_fatal() {
    let bundle = serde_json::json!({"resourceType": "Bundle", "entry": [
        {"resource": {"resourceType": "Observation", "id": "x"}}, {"resource": "not an object"}, {}]});
    let entry = waymark_record::Entry {
        message_id: "m".into(),
        source: SourceSystem::Nomis,
        event_time: t("2025-01-01"),
        recorded_at: t("2025-01-01"),
        bundle: &bundle,
    };
    let mut record = PersonRecord::default();
    let change = record.apply(&entry);
    assert_eq!(change.skipped, 2);
    assert!(change.is_empty());
    assert!(record.has_message("m"));
    let nonsense = serde_json::json!([1, 2, 3]);
    let entry = waymark_record::Entry {
        message_id: "n".into(),
        bundle: &nonsense,
        ..entry
    };
    assert!(record.apply(&entry).is_empty());
}
