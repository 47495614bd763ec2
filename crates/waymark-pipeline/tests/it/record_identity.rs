//! The record stage on a real embedded store: who a bundle is about (strong identifiers first,
//! then scored demographics, a review when unsure, never a silent merge), the merged record
//! (the same in any order, unchanged by a repeat) and the human decisions on identity.

use std::{path::Path, sync::Arc};

use serde_json::{Value, json};
use waymark_bus::{Bus, Delivery, DeliveryTag, Message, SqliteBus};
use waymark_core::{MessageId, SourceSystem};
use waymark_pipeline::{Decider, Handler, IdentityDesk, RecordStage, Step, Telemetry};
use waymark_profile::Validator;
use waymark_record::Topics;
use waymark_store::{IdentityEventKind, SqliteStore, Store, StrongId};

const NHS: &str = "https://fhir.nhs.uk/Id/nhs-number";
const PRISON: &str = "https://fhir.waymark.org.uk/Id/nomis-prison-number";
const BOOKING: &str = "https://fhir.waymark.org.uk/Id/nomis-booking-id";

struct Hub {
    _dir: tempfile::TempDir,
    store: Arc<SqliteStore>,
    bus: Arc<dyn Bus>,
    stage: RecordStage,
}

async fn hub() -> Hub {
    let dir = tempfile::tempdir().unwrap();
    let bus: Arc<dyn Bus> = Arc::new(SqliteBus::open(&dir.path().join("bus.db")).await.unwrap());
    waymark_pipeline::declare_all(bus.as_ref(), &[])
        .await
        .unwrap();
    let store = Arc::new(
        SqliteStore::open(&dir.path().join("store.db"))
            .await
            .unwrap(),
    );
    let stage = RecordStage::new(
        Arc::new(Validator::r4().unwrap()),
        store.clone(),
        bus.clone(),
        Telemetry::log_only(),
        Arc::new(Topics::builtin().unwrap()),
    );
    Hub {
        _dir: dir,
        store,
        bus,
        stage,
    }
}

