//! Store benchmark: person-search latency and `apply` throughput, on any `Store`.
//!
//! Run:
//! - `cargo bench -p waymark-store --bench store` (SQLite in a temp dir, 100,000 persons);
//! - `cargo bench -p waymark-store --bench store -- --people 1000000` (or
//!   `WAYMARK_BENCH_PEOPLE=1000000`);
//! - `WAYMARK_BENCH_STORE=postgres WAYMARK_PG_URL=postgres://... cargo bench -p waymark-store
//!   --features postgres --bench store` (the database must be empty).
//!
//! The population is loaded through the backend's `bulk_load` (new persons, many per
//! transaction, with the very statements of `apply`), with small bundles and records: the tables
//! the searches read (person, person_block, person_demographics, identity_link) and their
//! indexes are exactly those of production. The `apply` phase then uses realistic changes:
//! two strong identifiers, four blocking keys, 2–4 KB bundle and record JSON, half new persons,
//! half updates of loaded persons (read the record's version, apply with that version).
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::json;
use waymark_core::{MessageId, Sensitive, SourceSystem};
use waymark_store::{
    ApplyOutcome, NewEvent, PersonChoice, RecordChange, SqliteStore, Store, StoreError, StrongId,
};

const NOMIS: &str = "https://fhir.waymark.org.uk/Id/nomis-prison-number";
const NHS: &str = "https://fhir.nhs.uk/Id/nhs-number";
/// Persons per `bulk_load` transaction.
const BATCH: u64 = 5_000;
/// Searches (and identifier lookups) timed.
const SEARCHES: u64 = 2_000;
/// Changes applied by the single task, and by each of the concurrent tasks.
const CHANGES: u64 = 2_000;
const TASKS: u64 = 4;
/// Candidates asked for per search.
const LIMIT: u32 = 100;

/// The store under test and its bulk-load path. The one place that knows the backends.
enum Backend {
    /// The store, and its temp dir (deleted when dropped).
    Sqlite(SqliteStore, #[allow(dead_code)] tempfile::TempDir),
    #[cfg(feature = "postgres")]
    Postgres(waymark_store::PgStore),
}

impl Backend {
    fn store(&self) -> Arc<dyn Store> {
        match self {
            Self::Sqlite(s, _) => Arc::new(s.clone()),
            #[cfg(feature = "postgres")]
            Self::Postgres(s) => Arc::new(s.clone()),
        }
    }

