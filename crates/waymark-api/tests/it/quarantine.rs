//! The quarantine routes and the re-drive, without a socket: real SQLite files, the repo's
//! mappings and the embedded profile.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use axum::{Router, body::Body, http::Request};
use chrono::{DateTime, TimeZone, Utc};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;
use waymark_api::{REDRIVE_STAGE, redrive};
use waymark_bus::{
    Bus, BusError, Delivery, Disposition, Message, Published, QueueDepth, QueueSpec, SqliteBus,
};
use waymark_core::{Envelope, MessageId, NewEnvelope, SourceSystem};
use waymark_mapping::MappingSet;
use waymark_pipeline::INGEST;
use waymark_profile::Validator;
use waymark_store::{QuarantineEntry, SqliteStore, Store};

use crate::support::{Dev, signed_in, state};

const CANARY: &str = "CANARY-5521-not-an-envelope";

struct Hub {
    _dir: tempfile::TempDir,
    store: Arc<SqliteStore>,
    bus: Arc<SqliteBus>,
    mappings: Arc<MappingSet>,
    validator: Arc<Validator>,
    dev: Dev,
}

impl Hub {
    async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open(&dir.path().join("s.db")).await.unwrap());
        let bus = Arc::new(SqliteBus::open(&dir.path().join("b.db")).await.unwrap());
        Self {
            _dir: dir,
            store,
            bus,
            mappings: Arc::new(MappingSet::load(&repo().join("mappings")).unwrap()),
            validator: Arc::new(Validator::r4().unwrap()),
            dev: Dev::new(),
        }
    }

    fn app(&self) -> Router {
        self.app_on(self.bus.clone())
    }

    /// The API over `bus`, signed in as an integration engineer.
    fn app_on(&self, bus: Arc<dyn Bus>) -> Router {
        let state = state(
            self.store.clone(),
            bus,
            self.mappings.clone(),
            self.validator.clone(),
            &self.dev,
        );
        signed_in(state, self.dev.engineer())
    }

    /// Keeps `original` as the map stage would have after a mapping refused it.
    async fn quarantine(&self, id: &MessageId, original: Vec<u8>, secs: i64) {
        let entry = QuarantineEntry {
            message_id: id.clone(),
            source: Some(SourceSystem::Nomis),
            message_type: Some("EXTERNAL_MOVEMENT_RECORD-INSERTED".into()),
            stage: REDRIVE_STAGE.into(),
            code: "mapping.runtime".into(),
            outcome: serde_json::json!({"resourceType": "OperationOutcome"}),
            original: original.into(),
            quarantined_at: Utc.timestamp_opt(1_700_000_000 + secs, 0).unwrap(),
        };
        self.store.quarantine(entry).await.unwrap();
    }

    async fn call(&self, method: &str, path: &str) -> (u16, Value, String) {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .body(Body::empty())
            .unwrap();
        let resp = self.app().oneshot(request).await.unwrap();
        let status = resp.status().as_u16();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        let text = String::from_utf8(bytes.to_vec()).unwrap();
        (status, serde_json::from_str(&text).unwrap(), text)
    }
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The envelope a mapping test case's input document describes.
fn envelope(case: &str) -> Envelope {
    let path = repo().join(format!("mappings/nomis/tests/{case}.input.json"));
    let doc: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let meta = &doc["envelope"];
    let time = |v: &Value| -> Option<DateTime<Utc>> { v.as_str().map(|t| t.parse().unwrap()) };
    let params = NewEnvelope {
        id: MessageId::from_stored(meta["id"].as_str().unwrap()),
        source: SourceSystem::Nomis,
        message_type: meta["messageType"].as_str().unwrap(),
        event_time: time(&meta["eventTime"]),
        received_at: time(&meta["receivedAt"]).unwrap(),
        content_type: "application/json",
    };
    let payload = serde_json::to_vec(&doc["message"]).unwrap();
    Envelope::new(params, payload).with_context(doc["context"].clone())
}

/// Two envelopes the repo's mappings accept, one they refuse, and bytes that are no envelope.
async fn four_entries(hub: &Hub) -> (Vec<Envelope>, MessageId, MessageId) {
    let good = vec![
        envelope("real-external-movement-in"),
        envelope("synthetic-transfer"),
    ];
    let refused = envelope("synthetic-prison-api-not-found");
    let garbage = MessageId::from_stored("garbage-1");
    hub.quarantine(&good[0].id, good[0].to_bytes(), 1).await;
    hub.quarantine(&refused.id, refused.to_bytes(), 2).await;
    hub.quarantine(&garbage, CANARY.as_bytes().to_vec(), 3)
        .await;
    hub.quarantine(&good[1].id, good[1].to_bytes(), 4).await;
    (good, refused.id, garbage)
}