fn fixture(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../mappings/nomis/tests")
        .join(format!("{name}.expected.json"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn patient_mut(bundle: &mut Value) -> &mut Value {
    bundle["entry"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .map(|e| &mut e["resource"])
        .find(|r| r["resourceType"] == "Patient")
        .unwrap()
}

fn with_identifiers(mut bundle: Value, ids: &[(&str, &str)]) -> Value {
    let ids: Vec<Value> = ids
        .iter()
        .map(|(system, value)| json!({"system": system, "value": value}))
        .collect();
    patient_mut(&mut bundle)["identifier"] = Value::Array(ids);
    bundle
}

/// Runs one bundle through the record stage as message `key` of `source`.
async fn record(hub: &Hub, key: &str, source: &str, bundle: &Value) -> MessageId {
    record_at(hub, key, source, bundle, None).await
}

/// [`record`] with the source's own event time.
async fn record_at(
    hub: &Hub,
    key: &str,
    source: &str,
    bundle: &Value,
    event_time: Option<&str>,
) -> MessageId {
    let source_system: SourceSystem = source.parse().unwrap();
    let id = MessageId::derive(source_system, key);
    let body = json!({
        "envelope": {"id": id, "source": source, "messageType": "TEST", "eventTime": event_time},
        "bundle": bundle,
    });
    let delivery = Delivery {
        queue: waymark_pipeline::RECORD.into(),
        tag: DeliveryTag(1),
        attempt: 1,
        message: Message::new(id.clone(), body.to_string().into_bytes()),
    };
    assert_eq!(hub.stage.handle(&delivery).await, Step::Done);
    id
}

async fn person_of(hub: &Hub, system: &str, value: &str) -> Option<String> {
    let id = StrongId {
        system: system.into(),
        value: waymark_core::Sensitive::new(value.into()),
    };
    let links = hub.store.find_by_identifiers(&[id]).await.unwrap();
    links.first().map(|l| l.person_id.clone())
}

#[tokio::test]
async fn strong_identifiers_link_and_a_new_identifier_of_the_same_person_is_added() {
    let hub = hub().await;
    let reception = fixture("synthetic-reception-with-alerts");
    record(&hub, "r1", "nomis", &reception).await;
    let transfer = with_identifiers(
        fixture("synthetic-transfer"),
        &[
            (PRISON, "G1234AB"),
            (BOOKING, "2200001"),
            (NHS, "9434765919"),
        ],
    );
    record(&hub, "t1", "nomis", &transfer).await;
    let person = person_of(&hub, PRISON, "G1234AB").await.unwrap();
    assert_eq!(person_of(&hub, NHS, "9434765919").await, Some(person));
    assert_eq!(hub.store.counts().await.unwrap().persons, 1);
    assert!(hub.store.reviews(true, 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn another_source_without_a_shared_identifier_is_linked_on_demographics() {
    let hub = hub().await;
    record(
        &hub,
        "r1",
        "nomis",
        &fixture("synthetic-reception-with-alerts"),
    )
    .await;
    // The same name and date of birth, known to another system by its own number only.
    let custody = with_identifiers(
        fixture("synthetic-transfer"),
        &[(
            "https://fhir.waymark.org.uk/Id/athena-local-id",
            "CUST-000123",
        )],
    );
    record(&hub, "a1", "athena", &custody).await;
    let counts = hub.store.counts().await.unwrap();
    assert_eq!((counts.persons, counts.records), (1, 2), "{counts:?}");
    let local = person_of(
        &hub,
        "https://fhir.waymark.org.uk/Id/athena-local-id",
        "CUST-000123",
    );
    assert_eq!(local.await, person_of(&hub, PRISON, "G1234AB").await);
}

#[tokio::test]
async fn one_nhs_number_on_two_people_is_a_review_not_a_silent_merge() {
    let hub = hub().await;
    let first = with_identifiers(
        fixture("synthetic-reception-with-alerts"),
        &[(PRISON, "G1234AB"), (NHS, "9434765919")],
    );
    record(&hub, "p1", "nomis", &first).await;
    let second = with_identifiers(
        fixture("real-external-movement-in"),
        &[(PRISON, "A5089DY"), (NHS, "9434765927")],
    );
    record(&hub, "p2", "nomis", &second).await;
    // The first person's NHS number beside the second person's prison number.
    let crossed = with_identifiers(
        fixture("real-external-movement-in"),
        &[(PRISON, "A5089DY"), (NHS, "9434765919")],
    );
    record(&hub, "p3", "nomis", &crossed).await;
    let reviews = hub.store.reviews(true, 10).await.unwrap();
    assert_eq!(reviews.len(), 1, "{reviews:?}");
    assert_eq!(reviews[0].reason, "identity.conflicting-identifiers");
    let first_person = person_of(&hub, NHS, "9434765919").await.unwrap();
    let second_person = person_of(&hub, PRISON, "A5089DY").await.unwrap();
    assert_ne!(first_person, second_person, "nothing merged");
    assert_eq!(
        person_of(&hub, NHS, "9434765927").await.unwrap(),
        second_person
    );
    assert_eq!(hub.store.counts().await.unwrap().quarantined, 0);
}

#[tokio::test]
async fn an_identifier_failing_its_check_digit_links_nothing_and_is_refused_with_its_reason() {
    let hub = hub().await;
    let bad = with_identifiers(
        fixture("synthetic-reception-with-alerts"),
        &[(PRISON, "G1234AB"), (NHS, "9434765918")],
    );
    record(&hub, "b1", "nomis", &bad).await;
    assert_eq!(person_of(&hub, NHS, "9434765918").await, None);
    assert_eq!(person_of(&hub, PRISON, "G1234AB").await, None);
    let quarantined = hub.store.quarantined(10).await.unwrap();
    assert_eq!(quarantined.len(), 1);
    assert_eq!(quarantined[0].code, "profile.invalid");
    let text = quarantined[0].outcome.to_string();
    assert!(
        !text.contains("9434765918"),
        "the outcome never quotes the value"
    );
}

#[tokio::test]
async fn a_bundle_about_nobody_identifiable_is_quarantined_with_its_reason() {
    let hub = hub().await;
    let mut nobody = fixture("synthetic-transfer");
    let patient = patient_mut(&mut nobody);
    for field in ["identifier", "name", "birthDate"] {
        patient.as_object_mut().unwrap().remove(field);
    }
    record(&hub, "n1", "nomis", &nobody).await;
    let quarantined = hub.store.quarantined(10).await.unwrap();
    assert_eq!(quarantined.len(), 1);
    assert!(
        ["store.no-identifier", "profile.invalid"].contains(&quarantined[0].code.as_str()),
        "{quarantined:?}"
    );
    assert_eq!(hub.store.counts().await.unwrap().persons, 0);
}

/// Messages of one person in a seeded random order.
fn shuffled<T: Clone>(items: &[T], seed: u64) -> Vec<T> {
    let mut out = items.to_vec();
    let mut state = seed;
    for i in (1..out.len()).rev() {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let j = usize::try_from(state >> 33).unwrap() % (i + 1);
        out.swap(i, j);
    }
    out
}

/// The record without the hub's own arrival times (`recorded_at`), which are not input: the
/// source's event times decide the merge.
fn without_arrival_times(record: &str) -> Value {
    fn strip(value: &mut Value) {
        match value {
            Value::Object(map) => {
                map.remove("recorded_at");
                map.values_mut().for_each(strip);
            }
            Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let mut value: Value = serde_json::from_str(record).unwrap();
    strip(&mut value);
    value
}

#[tokio::test]
async fn the_same_messages_in_any_order_give_the_same_record_and_repeats_change_nothing() {
    let ids = [(PRISON, "G1234AB"), (BOOKING, "2200001")];
    let messages: Vec<(String, Value, String)> = [
        "synthetic-reception-with-alerts",
        "synthetic-transfer",
        "synthetic-alert-inserted",
        "synthetic-alert-updated",
        "real-external-movement-out",
        "real-imprisonment-status-changed",
    ]
    .iter()
    .enumerate()
    .map(|(i, name)| {
        let at = format!("2026-03-0{}T10:00:00Z", 1 + i % 3); // ties in event time too
        (name.to_string(), with_identifiers(fixture(name), &ids), at)
    })
    .collect();
    let mut records = Vec::new();
    for seed in [1, 2, 3] {
        let hub = hub().await;
        for (key, bundle, at) in shuffled(&messages, seed) {
            record_at(&hub, &key, "nomis", &bundle, Some(&at)).await;
        }
        let person = person_of(&hub, PRISON, "G1234AB").await.unwrap();
        let before = hub.store.person_record(&person).await.unwrap().unwrap();
        for (key, bundle, at) in &messages {
            record_at(&hub, key, "nomis", bundle, Some(at)).await;
        }
        let after = hub.store.person_record(&person).await.unwrap().unwrap();
        assert_eq!(after.version, before.version, "a repeat changes nothing");
        assert_eq!(hub.store.counts().await.unwrap().records, 6);
        assert!(
            hub.bus
                .depth(waymark_pipeline::RELEASE)
                .await
                .unwrap()
                .total()
                > 0
        );
        records.push(without_arrival_times(after.record.expose()));
    }
    assert_eq!(records[0], records[1], "order 1 and 2");
    assert_eq!(records[0], records[2], "order 1 and 3");
}

#[tokio::test]
async fn a_merge_joins_two_records_and_an_unmerge_separates_them_again() {
    let hub = hub().await;
    let a = with_identifiers(
        fixture("synthetic-reception-with-alerts"),
        &[(PRISON, "G1234AB")],
    );
    let b = with_identifiers(fixture("real-external-movement-in"), &[(PRISON, "A5089DY")]);
    record(&hub, "a", "nomis", &a).await;
    record(&hub, "b", "nomis", &b).await;
    let (pa, pb) = (
        person_of(&hub, PRISON, "G1234AB").await.unwrap(),
        person_of(&hub, PRISON, "A5089DY").await.unwrap(),
    );
    assert_ne!(pa, pb);
    let alone = hub.store.person_record(&pa).await.unwrap().unwrap();
    let desk = IdentityDesk::new(hub.store.clone());
    let decider = Decider {
        by: "mpi-officer-1".into(),
        reason: "confirmed by custody healthcare".into(),
        at: chrono::Utc::now(),
    };
    let merge = desk.merge(&pb, &pa, None, &decider).await.unwrap();
    assert_eq!(person_of(&hub, PRISON, "A5089DY").await, Some(pa.clone()));
    assert_eq!(hub.store.entries(&pa).await.unwrap().len(), 2);
    let merged = hub.store.person_record(&pa).await.unwrap().unwrap();
    assert!(merged.record.expose().len() > alone.record.expose().len());
    assert!(
        desk.merge(&pa, &pb, None, &decider).await.is_err(),
        "merging back into the merged person is refused"
    );

    desk.unmerge(&pa, &merge.event_id, &decider).await.unwrap();
    assert_eq!(person_of(&hub, PRISON, "A5089DY").await, Some(pb.clone()));
    let restored = hub.store.person_record(&pa).await.unwrap().unwrap();
    assert_eq!(restored.record.expose(), alone.record.expose());
    let kinds: Vec<IdentityEventKind> = hub
        .store
        .identity_history(&pa)
        .await
        .unwrap()
        .iter()
        .map(|e| e.kind)
        .collect();
    assert!(kinds.contains(&IdentityEventKind::Merged), "{kinds:?}");
    assert!(kinds.contains(&IdentityEventKind::Unmerged), "{kinds:?}");
}

#[tokio::test]
async fn a_grey_zone_match_opens_a_review_that_a_human_decides_into_a_merge() {
    let hub = hub().await;
    record(
        &hub,
        "r1",
        "nomis",
        &fixture("synthetic-reception-with-alerts"),
    )
    .await;
    let known = person_of(&hub, PRISON, "G1234AB").await.unwrap();
    // The same name, a date of birth one digit out, no identifier in common: not enough to link.
    let mut custody = with_identifiers(
        fixture("synthetic-transfer"),
        &[(
            "https://fhir.waymark.org.uk/Id/athena-local-id",
            "CUST-000777",
        )],
    );
    patient_mut(&mut custody)["birthDate"] = json!("1991-07-24");
    record(&hub, "a1", "athena", &custody).await;
    let newcomer = person_of(
        &hub,
        "https://fhir.waymark.org.uk/Id/athena-local-id",
        "CUST-000777",
    )
    .await
    .unwrap();
    assert_ne!(newcomer, known, "never a silent merge");
    let reviews = hub.store.reviews(true, 10).await.unwrap();
    assert_eq!(reviews.len(), 1, "{reviews:?}");
    assert_eq!(reviews[0].reason, "identity.grey-zone");
    assert_eq!(reviews[0].person_id, newcomer);
    assert_eq!(reviews[0].candidates[0].person_id, known);

    let desk = IdentityDesk::new(hub.store.clone());
    let decider = Decider {
        by: "mpi-officer-1".into(),
        reason: "same person: date of birth mistyped at the custody desk".into(),
        at: chrono::Utc::now(),
    };
    let (review, merge) = desk
        .decide(&reviews[0].review_id, Some(&known), &decider)
        .await
        .unwrap();
    assert_eq!(review.status, waymark_store::ReviewStatus::SamePerson);
    assert!(merge.is_some());
    let local = person_of(
        &hub,
        "https://fhir.waymark.org.uk/Id/athena-local-id",
        "CUST-000777",
    );
    assert_eq!(local.await, Some(known.clone()));
    assert!(hub.store.reviews(true, 10).await.unwrap().is_empty());
    assert_eq!(hub.store.counts().await.unwrap().persons, 1);
}
