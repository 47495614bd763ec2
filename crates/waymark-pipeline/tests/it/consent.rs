//! Consent at the release stage: a withdrawal stops what the next release carries, and the
//! person's past recipients get a `consent.changed` notice through the normal release path.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use waymark_bus::{
    Bus, BusError, Delivery, Disposition, Message, Published, QueueDepth, QueueSpec, SqliteBus,
};
use waymark_core::{MessageId, Sensitive, SourceSystem};
use waymark_delivery::{EventMeta, Subscription, queue_name};
use waymark_pipeline::{ConsentChangeError, ReleaseStage, Telemetry};
use waymark_policy::Policy;
use waymark_profile::Validator;
use waymark_store::{NewRecord, SqliteStore, Store, StrongId};

const DETENTION_ENCOUNTER: &str = "7a2d3e4f-9a4b-5c2d-8e3f-1b2c3d4e5f60";

fn sub(id: &str, topic: &str) -> Subscription {
    serde_json::from_value(json!({
        "version": 1, "id": id, "topic": topic, "endpoint": "http://127.0.0.1:9/",
        "recipient": {"organisation": "A81001", "role": "gp", "purpose": "direct-care"},
        "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw0123456789ab",
        "payload": "full-resource", "enabled": true
    }))
    .unwrap()
}

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000 + secs, 0).unwrap()
}

fn gp_permit() -> Value {
    json!({
        "resourceType": "Consent", "id": "c1", "status": "active",
        "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope",
                              "code": "patient-privacy"}]},
        "dateTime": "2023-01-01",
        "provision": {"type": "permit", "actor": [{
            "role": {"coding": [{"system": waymark_policy::consent::RECIPIENT_ROLE_SYSTEM, "code": "gp"}]},
            "reference": {"identifier": {"value": "A81001"}}}]}
    })
}

/// Receives and acks everything `sub`'s queue holds: (message id, body) in delivery order.
async fn drain(bus: &dyn Bus, sub: &str) -> Vec<(String, String)> {
    let mut all = Vec::new();
    while let Some(d) = bus
        .receive(&queue_name(sub), Duration::from_millis(200))
        .await
        .unwrap()
    {
        bus.ack(&d).await.unwrap();
        let body = String::from_utf8_lossy(d.message.body.expose()).into_owned();
        all.push((d.message.id.as_str().to_owned(), body));
    }
    all
}

async fn next_body(bus: &dyn Bus, sub: &str) -> String {
    let d = bus
        .receive(&queue_name(sub), Duration::from_millis(200))
        .await
        .unwrap()
        .unwrap();
    bus.ack(&d).await.unwrap();
    String::from_utf8_lossy(d.message.body.expose()).into_owned()
}

