//! The quarantine, for integration engineers: list it, look at one entry, and re-drive the
//! map-stage entries that the current mappings and profile now accept.
//!
//! - `GET /admin/quarantine?limit=N` — newest first, reasons only (never content);
//! - `GET /admin/quarantine/{message-id}` — one entry's reason, outcome and resolution (never
//!   content); 404 `OperationOutcome` when there is no such entry;
//! - `POST /admin/quarantine/redrive?dry_run=true|false` — runs [`redrive`] with the hub's own
//!   mappings and validator and answers its [`RedriveReport`] (default `dry_run=false`).
//!
//! [`redrive`] is also what `waymark replay` runs against a stopped hub's files.

use axum::{
    Json,
    extract::{Path, Query, State, rejection::QueryRejection},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use waymark_bus::{Bus, BusError, Message};
use waymark_core::{Envelope, ErrorCode, IssueType, MessageId};
use waymark_fhir::{Issue, OperationOutcome, Severity};
use waymark_mapping::MappingSet;
use waymark_pipeline::{INGEST, Refusal};
use waymark_profile::Validator;
use waymark_store::{Quarantined, Resolution, Store, StoreError};

use crate::{ApiState, outcome, routes::Routes, store_error};

/// The stage whose quarantine entries a re-drive takes (the map stage's refusals: mapping
/// errors and profile failures, fixed by a new mapping or profile version).
pub const REDRIVE_STAGE: &str = "map";

/// Entries read from the store at a time.
const PAGE: u32 = 100;

/// The quarantine routes, merged into [`crate::router`].
pub(crate) fn routes() -> Routes {
    Routes::new()
        .get("/admin/quarantine", list)
        .post("/admin/quarantine/redrive", redrive_route)
        .get("/admin/quarantine/{id}", entry)
}

/// What a re-drive did (or, with `dry_run`, would do), entry by entry, in quarantine order.
/// Holds ids and rule codes only, never content. Field names are snake_case, like the
/// quarantine entries the other routes answer.
#[derive(Clone, Debug, Default, Serialize)]
pub struct RedriveReport {
    /// Nothing was published or resolved.
    pub dry_run: bool,
    /// Entries that now pass: re-published and resolved (or, dry, that would be).
    pub redriven: usize,
    /// Entries that still fail; they stay in quarantine, unresolved.
    pub still_failing: usize,
    /// One line per unresolved map-stage entry.
    pub entries: Vec<RedriveEntry>,
}

/// One quarantine entry in a [`RedriveReport`].
#[derive(Clone, Debug, Serialize)]
pub struct RedriveEntry {
    /// The quarantined message's id.
    pub message_id: String,
    /// It now maps and validates.
    pub passes: bool,
    /// The id it was (or, dry, would be) re-published under to the ingest queue.
    pub redrive_id: Option<String>,
    /// Why it still fails: the refusal code (`mapping.runtime`, `profile.invalid`, ...).
    pub code: Option<String>,
    /// The rule codes of the refusal's error issues (e.g. `profile.cardinality`), deduplicated.
    pub rules: Vec<String>,
}

impl RedriveReport {
    /// `N re-driven, M still failing` (`N would re-drive, ...` when dry).
    pub fn summary(&self) -> String {
        let verb = if self.dry_run {
            "would re-drive"
        } else {
            "re-driven"
        };
        format!(
            "{} {verb}, {} still failing",
            self.redriven, self.still_failing
        )
    }
}

impl RedriveEntry {
    /// One line for a terminal: the message id, then `now passes` or `still fails` and why.
    pub fn line(&self, dry_run: bool) -> String {
        match (&self.redrive_id, dry_run) {
            (Some(id), false) => format!("{}  now passes: re-driven as {id}", self.message_id),
            (Some(id), true) => format!("{}  now passes: would re-drive as {id}", self.message_id),
            (None, _) => {
                let code = self.code.as_deref().unwrap_or("unknown");
                let rules = self
                    .rules
                    .iter()
                    .filter(|r| r.as_str() != code)
                    .cloned()
                    .collect::<Vec<_>>();
                if rules.is_empty() {
                    format!("{}  still fails: {code}", self.message_id)
                } else {
                    format!(
                        "{}  still fails: {code} ({})",
                        self.message_id,
                        rules.join(", ")
                    )
                }
            }
        }
    }
}

/// Why a re-drive stopped part-way. Entries handled before the failure stay handled (each was
/// published before it was resolved); running the re-drive again continues, and an entry
/// published but not yet resolved is re-published under the same id, which the bus dedupes.
#[derive(Debug)]
pub enum RedriveError {
    /// The store failed.
    Store(StoreError),
    /// The bus failed.
    Bus(BusError),
}

impl std::fmt::Display for RedriveError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Store(e) => write!(f, "re-drive stopped: {e}"),
            Self::Bus(e) => write!(f, "re-drive stopped: {e}"),
        }
    }
}

