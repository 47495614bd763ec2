//! Each stage alone over the same records, microseconds per record: parse, map, validate,
//! identity + merge (pure), policy, the record stage with its store writes (persist), deliver.

use std::{collections::HashMap, sync::Arc, time::Instant};

use anyhow::Context as _;
use chrono::Utc;
use serde_json::{Value, json};
use waymark_bus::{Delivery, DeliveryTag, Message, SqliteBus};
use waymark_core::{Envelope, MessageId};
use waymark_delivery::{RestHook, RestHookConfig, mock::MockReceiver};
use waymark_pipeline::{Handler as _, RECORD, RecordStage, Step, Telemetry};
use waymark_record::{Entry, PersonRecord, RecordConfig};
use waymark_store::SqliteStore;

use super::{Shared, fixtures::Fixtures, local::per_item, subs};

/// µs per record of each stage, in pipeline order.
pub async fn per_stage(shared: &Shared, fixtures: &Fixtures) -> anyhow::Result<Vec<(String, f64)>> {
    let mut out = Vec::new();
    let parse = super::local::micros_per_item(&fixtures.messages, |m| {
        let _ = Envelope::from_bytes(m.body.expose());
    });
    out.push(("parse (envelope bytes → Envelope)".to_owned(), parse));
    let mapped: Vec<&Envelope> = fixtures
        .bundles
        .iter()
        .filter_map(|(i, _)| fixtures.envelopes.get(*i))
        .collect();
    let map = super::local::micros_per_item(&mapped, |e| {
        let _ = shared.mappings.map(e);
    });
    out.push(("map (jq mapping + Provenance)".to_owned(), map));
    let jsons: Vec<Value> = fixtures
        .bundles
        .iter()
        .map(|(_, b)| b.as_json().clone())
        .collect();
    let validate = super::local::micros_per_item(&jsons, |b| {
        let _ = shared.validator.validate(b.clone());
    });
    out.push((
        "validate (R4 schema + bundle rules + HJMD)".to_owned(),
        validate,
    ));
    out.push((
        "identity + merge (pure, in memory)".to_owned(),
        identity_merge(fixtures),
    ));
    let recipients: Vec<_> = subs_recipients();
    let bundles: Vec<_> = fixtures.bundles.iter().map(|(_, b)| b).collect();
    let policy = super::local::micros_per_item(&bundles, |b| {
        for r in &recipients {
            let _ = shared.policy.release(b, r);
        }
    }) / recipients.len().max(1) as f64;
    out.push(("policy (release, per recipient)".to_owned(), policy));
    let record = record_stage(shared, fixtures).await?;
    out.push((
        "record stage (validate + identity + merge + persist, SQLite)".to_owned(),
        record,
    ));
    let persist = (record - validate - out[3].1).max(0.0);
    out.push((
        "persist (record stage − validate − identity + merge)".to_owned(),
        persist,
    ));
    out.push((
        "deliver (sign + POST + 2xx, loopback)".to_owned(),
        deliver(fixtures).await?,
    ));
    let hl7 = super::fixtures::hl7_messages(fixtures.people.min(500));
    let er7 = super::local::micros_per_item(&hl7, |m| {
        let _ = waymark_mapping::er7::to_tree(m);
    });
    out.push((
        "HL7 v2 parse (ER7 → tree, ExceliCare messages)".to_owned(),
        er7,
    ));
    Ok(out)
}

fn subs_recipients() -> Vec<waymark_policy::Recipient> {
    crate::embedded::demo_subscriptions("http://127.0.0.1/", "http://127.0.0.1/", subs::SECRET)
        .into_iter()
        .map(|s| s.recipient)
        .collect()
}

/// The in-memory MPI and record merge: place each bundle's Patient, then merge the bundle into
/// that person's record.
fn identity_merge(fixtures: &Fixtures) -> f64 {
    let mut index = waymark_identity::Index::new(waymark_identity::MatchConfig::default());
    let mut records: HashMap<String, PersonRecord> = HashMap::new();
    let start = Instant::now();
    for (i, bundle) in &fixtures.bundles {
        let json = bundle.as_json();
        let Some(patient) = waymark_fhir::entries(json).find(|r| r["resourceType"] == "Patient")
        else {
            continue;
        };
        let placed = index.add(patient);
        let Some(envelope) = fixtures.envelopes.get(*i) else {
            continue;
        };
        let entry = Entry {
            message_id: envelope.id.to_string(),
            source: envelope.source,
            event_time: envelope.event_time.unwrap_or(envelope.received_at),
            recorded_at: Utc::now(),
            bundle: json,
        };
        records
            .entry(placed.person_id)
            .or_insert_with(|| PersonRecord::new(RecordConfig::default()))
            .apply(&entry);
    }
    per_item(start.elapsed(), fixtures.bundles.len())
}

/// The record stage's handler over the mapped bundles, on a scratch SQLite store and bus.
async fn record_stage(shared: &Shared, fixtures: &Fixtures) -> anyhow::Result<f64> {
    let dir = tempfile::tempdir()?;
    let store = Arc::new(SqliteStore::open(&dir.path().join("stage.db")).await?);
    let bus = Arc::new(SqliteBus::open(&dir.path().join("stage-bus.db")).await?);
    waymark_pipeline::declare_all(bus.as_ref(), &[]).await?;
    let stage = RecordStage::new(
        Arc::clone(&shared.validator),
        store,
        bus,
        Telemetry::log_only(),
        Arc::clone(&shared.topics),
    );
    let deliveries: Vec<Delivery> = fixtures
        .bundles
        .iter()
        .filter_map(|(i, b)| {
            let e = fixtures.envelopes.get(*i)?;
            let meta = json!({"id": e.id, "source": e.source, "messageType": e.message_type,
                "eventTime": e.event_time, "receivedAt": e.received_at});
            let body = json!({"envelope": meta, "bundle": b.as_json()}).to_string();
            let message = Message::new(e.id.child("record"), body.into_bytes());
            Some(Delivery {
                queue: RECORD.into(),
                tag: DeliveryTag(1),
                attempt: 1,
                message,
            })
        })
        .collect();
    let start = Instant::now();
    for delivery in &deliveries {
        let step = stage.handle(delivery).await;
        anyhow::ensure!(
            matches!(step, Step::Done),
            "the record stage did not finish a record"
        );
    }
    Ok(per_item(start.elapsed(), deliveries.len()))
}

/// Signed POSTs of each released bundle to a mock receiver, one at a time.
async fn deliver(fixtures: &Fixtures) -> anyhow::Result<f64> {
    let receiver = MockReceiver::start(vec![subs::SECRET.to_owned()]).await?;
    let sub = crate::embedded::demo_subscriptions(&receiver.url(), &receiver.url(), subs::SECRET)
        .into_iter()
        .next()
        .context("no demo subscription")?;
    let hook = RestHook::new(&RestHookConfig::default())?;
    let bodies = fixtures.bundle_bytes();
    let start = Instant::now();
    for (n, body) in bodies.iter().enumerate() {
        let id = MessageId::from_stored(format!("bench-deliver-{n}"));
        let outcome = hook.send(&sub, id.as_str(), body, Utc::now()).await;
        anyhow::ensure!(
            matches!(outcome, waymark_delivery::DeliveryOutcome::Delivered { .. }),
            "the mock receiver refused a delivery"
        );
    }
    Ok(per_item(start.elapsed(), bodies.len()))
}