#[tokio::test]
async fn withdrawal_stops_releases_and_notifies_past_recipients() {
    let dir = tempfile::tempdir().unwrap();
    let bus: Arc<dyn Bus> = Arc::new(SqliteBus::open(&dir.path().join("bus.db")).await.unwrap());
    let subs = vec![
        sub("s-gp", "prison.reception"),
        sub("s-gp-consent", "consent.changed"),
    ];
    waymark_pipeline::declare_all(bus.as_ref(), &subs)
        .await
        .unwrap();
    let store = Arc::new(
        SqliteStore::open(&dir.path().join("store.db"))
            .await
            .unwrap(),
    );
    let bundle = include_str!("../../../waymark-profile/tests/fixtures/valid/full-dataset.json");
    let recorded = store
        .record(NewRecord {
            message_id: MessageId::derive(SourceSystem::Nomis, "m1"),
            source: SourceSystem::Nomis,
            message_type: "t".into(),
            event_time: Some(at(1)),
            recorded_at: at(2),
            identifiers: vec![StrongId {
                system: "https://fhir.waymark.org.uk/Id/nomis-prison-number".into(),
                value: Sensitive::new("A1234BC".into()),
            }],
            topic: "prison.reception".into(),
            bundle: Sensitive::new(bundle.into()),
        })
        .await
        .unwrap();
    let person = recorded.event.person_id.clone();
    // The GP practice received this person's reception event before.
    store
        .event_number("s-gp", &recorded.event.event_id)
        .await
        .unwrap();
    let stage = ReleaseStage {
        validator: Arc::new(Validator::r4().unwrap()),
        policy: Arc::new(Policy::builtin().unwrap()),
        subscriptions: waymark_pipeline::SubscriptionSet::fixed(subs),
        store: store.clone(),
        audit: store.clone(),
        bus: bus.clone(),
        retry_window: waymark_delivery::RETRY_WINDOW,
        telemetry: Telemetry::log_only(),
    };

    let given = stage
        .record_consent(&person, &gp_permit(), at(3))
        .await
        .unwrap();
    assert_eq!(given.notified, ["s-gp-consent"]);
    let with_consent = next_body(bus.as_ref(), "s-gp-consent").await;
    assert!(
        with_consent.contains(DETENTION_ENCOUNTER),
        "consent-based detention released"
    );

    // A reception notification for the GP is queued but not yet delivered, beside another
    // person's notification on the same queue.
    let validator = Validator::r4().unwrap();
    let canonical = validator
        .validate(serde_json::from_str(bundle).unwrap())
        .unwrap();
    let gp = stage.subscriptions.snapshot()[0].clone();
    // Queued as the release stage queues: keyed on the hub's person.
    let released = stage
        .policy
        .release(&canonical, &gp.recipient)
        .unwrap()
        .for_person(&person);
    let patient_id = released.patient_id().to_owned();
    let queued = EventMeta {
        event_id: MessageId::derive(SourceSystem::Nomis, "reception-2"),
        event_number: 2,
        topic: "prison.reception".into(),
        timestamp: at(3),
        patient_id: patient_id.clone(),
    };
    waymark_delivery::enqueue(bus.as_ref(), &gp, &queued, released)
        .await
        .unwrap();
    let queued_id = queued.event_id.child(&gp.id);
    let other = Message::new(
        MessageId::derive(SourceSystem::Nomis, "other"),
        b"x".to_vec(),
    )
    .with_key("another-patient");
    bus.publish(&queue_name("s-gp"), other.clone())
        .await
        .unwrap();

    let withdrawn = stage
        .withdraw_consent(&person, "c1", at(4))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(withdrawn.event.topic, "consent.changed");
    assert_eq!(
        withdrawn.purged, 1,
        "the undelivered notification is purged"
    );
    // The recall reaches the past recipient's `prison.reception` subscription too.
    assert_eq!(withdrawn.notified, ["s-gp", "s-gp-consent"]);
    let after = next_body(bus.as_ref(), "s-gp-consent").await;
    assert!(
        !after.contains(DETENTION_ENCOUNTER),
        "withdrawn at once: the next release stops"
    );
    assert!(after.contains("consent.changed"));

    let on_gp = drain(bus.as_ref(), "s-gp").await;
    let ids: Vec<&str> = on_gp.iter().map(|(id, _)| id.as_str()).collect();
    let recall_id = withdrawn.event.event_id.child("s-gp");
    assert_eq!(
        ids,
        [other.id.as_str(), recall_id.as_str()],
        "the queued notification {queued_id} is gone; another person's stays; the recall follows"
    );
    let recall: Value = serde_json::from_str(&on_gp[1].1).unwrap();
    let entries = recall["entry"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "a recall carries no data: {recall}");
    assert!(on_gp[1].1.contains(&format!("Patient/{patient_id}")));
    assert!(on_gp[1].1.contains("consent.changed"));
    // Withdrawing again repeats the purge and the recall for the same event; nothing is queued
    // twice.
    let again = stage
        .withdraw_consent(&person, "c1", at(5))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.event.event_id, withdrawn.event.event_id);
    assert_eq!(again.event.event_time, at(4));
    assert_eq!(again.purged, 0);
    assert_eq!(again.notified, ["s-gp", "s-gp-consent"]);
    assert!(drain(bus.as_ref(), "s-gp").await.is_empty());
    assert!(drain(bus.as_ref(), "s-gp-consent").await.is_empty());
    assert!(
        stage
            .withdraw_consent(&person, "c9", at(5))
            .await
            .unwrap()
            .is_none(),
        "no such consent"
    );

    let malformed = json!({"resourceType": "Consent", "id": "c2"});
    let err = stage
        .record_consent(&person, &malformed, at(6))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ConsentChangeError::Malformed(_)),
        "refused as malformed: {err:?}"
    );
}

