//! Topics as data, and each topic firing on its trigger and not otherwise (on the real NOMIS
//! mapping fixtures where they fit, hand-built bundles elsewhere).

use crate::common;

use std::collections::BTreeSet;

use common::*;
use serde_json::json;
use waymark_core::{DataClass, ErrorCode, SourceSystem};
use waymark_record::{DetectedEvent, PersonRecord, RecordConfig, TopicError, Topics, detect};

/// Applies messages in turn; returns the topics each raised.
fn run(msgs: &[Msg]) -> Vec<BTreeSet<String>> {
    let topics = Topics::builtin().unwrap();
    let mut record = PersonRecord::new(RecordConfig::default());
    msgs.iter()
        .map(|m| {
            let before = record.clone();
            let change = record.apply(&m.entry());
            detect(&topics, &before, &record, &change)
                .into_iter()
                .map(|e| e.topic)
                .collect()
        })
        .collect()
}

fn events(msgs: &[Msg]) -> Vec<DetectedEvent> {
    let topics = Topics::builtin().unwrap();
    let mut record = PersonRecord::default();
    let mut last = Vec::new();
    for m in msgs {
        let before = record.clone();
        let change = record.apply(&m.entry());
        last = detect(&topics, &before, &record, &change);
    }
    last
}

fn set(topics: &[&str]) -> BTreeSet<String> {
    topics.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn the_builtin_topics_are_dataset_section_4() {
    let topics = Topics::builtin().unwrap();
    let codes: Vec<&str> = topics.iter().map(|t| t.code.as_str()).collect();
    assert_eq!(
        codes,
        [
            "custody.arrival",
            "custody.fit-decision",
            "custody.release",
            "court.warning",
            "prison.reception",
            "prison.transfer",
            "prison.release-planned",
            "prison.release",
            "risk.flag-raised",
            "risk.flag-ended",
            "medication.opiate-substitution",
            "health.discharge-after-overdose",
            "record.updated",
            "consent.changed",
        ]
    );
    for topic in topics.iter() {
        let slug = topic.code.replace('.', "-");
        assert_eq!(
            topic.url,
            format!("https://fhir.waymark.org.uk/SubscriptionTopic/{slug}")
        );
        assert!(!topic.description.is_empty());
        assert!(!topic.triggers.is_empty() || topic.raised_elsewhere.is_some());
    }
    assert!(topics.get("consent.changed").unwrap().triggers.is_empty());
    assert!(topics.get("ops.feed-quiet").is_none());
}

#[test]
fn malformed_topic_files_are_named_errors() {
    let good = |trigger: serde_json::Value| {
        json!({"version": 1, "topics": [
        {"code": "x.y", "url": "https://e/x", "title": "X", "description": "d", "triggers": [trigger]}]}).to_string()
    };
    let err = |text: &str| Topics::from_json(text).unwrap_err();
    assert!(matches!(err("{"), TopicError::Malformed(_)));
    assert!(matches!(
        err(r#"{"version": 2, "topics": []}"#),
        TopicError::UnsupportedVersion(2)
    ));
    let unknown = err(&good(
        json!({"change": ["added"], "dataClass": ["diagnosis"]}),
    ));
    assert!(matches!(&unknown, TopicError::UnknownDataClass { class, .. } if class == "diagnosis"));
    assert_eq!(unknown.code(), "record.topics.unknown-data-class");
    assert!(matches!(
        err(&good(json!({"change": ["added"], "field": "a..b"}))),
        TopicError::BadPath { .. }
    ));
    assert!(matches!(
        err(&good(
            json!({"change": ["added"], "where": [{"path": "a"}]})
        )),
        TopicError::BadPath { .. }
    ));
    assert!(matches!(
        err(&good(json!({"change": []}))),
        TopicError::EmptyChange(_)
    ));
    assert!(matches!(
        err(&good(json!({"change": ["refreshed"]}))),
        TopicError::EmptyChange(_)
    ));
    assert!(matches!(
        err(&good(json!({"change": ["added"], "colour": "red"}))),
        TopicError::Malformed(_)
    ));
    let none = json!({"version": 1, "topics": [{"code": "x", "url": "u", "title": "t", "description": "d"}]});
    assert!(matches!(err(&none.to_string()), TopicError::NoTrigger(_)));
    let twice = json!({"version": 1, "topics": [
        {"code": "x", "url": "u", "title": "t", "description": "d", "raisedElsewhere": "y"},
        {"code": "x", "url": "u", "title": "t", "description": "d", "raisedElsewhere": "y"}]});
    assert!(matches!(err(&twice.to_string()), TopicError::Duplicate(_)));
}

#[test]
fn nomis_reception_then_transfer() {
    let reception = fixture("synthetic-reception-with-alerts");
    let transfer = fixture("synthetic-transfer");
    let mut again = transfer.clone();
    again.id = "redelivered-under-a-new-id".into();
    again.time += chrono::TimeDelta::minutes(5);
    let raised = run(&[reception.clone(), transfer.clone(), again, transfer.clone()]);
    assert_eq!(
        raised[0],
        set(&[
            "prison.reception",
            "prison.release-planned",
            "risk.flag-raised",
            "record.updated"
        ])
    );
    assert_eq!(raised[1], set(&["prison.transfer", "record.updated"]));
    assert_eq!(raised[2], set(&[]), "the same content again is no change");
    assert_eq!(raised[3], set(&[]), "a duplicate raises nothing");
    let first = events(&[reception]);
    let flags = first
        .iter()
        .find(|e| e.topic == "risk.flag-raised")
        .unwrap();
    // HA (self-harm, active), RCON and TAH (risk to others, active); not the inactive HA1, not
    // the vulnerability or medical alerts
    assert_eq!(flags.focus.len(), 3);
    assert!(flags.focus.iter().all(|f| f.starts_with("Flag/")));
    let planned = first
        .iter()
        .find(|e| e.topic == "prison.release-planned")
        .unwrap();
    assert_eq!(planned.changed[0].key.as_str(), "expected-release-date");
    assert_eq!(
        planned.focus,
        ["Encounter/60391a31-a42e-5a6c-9922-f652dcedbd82"]
    );
    assert_eq!(planned.source, SourceSystem::Nomis);
    assert_eq!(planned.event_time, t("2024-05-02T15:05:11.123456Z"));
}

#[test]
fn nomis_alerts_raise_and_end_risk_flags() {
    let admitted = fixture("real-external-movement-in");
    let inserted = fixture("synthetic-alert-inserted");
    let updated = fixture("synthetic-alert-updated");
    let raised = run(&[admitted.clone(), inserted.clone(), updated.clone()]);
    assert!(raised[0].contains("risk.flag-raised") && raised[0].contains("prison.reception"));
    assert!(
        !raised[1].contains("risk.flag-raised"),
        "already known: {:?}",
        raised[1]
    );
    assert_eq!(raised[2], set(&["risk.flag-ended", "record.updated"]));
    assert_eq!(
        run(&[inserted])[0],
        set(&["risk.flag-raised", "record.updated"])
    );
    let ended = events(&[admitted, updated]);
    let ended = ended.iter().find(|e| e.topic == "risk.flag-ended").unwrap();
    assert_eq!(ended.changed.len(), 1);
    assert_eq!(ended.changed[0].kind, waymark_record::ChangeKind::Ended);
}

#[test]
fn nomis_release() {
    let raised = run(&[fixture("real-external-movement-out")]);
    assert_eq!(raised[0], set(&["prison.release", "record.updated"]));
    let raised = run(&[
        fixture("real-external-movement-in"),
        fixture("real-imprisonment-status-changed"),
    ]);
    assert!(!raised[1].contains("prison.release") && !raised[1].contains("prison.transfer"));
}

fn nomis(id: &str, time: &str, resources: Vec<serde_json::Value>, tag: &str) -> Msg {
    msg(id, SourceSystem::Nomis, time, resources, tag)
}

#[test]
fn release_planned_fires_when_known_or_changed_only() {
    let stay = |erd, destination| Stay {
        booking: "9",
        status: "in-progress",
        at: "LEI",
        earlier: &[],
        erd,
        destination,
    };
    let m = |id: &str, time: &str, s: &Stay<'_>| {
        nomis(id, time, vec![prison("p", &uid("e"), s)], "record.updated")
    };
    let raised = run(&[
        m("a", "2025-01-01T00:00:00Z", &stay(None, None)),
        m("b", "2025-01-02T00:00:00Z", &stay(Some("2025-11-30"), None)),
        m(
            "c",
            "2025-01-03T00:00:00Z",
            &stay(Some("2025-11-30"), Some("Approved premises")),
        ),
        m(
            "d",
            "2025-01-04T00:00:00Z",
            &stay(Some("2026-01-15"), Some("Approved premises")),
        ),
        m("e", "2025-01-05T00:00:00Z", &stay(None, None)),
    ]);
    assert!(!raised[0].contains("prison.release-planned"));
    assert!(raised[1].contains("prison.release-planned"));
    assert!(
        raised[2].contains("prison.release-planned"),
        "destination known"
    );
    assert!(raised[3].contains("prison.release-planned"), "date changed");
    assert!(
        !raised[4].contains("prison.release-planned"),
        "cleared is not planned"
    );
    assert!(raised[4].contains("record.updated"));
}

#[test]
fn custody_arrival_fit_decision_and_release() {
    let pid = "p";
    let fit = answer(
        pid,
        &uid("fit"),
        "fit-to-detain",
        &format!("{B}CodeSystem/hjmd-fitness|fit"),
        "2026-01-05T03:00:00Z",
        DataClass::Detention,
    );
    let raised = run(&[
        msg(
            "arr",
            SourceSystem::Athena,
            "2026-01-05T02:10:00Z",
            vec![custody(pid, &uid("c"), "CR1", "in-progress")],
            "custody.arrival",
        ),
        msg(
            "fit",
            SourceSystem::Athena,
            "2026-01-05T03:00:00Z",
            vec![fit],
            "custody.fit-decision",
        ),
        msg(
            "rel",
            SourceSystem::Athena,
            "2026-01-05T14:00:00Z",
            vec![custody(pid, &uid("c"), "CR1", "finished")],
            "custody.release",
        ),
    ]);
    assert_eq!(raised[0], set(&["custody.arrival", "record.updated"]));
    assert_eq!(raised[1], set(&["custody.fit-decision", "record.updated"]));
    assert_eq!(raised[2], set(&["custody.release", "record.updated"]));
}

#[test]
fn court_warning_needs_the_court_tag_and_a_risk_flag() {
    let warn = |tag: &str| {
        msg(
            "w",
            SourceSystem::Nomis,
            "2026-01-05T10:00:00Z",
            vec![flag(
                "p",
                &uid("w"),
                "court-1",
                DataClass::RiskSelf,
                "active",
                "2026-01-05",
                None,
            )],
            tag,
        )
    };
    assert_eq!(
        run(&[warn("court.warning")])[0],
        set(&["court.warning", "risk.flag-raised", "record.updated"])
    );
    assert!(!run(&[warn("record.updated")])[0].contains("court.warning"));
    let other = msg(
        "o",
        SourceSystem::Nomis,
        "2026-01-05T10:00:00Z",
        vec![flag(
            "p",
            &uid("o"),
            "court-2",
            DataClass::RiskOthers,
            "active",
            "2026-01-05",
            None,
        )],
        "court.warning",
    );
    assert!(
        !run(&[other])[0].contains("court.warning"),
        "not a self-harm / mental health flag"
    );
}

#[test]
fn opiate_substitution_started_or_changed() {
    let ost = |id: &str, v: &str| {
        msg(
            id,
            SourceSystem::Excelicare,
            "2026-01-05T10:00:00Z",
            vec![answer(
                "p",
                &uid(id),
                "ost-current",
                v,
                "2026-01-05",
                DataClass::Substance,
            )],
            "record.updated",
        )
    };
    assert!(run(&[ost("y", "Y")])[0].contains("medication.opiate-substitution"));
    assert!(!run(&[ost("n", "N")])[0].contains("medication.opiate-substitution"));
    let med = |id: &str, class: &str, status: &str, time: &str| {
        msg(
            id,
            SourceSystem::Systmone,
            time,
            vec![medication(
                "p",
                &uid(id),
                "rx-1",
                "Methadone 60mg",
                class,
                status,
                "2026-01-05",
            )],
            "record.updated",
        )
    };
    let raised = run(&[
        med(
            "m1",
            "opiate-substitution",
            "active",
            "2026-01-05T10:00:00Z",
        ),
        med(
            "m2",
            "opiate-substitution",
            "stopped",
            "2026-02-05T10:00:00Z",
        ),
    ]);
    assert!(raised[0].contains("medication.opiate-substitution"));
    assert!(
        raised[1].contains("medication.opiate-substitution"),
        "stopping is a change"
    );
    assert!(
        !run(&[med(
            "m3",
            "antidepressants",
            "active",
            "2026-01-05T10:00:00Z"
        )])[0]
            .contains("medication.opiate-substitution")
    );
}

#[test]
fn discharge_after_overdose_only() {
    let d = |reason: serde_json::Value| {
        msg(
            "d",
            SourceSystem::Scr,
            "2026-01-03T12:00:00Z",
            vec![discharge("p", &uid("d"), reason)],
            "record.updated",
        )
    };
    let snomed = json!({"coding": [{"system": "http://snomed.info/sct", "code": "55680006"}]});
    assert!(run(&[d(snomed)])[0].contains("health.discharge-after-overdose"));
    assert!(
        run(&[d(json!({"text": "Opiate Overdose"}))])[0]
            .contains("health.discharge-after-overdose")
    );
    assert!(
        !run(&[d(json!({"text": "Fractured wrist"}))])[0]
            .contains("health.discharge-after-overdose")
    );
}

#[test]
fn record_updated_fires_on_any_change_and_consent_is_raised_elsewhere() {
    let consent = json!({"resourceType": "Consent", "id": uid("c"), "status": "active",
        "meta": {"security": labels(DataClass::Consent)}, "dateTime": "2026-01-01",
        "patient": {"reference": "urn:uuid:p"}, "provision": {"type": "permit"}});
    let raised = run(&[msg(
        "c",
        SourceSystem::Scr,
        "2026-01-01T00:00:00Z",
        vec![consent],
        "consent.changed",
    )]);
    assert_eq!(raised[0], set(&["record.updated"]));
    let empty = run(&[msg(
        "e",
        SourceSystem::Scr,
        "2026-01-01T00:00:00Z",
        vec![],
        "record.updated",
    )]);
    assert!(
        empty[0].is_empty(),
        "an entry that changes nothing raises nothing"
    );
}

#[test]
fn events_carry_keys_and_references_never_values() {
    let all = events(&[fixture("synthetic-reception-with-alerts")]);
    let text = serde_json::to_string(&all).unwrap();
    for value in [
        "G1234AB",
        "2200001",
        "Testperson",
        "ACCT",
        "LEI",
        "2025-11-30",
    ] {
        assert!(!text.contains(value), "event leaks `{value}`: {text}");
    }
    let updated = all.iter().find(|e| e.topic == "record.updated").unwrap();
    assert!(updated.changed.iter().any(|c| c.key.as_str() == "patient"));
}
