//! The release stage pushing: subscription filters and status decide who gets an event, every
//! notification queued is audited first (manifest classes, never values), and two consent
//! withdrawals in a row leave both recall notices for a subscriber whose endpoint was down.

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use waymark_bus::{Bus, Delivery, DeliveryTag, Message, SqliteBus};
use waymark_core::{MessageId, Sensitive, SourceSystem};
use waymark_delivery::{
    RestHook, RestHookConfig, Subscription, mock::MockReceiver, queue_name, queue_spec_for,
};
use waymark_pipeline::{
    Handler, Hub, HubParts, REDELIVERED, RELEASED, ReleaseStage, Stage, StagePlan, Step,
    SubscriptionSet, Telemetry,
};
use waymark_policy::Policy;
use waymark_profile::Validator;
use waymark_store::{AuditLog, NewRecord, PathwayEvent, SqliteStore, Store, StrongId};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw0123456789ab";
const BUNDLE: &str =
    include_str!("../../../waymark-profile/tests/fixtures/valid/full-dataset.json");
const NHS: &str = "https://fhir.nhs.uk/Id/nhs-number";

fn sub(id: &str, topic: &str, role: &str, extra: Value) -> Subscription {
    let mut body = json!({
        "version": 1, "id": id, "topic": topic, "endpoint": "http://127.0.0.1:9/",
        "recipient": {"organisation": "A81001", "role": role, "registered": true,
                      "purpose": "direct-care"},
        "secret": SECRET, "payload": "full-resource"
    });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    serde_json::from_value(body).unwrap()
}

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000 + secs, 0).unwrap()
}

/// A release stage over a fresh SQLite store and bus, its subscriptions' queues declared, and
/// one recorded event (shared with `fanout`).
pub(crate) struct Rig {
    _dir: tempfile::TempDir,
    pub bus: Arc<dyn Bus>,
    pub store: Arc<SqliteStore>,
    pub stage: ReleaseStage,
    pub event: PathwayEvent,
}

pub(crate) async fn rig(subs: Vec<Subscription>) -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let bus: Arc<dyn Bus> = Arc::new(SqliteBus::open(&dir.path().join("bus.db")).await.unwrap());
    waymark_pipeline::declare_all(bus.as_ref(), &subs)
        .await
        .unwrap();
    let store = Arc::new(
        SqliteStore::open(&dir.path().join("store.db"))
            .await
            .unwrap(),
    );
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
            bundle: Sensitive::new(BUNDLE.into()),
        })
        .await
        .unwrap();
    let stage = ReleaseStage {
        validator: Arc::new(Validator::r4().unwrap()),
        policy: Arc::new(Policy::builtin().unwrap()),
        subscriptions: SubscriptionSet::fixed(subs),
        store: store.clone(),
        audit: store.clone(),
        bus: bus.clone(),
        retry_window: Duration::from_secs(60),
        telemetry: Telemetry::log_only(),
    };
    Rig {
        _dir: dir,
        bus,
        store,
        stage,
        event: recorded.event,
    }
}

/// The release stage's delivery of `event` with the shared bundle.
pub(crate) fn release_delivery(event: &PathwayEvent, attempt: u32) -> Delivery {
    let body = json!({"event": event, "bundle": serde_json::from_str::<Value>(BUNDLE).unwrap()});
    Delivery {
        queue: waymark_pipeline::RELEASE.into(),
        tag: DeliveryTag(u64::from(attempt)),
        attempt,
        message: Message::new(event.event_id.clone(), body.to_string().into_bytes()),
    }
}

async fn depth(bus: &dyn Bus, sub: &str) -> u64 {
    bus.depth(&queue_name(sub)).await.unwrap().total()
}

