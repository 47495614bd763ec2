//! The benchmark's population: one person recorded through the real record stage (the NOMIS
//! fixture `synthetic-reception-with-alerts`) is the template; synthetic person `n` is that
//! record with its own prison number, family name and date of birth, bulk-loaded with the very
//! statements of `Store::apply` (identity link, blocking keys of its demographics, record).

use std::{path::Path, sync::Arc, time::Instant};

use chrono::{NaiveDate, Utc};
use serde_json::{Value, json};
use waymark_bus::{Delivery, DeliveryTag, Message, SqliteBus};
use waymark_core::{MessageId, PRISON_NUMBER_SYSTEM, Sensitive, SourceSystem};
use waymark_pipeline::{Handler, RECORD, RecordStage, Step, Telemetry, declare_all};
use waymark_profile::Validator;
use waymark_store::{PersonChoice, RecordChange, SqliteStore, Store, StrongId};

const FIXTURE: &str = "synthetic-reception-with-alerts";
const TEMPLATE_PRISON_NUMBER: &str = "G1234AB";
const TEMPLATE_FAMILY: &str = "Testperson";
const TEMPLATE_BORN: &str = "1991-07-14";
/// Persons per `bulk_load` transaction.
const BATCH: u64 = 5_000;

/// splitmix64: a deterministic, well-mixed hash of `n`.
pub fn mix(n: u64) -> u64 {
    let mut z = n.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn letter(n: u64) -> char {
    char::from(b'A' + u8::try_from(n % 26).unwrap())
}

/// Person `n`'s prison number (`A0000AA` form; unique below 17.5 million).
pub fn prison_number(n: u64) -> String {
    let (digits, rest) = (n % 10_000, n / 10_000);
    let (a, b, c) = (rest / 676, rest / 26, rest);
    format!("{}{digits:04}{}{}", letter(a), letter(b), letter(c))
}

fn family(n: u64) -> String {
    let k = (mix(n) >> 16) % 4_000;
    format!(
        "Fam{}{}{}",
        letter(k / 676).to_ascii_lowercase(),
        letter(k / 26).to_ascii_lowercase(),
        letter(k).to_ascii_lowercase()
    )
}

fn born(n: u64) -> String {
    let day = NaiveDate::from_ymd_opt(1950, 1, 1).unwrap() + chrono::Days::new(mix(n) % 21_915);
    day.to_string()
}

/// The template: the fixture's Patient and the record the record stage made of it.
pub struct Template {
    patient: String,
    record: String,
}

fn repo() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

impl Template {
    /// Records the fixture through the record stage in a scratch store and reads it back.
    pub async fn make(validator: Arc<Validator>, scratch: &Path) -> Self {
        let path = repo().join(format!("mappings/nomis/tests/{FIXTURE}.expected.json"));
        let bundle: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        let store = Arc::new(SqliteStore::open(&scratch.join("t.db")).await.unwrap());
        let bus = Arc::new(SqliteBus::open(&scratch.join("tb.db")).await.unwrap());
        declare_all(bus.as_ref(), &[]).await.unwrap();
        let topics = Arc::new(waymark_record::Topics::builtin().unwrap());
        let stage = RecordStage::new(validator, store.clone(), bus, Telemetry::log_only(), topics);
        let id = MessageId::derive(SourceSystem::Nomis, FIXTURE);
        let body = json!({
            "envelope": {"id": id, "source": "nomis", "messageType": "TEST", "eventTime": Utc::now()},
            "bundle": bundle,
        });
        let message = Message::new(id, body.to_string().into_bytes());
        let delivery = Delivery {
            queue: RECORD.into(),
            tag: DeliveryTag(1),
            attempt: 1,
            message,
        };
        assert!(matches!(stage.handle(&delivery).await, Step::Done));
        let links = store
            .find_by_identifiers(&[strong_id(TEMPLATE_PRISON_NUMBER)])
            .await
            .unwrap();
        let stored = store
            .person_record(&links[0].person_id)
            .await
            .unwrap()
            .unwrap();
        let patient = waymark_fhir::entries(&bundle)
            .find(|r| r["resourceType"] == "Patient")
            .unwrap()
            .to_string();
        Self {
            patient,
            record: stored.record.expose().clone(),
        }
    }

    /// Person `n`'s change: the template with `n`'s prison number, family name and birth date.
    fn change(&self, n: u64) -> RecordChange {
        let pn = prison_number(n);
        let personalise = |text: &str| {
            text.replace(TEMPLATE_PRISON_NUMBER, &pn)
                .replace(TEMPLATE_FAMILY, &family(n))
                .replace(TEMPLATE_BORN, &born(n))
        };
        let patient: Value = serde_json::from_str(&personalise(&self.patient)).unwrap();
        let demographics = waymark_identity::demographics(&patient);
        let now = Utc::now();
        RecordChange {
            message_id: MessageId::derive(SourceSystem::Nomis, &format!("bench-{n}")),
            source: SourceSystem::Nomis,
            message_type: "OFFENDER-UPDATED".into(),
            event_time: Some(now),
            recorded_at: now,
            bundle: Sensitive::new("{}".into()),
            person: PersonChoice::New,
            identifiers: vec![strong_id(&pn)],
            demographics: Sensitive::new(serde_json::to_string(&demographics).unwrap()),
            block_keys: waymark_identity::blocking_keys(&demographics),
            expected_version: 0,
            record: Sensitive::new(personalise(&self.record)),
            events: Vec::new(),
            review: None,
        }
    }
}

/// A prison-number identity link.
pub fn strong_id(prison_number: &str) -> StrongId {
    StrongId {
        system: PRISON_NUMBER_SYSTEM.into(),
        value: Sensitive::new(prison_number.into()),
    }
}

/// Loads persons `0..people` into `store`.
pub async fn load(store: &SqliteStore, template: &Template, people: u64) {
    let started = Instant::now();
    let mut next = 0;
    while next < people {
        let end = (next + BATCH).min(people);
        let batch = (next..end).map(|n| template.change(n)).collect();
        store.bulk_load(batch).await.expect("bulk load");
        next = end;
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "load: {people} persons in {secs:.1} s ({:.0} persons/s; record {} bytes each)",
        people as f64 / secs,
        template.record.len()
    );
}

/// The person ids of `count` persons spread over the population (not timed).
pub async fn person_ids(store: &dyn Store, people: u64, count: u64) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..count {
        let links = store
            .find_by_identifiers(&[strong_id(&prison_number(mix(i) % people))])
            .await;
        ids.push(links.expect("find")[0].person_id.clone());
    }
    ids
}
