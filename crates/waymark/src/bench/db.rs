//! The database's own ceiling: PostgreSQL inserting rows shaped like the hub's record entries
//! (message id, person id, source, event time, the canonical bundle as `jsonb`), with
//! `synchronous_commit = on`, in a database made for the run.

use std::time::Instant;

use anyhow::Context as _;
use sqlx::{Connection as _, Executor as _, PgConnection, postgres::PgPoolOptions};
use tokio::task::JoinSet;

use super::stats::rate;

const TABLE: &str = "CREATE TABLE bench_entry (message_id text PRIMARY KEY, person_id uuid NOT \
     NULL, source text NOT NULL, event_time timestamptz NOT NULL, bundle jsonb NOT NULL)";

const UNNEST: &str = "INSERT INTO bench_entry SELECT m, p::uuid, s, now(), b::jsonb FROM \
     UNNEST($1::text[], $2::text[], $3::text[], $4::text[]) AS r(m, p, s, b)";

/// A database of its own for one run, dropped by [`FreshDb::drop_now`].
pub struct FreshDb {
    admin_url: String,
    name: String,
    /// Its URL.
    pub url: String,
}

impl FreshDb {
    /// Creates an empty database as the owner role at `admin_url` (`WAYMARK_PG_URL`).
    pub async fn create(admin_url: &str) -> anyhow::Result<Self> {
        let name = format!("wm_bench_{}", uuid::Uuid::new_v4().simple());
        let mut admin = PgConnection::connect(admin_url)
            .await
            .context("PostgreSQL at WAYMARK_PG_URL is unreachable")?;
        admin
            .execute(format!("CREATE DATABASE {name}").as_str())
            .await?;
        let _ = admin.close().await;
        let (base, _) = admin_url
            .rsplit_once('/')
            .context("WAYMARK_PG_URL has no database")?;
        Ok(Self {
            admin_url: admin_url.to_owned(),
            url: format!("{base}/{name}"),
            name,
        })
    }

    /// Drops the database (and its connections).
    pub async fn drop_now(self) -> anyhow::Result<()> {
        let mut admin = PgConnection::connect(&self.admin_url).await?;
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        admin.execute(sql.as_str()).await?;
        let _ = admin.close().await;
        Ok(())
    }
}

/// The server's version (`SHOW server_version`).
pub async fn server_version(url: &str) -> anyhow::Result<String> {
    let mut conn = PgConnection::connect(url).await?;
    let (v,): (String,) = sqlx::query_as("SHOW server_version")
        .fetch_one(&mut conn)
        .await?;
    let _ = conn.close().await;
    Ok(v)
}

/// Rows per second of `INSERT … UNNEST`: `n` rows (bundles taken in turn from `bundles`) in
/// transactions of `batch` rows, from `connections` concurrent connections, each commit
/// durable (`synchronous_commit = on`).
pub async fn insert_rows(
    url: &str,
    bundles: &[String],
    n: usize,
    batch: usize,
    connections: usize,
) -> anyhow::Result<f64> {
    let db = FreshDb::create(url).await?;
    let result = insert_into(&db.url, bundles, n, batch, connections).await;
    db.drop_now().await?;
    result
}

async fn insert_into(
    url: &str,
    bundles: &[String],
    n: usize,
    batch: usize,
    connections: usize,
) -> anyhow::Result<f64> {
    anyhow::ensure!(!bundles.is_empty(), "no bundles to insert");
    let pool = PgPoolOptions::new()
        .max_connections(u32::try_from(connections).unwrap_or(8))
        .after_connect(|conn, _| {
            Box::pin(async move {
                conn.execute("SET synchronous_commit = on").await?;
                Ok(())
            })
        })
        .connect(url)
        .await?;
    pool.execute(TABLE).await?;
    let batches = n.div_ceil(batch);
    let start = Instant::now();
    let mut tasks = JoinSet::new();
    for c in 0..connections {
        let (pool, bundles) = (pool.clone(), bundles.to_vec());
        tasks.spawn(async move {
            for b in (c..batches).step_by(connections) {
                let rows = (b * batch..((b + 1) * batch).min(n)).collect::<Vec<_>>();
                sqlx::query(UNNEST)
                    .bind(
                        rows.iter()
                            .map(|i| format!("bench-{i}"))
                            .collect::<Vec<_>>(),
                    )
                    .bind(
                        rows.iter()
                            .map(|_| uuid::Uuid::new_v4().to_string())
                            .collect::<Vec<_>>(),
                    )
                    .bind(vec!["nomis".to_owned(); rows.len()])
                    .bind(
                        rows.iter()
                            .map(|i| bundles[i % bundles.len()].clone())
                            .collect::<Vec<_>>(),
                    )
                    .execute(&pool)
                    .await?;
            }
            anyhow::Ok(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    let rate = rate(n, start.elapsed());
    pool.close().await;
    Ok(rate)
}