/// A bus whose next `purge_key` or `publish` on a named queue fails once.
struct Flaky {
    inner: SqliteBus,
    fail_purge: Mutex<Option<String>>,
    fail_publish: Mutex<Option<String>>,
}

impl Flaky {
    fn trips(slot: &Mutex<Option<String>>, queue: &str) -> Result<(), BusError> {
        let mut slot = slot.lock().unwrap();
        if slot.as_deref() == Some(queue) {
            *slot = None;
            return Err(BusError::Backend("injected".into()));
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl Bus for Flaky {
    async fn declare(&self, spec: &QueueSpec) -> Result<(), BusError> {
        self.inner.declare(spec).await
    }
    async fn publish(&self, queue: &str, message: Message) -> Result<Published, BusError> {
        Self::trips(&self.fail_publish, queue)?;
        self.inner.publish(queue, message).await
    }
    async fn receive(&self, queue: &str, wait: Duration) -> Result<Option<Delivery>, BusError> {
        self.inner.receive(queue, wait).await
    }
    async fn ack(&self, delivery: &Delivery) -> Result<(), BusError> {
        self.inner.ack(delivery).await
    }
    async fn nack(
        &self,
        delivery: &Delivery,
        retry_after: Duration,
    ) -> Result<Disposition, BusError> {
        self.inner.nack(delivery, retry_after).await
    }
    async fn reject(&self, delivery: &Delivery, reason: &str) -> Result<(), BusError> {
        self.inner.reject(delivery, reason).await
    }
    async fn depth(&self, queue: &str) -> Result<QueueDepth, BusError> {
        self.inner.depth(queue).await
    }
    async fn purge_key(&self, queue: &str, key: &str) -> Result<u64, BusError> {
        Self::trips(&self.fail_purge, queue)?;
        self.inner.purge_key(queue, key).await
    }
}

/// A person who was a past recipient's (`s-gp`) and whose consent `c1` was given at `at(3)`,
/// with an undelivered notification about them on each queue: a reception on `s-gp` and the
/// consent notice on `s-gp-consent`. Returns the stage, the bus and the person.
async fn consented(dir: &std::path::Path) -> (ReleaseStage, Arc<Flaky>, String) {
    let flaky = Arc::new(Flaky {
        inner: SqliteBus::open(&dir.join("bus.db")).await.unwrap(),
        fail_purge: Mutex::new(None),
        fail_publish: Mutex::new(None),
    });
    let bus: Arc<dyn Bus> = flaky.clone();
    let subs = vec![
        sub("s-gp", "prison.reception"),
        sub("s-gp-consent", "consent.changed"),
    ];
    waymark_pipeline::declare_all(bus.as_ref(), &subs)
        .await
        .unwrap();
    let store = Arc::new(SqliteStore::open(&dir.join("store.db")).await.unwrap());
    let bundle = include_str!("../../../waymark-profile/tests/fixtures/valid/full-dataset.json");
    let recorded = store
        .record(NewRecord {
            message_id: MessageId::derive(SourceSystem::Nomis, "m1"),
            source: SourceSystem::Nomis,
            message_type: "t".into(),
            event_time: Some(at(1)),
            recorded_at: at(2),
            identifiers: vec![StrongId {
                system: "https://fhir.waymark.org.uk/Id/nomis-prison-number".into(),
                value: Sensitive::new("A1234BC".into()),
            }],
            topic: "prison.reception".into(),
            bundle: Sensitive::new(bundle.into()),
        })
        .await
        .unwrap();
    let person = recorded.event.person_id.clone();
    store
        .event_number("s-gp", &recorded.event.event_id)
        .await
        .unwrap();
    let stage = ReleaseStage {
        validator: Arc::new(Validator::r4().unwrap()),
        policy: Arc::new(Policy::builtin().unwrap()),
        subscriptions: waymark_pipeline::SubscriptionSet::fixed(subs),
        store: store.clone(),
        audit: store.clone(),
        bus,
        retry_window: waymark_delivery::RETRY_WINDOW,
        telemetry: Telemetry::log_only(),
    };
    let given = stage
        .record_consent(&person, &gp_permit(), at(3))
        .await
        .unwrap();
    assert_eq!(given.notified, ["s-gp-consent"]);
    let canonical = stage
        .validator
        .validate(serde_json::from_str(bundle).unwrap())
        .unwrap();
    let gp = stage.subscriptions.snapshot()[0].clone();
    // Queued as the release stage queues: keyed on the hub's person.
    let released = stage
        .policy
        .release(&canonical, &gp.recipient)
        .unwrap()
        .for_person(&person);
    let queued = EventMeta {
        event_id: MessageId::derive(SourceSystem::Nomis, "reception-2"),
        event_number: 2,
        topic: "prison.reception".into(),
        timestamp: at(3),
        patient_id: released.patient_id().to_owned(),
    };
    waymark_delivery::enqueue(flaky.as_ref(), &gp, &queued, released)
        .await
        .unwrap();
    (stage, flaky, person)
}

/// Each queue holds exactly the withdrawal's recall notice, once.
async fn exactly_the_recall(bus: &dyn Bus, withdrawal: &MessageId) {
    for sub in ["s-gp", "s-gp-consent"] {
        let on = drain(bus, sub).await;
        let ids: Vec<&str> = on.iter().map(|(id, _)| id.as_str()).collect();
        let recall = withdrawal.child(sub);
        assert_eq!(ids, [recall.as_str()], "{sub}: purged, then one recall");
        assert!(on[0].1.contains("consent.changed"));
    }
}

#[tokio::test]
async fn a_withdrawal_whose_purge_failed_is_completed_by_a_retry() {
    let dir = tempfile::tempdir().unwrap();
    let (stage, bus, person) = consented(dir.path()).await;
    // The first queue is purged, the second fails.
    *bus.fail_purge.lock().unwrap() = Some(queue_name("s-gp-consent"));
    let err = stage
        .withdraw_consent(&person, "c1", at(4))
        .await
        .unwrap_err();
    assert!(matches!(err, ConsentChangeError::Notify), "{err:?}");
    assert_eq!(
        stage.store.consents(&person).await.unwrap()[0].status,
        "inactive",
        "the withdrawal itself is stored"
    );

    let retried = stage
        .withdraw_consent(&person, "c1", at(5))
        .await
        .unwrap()
        .expect("the retry finds the stored withdrawal");
    assert_eq!(
        retried.event.event_id.as_str(),
        format!("consent/{person}/c1/v2")
    );
    assert_eq!(retried.event.event_time, at(4));
    assert_eq!(retried.purged, 1, "the consent notice left on s-gp-consent");
    assert_eq!(retried.notified, ["s-gp", "s-gp-consent"]);
    exactly_the_recall(bus.as_ref(), &retried.event.event_id).await;
}

#[tokio::test]
async fn a_withdrawal_whose_recall_failed_is_completed_by_a_retry() {
    let dir = tempfile::tempdir().unwrap();
    let (stage, bus, person) = consented(dir.path()).await;
    // Both queues are purged; the first recall notice fails.
    *bus.fail_publish.lock().unwrap() = Some(queue_name("s-gp"));
    let err = stage
        .withdraw_consent(&person, "c1", at(4))
        .await
        .unwrap_err();
    assert!(matches!(err, ConsentChangeError::Notify), "{err:?}");

    let retried = stage
        .withdraw_consent(&person, "c1", at(5))
        .await
        .unwrap()
        .expect("the retry finds the stored withdrawal");
    assert_eq!(retried.event.event_time, at(4));
    assert_eq!(retried.purged, 0, "purged by the first attempt");
    assert_eq!(retried.notified, ["s-gp", "s-gp-consent"]);
    exactly_the_recall(bus.as_ref(), &retried.event.event_id).await;
}
