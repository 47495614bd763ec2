//! The one-shot commands: `map`, `validate`, `redact`. Each reads a file, prints JSON on stdout
//! and returns an exit code (0 ok, 1 refused, 2 unreadable or bad arguments).

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use clap::Args;
use serde::Deserialize;
use serde_json::{Value, json};
use waymark_core::{Envelope, MessageId, NewEnvelope, Role, SourceSystem};
use waymark_fhir::OperationOutcome;
use waymark_mapping::MappingSet;
use waymark_policy::{BreakGlass, Policy, Recipient, ReleaseContext};
use waymark_profile::Validator;

use crate::exit::{OK, REFUSED, UNREADABLE};

/// `waymark token` (its own file).
#[path = "token_cmd.rs"]
pub mod token_cmd;

/// `waymark backup` and `waymark restore` (their own file).
#[path = "backup_cmd.rs"]
pub mod backup_cmd;

/// `waymark audit verify` and `waymark audit export` (their own file).
#[path = "audit_cmd.rs"]
pub mod audit_cmd;

/// `waymark bench` (its own file and folder).
#[path = "bench_cmd.rs"]
pub mod bench_cmd;

/// Run one source message through its mapping and the profile; print the canonical bundle.
///
/// FILE is a native message of the source (for NOMIS, the SNS notification JSON; give the
/// Prison API record the event refers to with --context), an envelope as stored by the hub, or
/// a mapping input document (`{"envelope", "message", "context"}`, as in mappings/*/tests/).
///
/// Example: waymark map --source nomis --context prisoner.json externalMovementIn.json
#[derive(Args)]
pub struct MapArgs {
    /// The source system: athena, excelicare, systmone, nomis, scr.
    #[arg(long)]
    source: SourceSystem,
    /// Override the message type read from the message.
    #[arg(long = "type")]
    message_type: Option<String>,
    /// A JSON file with what the adapter would have fetched (e.g. `{"prisoner": ..., "alerts": [...]}`).
    #[arg(long)]
    context: Option<PathBuf>,
    /// The mappings folder (default: ./mappings).
    #[arg(long)]
    mappings: Option<PathBuf>,
    /// The message file.
    file: PathBuf,
}

/// Validate a bundle against the FHIR R4 schema, the Waymark bundle rules and the Health &
/// Justice Minimum Dataset profiles; print an OperationOutcome. Exit 0 valid, 1 invalid, 2
/// unreadable.
///
/// Example: waymark validate bundle.json
#[derive(Args)]
pub struct ValidateArgs {
    /// The bundle file.
    file: PathBuf,
}

/// Show exactly what a role would receive of a canonical bundle, and why.
///
/// Consent and break-glass are judged at the moment the command runs.
///
/// Example: waymark redact --role gp --consent consents.json --manifest bundle.json
#[derive(Args)]
pub struct RedactArgs {
    /// The recipient's role, e.g. probation, prison-healthcare, custody-officer.
    #[arg(long)]
    role: Role,
    /// The recipient is a registered health professional.
    #[arg(long)]
    registered: bool,
    /// The person's consents: a FHIR `Consent`, a JSON array of them, or a Bundle of them.
    #[arg(long, value_name = "FILE")]
    consent: Option<PathBuf>,
    /// Break glass with this stated reason (valid for one hour; only roles the policy lets
    /// break glass). The manifest records it and asks for a privacy-officer alert.
    #[arg(long = "break-glass", value_name = "REASON")]
    break_glass: Option<String>,
    /// Print `{"bundle", "manifest"}`: what was released, and what was withheld and why.
    #[arg(long)]
    manifest: bool,
    /// The canonical bundle file.
    file: PathBuf,
}

/// `waymark map`.
pub fn map(args: &MapArgs) -> u8 {
    let mappings = match MappingSet::load(&crate::paths::mappings_dir(args.mappings.as_deref())) {
        Ok(m) => m,
        Err(err) => return fail(UNREADABLE, &OperationOutcome::from_error(&err)),
    };
    let envelope = match read_envelope(args) {
        Ok(env) => env,
        Err(text) => return unreadable(&text),
    };
    let Some(validator) = validator() else {
        return UNREADABLE;
    };
    match map_and_validate(&mappings, &validator, &envelope) {
        Ok(bundle) => print_json(&bundle),
        Err(outcome) => fail(REFUSED, &outcome),
    }
}

/// Maps and validates; the OperationOutcome explains a refusal.
fn map_and_validate(
    mappings: &MappingSet,
    validator: &Validator,
    envelope: &Envelope,
) -> Result<Value, OperationOutcome> {
    waymark_pipeline::map_envelope(mappings, validator, envelope)
        .map(waymark_profile::CanonicalBundle::into_json)
        .map_err(|refusal| refusal.outcome)
}

/// `waymark validate`.
pub fn validate(args: &ValidateArgs) -> u8 {
    let bundle = match read_json(&args.file) {
        Ok(v) => v,
        Err(text) => return unreadable(&text),
    };
    let Some(validator) = validator() else {
        return UNREADABLE;
    };
    match validator.validate(bundle) {
        Ok(_) => print_json(&OperationOutcome::default().to_json()),
        Err(outcome) => fail(REFUSED, &outcome),
    }
}

