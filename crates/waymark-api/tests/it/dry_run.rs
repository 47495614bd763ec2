//! `POST /admin/mappings/dry-run`, without a socket: mapping + profile, no side effects.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::{body::Body, http::Request};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;
use waymark_api::ApiState;
use waymark_bus::SqliteBus;
use waymark_core::{Envelope, NewEnvelope};
use waymark_mapping::{MappingInput, MappingSet};
use waymark_profile::Validator;
use waymark_store::SqliteStore;

use crate::support::{Dev, signed_in, state};

fn mappings_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../mappings")
}

fn fixture(case: &str) -> Value {
    let path = mappings_dir().join(format!("nomis/tests/{case}.input.json"));
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

struct Hub {
    state: ApiState,
    dev: Dev,
    _dir: tempfile::TempDir,
}

async fn hub_with(mappings: MappingSet) -> Hub {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("s.db")).await.unwrap();
    let bus = SqliteBus::open(&dir.path().join("b.db")).await.unwrap();
    let dev = Dev::new();
    let state = state(
        Arc::new(store),
        Arc::new(bus),
        Arc::new(mappings),
        Arc::new(Validator::r4().unwrap()),
        &dev,
    );
    Hub {
        state,
        dev,
        _dir: dir,
    }
}

async fn hub() -> Hub {
    hub_with(MappingSet::load(&mappings_dir()).unwrap()).await
}

async fn post(hub: &Hub, query: &str, body: &[u8]) -> (u16, Value) {
    let request = Request::post(format!("/admin/mappings/dry-run{query}"))
        .header("content-type", "application/json")
        .body(Body::from(body.to_vec()))
        .unwrap();
    let app = signed_in(hub.state.clone(), hub.dev.engineer());
    let resp = app.oneshot(request).await.unwrap();
    let status = resp.status().as_u16();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

async fn no_side_effects(hub: &Hub) {
    let counts = hub.state.store.counts().await.unwrap();
    assert_eq!(counts.quarantined, 0);
    assert_eq!(counts.records, 0);
    for queue in [
        waymark_pipeline_queues::RECORD,
        waymark_pipeline_queues::INGEST,
    ] {
        assert_eq!(
            hub.state
                .bus
                .depth(queue)
                .await
                .map(|d| d.total())
                .unwrap_or(0),
            0
        );
    }
}

/// The queue names, spelled here to keep the API's dev-dependencies small.
mod waymark_pipeline_queues {
    pub const INGEST: &str = "waymark.ingest";
    pub const RECORD: &str = "waymark.record";
}

#[tokio::test]
async fn an_input_document_gives_the_bundle_and_an_outcome_naming_the_mapping() {
    let hub = hub().await;
    let doc = fixture("synthetic-transfer");
    let (status, body) = post(&hub, "", doc.to_string().as_bytes()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["bundle"]["resourceType"], "Bundle");
    let expected = mappings_dir().join("nomis/tests/synthetic-transfer.expected.json");
    let expected: Value = serde_json::from_slice(&std::fs::read(expected).unwrap()).unwrap();
    assert_eq!(
        body["bundle"], expected,
        "the dry run maps exactly like the fixture"
    );
    let issue = &body["outcome"]["issue"][0];
    assert_eq!(issue["severity"], "information");
    assert_eq!(issue["details"]["coding"][0]["code"], "mapping.produced-by");
    assert!(
        issue["details"]["text"]
            .as_str()
            .unwrap()
            .contains("nomis/prison-movement")
    );
    no_side_effects(&hub).await;
}

#[tokio::test]
async fn an_envelope_maps_like_its_input_document() {
    let hub = hub().await;
    let doc = fixture("real-external-movement-in");
    let input: MappingInput = serde_json::from_value(doc.clone()).unwrap();
    let params = NewEnvelope {
        id: input.envelope.id.clone(),
        source: input.envelope.source,
        message_type: &input.envelope.message_type,
        event_time: input.envelope.event_time,
        received_at: input.envelope.received_at,
        content_type: "application/json",
    };
    let payload = serde_json::to_vec(input.message.expose()).unwrap();
    let envelope = Envelope::new(params, payload).with_context(input.context.expose().clone());
    let (status, from_envelope) = post(&hub, "", &envelope.to_bytes()).await;
    assert_eq!(status, 200, "{from_envelope}");
    let (_, from_doc) = post(&hub, "", doc.to_string().as_bytes()).await;
    assert_eq!(from_envelope["bundle"], from_doc["bundle"]);
}

#[tokio::test]
async fn a_mapping_failure_is_422_with_an_outcome_that_names_the_mapping() {
    let hub = hub().await;
    let doc = fixture("synthetic-prison-api-not-found");
    let (status, body) = post(&hub, "", doc.to_string().as_bytes()).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["resourceType"], "OperationOutcome");
    assert_eq!(
        body["issue"][0]["details"]["coding"][0]["code"],
        "mapping.runtime"
    );
    assert_eq!(
        body["issue"][1]["details"]["coding"][0]["code"],
        "mapping.produced-by"
    );
    no_side_effects(&hub).await;
}

