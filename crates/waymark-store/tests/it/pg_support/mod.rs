//! PostgreSQL test support: the server URL from `WAYMARK_PG_URL` (a test fails loudly without
//! it: start the server with `deploy/local/postgres.sh` and `source` the env file it writes),
//! and a fresh database per check, dropped afterwards.
#![allow(dead_code)]

use std::sync::Arc;

use sqlx::{Connection, Executor, PgConnection};
use waymark_store::{PgOptions, PgStore, Store};

/// The owner role's URL (may create databases). Panics, saying how to start the server, when
/// the variable is not set.
pub fn owner_url() -> String {
    std::env::var("WAYMARK_PG_URL").unwrap_or_else(|_| {
        panic!(
            "WAYMARK_PG_URL is not set: these tests need PostgreSQL. Run \
             `deploy/local/postgres.sh` and `source /tmp/waymark-services/postgres.env` \
             (deploy/local/test.sh does both)"
        )
    })
}

/// `url` with its database name replaced by `name`.
pub fn with_database(url: &str, name: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("postgres", url));
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let query = tail.find('?').map_or("", |i| &tail[i..]);
    format!("{scheme}://{authority}/{name}{query}")
}

/// A database made for one check; dropped (with its connections) when this is dropped.
pub struct FreshDb {
    admin_url: String,
    /// The database name.
    pub name: String,
    /// Its URL (the owner role).
    pub url: String,
}

impl FreshDb {
    /// Creates an empty database with a unique name, as the owner role.
    pub async fn create() -> Self {
        let admin_url = owner_url();
        let name = format!("wm_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = PgConnection::connect(&admin_url).await.unwrap_or_else(|e| {
            panic!("PostgreSQL at WAYMARK_PG_URL is unreachable ({e}): is deploy/local/postgres.sh running?")
        });
        admin
            .execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .expect("create the check's database");
        let _ = admin.close().await;
        let url = with_database(&admin_url, &name);
        Self {
            admin_url,
            name,
            url,
        }
    }
}

impl Drop for FreshDb {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        // Drop runs outside async: a thread with its own runtime drops the database.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async {
                if let Ok(mut admin) = PgConnection::connect(&admin_url).await {
                    let _ = admin.execute(sql.as_str()).await;
                    let _ = admin.close().await;
                }
            });
        })
        .join();
    }
}

/// A fresh, empty, migrated `PgStore` in its own database.
pub async fn fresh() -> (FreshDb, Arc<dyn Store>) {
    let db = FreshDb::create().await;
    let options = PgOptions {
        max_connections: 4,
        ..PgOptions::default()
    };
    let store = PgStore::connect_with(&db.url, &options)
        .await
        .expect("connect to the fresh database and migrate");
    (db, Arc::new(store))
}