impl std::error::Error for RedriveError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Store(e) => Some(e),
            Self::Bus(e) => Some(e),
        }
    }
}

impl ErrorCode for RedriveError {
    fn code(&self) -> &'static str {
        match self {
            Self::Store(e) => e.code(),
            Self::Bus(e) => e.code(),
        }
    }

    fn issue_type(&self) -> IssueType {
        match self {
            Self::Store(e) => e.issue_type(),
            Self::Bus(e) => e.issue_type(),
        }
    }
}

impl From<StoreError> for RedriveError {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

impl From<BusError> for RedriveError {
    fn from(e: BusError) -> Self {
        Self::Bus(e)
    }
}

/// Re-drives the unresolved map-stage quarantine entries, oldest first: decodes each original
/// envelope and runs [`waymark_pipeline::map_envelope`] with `mappings` and `validator`. An
/// entry that now passes is published, with its exact original bytes, to the ingest queue under
/// `envelope id.child("redrive-<n>")` (n = the entry's re-drive count + 1), and marked resolved
/// only after the publish returned. An entry that still fails is left as it is. With `dry_run`,
/// nothing is published or resolved.
///
/// The hub then maps the envelope again with *its* mappings: run this with the mappings the hub
/// runs (the API does; `waymark replay` must be given the hub's mappings folder).
pub async fn redrive(
    store: &dyn Store,
    bus: &dyn Bus,
    mappings: &MappingSet,
    validator: &Validator,
    dry_run: bool,
) -> Result<RedriveReport, RedriveError> {
    if !dry_run {
        waymark_pipeline::declare_all(bus, &[]).await?;
    }
    let profiles = validator.package().map_or("none", |p| p.id());
    let mut report = RedriveReport {
        dry_run,
        ..RedriveReport::default()
    };
    let mut after: Option<String> = None;
    loop {
        let page = store
            .quarantined_for_redrive(REDRIVE_STAGE, after.as_deref(), PAGE)
            .await?;
        let last_page = page.len() < PAGE as usize;
        for q in page {
            after = Some(q.summary.message_id.clone());
            let line = match plan(&q, mappings, validator) {
                Plan::Fails(refusal) => still_failing(&q, &refusal),
                Plan::Passes(envelope) => {
                    let n = q.summary.redrives.saturating_add(1);
                    let redrive_id = envelope.id.child(&format!("redrive-{n}"));
                    if !dry_run {
                        let by = format!(
                            "{}; profiles {profiles}",
                            mapping_label(mappings, &envelope)
                        );
                        republish(store, bus, &q, &envelope, &redrive_id, by).await?;
                    }
                    RedriveEntry {
                        message_id: q.summary.message_id.clone(),
                        passes: true,
                        redrive_id: Some(redrive_id.to_string()),
                        code: None,
                        rules: Vec::new(),
                    }
                }
            };
            if line.passes {
                report.redriven += 1;
            } else {
                report.still_failing += 1;
            }
            report.entries.push(line);
        }
        if last_page {
            return Ok(report);
        }
    }
}

enum Plan {
    Passes(Envelope),
    Fails(Refusal),
}

/// Decodes and maps one entry with the given mappings and profile. Pure.
fn plan(q: &Quarantined, mappings: &MappingSet, validator: &Validator) -> Plan {
    let envelope = match Envelope::from_bytes(q.original.expose()) {
        Ok(env) => env,
        Err(err) => return Plan::Fails(Refusal::from_error(&err)),
    };
    match waymark_pipeline::map_envelope(mappings, validator, &envelope) {
        Ok(_) => Plan::Passes(envelope),
        Err(refusal) => Plan::Fails(refusal),
    }
}

fn still_failing(q: &Quarantined, refusal: &Refusal) -> RedriveEntry {
    let mut rules: Vec<String> = Vec::new();
    for issue in &refusal.outcome.issues {
        let error = matches!(issue.severity, Severity::Error | Severity::Fatal);
        if error && !rules.contains(&issue.rule) {
            rules.push(issue.rule.clone());
        }
    }
    RedriveEntry {
        message_id: q.summary.message_id.clone(),
        passes: false,
        redrive_id: None,
        code: Some(refusal.code.clone()),
        rules,
    }
}

/// Publishes the entry's original bytes under `redrive_id`, then (only then) marks it resolved.
async fn republish(
    store: &dyn Store,
    bus: &dyn Bus,
    q: &Quarantined,
    envelope: &Envelope,
    redrive_id: &MessageId,
    by: String,
) -> Result<(), RedriveError> {
    publish(bus, envelope, redrive_id, q.original.expose()).await?;
    let resolution = Resolution {
        resolved_at: None,
        redrive_id: redrive_id.clone(),
        by,
    };
    store
        .resolve_quarantined(&q.summary.message_id, &resolution)
        .await?;
    tracing::info!(
        message_id = %q.summary.message_id,
        redrive_id = %redrive_id,
        "quarantine entry re-driven"
    );
    Ok(())
}

/// The exact original bytes, as the adapter published them, under the re-drive id.
async fn publish(
    bus: &dyn Bus,
    envelope: &Envelope,
    redrive_id: &MessageId,
    original: &[u8],
) -> Result<(), BusError> {
    let message = Message::new(redrive_id.clone(), original.to_vec())
        .with_header("source", envelope.source.as_str())
        .with_header("message-type", envelope.message_type.as_str())
        .with_header("content-type", envelope.content_type.as_str())
        .with_header("redrive-of", envelope.id.as_str());
    bus.publish(INGEST, message).await.map(|_| ())
}

/// `mapping nomis/prison-movement@1.0.0`: what mapped the envelope.
fn mapping_label(mappings: &MappingSet, envelope: &Envelope) -> String {
    mappings
        .mapping_for(envelope.source, &envelope.message_type)
        .map_or_else(
            || "mapping unknown".to_owned(),
            |h| format!("mapping {}@{}", h.id, h.version),
        )
}

#[derive(Deserialize)]
struct ListQuery {
    limit: Option<u32>,
}

async fn list(
    State(state): State<ApiState>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Response {
    let Ok(Query(q)) = query else {
        return bad_query("`limit` must be a whole number");
    };
    let limit = q.limit.unwrap_or(100).min(1000);
    match state.store.quarantined(limit).await {
        Ok(entries) => Json(json!({ "entries": entries })).into_response(),
        Err(err) => store_error(&err),
    }
}

async fn entry(State(state): State<ApiState>, Path(id): Path<String>) -> Response {
    match state.store.quarantine_entry(&id).await {
        Ok(Some(summary)) => Json(summary).into_response(),
        Ok(None) => {
            let issue = Issue::error(
                IssueType::NotFound,
                "quarantine.not-found",
                "no quarantine entry has this message id",
            );
            outcome(StatusCode::NOT_FOUND, &OperationOutcome::single(issue))
        }
        Err(err) => store_error(&err),
    }
}

#[derive(Deserialize)]
struct RedriveQuery {
    dry_run: Option<bool>,
}

async fn redrive_route(
    State(state): State<ApiState>,
    query: Result<Query<RedriveQuery>, QueryRejection>,
) -> Response {
    let Ok(Query(q)) = query else {
        return bad_query("`dry_run` must be `true` or `false`");
    };
    let dry_run = q.dry_run.unwrap_or(false);
    let run = redrive(
        state.store.as_ref(),
        state.bus.as_ref(),
        &state.mappings,
        &state.validator,
        dry_run,
    )
    .await;
    match run {
        Ok(report) => Json(report).into_response(),
        Err(err) => {
            tracing::warn!(error = %err, "quarantine re-drive stopped");
            let status = if err.is_transient() {
                StatusCode::SERVICE_UNAVAILABLE
            } else {
                StatusCode::INTERNAL_SERVER_ERROR
            };
            outcome(status, &OperationOutcome::from_error(&err))
        }
    }
}

fn bad_query(text: &str) -> Response {
    let issue = Issue::error(IssueType::Invalid, "api.query", text);
    outcome(StatusCode::BAD_REQUEST, &OperationOutcome::single(issue))
}
