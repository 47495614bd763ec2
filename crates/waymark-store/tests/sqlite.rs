//! The SQLite store against a real database file.

use chrono::{DateTime, Utc};
use waymark_core::{MessageId, Sensitive, SourceSystem};
use waymark_store::{NewRecord, QuarantineEntry, SqliteStore, Store, StoreError, StrongId};

const NOMIS: &str = "https://fhir.waymark.org.uk/Id/nomis-prison-number";
const BOOKING: &str = "https://fhir.waymark.org.uk/Id/nomis-booking-id";

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000 + secs, 0).unwrap()
}

fn id(system: &str, value: &str) -> StrongId {
    StrongId {
        system: system.into(),
        value: Sensitive::new(value.into()),
    }
}

fn record(key: &str, ids: Vec<StrongId>) -> NewRecord {
    NewRecord {
        message_id: MessageId::derive(SourceSystem::Nomis, key),
        source: SourceSystem::Nomis,
        message_type: "EXTERNAL_MOVEMENT_RECORD-INSERTED".into(),
        event_time: Some(at(10)),
        recorded_at: at(20),
        identifiers: ids,
        topic: "prison.reception".into(),
        bundle: Sensitive::new("{}".into()),
    }
}

async fn open() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("store.db"))
        .await
        .unwrap();
    (dir, store)
}

#[tokio::test]
async fn applying_a_record_twice_changes_nothing() {
    let (_dir, store) = open().await;
    let first = store
        .record(record("m1", vec![id(NOMIS, "A5089DY")]))
        .await
        .unwrap();
    let again = store
        .record(record("m1", vec![id(NOMIS, "A5089DY")]))
        .await
        .unwrap();
    assert!(first.applied_now && first.new_person);
    assert!(!again.applied_now);
    assert_eq!(first.event, again.event);
    let counts = store.counts().await.unwrap();
    assert_eq!((counts.persons, counts.records), (1, 1));
}

#[tokio::test]
async fn strong_identifiers_link_records_to_one_person() {
    let (_dir, store) = open().await;
    let a = store
        .record(record("m1", vec![id(NOMIS, "A5089DY")]))
        .await
        .unwrap();
    let b = store
        .record(record(
            "m2",
            vec![id(BOOKING, "1200835"), id(NOMIS, "A5089DY")],
        ))
        .await
        .unwrap();
    let c = store
        .record(record("m3", vec![id(BOOKING, "1200835")]))
        .await
        .unwrap();
    assert_eq!(a.event.person_id, b.event.person_id);
    assert_eq!(b.event.person_id, c.event.person_id);
    assert!(!b.new_person && !c.new_person);
    let other = store
        .record(record("m4", vec![id(NOMIS, "A6089DY")]))
        .await
        .unwrap();
    assert_ne!(other.event.person_id, a.event.person_id);
}

#[tokio::test]
async fn identifiers_of_two_persons_in_one_record_are_refused() {
    let (_dir, store) = open().await;
    store
        .record(record("m1", vec![id(NOMIS, "A5089DY")]))
        .await
        .unwrap();
    store
        .record(record("m2", vec![id(NOMIS, "A6089DY")]))
        .await
        .unwrap();
    let err = store
        .record(record(
            "m3",
            vec![id(NOMIS, "A5089DY"), id(NOMIS, "A6089DY")],
        ))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::ConflictingIdentity(_)), "{err}");
    let err = store.record(record("m4", vec![])).await.unwrap_err();
    assert!(matches!(err, StoreError::NoIdentifier(_)), "{err}");
    assert_eq!(store.counts().await.unwrap().records, 2);
}

#[tokio::test]
async fn event_numbers_are_stable_and_gap_free_per_subscription() {
    let (_dir, store) = open().await;
    let e1 = MessageId::derive(SourceSystem::Nomis, "e1");
    let e2 = MessageId::derive(SourceSystem::Nomis, "e2");
    assert_eq!(store.event_number("probation", &e1).await.unwrap(), 1);
    assert_eq!(store.event_number("probation", &e2).await.unwrap(), 2);
    assert_eq!(store.event_number("probation", &e1).await.unwrap(), 1);
    assert_eq!(store.event_number("healthcare", &e2).await.unwrap(), 1);
}

#[tokio::test]
async fn quarantine_keeps_original_bytes_once_and_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let entry = QuarantineEntry {
        message_id: MessageId::derive(SourceSystem::Nomis, "bad"),
        source: Some(SourceSystem::Nomis),
        message_type: Some("unparseable".into()),
        stage: "map".into(),
        code: "mapping.not-json".into(),
        outcome: serde_json::json!({"resourceType": "OperationOutcome"}),
        original: Sensitive::new(b"{not json".to_vec()),
        quarantined_at: at(5),
    };
    {
        let store = SqliteStore::open(&path).await.unwrap();
        store.quarantine(entry.clone()).await.unwrap();
        store.quarantine(entry).await.unwrap();
    }
    let store = SqliteStore::open(&path).await.unwrap();
    let listed = store.quarantined(10).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].code, "mapping.not-json");
    assert_eq!(listed[0].stage, "map");
    assert_eq!(store.counts().await.unwrap().quarantined, 1);
}
