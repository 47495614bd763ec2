//! Backup and restore of a store, for both backends.
//!
//! - **SQLite**: [`backup`] writes a consistent copy with `VACUUM INTO` while the hub runs
//!   (readers and writers carry on); [`restore`] checks the copy (`PRAGMA integrity_check`,
//!   the migrations this build knows) and puts it in place of the store file, refusing while
//!   any process has the store open, and refusing to replace an existing store without `force`.
//! - **PostgreSQL** (feature `postgres`): `pg_dump --format=custom` and
//!   `pg_restore --clean --if-exists --single-transaction` (the PostgreSQL client programs,
//!   from the Debian package `postgresql-client`; `WAYMARK_PG_BIN` names their folder). Owners
//!   and grants are not carried, so a restore works into any database owned by the restoring
//!   role, and the target's default privileges (the hub role's rights) apply to what it
//!   creates. A restore refuses while other sessions are connected to the database, and
//!   refuses to replace a database that holds persons or entries without `force`.
//!
//! Reports and errors name files, counts and tables, never stored content; a PostgreSQL URL
//! is never printed (it may hold a password), and the password reaches the client programs
//! through their environment, not their command line.

mod sqlite;

#[cfg(feature = "postgres")]
mod postgres;

use std::path::{Path, PathBuf};

use crate::open::StoreUrl;
use crate::{Counts, StoreError};

/// What can go wrong in a backup or restore. Never quotes stored content or a password.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The store URL is not usable (scheme, or a backend this build lacks).
    #[error("{0}")]
    Url(StoreError),
    /// The database failed.
    #[error("{0}")]
    Store(#[from] StoreError),
    /// A file could not be read or written.
    #[error("{what} `{path}`: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A PostgreSQL client program is missing or failed.
    #[error("{0}")]
    Tool(String),
    /// The backup file is not a usable backup of this store.
    #[error("the backup `{path}` cannot be restored: {reason}")]
    BadBackup {
        /// The backup file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The restore would replace something that must not be replaced now.
    #[error("refused: {0}")]
    Refused(String),
}

/// Which backend a backup or restore ran on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// The embedded store.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// What a backup or a restore did.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Report {
    /// The backend.
    pub backend: Backend,
    /// The backup file written or read.
    pub file: PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
    /// Totals of the copy: what the backup holds, or what the restored store holds.
    pub counts: Counts,
    /// Consents stored (every version).
    pub consents: u64,
}

/// Writes a backup of the store at `url` to `out`, which must not exist yet. The store must
/// exist (a backup never creates one); it may be in use.
pub async fn backup(url: &str, out: &Path) -> Result<Report, BackupError> {
    if out.exists() {
        return Err(BackupError::Refused(format!(
            "`{}` exists: a backup never overwrites a file",
            out.display()
        )));
    }
    match StoreUrl::parse(url).map_err(BackupError::Url)? {
        StoreUrl::Sqlite(path) => sqlite::backup(&path, out).await,
        StoreUrl::Postgres(url) => postgres_backup(&url, out).await,
    }
}

/// Restores the backup `from` into the store at `url`. Refuses while the store is in use;
/// refuses to replace a store that exists (SQLite) or holds data (PostgreSQL) unless `force`.
pub async fn restore(url: &str, from: &Path, force: bool) -> Result<Report, BackupError> {
    if !from.is_file() {
        return Err(BackupError::BadBackup {
            path: from.to_owned(),
            reason: "no such file".to_owned(),
        });
    }
    match StoreUrl::parse(url).map_err(BackupError::Url)? {
        StoreUrl::Sqlite(path) => sqlite::restore(from, &path, force).await,
        StoreUrl::Postgres(url) => postgres_restore(&url, from, force).await,
    }
}

#[cfg(feature = "postgres")]
async fn postgres_backup(url: &str, out: &Path) -> Result<Report, BackupError> {
    postgres::backup(url, out).await
}

#[cfg(feature = "postgres")]
async fn postgres_restore(url: &str, from: &Path, force: bool) -> Result<Report, BackupError> {
    postgres::restore(url, from, force).await
}

#[cfg(not(feature = "postgres"))]
async fn postgres_backup(_url: &str, _out: &Path) -> Result<Report, BackupError> {
    Err(BackupError::Url(crate::open::NO_POSTGRES))
}

#[cfg(not(feature = "postgres"))]
async fn postgres_restore(_url: &str, _from: &Path, _force: bool) -> Result<Report, BackupError> {
    Err(BackupError::Url(crate::open::NO_POSTGRES))
}

/// The size of a file.
fn file_size(path: &Path) -> Result<u64, BackupError> {
    std::fs::metadata(path)
        .map(|m| m.len())
        .map_err(|source| BackupError::Io {
            what: "reading",
            path: path.to_owned(),
            source,
        })
}

/// The counting statement both backends run on a copy (active persons, as `Store::counts`).
const COUNTS_SQL: &str = "SELECT (SELECT COUNT(*) FROM person WHERE merged_into IS NULL), \
     (SELECT COUNT(*) FROM record_entry), (SELECT COUNT(*) FROM quarantine), \
     (SELECT COUNT(*) FROM consent)";

/// Counts from the four columns of [`COUNTS_SQL`].
fn counts_from(n: [i64; 4]) -> (Counts, u64) {
    let u = |i: usize| u64::try_from(n[i]).unwrap_or(0);
    (
        Counts {
            persons: u(0),
            records: u(1),
            quarantined: u(2),
        },
        u(3),
    )
}
