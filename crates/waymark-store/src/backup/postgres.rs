//! PostgreSQL backup (`pg_dump --format=custom`) and restore (`pg_restore --clean --if-exists
//! --single-transaction`), with the client programs of the Debian package.

use std::{
    fs::File,
    path::{Path, PathBuf},
    process::Command,
};

use sqlx::{Connection, PgConnection, Row};

use super::{Backend, BackupError, COUNTS_SQL, Report, counts_from, file_size};
use crate::Counts;

pub(super) async fn backup(url: &str, out: &Path) -> Result<Report, BackupError> {
    let pg_dump = tool("pg_dump")?;
    let (counts, consents) = {
        let mut conn = connect(url).await?;
        let c = counts(&mut conn).await?;
        let _ = conn.close().await;
        c
    };
    let partial = out.with_file_name(format!(
        ".{}.partial",
        out.file_name()
            .map_or_else(|| "backup".into(), |n| n.to_string_lossy().into_owned())
    ));
    let mut cmd = Command::new(pg_dump);
    cmd.args(["--format=custom", "--no-owner", "--no-privileges"])
        .arg(format!("--file={}", partial.display()));
    let done = run(cmd, url).await.and_then(|()| verify(&partial));
    if let Err(e) = done {
        let _ = std::fs::remove_file(&partial);
        return Err(e);
    }
    File::open(&partial)
        .and_then(|f| f.sync_all())
        .and_then(|()| std::fs::rename(&partial, out))
        .map_err(|source| BackupError::Io {
            what: "writing",
            path: out.to_owned(),
            source,
        })?;
    Ok(Report {
        backend: Backend::Postgres,
        file: out.to_owned(),
        bytes: file_size(out)?,
        counts,
        consents,
    })
}

pub(super) async fn restore(url: &str, from: &Path, force: bool) -> Result<Report, BackupError> {
    let pg_restore = tool("pg_restore")?;
    verify(from)?;
    {
        let mut conn = connect(url).await?;
        ensure_alone(&mut conn).await?;
        if !force && holds_data(&mut conn).await? {
            return Err(BackupError::Refused(
                "the database holds persons or entries: pass --force to replace them".to_owned(),
            ));
        }
        let _ = conn.close().await;
    }
    let mut cmd = Command::new(pg_restore);
    cmd.args([
        "--clean",
        "--if-exists",
        "--no-owner",
        "--no-privileges",
        "--single-transaction",
        "--exit-on-error",
    ])
    .arg(from);
    run(cmd, url).await?;
    let mut conn = connect(url).await?;
    let (counts, consents) = counts(&mut conn).await?;
    let _ = conn.close().await;
    Ok(Report {
        backend: Backend::Postgres,
        file: from.to_owned(),
        bytes: file_size(from)?,
        counts,
        consents,
    })
}

/// A client program: in `$WAYMARK_PG_BIN`, else the newest `/usr/lib/postgresql/*/bin`, else
/// on the `PATH`.
fn tool(name: &str) -> Result<PathBuf, BackupError> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("WAYMARK_PG_BIN")
        .map(PathBuf::from)
        .into_iter()
        .collect();
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse::<u32>().ok()?;
            Some((v, e.path().join("bin")))
        })
        .collect();
    versions.sort();
    dirs.extend(versions.into_iter().rev().map(|(_, d)| d));
    dirs.extend(
        std::env::var_os("PATH").map_or_else(Vec::new, |p| std::env::split_paths(&p).collect()),
    );
    dirs.into_iter()
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            BackupError::Tool(format!(
                "`{name}` not found: install the PostgreSQL client programs \
                 (apt-get install postgresql-client) or set WAYMARK_PG_BIN to their folder"
            ))
        })
}

/// Runs a client program against the database at `url`: the URL without its password as
/// `--dbname`, the password in `PGPASSWORD`. Its error output is passed on (the programs print
/// object names and server messages, not row data).
async fn run(mut cmd: Command, url: &str) -> Result<(), BackupError> {
    let (dbname, password) = split_password(url);
    cmd.arg(format!("--dbname={dbname}"))
        .env("PGCONNECT_TIMEOUT", "10")
        .stdin(std::process::Stdio::null());
    if let Some(pw) = password {
        cmd.env("PGPASSWORD", pw);
    }
    let name = cmd.get_program().to_string_lossy().into_owned();
    let output = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .map_err(|_| BackupError::Tool(format!("`{name}` could not be waited for")))?
        .map_err(|e| BackupError::Tool(format!("`{name}` could not run: {e}")))?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let last: String = stderr.lines().rev().take(3).collect::<Vec<_>>().join(" / ");
    Err(BackupError::Tool(format!(
        "`{name}` failed ({}): {}",
        output.status,
        last.chars().take(400).collect::<String>()
    )))
}

