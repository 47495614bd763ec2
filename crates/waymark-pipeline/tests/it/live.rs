//! Live subscriptions: the delivery supervisor follows the store-backed `SubscriptionSet` while
//! the hub runs — a subscription created is delivered, one deleted is not, a `410 Gone` turns
//! one off (in the store too) — and the set itself reads, seeds and refreshes from the store.

use std::{sync::Arc, time::Duration};

use serde_json::json;
use tokio::sync::mpsc;
use waymark_bus::{Bus, SqliteBus};
use waymark_core::{MessageId, SourceSystem};
use waymark_delivery::{
    DeliveryEvent, EventMeta, RestHook, RestHookConfig, Subscription, SubscriptionStatus,
    mock::MockReceiver, queue_name,
};
use waymark_pipeline::{Hub, HubParts, Stage, StagePlan, SubscriptionSet, Telemetry};
use waymark_policy::Policy;
use waymark_profile::Validator;
use waymark_store::{SqliteStore, Store};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw0123456789ab";
const BUNDLE: &str =
    include_str!("../../../waymark-profile/tests/fixtures/valid/full-dataset.json");

fn sub(id: &str, endpoint: &str) -> Subscription {
    serde_json::from_value(json!({
        "version": 1, "id": id, "topic": "prison.reception", "endpoint": endpoint,
        "recipient": {"organisation": "hmp-x", "role": "prison-healthcare", "registered": true,
                      "purpose": "continuity-of-care"},
        "secret": SECRET, "payload": "id-only"
    }))
    .unwrap()
}

struct Rig {
    bus: Arc<dyn Bus>,
    store: Arc<SqliteStore>,
    set: Arc<SubscriptionSet>,
    events: mpsc::UnboundedReceiver<DeliveryEvent>,
    hub: Hub,
    _dir: tempfile::TempDir,
}

async fn rig(seed: Vec<Subscription>) -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let bus: Arc<dyn Bus> = Arc::new(SqliteBus::open(&dir.path().join("bus.db")).await.unwrap());
    let store = Arc::new(
        SqliteStore::open(&dir.path().join("store.db"))
            .await
            .unwrap(),
    );
    let set = SubscriptionSet::from_store(store.clone(), seed)
        .await
        .unwrap();
    let (tx, events) = mpsc::unbounded_channel();
    let parts = HubParts {
        bus: bus.clone(),
        store: store.clone(),
        audit: store.clone(),
        mappings: Arc::new(waymark_mapping::MappingSet::load(dir.path()).unwrap()),
        validator: Arc::new(Validator::r4().unwrap()),
        policy: Arc::new(Policy::builtin().unwrap()),
        topics: Arc::new(waymark_record::Topics::builtin().unwrap()),
        subscriptions: set.clone(),
        hook: RestHook::new(&RestHookConfig::default()).unwrap(),
        retry_window: Duration::from_secs(60),
        telemetry: Telemetry::log_only(),
        delivery_events: tx,
    };
    let hub = Hub::start_plan(parts, &StagePlan::of(vec![Stage::Deliver], 1))
        .await
        .unwrap();
    Rig {
        bus,
        store,
        set,
        events,
        hub,
        _dir: dir,
    }
}

/// Queues one notification for `sub` (declaring its queue as the release stage would).
async fn notify(bus: &dyn Bus, sub: &Subscription, n: u64) -> MessageId {
    let validator = Validator::r4().unwrap();
    let canonical = validator
        .validate(serde_json::from_str(BUNDLE).unwrap())
        .unwrap();
    let released = Policy::builtin()
        .unwrap()
        .release(&canonical, &sub.recipient)
        .unwrap();
    let meta = EventMeta {
        event_id: MessageId::derive(SourceSystem::Nomis, &format!("reception-{n}")),
        event_number: n,
        topic: sub.topic.clone(),
        timestamp: chrono::Utc::now(),
        patient_id: released.patient_id().to_owned(),
    };
    bus.declare(&waymark_delivery::queue_spec_for(
        sub,
        Duration::from_secs(60),
    ))
    .await
    .unwrap();
    waymark_delivery::enqueue(bus, sub, &meta, released)
        .await
        .unwrap();
    meta.event_id.child(&sub.id)
}

async fn put(store: &dyn Store, sub: &Subscription) {
    let body = serde_json::to_string(sub).unwrap();
    store
        .put_subscription(&sub.id, &body, sub.status.code(), None)
        .await
        .unwrap();
}

/// Waits (up to 10 s) until `check` holds.
async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    for _ in 0..200 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test]
async fn subscriptions_created_deleted_and_gone_while_the_hub_runs() {
    let mock = MockReceiver::start(vec![SECRET.to_owned()]).await.unwrap();
    let mut rig = rig(Vec::new()).await;
    let live = sub("live-1", &mock.url());
    assert!(rig.set.snapshot().is_empty());

    // Created through the store (as the API does) and refreshed: delivered.
    put(rig.store.as_ref(), &live).await;
    rig.set.refresh().await.unwrap();
    assert!(rig.set.get("live-1").is_some());
    let first = notify(rig.bus.as_ref(), &live, 1).await;
    eventually("the first notification", || {
        mock.unique_ids().contains(&first.as_str().to_owned())
    })
    .await;

    // Deleted: its worker stops; what is queued afterwards stays queued.
    assert!(rig.store.delete_subscription("live-1").await.unwrap());
    rig.set.refresh().await.unwrap();
    assert!(rig.set.get("live-1").is_none());
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let second = notify(rig.bus.as_ref(), &live, 2).await;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(
        mock.unique_ids().len(),
        1,
        "nothing delivered after the delete"
    );
    let depth = rig.bus.depth(&queue_name("live-1")).await.unwrap();
    assert_eq!(depth.total(), 1, "the notification waits on the kept queue");

    // Re-created, the endpoint now answers 410 Gone: switched off, in the store too.
    put(rig.store.as_ref(), &live).await;
    mock.fail_next_with(1, 410, None);
    rig.set.refresh().await.unwrap();
    eventually("the subscription switched off", || {
        rig.set
            .get("live-1")
            .is_some_and(|s| s.status == SubscriptionStatus::Off)
    })
    .await;
    let stored = rig.store.subscription("live-1").await.unwrap().unwrap();
    assert_eq!(stored.status, "off");
    assert!(!mock.unique_ids().contains(&second.as_str().to_owned()));
    let mut gone = false;
    while let Ok(event) = rig.events.try_recv() {
        gone |= matches!(event, DeliveryEvent::Deactivated { ref subscription, .. } if subscription == "live-1");
    }
    assert!(gone, "the Deactivated event is passed on");
    rig.hub.stop().await;
}