#[tokio::test]
async fn filters_and_status_choose_the_recipients_and_every_push_is_audited_first() {
    let filter = |name: &str, value: &str| json!({"filters": [{"name": name, "value": value}]});
    let topic = "prison.reception";
    let subs = vec![
        sub(
            "s-mdi",
            topic,
            "prison-healthcare",
            filter("establishment", "MDI"),
        ),
        sub(
            "s-lei",
            topic,
            "prison-healthcare",
            filter("establishment", "LEI"),
        ),
        sub(
            "s-nhs",
            topic,
            "prison-healthcare",
            filter("patient-identifier", &format!("{NHS}|9434765919")),
        ),
        sub(
            "s-other",
            topic,
            "prison-healthcare",
            filter("patient-identifier", &format!("{NHS}|9434765870")),
        ),
        sub(
            "s-error",
            topic,
            "prison-healthcare",
            json!({"status": "error"}),
        ),
        sub(
            "s-off",
            topic,
            "prison-healthcare",
            json!({"status": "off"}),
        ),
        sub(
            "s-probation",
            topic,
            "probation",
            json!({"recipient": {"organisation": "A81001", "role": "probation", "purpose": "direct-care"}}),
        ),
    ];
    let rig = rig(subs).await;
    assert_eq!(
        rig.stage.handle(&release_delivery(&rig.event, 1)).await,
        Step::Done
    );
    let mut queued = Vec::new();
    for id in [
        "s-mdi",
        "s-lei",
        "s-nhs",
        "s-other",
        "s-error",
        "s-off",
        "s-probation",
    ] {
        if depth(rig.bus.as_ref(), id).await > 0 {
            queued.push(id);
        }
    }
    assert_eq!(queued, ["s-mdi", "s-nhs", "s-error", "s-probation"]);

    let entries = rig.store.audit_entries(0, 100).await.unwrap();
    let pushes: Vec<_> = entries.iter().map(|e| &e.record).collect();
    assert_eq!(pushes.len(), 4, "one entry per notification queued");
    for record in &pushes {
        assert_eq!(record.outcome, RELEASED);
        assert_eq!(record.method, "NOTIFY");
        assert_eq!(
            record.person_ids,
            std::slice::from_ref(&rig.event.person_id)
        );
        assert_eq!(
            record.correlation_id.as_deref(),
            Some(rig.event.event_id.as_str())
        );
        let sub = record.client_id.as_deref().unwrap();
        assert_eq!(
            record.path,
            format!("/Subscription/{sub}/$notify/prison.reception")
        );
        assert_eq!(record.organisation.as_deref(), Some("A81001"));
        assert!(
            !record.released.is_empty(),
            "{sub}: classes released, with basis"
        );
        let text = String::from_utf8(record.canonical()).unwrap();
        for value in ["9434765919", "A1234BC", "MDI"] {
            assert!(
                !text.contains(value),
                "no values in the audit trail: {text}"
            );
        }
    }
    let probation = pushes
        .iter()
        .find(|r| r.client_id.as_deref() == Some("s-probation"))
        .unwrap();
    assert_eq!(probation.role.as_deref(), Some("probation"));
    assert!(
        probation
            .withheld
            .iter()
            .any(|w| w.rule.contains("probation")),
        "withheld classes name their rule: {:?}",
        probation.withheld
    );

    // The release message redelivered: nothing queued twice, the repeat entries marked.
    assert_eq!(
        rig.stage.handle(&release_delivery(&rig.event, 2)).await,
        Step::Done
    );
    assert_eq!(depth(rig.bus.as_ref(), "s-mdi").await, 1);
    let entries = rig.store.audit_entries(0, 100).await.unwrap();
    let outcomes: Vec<&str> = entries.iter().map(|e| e.record.outcome.as_str()).collect();
    assert_eq!(outcomes[4..], [REDELIVERED; 4]);
    let verified = waymark_store::verify_log(rig.store.as_ref(), 3)
        .await
        .unwrap();
    assert_eq!(verified.unwrap().count, 8, "the chain is whole");
}

#[tokio::test]
async fn a_subscription_created_since_the_start_gets_its_queue_declared() {
    let rig = rig(Vec::new()).await;
    let late = sub("s-late", "prison.reception", "prison-healthcare", json!({}));
    rig.stage.subscriptions.replace(vec![late]);
    assert_eq!(
        rig.stage.handle(&release_delivery(&rig.event, 1)).await,
        Step::Done
    );
    assert_eq!(depth(rig.bus.as_ref(), "s-late").await, 1);
}

