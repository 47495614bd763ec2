//! SQLite backup (`VACUUM INTO`, a consistent snapshot taken while the hub runs) and restore
//! (verify, then put the copy in place of the store file).

use std::{
    fs::File,
    path::{Path, PathBuf},
    str::FromStr,
    time::Duration,
};

use sqlx::{
    ConnectOptions, Connection, Row, SqliteConnection,
    sqlite::{SqliteConnectOptions, SqliteLockingMode},
};

use super::{Backend, BackupError, COUNTS_SQL, Report, counts_from, file_size};
use crate::{Counts, StoreError};

pub(super) async fn backup(store: &Path, out: &Path) -> Result<Report, BackupError> {
    if !store.is_file() {
        return Err(BackupError::Refused(format!(
            "there is no store at `{}`",
            store.display()
        )));
    }
    let partial = partial_name(out);
    remove_if_present(&partial)?;
    let result = snapshot(store, &partial).await;
    let result = match result {
        Ok(()) => verify(&partial).await,
        Err(e) => Err(e),
    };
    let (counts, consents) = match result {
        Ok(c) => c,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
    };
    sync_file(&partial)?;
    std::fs::rename(&partial, out).map_err(|source| io("writing", out, source))?;
    sync_parent(out)?;
    Ok(Report {
        backend: Backend::Sqlite,
        file: out.to_owned(),
        bytes: file_size(out)?,
        counts,
        consents,
    })
}

pub(super) async fn restore(from: &Path, store: &Path, force: bool) -> Result<Report, BackupError> {
    let (counts, consents) = verify(from).await?;
    if store.exists() {
        ensure_closed(store).await?;
        if !force {
            return Err(BackupError::Refused(format!(
                "a store exists at `{}`: pass --force to replace it",
                store.display()
            )));
        }
    }
    let partial = partial_name(store);
    remove_if_present(&partial)?;
    if let Err(source) = std::fs::copy(from, &partial) {
        let _ = std::fs::remove_file(&partial);
        return Err(io("copying the backup to", &partial, source));
    }
    sync_file(&partial)?;
    // A write-ahead log left by the replaced store would be replayed onto the restored one.
    for suffix in ["-wal", "-shm"] {
        remove_if_present(&sibling(store, suffix))?;
    }
    std::fs::rename(&partial, store).map_err(|source| io("replacing", store, source))?;
    sync_parent(store)?;
    Ok(Report {
        backend: Backend::Sqlite,
        file: from.to_owned(),
        bytes: file_size(from)?,
        counts,
        consents,
    })
}

/// `VACUUM INTO` the partial file: one read transaction, so a consistent snapshot.
async fn snapshot(store: &Path, partial: &Path) -> Result<(), BackupError> {
    let target = partial
        .to_str()
        .ok_or_else(|| BackupError::Refused("the backup path is not valid UTF-8".to_owned()))?;
    let mut conn = connect(store, false).await?;
    sqlx::query("VACUUM INTO ?")
        .bind(target)
        .execute(&mut conn)
        .await
        .map_err(store_err)?;
    conn.close().await.map_err(store_err)?;
    Ok(())
}

/// Checks a copy: `PRAGMA integrity_check` says `ok`, and every migration it records is one
/// of this build's, unchanged. Returns its counts.
async fn verify(path: &Path) -> Result<(Counts, u64), BackupError> {
    let bad = |reason: String| BackupError::BadBackup {
        path: path.to_owned(),
        reason,
    };
    let mut conn = connect(path, true)
        .await
        .map_err(|_| bad("not an SQLite database".to_owned()))?;
    let check: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_all(&mut conn)
        .await
        .map_err(|_| bad("not an SQLite database".to_owned()))?;
    if check != ["ok"] {
        return Err(bad(format!(
            "integrity check failed ({} problems)",
            check.len()
        )));
    }
    let applied: Vec<(i64, Vec<u8>, bool)> =
        sqlx::query_as("SELECT version, checksum, success FROM _sqlx_migrations ORDER BY version")
            .fetch_all(&mut conn)
            .await
            .map_err(|_| bad("not a Waymark store (no migrations table)".to_owned()))?;
    check_migrations(&applied).map_err(bad)?;
    let row = sqlx::query(COUNTS_SQL)
        .fetch_one(&mut conn)
        .await
        .map_err(|_| bad("its tables are not this version's".to_owned()))?;
    let mut n = [0i64; 4];
    for (i, slot) in n.iter_mut().enumerate() {
        *slot = row.try_get(i).map_err(store_err)?;
    }
    conn.close().await.map_err(store_err)?;
    Ok(counts_from(n))
}

