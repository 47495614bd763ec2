//! Upgrade from an earlier release's schema: a store built with migrations 0001–0004 only (as
//! that release left it, `_sqlx_migrations` included) and holding rows of every kind is opened
//! by the current `waymark_store::open`, which applies the later migrations; the old rows are
//! all there and the tables added since work. SQLite, and PostgreSQL (`WAYMARK_PG_URL`, see
//! `deploy/local/postgres.sh`; fails loudly without it).

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use sha2::{Digest as _, Sha256};
use sqlx::migrate::Migrator;
use waymark_core::{MessageId, Sensitive, SourceSystem};
use waymark_store::{StrongId, open};

use crate::common::repo_root;

/// The earlier release's migrations and their SHA-256: an applied migration must never change
/// (sqlx refuses a store whose applied migration differs; so would every hub in the field).
const RELEASED_SQLITE: [(&str, &str); 4] = [
    (
        "0001_foundation.sql",
        "8cdb00b8599a278c211be3bb21f1b01e0a0b0d22ff85eedf01040e59dfe233ef",
    ),
    (
        "0002_quarantine_resolution.sql",
        "3908481210aa29e4e0a7f2c1c24fbe60b96cd5cd796285628f12124240b5a337",
    ),
    (
        "0003_consent.sql",
        "0281c29654591f72b3718c6447f70e1efb4fcffba2335d799f4fa1ebdf17f7ef",
    ),
    (
        "0004_identity.sql",
        "bd52f2f08922f64e13cd1d02177794359c6f424b1c18f1ca667d22bb05794201",
    ),
];
const RELEASED_PG: [(&str, &str); 4] = [
    (
        "0001_foundation.sql",
        "9d6b18c7b6f1b7f9418f74c07322c40740a6f2847638bea0c3679c401b1a5da5",
    ),
    (
        "0002_quarantine_resolution.sql",
        "1a25ef864a0599f89202b15bbca664c4ea8d785be58675cf159fc8158116359e",
    ),
    (
        "0003_consent.sql",
        "f92a8d32ee7ab9c139cd97b9b59873a77bc7a23c902a7e8ad554cbde23fa06cd",
    ),
    (
        "0004_identity.sql",
        "1be509b368f3bab26c0981e38282ce941ee2e8876bf3bce4de6df5c751bfedfa",
    ),
];

const NHS: &str = "https://fhir.nhs.uk/Id/nhs-number";
const AT: &str = "2026-01-02T03:04:05+00:00";
const BUNDLE: &str = r#"{"resourceType":"Bundle","type":"collection","entry":[]}"#;

/// The earlier release's migrations copied to a folder of their own, checked unchanged.
fn released(dir_name: &str, files: &[(&str, &str)], to: &Path) -> PathBuf {
    let from = repo_root().join("crates/waymark-store").join(dir_name);
    let to = to.join(dir_name);
    std::fs::create_dir_all(&to).unwrap();
    for (file, sha) in files {
        let sql = std::fs::read(from.join(file)).unwrap();
        assert_eq!(
            hex::encode(Sha256::digest(&sql)),
            *sha,
            "{dir_name}/{file} changed after release: add a new migration instead"
        );
        std::fs::write(to.join(file), sql).unwrap();
    }
    to
}

/// How many migrations the current build has (the store must end at the last one).
fn current_migrations(dir_name: &str) -> i64 {
    let dir = repo_root().join("crates/waymark-store").join(dir_name);
    std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "sql")
        })
        .count() as i64
}

fn event_id() -> MessageId {
    MessageId::derive(SourceSystem::Nomis, "migrate-event-1")
}

/// Rows of every table of schema version 4, as that release wrote them (no quarantine: its
/// bytes column needs a bound parameter, see the callers).
fn old_rows() -> Vec<String> {
    let ev = event_id();
    vec![
        format!(
            "INSERT INTO person (person_id, created_at) VALUES ('p-1', '{AT}'), ('p-2', '{AT}')"
        ),
        format!("INSERT INTO identity_link VALUES ('{NHS}', '9434765919', 'p-1', '{AT}')"),
        format!(
            "INSERT INTO record_entry (message_id, person_id, source, message_type, event_time, \
             recorded_at, bundle, origin_person_id) VALUES ('m-1', 'p-1', 'nomis', \
             'prisoner.received', '{AT}', '{AT}', '{BUNDLE}', 'p-1')"
        ),
        format!(
            "INSERT INTO pathway_event (event_id, message_id, person_id, topic, event_time, ordinal) \
             VALUES ('{ev}', 'm-1', 'p-1', 'record.updated', '{AT}', 0)"
        ),
        format!("INSERT INTO subscription_event VALUES ('healthcare', '{ev}', 1)"),
        format!(
            "INSERT INTO consent VALUES ('p-1', 'c-1', 1, \
             '{{\"resourceType\":\"Consent\",\"id\":\"c-1\",\"status\":\"active\"}}', 'active', '{AT}')"
        ),
        r#"INSERT INTO person_record VALUES ('p-1', 3, '{"items":[]}')"#.to_owned(),
    ]
}

const QUARANTINE_OUTCOME: &str = r#"{"resourceType":"OperationOutcome","issue":[]}"#;

