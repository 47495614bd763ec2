//! What only the SQLite store has: its file survives a reopen, and a database written by an
//! earlier version is upgraded in place (the generic promises are in `conformance_sqlite.rs`).

use chrono::{DateTime, Utc};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use waymark_core::{MessageId, Sensitive, SourceSystem};
use waymark_store::{
    ApplyOutcome, NewRecord, PersonChoice, QuarantineEntry, RecordChange, SqliteStore, Store,
    StrongId,
};

const NOMIS: &str = "https://fhir.waymark.org.uk/Id/nomis-prison-number";

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000 + secs, 0).unwrap()
}

fn prison_number(value: &str) -> StrongId {
    StrongId {
        system: NOMIS.into(),
        value: Sensitive::new(value.into()),
    }
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
    let pending = store
        .quarantined_for_redrive("map", None, 10)
        .await
        .unwrap();
    assert_eq!(pending[0].original.expose(), b"{not json");
}

#[tokio::test]
async fn merges_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let (p1, p2) = {
        let store = SqliteStore::open(&path).await.unwrap();
        let p1 = store
            .record(legacy("m1", "A1"))
            .await
            .unwrap()
            .event
            .person_id;
        let p2 = store
            .record(legacy("m2", "A2"))
            .await
            .unwrap()
            .event
            .person_id;
        let merge = waymark_store::MergeRequest {
            from: p2.clone(),
            into: p1.clone(),
            by: "reviewer".into(),
            reason: "test".into(),
            at: at(3),
            review_id: None,
            record: Sensitive::new("{}".into()),
            expected_versions: (0, 0),
            events: Vec::new(),
        };
        store.merge_persons(merge).await.unwrap();
        (p1, p2)
    };
    let store = SqliteStore::open(&path).await.unwrap();
    let info = store.person(&p2).await.unwrap().unwrap();
    assert_eq!(info.merged_into.as_deref(), Some(p1.as_str()));
    let links = store
        .find_by_identifiers(&[prison_number("A2")])
        .await
        .unwrap();
    assert_eq!(links[0].person_id, p1);
    assert_eq!(store.entries(&p1).await.unwrap().len(), 2);
}

fn legacy(key: &str, number: &str) -> NewRecord {
    NewRecord {
        message_id: MessageId::derive(SourceSystem::Nomis, key),
        source: SourceSystem::Nomis,
        message_type: "EXTERNAL_MOVEMENT_RECORD-INSERTED".into(),
        event_time: Some(at(1)),
        recorded_at: at(2),
        identifiers: vec![prison_number(number)],
        topic: "prison.reception".into(),
        bundle: Sensitive::new("{}".into()),
    }
}

/// A database at migration 3 (the version before identity resolution), with rows as that
/// version wrote them.
async fn version_3_database(path: &std::path::Path) -> (String, MessageId) {
    let old = tempfile::tempdir().unwrap();
    let migrations = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    for name in [
        "0001_foundation.sql",
        "0002_quarantine_resolution.sql",
        "0003_consent.sql",
    ] {
        std::fs::copy(migrations.join(name), old.path().join(name)).unwrap();
    }
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true);
    let pool = SqlitePoolOptions::new()
        .connect_with(options)
        .await
        .unwrap();
    sqlx::migrate::Migrator::new(old.path())
        .await
        .unwrap()
        .run(&pool)
        .await
        .unwrap();
    let person = "0b0b0b0b-0000-4000-8000-000000000001".to_owned();
    let message = MessageId::derive(SourceSystem::Nomis, "old-1");
    let statements = [
        "INSERT INTO person (person_id, created_at) VALUES (?1, '2023-11-14T22:13:20+00:00')",
        "INSERT INTO identity_link (system, value, person_id, linked_at) \
         VALUES ('https://fhir.waymark.org.uk/Id/nomis-prison-number', 'A5089DY', ?1, \
         '2023-11-14T22:13:20+00:00')",
        "INSERT INTO record_entry (message_id, person_id, source, message_type, event_time, \
         recorded_at, bundle) VALUES (?2, ?1, 'nomis', 't', NULL, \
         '2023-11-14T22:13:20+00:00', '{}')",
        "INSERT INTO pathway_event (event_id, message_id, person_id, topic, event_time) \
         VALUES (?3, ?2, ?1, 'prison.reception', '2023-11-14T22:13:20+00:00')",
    ];
    for sql in statements {
        sqlx::query(sql)
            .bind(&person)
            .bind(message.as_str())
            .bind(message.child("event").as_str())
            .execute(&pool)
            .await
            .unwrap();
    }
    pool.close().await;
    (person, message)
}

#[tokio::test]
async fn a_version_3_database_is_upgraded_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let (person, message) = version_3_database(&path).await;
    let store = SqliteStore::open(&path).await.unwrap();
    let entries = store.entries(&person).await.unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].origin_person_id, person, "origin backfilled");
    assert_eq!(
        store.person(&person).await.unwrap().unwrap().merged_into,
        None
    );
    let counts = store.counts().await.unwrap();
    assert_eq!((counts.persons, counts.records), (1, 1));
    let change = RecordChange {
        message_id: message.clone(),
        source: SourceSystem::Nomis,
        message_type: "t".into(),
        event_time: None,
        recorded_at: at(10),
        bundle: Sensitive::new("{}".into()),
        person: PersonChoice::New,
        identifiers: vec![prison_number("A5089DY")],
        demographics: Sensitive::new("{}".into()),
        block_keys: vec!["k".into()],
        expected_version: 0,
        record: Sensitive::new("{}".into()),
        events: Vec::new(),
        review: None,
    };
    let ApplyOutcome::AlreadyApplied { person_id, events } =
        store.apply(change.clone()).await.unwrap()
    else {
        panic!("an old message is applied already");
    };
    assert_eq!(person_id, person);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event_id, message.child("event"));
    let next = RecordChange {
        message_id: MessageId::derive(SourceSystem::Nomis, "new-1"),
        person: PersonChoice::Existing(person.clone()),
        ..change
    };
    let ApplyOutcome::Applied { new_person, .. } = store.apply(next).await.unwrap() else {
        panic!("a new message is applied");
    };
    assert!(!new_person);
    assert_eq!(
        store.person_record(&person).await.unwrap().unwrap().version,
        1
    );
    let links = store
        .find_by_identifiers(&[prison_number("A5089DY")])
        .await
        .unwrap();
    assert_eq!(links[0].person_id, person);
}