/// `waymark redact`.
pub fn redact(args: &RedactArgs) -> u8 {
    let bundle = match read_json(&args.file) {
        Ok(v) => v,
        Err(text) => return unreadable(&text),
    };
    let Some(validator) = validator() else {
        return UNREADABLE;
    };
    let canonical = match validator.validate(bundle) {
        Ok(b) => b,
        Err(outcome) => return fail(REFUSED, &outcome),
    };
    let policy = match Policy::builtin() {
        Ok(p) => p,
        Err(err) => return fail(UNREADABLE, &OperationOutcome::from_error(&err)),
    };
    let consents = match args.consent.as_deref().map(read_consents).transpose() {
        Ok(c) => c.unwrap_or_default(),
        Err(text) => return unreadable(&text),
    };
    let recipient = Recipient {
        organisation: "waymark-cli".to_owned(),
        role: args.role,
        registered: args.registered,
        purpose: "inspection".to_owned(),
    };
    let now = Utc::now();
    let glass = args.break_glass.as_ref().map(|reason| BreakGlass {
        reason: reason.clone(),
        until: now + chrono::Duration::hours(1),
    });
    let cx = ReleaseContext {
        consents: &consents,
        now,
        break_glass: glass.as_ref(),
    };
    match policy.release_with_consent(&canonical, &recipient, &cx) {
        Ok(r) if args.manifest => {
            print_json(&json!({"bundle": r.bundle(), "manifest": r.manifest()}))
        }
        Ok(r) => print_json(r.bundle()),
        Err(err) => fail(REFUSED, &OperationOutcome::from_error(&err)),
    }
}

/// The Consents in a file: one `Consent`, an array, or a Bundle whose entries hold them.
fn read_consents(path: &Path) -> Result<Vec<Value>, String> {
    match read_json(path)? {
        Value::Array(items) => Ok(items),
        v if v["resourceType"] == "Bundle" => Ok(v["entry"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| e["resource"].clone())
            .collect()),
        v => Ok(vec![v]),
    }
}

fn validator() -> Option<Validator> {
    match Validator::r4() {
        Ok(v) => Some(v),
        Err(err) => {
            fail(UNREADABLE, &OperationOutcome::from_error(&err));
            None
        }
    }
}

/// The three input forms of `waymark map`, told apart by their keys.
fn read_envelope(args: &MapArgs) -> Result<Envelope, String> {
    let bytes = std::fs::read(&args.file).map_err(|e| format!("cannot read the file: {e}"))?;
    let as_json: Option<Value> = serde_json::from_slice(&bytes).ok();
    let mut envelope = match as_json {
        Some(v) if v.get("checksum").is_some() && v.get("payload").is_some() => {
            Envelope::from_bytes(&bytes).map_err(|e| e.to_string())?
        }
        Some(v) if v.get("envelope").is_some() && v.get("message").is_some() => {
            from_input_document(&v)?
        }
        _ => crate::sources::native_envelope(
            args.source,
            bytes,
            read_context(args.context.as_deref())?,
        )?,
    };
    if let Some(t) = &args.message_type {
        envelope.message_type.clone_from(t);
    }
    if envelope.source != args.source {
        return Err(format!(
            "the file is a `{}` message, not `{}`",
            envelope.source, args.source
        ));
    }
    Ok(envelope)
}

fn read_context(path: Option<&Path>) -> Result<Value, String> {
    path.map_or(Ok(Value::Null), read_json)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct InputMeta {
    id: MessageId,
    source: SourceSystem,
    message_type: String,
    event_time: Option<DateTime<Utc>>,
    received_at: DateTime<Utc>,
}

fn from_input_document(doc: &Value) -> Result<Envelope, String> {
    let meta: InputMeta = serde_json::from_value(doc["envelope"].clone())
        .map_err(|e| format!("the `envelope` of the input document is not valid: {e}"))?;
    let params = NewEnvelope {
        id: meta.id,
        source: meta.source,
        message_type: &meta.message_type,
        event_time: meta.event_time,
        received_at: meta.received_at,
        content_type: "application/json",
    };
    let payload = serde_json::to_vec(&doc["message"]).map_err(|e| e.to_string())?;
    Ok(Envelope::new(params, payload).with_context(doc["context"].clone()))
}

fn read_json(path: &Path) -> Result<Value, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read the file: {e}"))?;
    serde_json::from_slice(&bytes).map_err(|e| format!("the file is not JSON: {e}"))
}

fn print_json(value: &Value) -> u8 {
    match serde_json::to_string_pretty(value) {
        Ok(text) => {
            println!("{text}");
            OK
        }
        Err(_) => UNREADABLE,
    }
}

fn fail(code: u8, outcome: &OperationOutcome) -> u8 {
    print_json(&outcome.to_json());
    code
}

fn unreadable(text: &str) -> u8 {
    let issue =
        waymark_fhir::Issue::error(waymark_core::IssueType::Structure, "cli.unreadable", text);
    fail(UNREADABLE, &OperationOutcome::single(issue))
}
