//! Opening the file: connection settings and the embedded schema migrations.
//!
//! The schema is kept as sqlx migrations in `crates/waymark-bus/migrations/`, compiled into the
//! crate with `include_str!` and applied by [`Migrator`] (which records each applied version and
//! its checksum in `_sqlx_migrations`). Chosen over `CREATE TABLE IF NOT EXISTS` plus a version
//! row because a later schema change is just a new numbered file, an edited old file is caught by
//! its checksum, and the store crate keeps its schema the same way. The `sqlx::migrate!` macro is
//! not used: it lives behind sqlx's `macros` feature, which the workspace does not enable, and
//! turning it on here would change sqlx's features (and rebuild it) for every crate.

use std::{borrow::Cow, future::Future, path::Path, pin::Pin};

use sqlx::{
    error::BoxDynError,
    migrate::{Migration, MigrationSource, MigrationType, Migrator},
    sqlite::{
        SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
    },
};

use super::{SqliteBusOptions, backend};
use crate::BusError;

/// The migrations, oldest first: (version, description, SQL).
const MIGRATIONS: &[(i64, &str, &str)] =
    &[(1, "bus", include_str!("../../migrations/0001_bus.sql"))];

/// The migrations compiled into the crate.
#[derive(Debug)]
struct Embedded;

impl MigrationSource<'static> for Embedded {
    fn resolve(
        self,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<Migration>, BoxDynError>> + Send + 'static>> {
        let migrations = MIGRATIONS
            .iter()
            .map(|&(version, description, sql)| {
                let (description, sql) = (Cow::Borrowed(description), Cow::Borrowed(sql));
                Migration::new(version, description, MigrationType::Simple, sql, false)
            })
            .collect();
        Box::pin(std::future::ready(Ok(migrations)))
    }
}

/// Opens (creating if needed) the database file and brings its schema up to date.
///
/// One connection: SQLite has one writer at a time and nearly every bus operation writes, so a
/// single connection queues them in-process instead of retrying `SQLITE_BUSY`. WAL keeps readers
/// (a backup, the `sqlite3` shell) off the writer's back; `synchronous=FULL` makes every commit
/// reach the disk before it returns, which is what makes a returned publish a publisher confirm;
/// the busy timeout covers those other readers.
pub(super) async fn connect(
    path: &Path,
    options: &SqliteBusOptions,
) -> Result<SqlitePool, BusError> {
    let connect = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(options.busy_timeout)
        .foreign_keys(true);
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .min_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .connect_with(connect)
        .await
        .map_err(backend)?;
    let migrator = Migrator::new(Embedded)
        .await
        .map_err(|e| BusError::Backend(e.to_string()))?;
    migrator
        .run(&pool)
        .await
        .map_err(|e| BusError::Backend(e.to_string()))?;
    Ok(pool)
}