#[tokio::test]
async fn list_and_entry_show_reasons_never_content() {
    let hub = Hub::new().await;
    let (good, _, garbage) = four_entries(&hub).await;

    let (status, body, text) = hub.call("GET", "/admin/quarantine").await;
    assert_eq!(status, 200);
    assert_eq!(body["entries"].as_array().unwrap().len(), 4);
    assert_eq!(body["entries"][0]["message_id"], good[1].id.as_str());

    let (status, body, entry_text) = hub
        .call("GET", &format!("/admin/quarantine/{garbage}"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["message_id"], "garbage-1");
    assert_eq!(body["code"], "mapping.runtime");
    assert_eq!(body["outcome"]["resourceType"], "OperationOutcome");
    assert!(body["resolved_at"].is_null() && body["redrive_id"].is_null());
    assert_eq!(body["redrives"], 0);

    for shown in [&text, &entry_text] {
        assert!(!shown.contains(CANARY), "content leaked: {shown}");
        assert!(!shown.contains("original") && !shown.contains("payload"));
    }

    let (status, body, _) = hub.call("GET", "/admin/quarantine/no-such-id").await;
    assert_eq!(status, 404);
    assert_eq!(body["resourceType"], "OperationOutcome");
    assert_eq!(body["issue"][0]["code"], "not-found");

    let (status, body, _) = hub.call("GET", "/admin/quarantine?limit=many").await;
    assert_eq!(status, 400);
    assert_eq!(body["resourceType"], "OperationOutcome");
    let (_, body, _) = hub.call("GET", "/admin/quarantine?limit=1").await;
    assert_eq!(body["entries"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn redrive_route_dry_runs_then_republishes_what_now_passes_once() {
    let hub = Hub::new().await;
    let (good, refused, garbage) = four_entries(&hub).await;

    let (status, dry, dry_text) = hub
        .call("POST", "/admin/quarantine/redrive?dry_run=true")
        .await;
    assert_eq!(status, 200, "{dry}");
    assert_eq!(dry["dry_run"], true);
    assert_eq!(
        (dry["redriven"].as_u64(), dry["still_failing"].as_u64()),
        (Some(2), Some(2))
    );
    assert!(!dry_text.contains(CANARY));
    let codes: Vec<(&str, bool, Option<&str>)> = dry["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["message_id"].as_str().unwrap(),
                e["passes"].as_bool().unwrap(),
                e["code"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        codes,
        [
            (good[0].id.as_str(), true, None),
            (refused.as_str(), false, Some("mapping.runtime")),
            (garbage.as_str(), false, Some("envelope.decode")),
            (good[1].id.as_str(), true, None),
        ],
        "quarantine order, with the reason of each failure"
    );
    let pending = hub
        .store
        .quarantined_for_redrive(REDRIVE_STAGE, None, 10)
        .await
        .unwrap();
    assert_eq!(pending.len(), 4, "a dry run resolves nothing");

    let (status, run, _) = hub.call("POST", "/admin/quarantine/redrive").await;
    assert_eq!(status, 200, "{run}");
    assert_eq!(run["dry_run"], false);
    assert_eq!(
        (run["redriven"].as_u64(), run["still_failing"].as_u64()),
        (Some(2), Some(2))
    );
    assert_eq!(hub.bus.depth(INGEST).await.unwrap().ready, 2);
    for env in &good {
        let delivery = hub
            .bus
            .receive(INGEST, Duration::from_secs(1))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(delivery.message.id, env.id.child("redrive-1"));
        assert_eq!(
            delivery.message.body.expose(),
            &env.to_bytes(),
            "the exact original bytes"
        );
        assert_eq!(delivery.message.headers["redrive-of"], env.id.as_str());
        hub.bus.ack(&delivery).await.unwrap();

        let (_, entry, _) = hub
            .call("GET", &format!("/admin/quarantine/{}", env.id))
            .await;
        assert!(entry["resolved_at"].is_string(), "{entry}");
        assert_eq!(entry["redrive_id"], env.id.child("redrive-1").as_str());
        assert_eq!(entry["redrives"], 1);
        let by = entry["resolved_by"].as_str().unwrap();
        assert!(
            by.starts_with("mapping nomis/prison-movement@")
                && by.contains("; profiles uk.waymark.hjmd@"),
            "{by}"
        );
    }
    let (_, entry, _) = hub
        .call("GET", &format!("/admin/quarantine/{refused}"))
        .await;
    assert!(
        entry["resolved_at"].is_null(),
        "a failing entry stays unresolved"
    );

    let (_, again, _) = hub
        .call("POST", "/admin/quarantine/redrive?dry_run=false")
        .await;
    assert_eq!(
        (again["redriven"].as_u64(), again["still_failing"].as_u64()),
        (Some(0), Some(2))
    );
    assert_eq!(
        hub.bus.depth(INGEST).await.unwrap().total(),
        0,
        "nothing published twice"
    );

    let (status, body, _) = hub
        .call("POST", "/admin/quarantine/redrive?dry_run=perhaps")
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["resourceType"], "OperationOutcome");
}

#[tokio::test]
async fn an_entry_refused_again_after_a_redrive_is_redriven_under_a_new_id() {
    let hub = Hub::new().await;
    let env = envelope("synthetic-reception-with-alerts");
    hub.quarantine(&env.id, env.to_bytes(), 1).await;
    let (store, bus) = (hub.store.as_ref(), hub.bus.as_ref());

    let first = redrive(store, bus, &hub.mappings, &hub.validator, false)
        .await
        .unwrap();
    assert_eq!(first.summary(), "1 re-driven, 0 still failing");
    let id1 = env.id.child("redrive-1");
    assert_eq!(
        first.entries[0].line(false),
        format!("{}  now passes: re-driven as {id1}", env.id)
    );

    // The hub refused the re-driven envelope again (say, it ran older mappings): the entry
    // re-opens, and the next re-drive publishes under a new id the bus does not dedupe away.
    hub.quarantine(&env.id, env.to_bytes(), 9).await;
    let dry = redrive(store, bus, &hub.mappings, &hub.validator, true)
        .await
        .unwrap();
    assert_eq!(dry.summary(), "1 would re-drive, 0 still failing");
    let id2 = env.id.child("redrive-2");
    assert_eq!(dry.entries[0].redrive_id.as_deref(), Some(id2.as_str()));
    redrive(store, bus, &hub.mappings, &hub.validator, false)
        .await
        .unwrap();
    let mut ids = Vec::new();
    while let Some(d) = bus
        .receive(INGEST, Duration::from_millis(200))
        .await
        .unwrap()
    {
        ids.push(d.message.id.clone());
        bus.ack(&d).await.unwrap();
    }
    assert_eq!(ids, [id1, id2]);
    let entry = store
        .quarantine_entry(env.id.as_str())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(entry.redrives, 2);
}

#[tokio::test]
async fn still_failing_lines_name_the_code_and_rules() {
    let hub = Hub::new().await;
    let (_, refused, garbage) = four_entries(&hub).await;
    let report = redrive(
        hub.store.as_ref(),
        hub.bus.as_ref(),
        &hub.mappings,
        &hub.validator,
        true,
    )
    .await
    .unwrap();
    let lines: Vec<String> = report.entries.iter().map(|e| e.line(true)).collect();
    assert!(
        lines.contains(&format!("{refused}  still fails: mapping.runtime")),
        "{lines:?}"
    );
    assert!(
        lines.contains(&format!("{garbage}  still fails: envelope.decode")),
        "{lines:?}"
    );
    assert!(lines.iter().all(|l| !l.contains(CANARY)));
    assert_eq!(report.summary(), "2 would re-drive, 2 still failing");
}

/// A bus whose publishes fail (the broker is down); everything else is the real bus.
pub(crate) struct DownBus(pub(crate) Arc<SqliteBus>);

#[async_trait::async_trait]
impl Bus for DownBus {
    async fn declare(&self, spec: &QueueSpec) -> Result<(), BusError> {
        self.0.declare(spec).await
    }
    async fn publish(&self, _: &str, _: Message) -> Result<Published, BusError> {
        Err(BusError::Backend("the test's bus is down".into()))
    }
    async fn receive(&self, queue: &str, wait: Duration) -> Result<Option<Delivery>, BusError> {
        self.0.receive(queue, wait).await
    }
    async fn ack(&self, delivery: &Delivery) -> Result<(), BusError> {
        self.0.ack(delivery).await
    }
    async fn nack(&self, delivery: &Delivery, after: Duration) -> Result<Disposition, BusError> {
        self.0.nack(delivery, after).await
    }
    async fn reject(&self, delivery: &Delivery, reason: &str) -> Result<(), BusError> {
        self.0.reject(delivery, reason).await
    }
    async fn depth(&self, queue: &str) -> Result<QueueDepth, BusError> {
        self.0.depth(queue).await
    }
    async fn purge_key(&self, queue: &str, key: &str) -> Result<u64, BusError> {
        self.0.purge_key(queue, key).await
    }
}

#[tokio::test]
async fn an_entry_is_resolved_only_after_its_publish_returned() {
    let hub = Hub::new().await;
    let env = envelope("synthetic-transfer");
    hub.quarantine(&env.id, env.to_bytes(), 1).await;
    let down = DownBus(hub.bus.clone());
    let err = redrive(
        hub.store.as_ref(),
        &down,
        &hub.mappings,
        &hub.validator,
        false,
    )
    .await
    .unwrap_err();
    assert_eq!(waymark_core::ErrorCode::code(&err), "bus.backend");
    let entry = hub
        .store
        .quarantine_entry(env.id.as_str())
        .await
        .unwrap()
        .unwrap();
    assert!(
        entry.resolved_at.is_none() && entry.redrives == 0,
        "{entry:?}"
    );

    // Through the API, the same failure is a 503 OperationOutcome.
    let app = hub.app_on(Arc::new(DownBus(hub.bus.clone())));
    let request = Request::post("/admin/quarantine/redrive")
        .body(Body::empty())
        .unwrap();
    let resp = app.oneshot(request).await.unwrap();
    assert_eq!(resp.status().as_u16(), 503);
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let body: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(body["issue"][0]["code"], "transient");

    // Once the bus is back, the same re-drive goes through.
    let report = redrive(
        hub.store.as_ref(),
        hub.bus.as_ref(),
        &hub.mappings,
        &hub.validator,
        false,
    )
    .await
    .unwrap();
    assert_eq!(report.redriven, 1);
}
