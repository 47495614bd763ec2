//! `waymark backup` and `waymark restore`: a store's backup, for both backends. They print
//! counts and file names, never stored content, and never the store URL (it may hold a
//! password). Exit codes: 0 done; 1 refused (the backup file exists, the store is in use or
//! would be replaced without --force, the backup is not a usable one); 2 the store cannot be
//! reached, a file cannot be read or written, or a PostgreSQL client program is missing.

use std::path::PathBuf;

use clap::Args;
use waymark_store::backup::{self, BackupError, Report};

use crate::exit::{OK, REFUSED, UNREADABLE, emit, fail, success};

/// Write a consistent backup of a store; the hub may keep running.
///
/// STORE is `sqlite://PATH` (or a plain path; a hub's store is DIR/store.db) or
/// `postgres://USER:PASSWORD@HOST:PORT/DATABASE`. Give it in WAYMARK_STORE rather than on the
/// command line to keep a password out of the process list. SQLite is copied with
/// `VACUUM INTO` (a snapshot; writers carry on); PostgreSQL with `pg_dump --format=custom`
/// (the client programs of the Debian package postgresql-client; WAYMARK_PG_BIN names
/// their folder). The copy is checked before it is kept. FILE must not exist. Prints the
/// counts the backup holds.
///
/// Exit 0 written; 1 refused (FILE exists); 2 the store or FILE cannot be read or written,
/// or a client program is missing.
///
/// Example: waymark backup --store sqlite://hub-data/store.db --out store-2025-06-01.db
///
/// Example: WAYMARK_STORE=postgres://waymark:...@127.0.0.1:5433/waymark waymark backup --out store.dump
#[derive(Args, Clone, Debug)]
pub struct BackupArgs {
    /// The store: sqlite://PATH, a path, or postgres://... (or WAYMARK_STORE).
    #[arg(long, env = "WAYMARK_STORE", hide_env_values = true)]
    pub store: String,
    /// The backup file to write (must not exist).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Print the result as one JSON object on stdout (`{"ok": true, "backend", "file",
    /// "bytes", "counts", "consents"}`, or `{"ok": false, "exit", "error": {"code",
    /// "message"}}`); same exit codes.
    #[arg(long)]
    pub json: bool,
}

/// Put a backup back in place of a store. Stop the hub first.
///
/// SQLite: the backup is checked (integrity, and migrations this build knows), then copied
/// over the store file; refused while any process has the store open, and, when a store
/// exists there, without --force. PostgreSQL: `pg_restore --clean --if-exists
/// --single-transaction` into the database (all or nothing; restore as the database's owner
/// role); refused while other sessions are connected to it, and, when it holds persons or
/// entries, without --force. Prints the counts of the restored store.
///
/// Exit 0 restored; 1 refused (in use, exists without --force, not a usable backup); 2 the
/// store or FILE cannot be read or written, or a client program is missing.
///
/// Example: waymark restore --store sqlite://hub-data/store.db --from store-2025-06-01.db --force
///
/// Example: WAYMARK_STORE=postgres://waymark:...@127.0.0.1:5433/waymark waymark restore --from store.dump
#[derive(Args, Clone, Debug)]
pub struct RestoreArgs {
    /// The store: sqlite://PATH, a path, or postgres://... (or WAYMARK_STORE).
    #[arg(long, env = "WAYMARK_STORE", hide_env_values = true)]
    pub store: String,
    /// The backup file (from `waymark backup`).
    #[arg(long, value_name = "FILE")]
    pub from: PathBuf,
    /// Replace an existing store (SQLite) or a database that holds data (PostgreSQL).
    #[arg(long)]
    pub force: bool,
    /// Print the result as one JSON object on stdout (`{"ok": true, "backend", "file",
    /// "bytes", "counts", "consents"}`, or `{"ok": false, "exit", "error": {"code",
    /// "message"}}`); same exit codes.
    #[arg(long)]
    pub json: bool,
}

/// Runs `waymark backup`; returns the exit code.
pub fn run_backup(args: &BackupArgs) -> u8 {
    let result = block_on(backup::backup(&args.store, &args.out));
    finish("backup", "backed up", result, args.json)
}

/// Runs `waymark restore`; returns the exit code.
pub fn run_restore(args: &RestoreArgs) -> u8 {
    let result = block_on(backup::restore(&args.store, &args.from, args.force));
    finish("restore", "restored", result, args.json)
}

fn block_on<F: std::future::Future<Output = Result<Report, BackupError>>>(
    future: F,
) -> Result<Report, BackupError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| BackupError::Tool(format!("cannot start the runtime: {e}")))?
        .block_on(future)
}

/// Prints the report (stdout) or the error (stderr; with `--json`, a failure object on stdout)
/// and picks the exit code.
fn finish(command: &str, done: &str, result: Result<Report, BackupError>, json: bool) -> u8 {
    match result {
        Ok(report) if json => match serde_json::to_value(&report) {
            Ok(value) => emit(&success(value), OK),
            Err(e) => fail(true, command, UNREADABLE, "cli.output", &e.to_string()),
        },
        Ok(report) => {
            println!("{}", summary(done, &report));
            OK
        }
        Err(err) => {
            let code = exit_code(&err);
            fail(
                json,
                command,
                code,
                error_code(command, &err),
                &err.to_string(),
            )
        }
    }
}

/// A stable code for each kind of failure, for scripts (`backup.refused`, `restore.bad-backup`).
fn error_code(command: &str, err: &BackupError) -> &'static str {
    let backup = command == "backup";
    match err {
        BackupError::Refused(_) if backup => "backup.refused",
        BackupError::Refused(_) => "restore.refused",
        BackupError::BadBackup { .. } => "restore.bad-backup",
        BackupError::Url(_) => "store.url",
        BackupError::Store(_) => "store.unreadable",
        BackupError::Io { .. } => "file.io",
        BackupError::Tool(_) => "backup.tool",
    }
}

/// `backed up sqlite store: 11 persons, 24 entries, 5 quarantined, 4 consents (backup.db, 208896 bytes)`.
fn summary(done: &str, r: &Report) -> String {
    let backend = match r.backend {
        backup::Backend::Sqlite => "sqlite",
        backup::Backend::Postgres => "postgres",
    };
    format!(
        "{done} {backend} store: {} persons, {} entries, {} quarantined, {} consents ({}, {} bytes)",
        r.counts.persons,
        r.counts.records,
        r.counts.quarantined,
        r.consents,
        r.file.display(),
        r.bytes
    )
}

fn exit_code(err: &BackupError) -> u8 {
    match err {
        BackupError::Refused(_) | BackupError::BadBackup { .. } => REFUSED,
        BackupError::Url(_)
        | BackupError::Store(_)
        | BackupError::Io { .. }
        | BackupError::Tool(_) => UNREADABLE,
    }
}
