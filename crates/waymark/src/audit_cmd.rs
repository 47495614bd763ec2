//! `waymark audit verify` and `waymark audit export`: the audit trail's check and its FHIR
//! AuditEvent export. They never print the store URL (it may hold a password); `verify` never
//! prints record contents, only counts, sequences and hashes.
//!
//! Exit codes: 0 intact (verify) or exported; 1 tampered (verify: the first bad sequence and
//! how); 2 the store cannot be read, or the arguments are wrong.

use std::{io::Write as _, path::Path};

use chrono::{DateTime, Utc};
use clap::{Args, Subcommand, ValueEnum};
use waymark_store::{AuditLog, AuditQuery, StoreError, open_audit, verify_log};

use serde_json::json;
use waymark_audit::{Tamper, TamperKind};

use crate::exit::{OK, REFUSED, UNREADABLE, emit, failure, success};

/// The audit trail: check the hash chain, export as FHIR AuditEvent.
///
/// Example: waymark audit verify --store sqlite://hub-data/store.db
#[derive(Args, Clone, Debug)]
pub struct AuditArgs {
    #[command(subcommand)]
    pub command: AuditCommand,
}

/// `waymark audit` subcommands.
#[derive(Subcommand, Clone, Debug)]
pub enum AuditCommand {
    Verify(VerifyArgs),
    Export(ExportArgs),
}

/// Check that no audit entry was changed, removed, reordered or inserted, and that the log
/// ends at its stored head. Prints the count and the head (sequence and hash: keep it
/// somewhere the database's owner cannot write, and compare later — a rewrite of the whole
/// tail together with the head is only detected that way).
///
/// Exit 0 intact; 1 tampered (names the first bad sequence, never its contents); 2 the store
/// cannot be read.
///
/// Example: waymark audit verify --store sqlite://hub-data/store.db
///
/// Example: WAYMARK_STORE=postgres://waymark_hub:...@127.0.0.1:5433/waymark waymark audit verify
///
/// Example: waymark audit verify --store sqlite://hub-data/store.db --json | jq .head.hash
#[derive(Args, Clone, Debug)]
pub struct VerifyArgs {
    /// The store: sqlite://PATH, a path, or postgres://... (or WAYMARK_STORE).
    #[arg(long, env = "WAYMARK_STORE", hide_env_values = true)]
    pub store: String,
    /// Print one JSON object on stdout: `{"ok": true, "entries", "head": {"sequence",
    /// "hash"}}`, or `{"ok": false, "exit": 1, "error", "tampered": {"sequence", "kind"}}`;
    /// same exit codes.
    #[arg(long)]
    pub json: bool,
}

/// Write audit entries as FHIR R4 AuditEvents: a `searchset` Bundle (default) or NDJSON, one
/// AuditEvent a line. The export holds person ids, callers and break-glass reasons: it is for
/// privacy officers. It does not verify the chain: run `waymark audit verify` too.
///
/// Exit 0 written; 2 the store cannot be read or the arguments are wrong.
///
/// Example: waymark audit export --store sqlite://hub-data/store.db --person p-123 --since 2025-06-01T00:00:00Z
#[derive(Args, Clone, Debug)]
pub struct ExportArgs {
    /// The store: sqlite://PATH, a path, or postgres://... (or WAYMARK_STORE).
    #[arg(long, env = "WAYMARK_STORE", hide_env_values = true)]
    pub store: String,
    /// Only entries about this person (hub person id).
    #[arg(long)]
    pub person: Option<String>,
    /// Only entries recorded at or after this time (RFC 3339).
    #[arg(long)]
    pub since: Option<DateTime<Utc>>,
    /// The output form.
    #[arg(long, value_enum, default_value_t = Format::Bundle)]
    pub format: Format,
}

/// How `export` writes.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// One `searchset` Bundle.
    Bundle,
    /// One AuditEvent per line.
    Ndjson,
}

/// Runs `waymark audit`; returns the exit code.
pub fn run(args: &AuditArgs) -> u8 {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("waymark audit: cannot start the runtime: {e}");
            return UNREADABLE;
        }
    };
    match &args.command {
        AuditCommand::Verify(a) => runtime.block_on(verify(a)),
        AuditCommand::Export(a) => runtime.block_on(export(a)),
    }
}

/// Opens the log; a SQLite file that does not exist is not created.
async fn open(url: &str) -> Result<std::sync::Arc<dyn AuditLog>, StoreError> {
    let is_pg = url.starts_with("postgres://") || url.starts_with("postgresql://");
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"));
    if !is_pg && !Path::new(path.unwrap_or(url)).exists() {
        return Err(StoreError::Refused("the store file does not exist"));
    }
    open_audit(url).await
}

async fn verify(args: &VerifyArgs) -> u8 {
    let log = match open(&args.store).await {
        Ok(log) => log,
        Err(e) => return unreadable_as(&e, args.json),
    };
    match verify_log(&*log, 1_000).await {
        Ok(Ok(v)) if args.json => emit(&success(json!({"entries": v.count, "head": v.head})), OK),
        Ok(Ok(v)) => {
            println!(
                "audit log intact: {} entries, head {} {}",
                v.count, v.head.sequence, v.head.hash
            );
            OK
        }
        Ok(Err(tamper)) if args.json => emit(&tampered(&tamper), REFUSED),
        Ok(Err(tamper)) => {
            println!("audit log TAMPERED: {tamper}");
            REFUSED
        }
        Err(e) => unreadable_as(&e, args.json),
    }
}

/// The `--json` form of a tampered log: where and how, never what.
fn tampered(tamper: &Tamper) -> serde_json::Value {
    let mut out = failure(REFUSED, "audit.tampered", &tamper.to_string());
    out["tampered"] = json!({"sequence": tamper.sequence, "kind": kind_code(tamper.kind)});
    out
}

/// `Modified` → `modified`, `BrokenLink` → `broken-link`.
fn kind_code(kind: TamperKind) -> String {
    let mut code = String::new();
    for (i, c) in format!("{kind:?}").chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            code.push('-');
        }
        code.push(c.to_ascii_lowercase());
    }
    code
}

fn unreadable_as(e: &StoreError, json: bool) -> u8 {
    if json {
        let message = format!("the store cannot be read: {e}");
        return emit(
            &failure(UNREADABLE, "store.unreadable", &message),
            UNREADABLE,
        );
    }
    unreadable(e)
}

async fn export(args: &ExportArgs) -> u8 {
    let log = match open(&args.store).await {
        Ok(log) => log,
        Err(e) => return unreadable(&e),
    };
    let mut query = AuditQuery {
        person_id: args.person.clone(),
        since: args.since,
        limit: 1_000,
        ..AuditQuery::default()
    };
    let mut entries = Vec::new();
    loop {
        let page = match log.search(&query).await {
            Ok(page) => page,
            Err(e) => return unreadable(&e),
        };
        let Some(last) = page.last() else { break };
        query.after_sequence = last.sequence;
        entries.extend(page);
    }
    let mut out = std::io::stdout().lock();
    let written = match args.format {
        Format::Bundle => writeln!(out, "{}", waymark_audit::searchset(&entries)),
        Format::Ndjson => entries
            .iter()
            .try_for_each(|e| writeln!(out, "{}", waymark_audit::to_audit_event(e))),
    };
    match written {
        Ok(()) => OK,
        Err(e) => {
            eprintln!("waymark audit export: cannot write: {e}");
            UNREADABLE
        }
    }
}

fn unreadable(e: &StoreError) -> u8 {
    eprintln!("waymark audit: the store cannot be read: {e}");
    UNREADABLE
}