#[tokio::test]
async fn type_and_source_in_the_query_select_another_mapping() {
    let hub = hub().await;
    let doc = fixture("synthetic-transfer");
    let (status, body) = post(
        &hub,
        "?type=PRISONER_TELEPORTED",
        doc.to_string().as_bytes(),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(
        body["issue"][0]["details"]["coding"][0]["code"],
        "mapping.no-mapping"
    );
    let (status, body) = post(&hub, "?source=athena", doc.to_string().as_bytes()).await;
    assert_eq!(status, 422);
    assert_eq!(
        body["issue"][0]["details"]["coding"][0]["code"],
        "mapping.no-mapping"
    );
    let (status, body) = post(&hub, "?source=mars", doc.to_string().as_bytes()).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["resourceType"], "OperationOutcome");
}

#[tokio::test]
async fn a_bundle_the_profile_refuses_is_422_with_the_issues_and_the_mapping() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("nomis")).unwrap();
    let code = "# waymark-mapping: 1\n# source: nomis\n# message-types: EXTERNAL_MOVEMENT_RECORD-INSERTED\n\
                # version: 9.9.9\n# profile: hjmd-bundle\n\
                {resourceType: \"Bundle\", type: \"collection\", entry: [{resourceType: \"Patient\", \
                id: wm_uuid(\"p\"), gender: 3, meta: {security: wm_security(\"identity\"; \"N\")}} | wm_entry]}";
    std::fs::write(dir.path().join("nomis/broken.jq"), code).unwrap();
    let hub = hub_with(MappingSet::load(dir.path()).unwrap()).await;
    let doc = fixture("synthetic-transfer");
    let (status, body) = post(&hub, "", doc.to_string().as_bytes()).await;
    assert_eq!(status, 422, "{body}");
    let issues = body["issue"].as_array().unwrap();
    assert!(issues.iter().any(|i| i["severity"] == "error"), "{body}");
    let last = issues.last().unwrap();
    assert_eq!(last["details"]["coding"][0]["code"], "mapping.produced-by");
    assert!(
        last["details"]["text"]
            .as_str()
            .unwrap()
            .contains("`nomis/broken` version 9.9.9")
    );
    no_side_effects(&hub).await;
}

#[tokio::test]
async fn unreadable_bodies_are_400_outcomes_that_quote_nothing() {
    let hub = hub().await;
    for body in [
        &b"{not json CANARY"[..],
        b"[1, 2]",
        br#"{"envelope": {"x": "CANARY"}, "message": {}}"#,
    ] {
        let (status, outcome) = post(&hub, "", body).await;
        assert_eq!(status, 400, "{outcome}");
        assert_eq!(outcome["resourceType"], "OperationOutcome");
        assert!(!outcome.to_string().contains("CANARY"), "{outcome}");
    }
    no_side_effects(&hub).await;
}
