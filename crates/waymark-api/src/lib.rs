//! The HTTP API of a hub process: the FHIR pull API ([`fhir`]: Patient search, `$summary`,
//! `$everything`, Consent, AuditEvent, Subscription, and the `CapabilityStatement` at
//! `/fhir/metadata` generated from the same route table), the admin routes for integration
//! engineers (the quarantine — reasons only, never content, see [`redrive`] — the mapping dry
//! run and the identity review queue), ingest for source systems that push ([`ingest`]:
//! `POST /ingest/{source}`), liveness (`/health`), and feed health ([`health_routes`]:
//! `/dashboard`, `/metrics`).
//!
//! Every `/fhir/**` route but `/fhir/metadata`, every `/ingest/**` and every `/admin/**` route
//! is authenticated ([`auth::protect`]) and audited ([`audit::audit_layer`], outside the
//! authentication, so refusals are audited too); `/health`, `/fhir/metadata` and the OpenAPI document
//! (`/openapi.json`, [`openapi`], generated from the same route tables) are open.
//!
//! Every error is a FHIR `OperationOutcome`; errors become responses only in this crate. Stored
//! content leaves only through the policy engine (`Policy::release_summary`).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod audit;
pub mod auth;
mod dashboard;
mod dry_run;
pub mod fhir;
mod identity;
pub mod ingest;
mod metrics;
pub mod openapi;
mod quarantine;
mod routes;

pub use auth::{Authenticated, Authenticator, Principal};
pub use dashboard::{SharedHealth, health_routes};
pub use metrics::render as render_metrics;
pub use quarantine::{REDRIVE_STAGE, RedriveEntry, RedriveError, RedriveReport, redrive};

use std::sync::Arc;

use axum::{
    Json, Router,
    extract::State,
    http::StatusCode,
    middleware::from_fn_with_state,
    response::{IntoResponse, Response},
};
use serde_json::json;
use waymark_bus::Bus;
use waymark_core::ErrorCode;
use waymark_delivery::{EndpointPolicy, RestHook};
use waymark_fhir::OperationOutcome;
use waymark_mapping::MappingSet;
use waymark_policy::Policy;
use waymark_profile::Validator;
use waymark_store::{AuditLog, Store, StoreError};

use crate::routes::Routes;

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
    /// Authenticates every protected request.
    pub auth: Arc<Authenticator>,
    /// The audit trail every protected request is appended to before its response leaves.
    pub audit: Arc<dyn AuditLog>,
    /// The role policy every read is released through.
    pub policy: Arc<Policy>,
    /// The hub's live subscriptions (a Consent change notifies the person's past recipients;
    /// a Subscription write through the API refreshes it).
    pub subscriptions: Arc<waymark_pipeline::SubscriptionSet>,
    /// Where a subscription's endpoint may point ([`EndpointPolicy::production`] in production).
    pub endpoints: EndpointPolicy,
    /// Sends the handshake when a subscription is created (or its endpoint changes).
    pub hook: RestHook,
}

/// The endpoint policy subscriptions written through the API are checked against:
/// [`EndpointPolicy::production`] when the authentication is in production mode, else
/// [`EndpointPolicy::local`] (the demo's loopback receivers).
pub fn endpoint_policy(auth: &Authenticator) -> EndpointPolicy {
    match auth.config().mode {
        auth::Mode::Production => EndpointPolicy::production(),
        auth::Mode::Development => EndpointPolicy::local(),
    }
}

/// The API's routes, for `axum::serve` (with `into_make_service_with_connect_info`, so the
/// client's address reaches the allow-lists and the audit trail) or for tests with `oneshot`.
/// Each resource's routes live in a module of their own and are merged here: the FHIR routes
/// and the admin routes (integration engineers only) behind authentication, inside the audit
/// layer; `/health` and `/fhir/metadata` open.
pub fn router(state: ApiState) -> Router {
    let admin = admin_routes()
        .into_router()
        .route_layer(axum::middleware::from_fn(fhir::access::admin_only));
    let protected = auth::protect(
        fhir::routes()
            .into_router()
            .merge(ingest::routes().into_router())
            .merge(admin),
        state.auth.clone(),
    )
    .layer(from_fn_with_state(state.audit.clone(), audit::audit_layer));
    open_routes()
        .into_router()
        .merge(protected)
        .fallback(not_found)
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

/// Largest request body the API reads (bytes), unless a route sets its own (`/ingest`): a
/// larger one is refused with 413 before it is parsed.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Every `(method, path)` that [`router`] serves (axum path syntax), as its route tables add
/// them; the OpenAPI document ([`openapi::document`]) lists exactly these.
pub fn routed() -> Vec<(&'static str, &'static str)> {
    let mut all = open_routes().table().to_vec();
    all.extend_from_slice(fhir::routes().table());
    all.extend_from_slice(ingest::routes().table());
    all.extend_from_slice(admin_routes().table());
    all
}

/// `/health`, `/fhir/metadata` and the OpenAPI document: no token.
fn open_routes() -> Routes {
    Routes::new()
        .get("/health", health)
        .get("/fhir/metadata", metadata)
        .get(openapi::PATH, openapi_document)
}

/// The admin routes (integration engineers only).
fn admin_routes() -> Routes {
    dry_run::routes()
        .merge(identity::routes())
        .merge(quarantine::routes())
}

async fn health(State(state): State<ApiState>) -> Response {
    match state.store.counts().await {
        Ok(counts) => Json(json!({ "status": "ok", "store": counts })).into_response(),
        Err(err) => store_error(&err),
    }
}

async fn metadata() -> Response {
    fhir::json_response(StatusCode::OK, &fhir::capability_statement())
}

async fn openapi_document() -> Response {
    static DOCUMENT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let body = DOCUMENT.get_or_init(|| openapi::document().to_string());
    (
        StatusCode::OK,
        [("content-type", "application/json")],
        body.clone(),
    )
        .into_response()
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
    if matches!(err, StoreError::Backend(_)) {
        // The backend's own message names its driver, pool and server state: internals a
        // caller never sees (they are logged by code for the operator).
        tracing::warn!(code = err.code(), error = %err, "store backend failed");
        let issue = waymark_fhir::Issue::error(
            err.issue_type(),
            err.code(),
            "the store did not answer; try again shortly",
        );
        return outcome(status, &OperationOutcome::single(issue));
    }
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