/// Every applied migration known to this build with the same checksum, and none failed.
fn check_migrations(applied: &[(i64, Vec<u8>, bool)]) -> Result<(), String> {
    if applied.is_empty() {
        return Err("no migration was applied to it".to_owned());
    }
    let known = sqlx::migrate!("./migrations");
    for (version, checksum, success) in applied {
        if !success {
            return Err(format!("migration {version} failed in it"));
        }
        match known.iter().find(|m| m.version == *version) {
            None => return Err(format!("migration {version} is newer than this build")),
            Some(m) if m.checksum.as_ref() != checksum.as_slice() => {
                return Err(format!("migration {version} differs from this build's"));
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// Refuses while any connection (of this or another process) has the store open: a
/// connection in exclusive locking mode cannot lock a database another one holds open.
async fn ensure_closed(store: &Path) -> Result<(), BackupError> {
    let refused = || {
        BackupError::Refused(format!(
            "the store `{}` is open (is the hub running?): stop it first",
            store.display()
        ))
    };
    let mut conn = options(store, false)?
        .locking_mode(SqliteLockingMode::Exclusive)
        .connect()
        .await
        .map_err(|_| refused())?;
    let probe = async {
        sqlx::query("BEGIN EXCLUSIVE").execute(&mut conn).await?;
        sqlx::query("SELECT COUNT(*) FROM sqlite_master")
            .execute(&mut conn)
            .await?;
        sqlx::query("COMMIT").execute(&mut conn).await
    }
    .await;
    let _ = conn.close().await;
    probe.map(|_| ()).map_err(|_| refused())
}

/// One connection to an existing file, never creating it. `busy_timeout` is short: a restore
/// must not wait for a running hub, and `VACUUM INTO` only needs a read lock.
async fn connect(path: &Path, read_only: bool) -> Result<SqliteConnection, BackupError> {
    options(path, read_only)?.connect().await.map_err(store_err)
}

fn options(path: &Path, read_only: bool) -> Result<SqliteConnectOptions, BackupError> {
    Ok(SqliteConnectOptions::from_str("sqlite://")
        .map_err(store_err)?
        .filename(path)
        .create_if_missing(false)
        .read_only(read_only)
        .busy_timeout(Duration::from_millis(if read_only { 5_000 } else { 200 })))
}

fn store_err(e: sqlx::Error) -> BackupError {
    BackupError::Store(StoreError::from(e))
}

fn io(what: &'static str, path: &Path, source: std::io::Error) -> BackupError {
    BackupError::Io {
        what,
        path: path.to_owned(),
        source,
    }
}

/// `<dir>/.<name>.partial`: written beside the target, then renamed over it (atomic).
fn partial_name(target: &Path) -> PathBuf {
    let name = target
        .file_name()
        .map_or_else(|| "store".into(), |n| n.to_string_lossy().into_owned());
    target.with_file_name(format!(".{name}.partial"))
}

/// `store.db` + `-wal` → `store.db-wal`.
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn remove_if_present(path: &Path) -> Result<(), BackupError> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io("removing", path, e)),
        _ => Ok(()),
    }
}

fn sync_file(path: &Path) -> Result<(), BackupError> {
    File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(|source| io("syncing", path, source))
}

/// Makes a rename durable: syncs the folder that holds `path`.
fn sync_parent(path: &Path) -> Result<(), BackupError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    File::open(dir)
        .and_then(|f| f.sync_all())
        .map_err(|source| io("syncing", dir, source))
}
