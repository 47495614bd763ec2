//! Stage handlers on a real embedded bus and store: bad bytes never crash a stage and always
//! end in quarantine with a reason.

use std::{path::Path, sync::Arc};

use waymark_bus::{Bus, Delivery, DeliveryTag, Message, SqliteBus};
use waymark_core::{MessageId, SourceSystem};
use waymark_mapping::MappingSet;
use waymark_pipeline::{Handler, MapStage, RecordStage, Step, Telemetry};
use waymark_profile::Validator;
use waymark_store::{SqliteStore, Store};

struct Parts {
    _dir: tempfile::TempDir,
    bus: Arc<dyn Bus>,
    store: Arc<SqliteStore>,
    validator: Arc<Validator>,
}

async fn parts() -> Parts {
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
    Parts {
        _dir: dir,
        bus,
        store,
        validator: Arc::new(Validator::r4().unwrap()),
    }
}

fn delivery(queue: &str, body: &[u8]) -> Delivery {
    let id = MessageId::derive(SourceSystem::Nomis, &String::from_utf8_lossy(body));
    Delivery {
        queue: queue.into(),
        tag: DeliveryTag(1),
        attempt: 1,
        message: Message::new(id, body.to_vec()),
    }
}

#[tokio::test]
async fn garbage_on_the_ingest_queue_is_quarantined_not_crashed_on() {
    let p = parts().await;
    let mappings =
        MappingSet::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../mappings")).unwrap();
    let stage = MapStage {
        mappings: Arc::new(mappings),
        validator: p.validator.clone(),
        store: p.store.clone(),
        bus: p.bus.clone(),
        telemetry: Telemetry::log_only(),
    };
    for body in [&b"not an envelope"[..], b"{}", b"", &[0xff, 0xfe, 0x00]] {
        assert_eq!(
            stage
                .handle(&delivery(waymark_pipeline::INGEST, body))
                .await,
            Step::Done
        );
    }
    let listed = p.store.quarantined(10).await.unwrap();
    assert_eq!(listed.len(), 4);
    assert!(
        listed
            .iter()
            .all(|q| q.code == "envelope.decode" && q.stage == "map"),
        "{listed:?}"
    );
    assert_eq!(
        p.bus.depth(waymark_pipeline::RECORD).await.unwrap().total(),
        0
    );
}

#[tokio::test]
async fn an_invalid_bundle_reaching_the_record_stage_is_quarantined_with_its_outcome() {
    let p = parts().await;
    let stage = RecordStage::new(
        p.validator.clone(),
        p.store.clone(),
        p.bus.clone(),
        Telemetry::log_only(),
        Arc::new(waymark_record::Topics::builtin().unwrap()),
    );
    let id = MessageId::derive(SourceSystem::Nomis, "x");
    let body = serde_json::json!({
        "envelope": {"id": id, "source": "nomis", "messageType": "T", "eventTime": null, "receivedAt": "2026-01-01T00:00:00Z"},
        "bundle": {"resourceType": "Bundle", "type": "collection", "entry": []}
    });
    let step = stage
        .handle(&delivery(
            waymark_pipeline::RECORD,
            body.to_string().as_bytes(),
        ))
        .await;
    assert_eq!(step, Step::Done);
    let step = stage
        .handle(&delivery(waymark_pipeline::RECORD, b"[1,2,3]"))
        .await;
    assert_eq!(step, Step::Done);
    let listed = p.store.quarantined(10).await.unwrap();
    let mut codes: Vec<&str> = listed.iter().map(|q| q.code.as_str()).collect();
    codes.sort_unstable();
    assert_eq!(codes, ["profile.invalid", "record.decode"]);
    let invalid = listed.iter().find(|q| q.code == "profile.invalid").unwrap();
    assert_eq!(invalid.outcome["resourceType"], "OperationOutcome");
    assert_ne!(invalid.outcome["issue"][0]["severity"], "information");
    assert_eq!(p.store.counts().await.unwrap().records, 0);
}
