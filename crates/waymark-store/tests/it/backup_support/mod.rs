//! A synthetic store content for the backup round trips, and a full snapshot of what a store
//! answers about it (with the patient-data fields exposed, so "identical" means identical).
#![allow(dead_code)]

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use waymark_core::{MessageId, Sensitive, SourceSystem};
use waymark_store::{
    ApplyOutcome, MergeRequest, NewConsent, NewEvent, NewReview, PersonChoice, QuarantineEntry,
    RecordChange, ReviewCandidate, Store, StrongId,
};

const NOMIS: &str = "https://fhir.waymark.org.uk/Id/nomis-prison-number";

/// A fixed instant plus `secs`.
pub fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000 + secs, 0).expect("time")
}

/// Message `key` about `person`, with one identifier and one blocking key.
pub fn change(key: &str, secs: i64, person: PersonChoice, expected: u64) -> RecordChange {
    RecordChange {
        message_id: MessageId::derive(SourceSystem::Nomis, key),
        source: SourceSystem::Nomis,
        message_type: "OFFENDER-UPDATED".to_owned(),
        event_time: Some(at(secs)),
        recorded_at: at(secs),
        bundle: Sensitive::new(json!({"bundle-of": key, "text": "é ✓"}).to_string()),
        person,
        identifiers: vec![StrongId {
            system: NOMIS.to_owned(),
            value: Sensitive::new(format!("A{key}")),
        }],
        demographics: Sensitive::new(json!({"demographics-of": key}).to_string()),
        block_keys: vec![format!("key-{}", &key[..1])],
        expected_version: expected,
        record: Sensitive::new(json!({"record-after": key}).to_string()),
        events: vec![NewEvent {
            topic: "record.updated".to_owned(),
            event_time: at(secs),
            detail: json!({"items": ["identity"]}),
        }],
        review: None,
    }
}

fn person_of(outcome: ApplyOutcome) -> String {
    match outcome {
        ApplyOutcome::Applied { person_id, .. }
        | ApplyOutcome::AlreadyApplied { person_id, .. } => person_id,
    }
}

/// The key of fixture message `i` (its identifier is `A<key>`).
pub fn key(i: usize) -> String {
    format!("{}{i:04}", ["a", "b", "c"][i % 3])
}

/// Fills a store: persons with entries (one merged into another, one with a review),
/// quarantine entries (one resolved), consents (one withdrawn), event numbers. Returns the
/// person ids.
pub async fn populate(store: &dyn Store, n: usize) -> Vec<String> {
    let mut persons: Vec<String> = Vec::new();
    for i in 0..n {
        let key = key(i);
        let secs = i64::try_from(i).expect("small") * 60;
        let mut c = change(&key, secs, PersonChoice::New, 0);
        if i == 1 {
            c.review = Some(NewReview {
                reason: "identity.grey-zone".to_owned(),
                candidates: vec![ReviewCandidate {
                    person_id: persons[0].clone(),
                    score: 0.75,
                    breakdown: json!({"name": 0.5, "dob": 0.25}),
                }],
            });
        }
        let person = person_of(store.apply(c).await.expect("apply"));
        let update = change(
            &format!("{key}-2"),
            secs + 30,
            PersonChoice::Existing(person.clone()),
            1,
        );
        let update = RecordChange {
            identifiers: Vec::new(),
            ..update
        };
        store.apply(update).await.expect("apply update");
        persons.push(person);
    }
    if n >= 4 {
        let versions = (2, 2);
        store
            .merge_persons(MergeRequest {
                from: persons[3].clone(),
                into: persons[2].clone(),
                by: "reviewer-1".to_owned(),
                reason: "same person".to_owned(),
                at: at(100_000),
                review_id: None,
                record: Sensitive::new(json!({"merged": true}).to_string()),
                expected_versions: versions,
                events: Vec::new(),
            })
            .await
            .expect("merge");
    }
    for (i, person) in persons.iter().enumerate().take(3) {
        let consent = json!({"resourceType": "Consent", "id": format!("c{i}"), "status": "active"});
        store
            .put_consent(NewConsent {
                person_id: person.clone(),
                consent_id: format!("c{i}"),
                status: "active".to_owned(),
                consent: Sensitive::new(consent.to_string()),
                recorded_at: at(200_000),
            })
            .await
            .expect("put consent");
    }
    store
        .withdraw_consent(&persons[0], "c0", at(200_100))
        .await
        .expect("withdraw");
    for i in 0..5u8 {
        store
            .quarantine(QuarantineEntry {
                message_id: MessageId::derive(SourceSystem::Nomis, &format!("bad-{i}")),
                source: Some(SourceSystem::Nomis),
                message_type: Some("OFFENDER-UPDATED".to_owned()),
                stage: "map".to_owned(),
                code: "mapping.runtime".to_owned(),
                outcome: json!({"resourceType": "OperationOutcome", "issue": [{"code": "processing"}]}),
                original: Sensitive::new(vec![0, 159, 146, 150, i, 255]),
                quarantined_at: at(300_000 + i64::from(i)),
            })
            .await
            .expect("quarantine");
    }
    let first = MessageId::derive(SourceSystem::Nomis, "bad-0");
    let resolution = waymark_store::Resolution {
        resolved_at: Some(at(300_100)),
        redrive_id: first.child("redrive-1"),
        by: "mappings nomis@1; profiles hjmd@0.1".to_owned(),
    };
    store
        .resolve_quarantined(first.as_str(), &resolution)
        .await
        .expect("resolve");
    for event in events_of(store, &persons).await {
        store.event_number("sub-1", &event).await.expect("number");
    }
    populate_subscriptions(store).await;
    persons
}