#[tokio::test]
async fn a_changed_subscription_is_restarted_with_its_new_endpoint() {
    let old = MockReceiver::start(vec![SECRET.to_owned()]).await.unwrap();
    let new = MockReceiver::start(vec![SECRET.to_owned()]).await.unwrap();
    let rig = rig(vec![sub("moving", &old.url())]).await;
    let first = notify(rig.bus.as_ref(), &sub("moving", &old.url()), 1).await;
    eventually("delivery to the old endpoint", || {
        old.unique_ids().contains(&first.as_str().to_owned())
    })
    .await;
    let moved = sub("moving", &new.url());
    put(rig.store.as_ref(), &moved).await;
    rig.set.refresh().await.unwrap();
    // The restart is asynchronous: the old worker finishes what it holds (a receive waits
    // 0.5 s at most).
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let second = notify(rig.bus.as_ref(), &moved, 2).await;
    eventually("delivery to the new endpoint", || {
        new.unique_ids().contains(&second.as_str().to_owned())
    })
    .await;
    assert_eq!(old.unique_ids().len(), 1);
    rig.hub.stop().await;
}

#[tokio::test]
async fn the_set_seeds_the_store_and_the_stored_status_wins() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(
        SqliteStore::open(&dir.path().join("store.db"))
            .await
            .unwrap(),
    );
    let seeded = sub("seeded", "http://127.0.0.1:9/");
    let set = SubscriptionSet::from_store(store.clone(), vec![seeded.clone()])
        .await
        .unwrap();
    assert_eq!(set.snapshot().len(), 1);
    let version = store.subscription("seeded").await.unwrap().unwrap().version;

    // Switched off in the store (a 410 in another process): the set follows on refresh, and a
    // restart with the same file keeps it off and writes nothing.
    let mut changes = set.changes();
    assert!(
        store
            .set_subscription_status("seeded", "off")
            .await
            .unwrap()
    );
    set.refresh().await.unwrap();
    assert!(changes.has_changed().unwrap());
    assert_eq!(set.get("seeded").unwrap().status, SubscriptionStatus::Off);
    changes.borrow_and_update();
    set.refresh().await.unwrap();
    assert!(!changes.has_changed().unwrap(), "no change, no new version");
    let again = SubscriptionSet::from_store(store.clone(), vec![seeded.clone()])
        .await
        .unwrap();
    assert_eq!(again.get("seeded").unwrap().status, SubscriptionStatus::Off);
    let stored = store.subscription("seeded").await.unwrap().unwrap();
    assert_eq!(stored.version, version + 1, "only the status change");

    // A changed file is written; a row that does not read is skipped.
    let mut edited = seeded.clone();
    edited.endpoint = "http://127.0.0.1:10/".into();
    store
        .put_subscription("broken", "{\"not\": \"a subscription\"}", "active", None)
        .await
        .unwrap();
    let third = SubscriptionSet::from_store(store.clone(), vec![edited])
        .await
        .unwrap();
    let ids: Vec<String> = third.snapshot().iter().map(|s| s.id.clone()).collect();
    assert_eq!(ids, ["seeded"]);
    let seeded_now = third.get("seeded").unwrap();
    assert_eq!(seeded_now.endpoint, "http://127.0.0.1:10/");
    assert_eq!(seeded_now.status, SubscriptionStatus::Active);
}

#[tokio::test]
async fn a_fixed_set_switches_off_in_memory() {
    let set = SubscriptionSet::fixed(vec![sub("fixed", "http://127.0.0.1:9/")]);
    set.refresh().await.unwrap();
    assert!(
        set.set_status("fixed", SubscriptionStatus::Off)
            .await
            .unwrap()
    );
    assert_eq!(set.get("fixed").unwrap().status, SubscriptionStatus::Off);
    assert!(
        !set.set_status("absent", SubscriptionStatus::Off)
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn a_polling_set_sees_what_another_process_wrote_and_stops_when_told() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(
        SqliteStore::open(&dir.path().join("store.db"))
            .await
            .unwrap(),
    );
    let set = SubscriptionSet::from_store(store.clone(), Vec::new())
        .await
        .unwrap();
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let poll = tokio::spawn(set.clone().poll(Duration::from_millis(50), shutdown));
    put(store.as_ref(), &sub("elsewhere", "http://127.0.0.1:9/")).await;
    eventually("the poll to see it", || set.get("elsewhere").is_some()).await;
    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(5), poll)
        .await
        .expect("the poll stops")
        .unwrap();
}