/// Checks the old rows through the current store, then that the tables added since work.
async fn check_upgraded(url: &str) {
    let store = open(url)
        .await
        .expect("the current store opens the old schema");
    let counts = store.counts().await.unwrap();
    assert_eq!(
        (counts.persons, counts.records, counts.quarantined),
        (2, 1, 1)
    );
    let id = StrongId {
        system: NHS.to_owned(),
        value: Sensitive::new("9434765919".to_owned()),
    };
    let links = store.find_by_identifiers(&[id]).await.unwrap();
    assert_eq!(links.len(), 1);
    let entries = store.entries("p-1").await.unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(
        (
            entries[0].message_id.as_str(),
            entries[0].origin_person_id.as_str()
        ),
        ("m-1", "p-1")
    );
    let bundle = store.latest_bundle("p-1").await.unwrap().unwrap();
    assert_eq!(bundle.expose().as_str(), BUNDLE);
    assert_eq!(
        store.person_record("p-1").await.unwrap().unwrap().version,
        3
    );
    let consents = store.consents("p-1").await.unwrap();
    assert_eq!((consents.len(), consents[0].version), (1, 1));
    let q = store.quarantine_entry("m-bad").await.unwrap().unwrap();
    assert_eq!(
        (q.stage.as_str(), q.code.as_str()),
        ("map", "mapping.failed")
    );
    // Event numbers carry on: the old event keeps 1, a new one gets 2.
    assert_eq!(
        store.event_number("healthcare", &event_id()).await.unwrap(),
        1
    );
    let next = MessageId::derive(SourceSystem::Nomis, "migrate-event-2");
    assert_eq!(store.event_number("healthcare", &next).await.unwrap(), 2);

    // Added since: the subscriptions table, and the audit trail (an empty chain verifies).
    assert_eq!(
        store
            .put_subscription("sub-1", "{}", "active", Some(0))
            .await
            .unwrap(),
        1
    );
    let audit = Command::new(env!("CARGO_BIN_EXE_waymark"))
        .args(["audit", "verify", "--store", url])
        .output()
        .unwrap();
    assert_eq!(
        audit.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&audit.stderr)
    );
}

#[tokio::test]
async fn a_sqlite_store_of_the_previous_schema_upgrades_with_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let migrations = released("migrations", &RELEASED_SQLITE, dir.path());
    let file = dir.path().join("store.db");
    let url = format!("sqlite://{}", file.display());
    {
        let options = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&file)
            .create_if_missing(true);
        let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
        Migrator::new(migrations.as_path())
            .await
            .unwrap()
            .run(&pool)
            .await
            .unwrap();
        for sql in old_rows() {
            sqlx::query(&sql).execute(&pool).await.unwrap();
        }
        sqlx::query(
            "INSERT INTO quarantine (message_id, source, message_type, stage, code, outcome, \
             original, quarantined_at) VALUES ('m-bad', 'nomis', 'x', 'map', 'mapping.failed', ?, ?, ?)",
        )
        .bind(QUARANTINE_OUTCOME)
        .bind(b"original bytes".to_vec())
        .bind(AT)
        .execute(&pool)
        .await
        .unwrap();
        pool.close().await;
    }
    check_upgraded(&url).await;
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let (applied,): (i64,) = sqlx::query_as("SELECT max(version) FROM _sqlx_migrations")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(applied, current_migrations("migrations"));
    eprintln!("migrate: SQLite store of schema 4 upgraded to {applied}, old rows intact");
}

/// A new, empty database on the test server (`psql` as the owner role); its URL.
fn create_database(owner_url: &str, name: &str) -> String {
    let status = Command::new("psql")
        .args([owner_url, "-q", "-c", &format!("CREATE DATABASE {name}")])
        .status()
        .expect("psql (installed with PostgreSQL by deploy/local/postgres.sh)");
    assert!(
        status.success(),
        "CREATE DATABASE {name} failed (is PostgreSQL up?)"
    );
    let (base, _) = owner_url.rsplit_once('/').unwrap();
    format!("{base}/{name}")
}

#[tokio::test]
async fn a_postgres_store_of_the_previous_schema_upgrades_with_its_data() {
    let owner = std::env::var("WAYMARK_PG_URL").expect(
        "WAYMARK_PG_URL is not set: run deploy/local/postgres.sh start and source \
         /tmp/waymark-services/postgres.env",
    );
    let name = format!("wm_migrate_{}", uuid::Uuid::new_v4().simple());
    let url = create_database(&owner, &name);
    let dir = tempfile::tempdir().unwrap();
    let migrations = released("migrations_pg", &RELEASED_PG, dir.path());
    {
        let pool = sqlx::PgPool::connect(&url).await.unwrap();
        Migrator::new(migrations.as_path())
            .await
            .unwrap()
            .run(&pool)
            .await
            .unwrap();
        for sql in old_rows() {
            sqlx::query(&sql).execute(&pool).await.unwrap();
        }
        sqlx::query("INSERT INTO subscription_counter VALUES ('healthcare', 1)")
            .execute(&pool)
            .await
            .unwrap();
        sqlx::query(&format!(
            "INSERT INTO quarantine (message_id, source, message_type, stage, code, outcome, \
             original, quarantined_at) VALUES ('m-bad', 'nomis', 'x', 'map', 'mapping.failed', \
             '{QUARANTINE_OUTCOME}', $1, '{AT}')"
        ))
        .bind(b"original bytes".to_vec())
        .execute(&pool)
        .await
        .unwrap();
        pool.close().await;
    }
    check_upgraded(&url).await;
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    let (applied,): (i64,) = sqlx::query_as("SELECT max(version) FROM _sqlx_migrations")
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    assert_eq!(applied, current_migrations("migrations_pg"));
    let _ = Command::new("psql")
        .args([
            owner.as_str(),
            "-q",
            "-c",
            &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
        ])
        .status();
    eprintln!("migrate: PostgreSQL store of schema 4 upgraded to {applied}, old rows intact");
}