/// Two subscriptions (one with its status changed), secrets and non-ASCII in their bodies.
async fn populate_subscriptions(store: &dyn Store) {
    for id in ["sub-1", "sub-2"] {
        let body = json!({"id": id, "secret": format!("whsec-{id}"), "name": "é ✓"});
        store
            .put_subscription(id, &body.to_string(), "active", Some(0))
            .await
            .expect("put subscription");
    }
    store
        .set_subscription_status("sub-2", "off")
        .await
        .expect("status");
}

/// Every pathway event of the persons' entries (`<message>/event/0`).
async fn events_of(store: &dyn Store, persons: &[String]) -> Vec<MessageId> {
    let mut events = Vec::new();
    for p in persons {
        for e in store.entries(p).await.expect("entries") {
            events.push(MessageId::from_stored(e.message_id).child("event/0"));
        }
    }
    events
}

/// Subscription changes after a backup (which a restore must undo): `sub-2` deleted, `sub-1`
/// rewritten, `sub-3` created.
pub async fn change_subscriptions(store: &dyn Store) {
    assert!(store.delete_subscription("sub-2").await.expect("delete"));
    store
        .put_subscription("sub-1", "{}", "error", Some(1))
        .await
        .expect("update");
    store
        .put_subscription("sub-3", "{}", "active", None)
        .await
        .expect("create");
}

/// Everything the store answers about the persons, as JSON with the content exposed.
pub async fn snapshot(store: &dyn Store, persons: &[String]) -> Value {
    let ids: Vec<StrongId> = (0..persons.len() + 10)
        .map(|i| StrongId {
            system: NOMIS.to_owned(),
            value: Sensitive::new(format!("A{}", key(i))),
        })
        .collect();
    let links: Vec<Value> = store
        .find_by_identifiers(&ids)
        .await
        .expect("links")
        .into_iter()
        .map(|l| json!([l.value.expose(), l.person_id]))
        .collect();
    let mut people = Vec::new();
    for p in persons {
        people.push(person_snapshot(store, p).await);
    }
    let quarantine = store.quarantined(1_000).await.expect("quarantined");
    let redrive: Vec<Value> = store
        .quarantined_for_redrive("map", None, 1_000)
        .await
        .expect("redrive")
        .into_iter()
        .map(|q| json!([q.summary.message_id, q.original.expose()]))
        .collect();
    let mut numbers = Vec::new();
    for event in events_of(store, persons).await {
        numbers.push(store.event_number("sub-1", &event).await.expect("number"));
    }
    let subscriptions: Vec<Value> = store
        .subscriptions()
        .await
        .expect("subscriptions")
        .into_iter()
        .map(|s| json!([s.id, s.body.expose(), s.status, s.version, s.updated_at]))
        .collect();
    let sub_events: Vec<Value> = store
        .subscription_events("sub-1", 1, u64::MAX, 1_000)
        .await
        .expect("subscription events")
        .into_iter()
        .map(|e| json!([e.number, e.event]))
        .collect();
    let since_start = store
        .events_since_start("sub-1")
        .await
        .expect("since start");
    let keys: Vec<String> = ["key-a", "key-b", "key-c"].map(str::to_owned).to_vec();
    let candidates: Vec<Value> = store
        .candidates(&keys, 1_000)
        .await
        .expect("candidates")
        .into_iter()
        .map(|c| {
            json!([
                c.person_id,
                c.demographics
                    .iter()
                    .map(|d| d.expose().clone())
                    .collect::<Vec<_>>()
            ])
        })
        .collect();
    json!({
        "counts": store.counts().await.expect("counts"),
        "persons": people,
        "quarantine": quarantine,
        "redrive": redrive,
        "numbers": numbers,
        "subscriptions": subscriptions,
        "subscription_events": sub_events,
        "events_since_start": since_start,
        "reviews": store.reviews(false, 1_000).await.expect("reviews"),
        "candidates": candidates,
        "links": links,
    })
}

async fn person_snapshot(store: &dyn Store, p: &str) -> Value {
    let record = store
        .person_record(p)
        .await
        .expect("record")
        .map(|r| json!([r.version, r.record.expose()]));
    let entries: Vec<Value> = store
        .entries(p)
        .await
        .expect("entries")
        .into_iter()
        .map(|e| {
            json!([
                e.message_id,
                e.person_id,
                e.origin_person_id,
                e.source,
                e.message_type,
                e.event_time,
                e.recorded_at,
                e.bundle.expose()
            ])
        })
        .collect();
    let consents: Vec<Value> = store
        .consents(p)
        .await
        .expect("consents")
        .into_iter()
        .map(|c| {
            json!([
                c.consent_id,
                c.version,
                c.consent.expose(),
                c.status,
                c.recorded_at
            ])
        })
        .collect();
    json!({
        "person": store.person(p).await.expect("person"),
        "record": record,
        "entries": entries,
        "consents": consents,
        "history": store.identity_history(p).await.expect("history"),
        "recipients": store.past_recipients(p).await.expect("recipients"),
        "latest": store.latest_bundle(p).await.expect("latest").map(|b| b.expose().clone()),
    })
}