    async fn bulk_load(&self, changes: Vec<RecordChange>) -> Result<u64, StoreError> {
        match self {
            Self::Sqlite(s, _) => s.bulk_load(changes).await,
            #[cfg(feature = "postgres")]
            Self::Postgres(s) => s.bulk_load(changes).await,
        }
    }
}

/// Opens an empty store of the named backend (`sqlite`, or `postgres` at `WAYMARK_PG_URL`).
async fn open_backend(name: &str) -> Backend {
    match name {
        "sqlite" => {
            let dir = tempfile::tempdir().expect("temp dir");
            let store = SqliteStore::open(&dir.path().join("store.db"))
                .await
                .expect("open");
            Backend::Sqlite(store, dir)
        }
        #[cfg(feature = "postgres")]
        "postgres" => {
            let url = std::env::var("WAYMARK_PG_URL").expect("WAYMARK_PG_URL");
            let store = waymark_store::PgStore::connect(&url)
                .await
                .expect("connect");
            Backend::Postgres(store)
        }
        other => panic!("unknown backend `{other}` (sqlite; postgres with --features postgres)"),
    }
}

/// splitmix64: a deterministic, well-mixed hash of `n`.
fn mix(n: u64) -> u64 {
    let mut z = n.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Synthetic person `n`: identifiers, the four blocking keys the matcher would derive
/// (birth date; family-name code + birth year; given initial + birth date; postcode district +
/// family-name code), and demographics JSON.
struct Synthetic {
    ids: Vec<StrongId>,
    keys: Vec<String>,
    demographics: String,
}

fn synthetic(n: u64) -> Synthetic {
    let h = mix(n);
    let born = NaiveDate::from_ymd_opt(1950, 1, 1).unwrap() + chrono::Days::new(h % 21_915);
    let family = (h >> 16) % 4_000;
    let initial = char::from(b'A' + u8::try_from((h >> 32) % 26).unwrap());
    let district = (h >> 40) % 2_800;
    let year = born.format("%Y");
    let id = |system: &str, value: String| StrongId {
        system: system.into(),
        value: Sensitive::new(value),
    };
    Synthetic {
        ids: vec![id(NOMIS, format!("N{n:08}")), id(NHS, format!("9{n:09}"))],
        keys: vec![
            format!("dob:{born}"),
            format!("fam:{family}:{year}"),
            format!("gin:{initial}:{born}"),
            format!("pc:{district}:{family}"),
        ],
        demographics: json!({"family": [format!("Family{family}")],
            "given": [format!("{initial}given")], "birthDate": born.to_string(),
            "sex": if h >> 63 == 0 { "male" } else { "female" },
            "postcodes": [format!("PC{district} 1AA")]})
        .to_string(),
    }
}

const PADDING: &str = "synthetic observation for the store benchmark, padded to a realistic size";

/// A JSON document of 2–4 KB (synthetic text), like a canonical bundle or a merged record.
fn document(kind: &str, n: u64) -> String {
    let items = 10 + mix(n ^ 0x5eed) % 11;
    let entry = |i: u64| {
        json!({"resourceType": "Observation", "id": format!("{kind}-{n}-{i}"),
        "code": {"text": PADDING},
        "valueString": format!("value {i} of {n}")})
    };
    json!({"resourceType": kind, "entry": (0..items).map(entry).collect::<Vec<_>>()}).to_string()
}

fn at(n: u64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000 + i64::try_from(n).unwrap(), 0).unwrap()
}

/// The change of message `key` about synthetic person `n`.
fn change(key: &str, n: u64, person: PersonChoice, version: u64, full: bool) -> RecordChange {
    let s = synthetic(n);
    let (bundle, record) = if full {
        (document("Bundle", n), document("PersonRecord", n))
    } else {
        ("{}".to_owned(), "{}".to_owned())
    };
    RecordChange {
        message_id: MessageId::derive(SourceSystem::Nomis, key),
        source: SourceSystem::Nomis,
        message_type: "OFFENDER-UPDATED".into(),
        event_time: Some(at(n)),
        recorded_at: at(n),
        bundle: Sensitive::new(bundle),
        person,
        identifiers: s.ids,
        demographics: Sensitive::new(s.demographics),
        block_keys: s.keys,
        expected_version: version,
        record: Sensitive::new(record),
        events: vec![NewEvent {
            topic: "record.updated".into(),
            event_time: at(n),
            detail: json!({"items": ["identity"]}),
        }],
        review: None,
    }
}

async fn load(backend: &Backend, people: u64) {
    let started = Instant::now();
    let mut next = 0;
    while next < people {
        let end = (next + BATCH).min(people);
        let batch = (next..end)
            .map(|n| change(&format!("load-{n}"), n, PersonChoice::New, 0, false))
            .collect();
        backend.bulk_load(batch).await.expect("bulk load");
        next = end;
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "load: {people} persons in {secs:.1} s ({:.0} persons/s; bulk, {BATCH} per transaction)",
        people as f64 / secs
    );
}

/// p50 and p99 of the samples, in milliseconds.
fn percentiles(mut samples: Vec<Duration>) -> (f64, f64) {
    samples.sort();
    let pick = |q: f64| {
        let i = ((samples.len() as f64 - 1.0) * q).round() as usize;
        samples[i].as_secs_f64() * 1_000.0
    };
    (pick(0.50), pick(0.99))
}

async fn search(store: &dyn Store, people: u64) {
    let (mut times, mut found) = (Vec::new(), 0);
    for i in 0..SEARCHES {
        let keys = synthetic(mix(i) % people).keys;
        let started = Instant::now();
        found += store
            .candidates(&keys, LIMIT)
            .await
            .expect("candidates")
            .len();
        times.push(started.elapsed());
    }
    let (p50, p99) = percentiles(times);
    let mean = found as f64 / SEARCHES as f64;
    println!(
        "  candidates (4 keys, limit {LIMIT}): p50 {p50:.3} ms, p99 {p99:.3} ms, \
         {mean:.1} candidates on average ({SEARCHES} searches)"
    );
    let mut times = Vec::new();
    for i in 0..SEARCHES {
        let ids = synthetic(mix(i + SEARCHES) % people).ids;
        let started = Instant::now();
        let links = store.find_by_identifiers(&ids).await.expect("find");
        times.push(started.elapsed());
        assert_eq!(
            links.len(),
            2,
            "both identifiers of a loaded person are linked"
        );
    }
    let (p50, p99) = percentiles(times);
    println!(
        "  find_by_identifiers (2 ids): p50 {p50:.3} ms, p99 {p99:.3} ms ({SEARCHES} lookups)"
    );
}

/// Person ids of loaded persons `first..first + count` (found by identifier; not timed).
async fn targets(store: &dyn Store, first: u64, count: u64) -> Vec<(u64, String)> {
    let mut found = Vec::new();
    for n in first..first + count {
        let links = store
            .find_by_identifiers(&synthetic(n).ids[..1])
            .await
            .expect("find");
        found.push((n, links[0].person_id.clone()));
    }
    found
}

/// Applies `CHANGES` changes, alternately a new person and an update of a target; the number
/// of version conflicts.
async fn apply_run(
    store: Arc<dyn Store>,
    run: String,
    fresh: u64,
    targets: Vec<(u64, String)>,
) -> u64 {
    let mut conflicts = 0;
    for i in 0..CHANGES {
        let key = format!("{run}-{i}");
        let c = if i % 2 == 0 {
            change(&key, fresh + i, PersonChoice::New, 0, true)
        } else {
            let (n, person) = &targets[usize::try_from(i / 2).unwrap()];
            let record = store.person_record(person).await.expect("read record");
            let version = record.map_or(0, |r| r.version);
            change(
                &key,
                *n,
                PersonChoice::Existing(person.clone()),
                version,
                true,
            )
        };
        match store.apply(c).await {
            Ok(ApplyOutcome::Applied { .. }) => {}
            Err(StoreError::VersionConflict(_)) => conflicts += 1,
            other => panic!("apply: {other:?}"),
        }
    }
    conflicts
}

async fn apply_throughput(store: Arc<dyn Store>, people: u64) {
    let per_run = CHANGES / 2;
    let mut tasks = Vec::new();
    for t in 0..=TASKS {
        tasks.push(targets(store.as_ref(), t * per_run, per_run).await);
    }
    let started = Instant::now();
    let fresh = people + 1_000_000_000;
    apply_run(store.clone(), "single".into(), fresh, tasks.remove(0)).await;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "apply, 1 task: {CHANGES} changes in {secs:.2} s: {:.0} records merged/s \
         (half new persons, half updates with version checks; 2-4 KB bundle and record)",
        CHANGES as f64 / secs
    );
    let started = Instant::now();
    let handles: Vec<_> = tasks
        .into_iter()
        .enumerate()
        .map(|(t, targets)| {
            let fresh = fresh + (t as u64 + 1) * CHANGES;
            tokio::spawn(apply_run(store.clone(), format!("task{t}"), fresh, targets))
        })
        .collect();
    let mut conflicts = 0;
    for h in handles {
        conflicts += h.await.expect("task");
    }
    let secs = started.elapsed().as_secs_f64();
    let total = CHANGES * TASKS;
    println!(
        "apply, {TASKS} tasks: {total} changes in {secs:.2} s: {:.0} records merged/s \
         ({conflicts} version conflicts)",
        total as f64 / secs
    );
}

fn people_to_load() -> u64 {
    let args: Vec<String> = std::env::args().collect();
    let from_arg = args
        .windows(2)
        .find(|w| w[0] == "--people")
        .map(|w| w[1].clone());
    from_arg
        .or_else(|| std::env::var("WAYMARK_BENCH_PEOPLE").ok())
        .map_or(100_000, |n| n.replace('_', "").parse().expect("--people N"))
}

fn main() {
    let name = std::env::var("WAYMARK_BENCH_STORE").unwrap_or_else(|_| "sqlite".into());
    let people = people_to_load();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let backend = open_backend(&name).await;
        let store = backend.store();
        assert_eq!(
            store.counts().await.unwrap().persons,
            0,
            "the store must be empty"
        );
        println!("store benchmark: {name}, {people} persons");
        load(&backend, people).await;
        println!("search at {people} persons:");
        search(store.as_ref(), people).await;
        apply_throughput(store, people).await;
    });
}