fn permit(id: &str) -> Value {
    json!({
        "resourceType": "Consent", "id": id, "status": "active",
        "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope",
                              "code": "patient-privacy"}]},
        "dateTime": "2023-01-01",
        "provision": {"type": "permit", "actor": [{
            "role": {"coding": [{"system": waymark_policy::consent::RECIPIENT_ROLE_SYSTEM, "code": "gp"}]},
            "reference": {"identifier": {"value": "A81001"}}}]}
    })
}

#[tokio::test]
async fn two_withdrawals_while_the_endpoint_is_down_leave_both_recalls() {
    let mock = MockReceiver::start(vec![SECRET.to_owned()]).await.unwrap();
    let mut gp = sub(
        "s-gp",
        "prison.reception",
        "gp",
        json!({"payload": "id-only"}),
    );
    gp.endpoint = mock.url();
    let rig = rig(vec![gp.clone()]).await;
    let person = rig.event.person_id.clone();
    // The GP practice received this person's reception before.
    assert_eq!(
        rig.stage.handle(&release_delivery(&rig.event, 1)).await,
        Step::Done
    );
    assert_eq!(depth(rig.bus.as_ref(), "s-gp").await, 1);
    for id in ["c1", "c2"] {
        rig.stage
            .record_consent(&person, &permit(id), at(3))
            .await
            .unwrap();
    }

    // Nothing is delivered (the endpoint is down) while both consents are withdrawn.
    let first = rig
        .stage
        .withdraw_consent(&person, "c1", at(4))
        .await
        .unwrap()
        .unwrap();
    let second = rig
        .stage
        .withdraw_consent(&person, "c2", at(5))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.purged, 1, "the reception notification");
    assert_eq!(second.purged, 1, "the first recall");
    assert_eq!(second.notified, ["s-gp"]);
    assert_eq!(
        depth(rig.bus.as_ref(), "s-gp").await,
        2,
        "both recalls wait"
    );

    // The endpoint is back: both recalls arrive, the earlier one first, with their own numbers.
    let (tx, _events) = mpsc::unbounded_channel();
    let parts = HubParts {
        bus: rig.bus.clone(),
        store: rig.store.clone(),
        audit: rig.store.clone(),
        mappings: Arc::new(waymark_mapping::MappingSet::load(rig._dir.path()).unwrap()),
        validator: rig.stage.validator.clone(),
        policy: rig.stage.policy.clone(),
        topics: Arc::new(waymark_record::Topics::builtin().unwrap()),
        subscriptions: rig.stage.subscriptions.clone(),
        hook: RestHook::new(&RestHookConfig::default()).unwrap(),
        retry_window: Duration::from_secs(60),
        telemetry: Telemetry::log_only(),
        delivery_events: tx,
    };
    rig.bus
        .declare(&queue_spec_for(&gp, Duration::from_secs(60)))
        .await
        .unwrap();
    let hub = Hub::start_plan(parts, &StagePlan::of(vec![Stage::Deliver], 1))
        .await
        .unwrap();
    for _ in 0..200 {
        if mock.received().len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    hub.stop().await;
    let received = mock.received();
    assert_eq!(received.len(), 2, "both recalls delivered");
    let numbers: Vec<String> = received.iter().map(|r| event_number(&r.body)).collect();
    let mut expected = Vec::new();
    for withdrawal in [&first, &second] {
        let n = rig
            .store
            .event_number("s-gp", &withdrawal.event.event_id)
            .await
            .unwrap();
        expected.push(n.to_string());
    }
    assert_eq!(
        numbers, expected,
        "in order, each with its own event number"
    );
    for r in &received {
        assert!(r.body.to_string().contains("consent.changed"), "a recall");
    }
}

/// The `event-number` of a notification bundle's first event.
fn event_number(bundle: &Value) -> String {
    let parameters = &bundle["entry"][0]["resource"]["parameter"];
    let event = parameters
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "notification-event")
        .unwrap();
    event["part"][0]["valueString"].as_str().unwrap().to_owned()
}
