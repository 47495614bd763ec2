//! The HTTP API of a hub process. In this version: liveness and readiness (`/health`), the
//! quarantine for integration engineers (`/admin/quarantine`: list, one entry, re-drive; reasons
//! only, never content — see [`redrive`]) and the FHIR `CapabilityStatement`
//! (`/fhir/metadata`), and feed health ([`health_routes`]: `/dashboard`, `/metrics`). The FHIR
//! API, authentication and audit grow here (issue 10).
//!
//! Every error is a FHIR `OperationOutcome`; errors become responses only in this crate. Must
//! never return stored content without the policy engine (there is no such route yet).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod audit;
pub mod auth;
mod dashboard;
mod dry_run;
mod identity;
mod metrics;
mod quarantine;

pub use auth::{Authenticated, Authenticator, Principal};
pub use dashboard::{SharedHealth, health_routes};
pub use metrics::render as render_metrics;
pub use quarantine::{REDRIVE_STAGE, RedriveEntry, RedriveError, RedriveReport, redrive};

use std::sync::Arc;

use axum::{
    Json, Router,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::get,
};
use serde_json::{Value, json};
use waymark_bus::Bus;
use waymark_core::ErrorCode;
use waymark_fhir::OperationOutcome;
use waymark_mapping::MappingSet;
use waymark_profile::Validator;
use waymark_store::{Store, StoreError};

/// What the handlers share: the hub process's parts.
#[derive(Clone)]
pub struct ApiState {
    /// The store.
    pub store: Arc<dyn Store>,
    /// The bus.
    pub bus: Arc<dyn Bus>,
    /// The loaded mappings.
    pub mappings: Arc<MappingSet>,
    /// The profile validator.
    pub validator: Arc<Validator>,
}

/// The API's routes, for `axum::serve` or for tests with `oneshot`. Each resource's routes live
/// in a module of their own and are merged here.
pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/health", get(health))
        .merge(dry_run::routes())
        .merge(identity::routes())
        .merge(quarantine::routes())
        .route("/fhir/metadata", get(metadata))
        .fallback(not_found)
        .with_state(state)
}

async fn health(State(state): State<ApiState>) -> Response {
    match state.store.counts().await {
        Ok(counts) => Json(json!({ "status": "ok", "store": counts })).into_response(),
        Err(err) => store_error(&err),
    }
}

async fn metadata() -> Json<Value> {
    Json(json!({
        "resourceType": "CapabilityStatement",
        "status": "draft",
        "date": "2026-11-21",
        "kind": "instance",
        "software": { "name": "Waymark", "version": env!("CARGO_PKG_VERSION") },
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json"],
        "rest": [{ "mode": "server" }],
    }))
}

async fn not_found() -> Response {
    let issue = waymark_fhir::Issue::error(
        waymark_core::IssueType::NotFound,
        "api.not-found",
        "no such endpoint",
    );
    outcome(StatusCode::NOT_FOUND, &OperationOutcome::single(issue))
}

pub(crate) fn store_error(err: &StoreError) -> Response {
    let status = match err.issue_type() {
        _ if err.is_transient() => StatusCode::SERVICE_UNAVAILABLE,
        waymark_core::IssueType::NotFound => StatusCode::NOT_FOUND,
        waymark_core::IssueType::Processing => StatusCode::CONFLICT,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    outcome(status, &OperationOutcome::from_error(err))
}

pub(crate) fn outcome(status: StatusCode, oo: &OperationOutcome) -> Response {
    (
        status,
        [("content-type", "application/fhir+json")],
        oo.to_json().to_string(),
    )
        .into_response()
}