/// Checks a dump with `pg_restore --list`: a custom-format archive holding the store's tables.
fn verify(path: &Path) -> Result<(), BackupError> {
    let bad = |reason: &str| BackupError::BadBackup {
        path: path.to_owned(),
        reason: reason.to_owned(),
    };
    let output = Command::new(tool("pg_restore")?)
        .arg("--list")
        .arg(path)
        .output()
        .map_err(|e| BackupError::Tool(format!("`pg_restore` could not run: {e}")))?;
    if !output.status.success() {
        return Err(bad("not a pg_dump custom-format archive"));
    }
    let list = String::from_utf8_lossy(&output.stdout);
    let has = |kind: &str, table: &str| {
        list.lines()
            .any(|l| l.contains(&format!(" {kind} public {table} ")))
    };
    if !has("TABLE DATA", "_sqlx_migrations") || !has("TABLE", "person") {
        return Err(bad("not a dump of a Waymark store"));
    }
    Ok(())
}

/// Refuses while other client sessions are connected to the database (a running hub). A
/// session that just disconnected may be listed for a moment: asks again for up to 2 s.
async fn ensure_alone(conn: &mut PgConnection) -> Result<(), BackupError> {
    let mut others: i64 = 0;
    for _ in 0..10 {
        others = sqlx::query_scalar(
            "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() \
             AND pid <> pg_backend_pid() AND backend_type = 'client backend'",
        )
        .fetch_one(&mut *conn)
        .await
        .map_err(pg)?;
        if others == 0 {
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    Err(BackupError::Refused(format!(
        "{others} other sessions are connected to the database (is the hub running?): \
         stop them first"
    )))
}

/// True when the database has the store's tables with persons or entries in them.
async fn holds_data(conn: &mut PgConnection) -> Result<bool, BackupError> {
    let exists: bool = sqlx::query_scalar("SELECT to_regclass('public.person') IS NOT NULL")
        .fetch_one(&mut *conn)
        .await
        .map_err(pg)?;
    if !exists {
        return Ok(false);
    }
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM person) OR EXISTS (SELECT 1 FROM record_entry)",
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(pg)
}

async fn counts(conn: &mut PgConnection) -> Result<(Counts, u64), BackupError> {
    let row = sqlx::query(COUNTS_SQL)
        .fetch_one(&mut *conn)
        .await
        .map_err(pg)?;
    let mut n = [0i64; 4];
    for (i, slot) in n.iter_mut().enumerate() {
        *slot = row.try_get(i).map_err(pg)?;
    }
    Ok(counts_from(n))
}

async fn connect(url: &str) -> Result<PgConnection, BackupError> {
    PgConnection::connect(url).await.map_err(pg)
}

fn pg(e: sqlx::Error) -> BackupError {
    BackupError::Store(crate::postgres::db_error(e))
}

/// `postgres://user:secret@host/db` → (`postgres://user@host/db`, `Some("secret")`), the
/// password percent-decoded as libpq would.
fn split_password(url: &str) -> (String, Option<String>) {
    let Some((scheme, rest)) = url.split_once("://") else {
        return (url.to_owned(), None);
    };
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let Some((userinfo, host)) = authority.rsplit_once('@') else {
        return (url.to_owned(), None);
    };
    let Some((user, password)) = userinfo.split_once(':') else {
        return (url.to_owned(), None);
    };
    (
        format!("{scheme}://{user}@{host}{tail}"),
        Some(percent_decode(password)),
    )
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_leaves_the_url() {
        let (url, pw) = split_password("postgres://w:s%40cr%3Aet@127.0.0.1:5433/waymark?x=1");
        assert_eq!(url, "postgres://w@127.0.0.1:5433/waymark?x=1");
        assert_eq!(pw.as_deref(), Some("s@cr:et"));
        let (url, pw) = split_password("postgresql://w@h/db");
        assert_eq!((url.as_str(), pw), ("postgresql://w@h/db", None));
    }
}
