//! `SqliteStore::bulk_load` writes what `Store::apply` writes: the multi-row path for new
//! persons against `apply` one change at a time, and a repeated batch applies nothing.

use chrono::{DateTime, Utc};
use waymark_core::{MessageId, Sensitive, SourceSystem};
use waymark_store::{PersonChoice, RecordChange, SqliteStore, Store, StrongId};

const NOMIS: &str = "https://fhir.waymark.org.uk/Id/nomis-prison-number";

fn change(i: u32) -> RecordChange {
    let at = DateTime::<Utc>::from_timestamp(1_700_000_000 + i64::from(i), 0).unwrap();
    RecordChange {
        message_id: MessageId::derive(SourceSystem::Nomis, &format!("bulk-{i}")),
        source: SourceSystem::Nomis,
        message_type: "OFFENDER-UPDATED".into(),
        event_time: Some(at),
        recorded_at: at,
        bundle: Sensitive::new(format!("{{\"n\":{i}}}")),
        person: PersonChoice::New,
        identifiers: vec![StrongId {
            system: NOMIS.into(),
            value: Sensitive::new(format!("A{i:04}BC")),
        }],
        demographics: Sensitive::new(format!("{{\"d\":{i}}}")),
        block_keys: vec!["shared-key".into(), format!("own-{i}")],
        expected_version: 0,
        record: Sensitive::new("{}".into()),
        events: Vec::new(),
        review: None,
    }
}

async fn store(dir: &tempfile::TempDir, name: &str) -> SqliteStore {
    SqliteStore::open(&dir.path().join(name)).await.unwrap()
}

#[tokio::test]
async fn bulk_load_writes_the_rows_apply_writes() {
    let dir = tempfile::tempdir().unwrap();
    let (bulk, one_by_one) = (store(&dir, "bulk.db").await, store(&dir, "apply.db").await);
    let changes: Vec<RecordChange> = (0..250).map(change).collect();
    assert_eq!(bulk.bulk_load(changes.clone()).await.unwrap(), 250);
    for c in changes.clone() {
        one_by_one.apply(c).await.unwrap();
    }
    let (a, b) = (
        bulk.counts().await.unwrap(),
        one_by_one.counts().await.unwrap(),
    );
    assert_eq!((a.persons, a.records), (250, 250));
    assert_eq!((a.persons, a.records), (b.persons, b.records));
    let ids = [changes[7].identifiers[0].clone()];
    let (la, lb) = (
        bulk.find_by_identifiers(&ids).await.unwrap(),
        one_by_one.find_by_identifiers(&ids).await.unwrap(),
    );
    assert_eq!((la.len(), lb.len()), (1, 1));
    let (pa, pb) = (&la[0].person_id, &lb[0].person_id);
    let kinds =
        |h: Vec<waymark_store::IdentityEvent>| h.into_iter().map(|e| e.kind).collect::<Vec<_>>();
    assert_eq!(
        kinds(bulk.identity_history(pa).await.unwrap()),
        kinds(one_by_one.identity_history(pb).await.unwrap())
    );
    let keys = ["shared-key".to_owned()];
    let (ca, cb) = (
        bulk.candidates(&keys, 1_000).await.unwrap(),
        one_by_one.candidates(&keys, 1_000).await.unwrap(),
    );
    assert_eq!(ca.len(), cb.len());
    assert!(ca.iter().all(|c| c.demographics.len() == 1));
    // The same batch again: every message was applied before, nothing new.
    assert_eq!(bulk.bulk_load(changes).await.unwrap(), 0);
    assert_eq!(bulk.counts().await.unwrap().records, 250);
}
