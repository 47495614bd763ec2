//! The audit layer: every request through it — allowed or denied — is appended to the audit
//! log **before** its response leaves, and when the append fails the response is replaced by a
//! 503 `OperationOutcome` (`audit.unavailable`), so no data leaves unaudited.
//!
//! Put it **outside** [`crate::auth::require_auth`] (e.g. `router.layer(from_fn_with_state(log,
//! audit_layer))` after [`crate::auth::protect`]), so it sees the [`AuthOutcome`] the auth
//! middleware leaves in the response extensions, refusals included. Handlers that release data
//! add an [`AuditDetail`] to their response's extensions (persons, data classes released and
//! withheld from the policy `Manifest`, the break-glass reason); the layer takes it out.
//!
//! The path is kept with query parameter names only ([`waymark_audit::sanitise_path`]).

use std::sync::Arc;

use axum::{
    extract::{Request, State},
    http::StatusCode,
    middleware::Next,
    response::Response,
};
use chrono::Utc;
use waymark_audit::{AuditRecord, ClassDecision, sanitise_path};
use waymark_core::{ErrorCode, IssueType, Sensitive};
use waymark_fhir::OperationOutcome;
use waymark_store::AuditLog;

use crate::auth::{AuthOutcome, Principal};

/// What a handler adds to the audit record of its response.
#[derive(Clone, Debug, Default)]
pub struct AuditDetail {
    /// The persons the response is about (hub person ids).
    pub person_ids: Vec<String>,
    /// Data classes released, with their legal basis.
    pub released: Vec<ClassDecision>,
    /// Data classes withheld, with the withholding rule.
    pub withheld: Vec<ClassDecision>,
    /// The break-glass reason, when one was given.
    pub break_glass_reason: Option<Sensitive<String>>,
}

/// The audit log could not be written: the request fails.
#[derive(Debug, thiserror::Error)]
#[error("the audit trail cannot be written; the request was not served")]
pub struct AuditUnavailable;

impl ErrorCode for AuditUnavailable {
    fn code(&self) -> &'static str {
        "audit.unavailable"
    }

    fn issue_type(&self) -> IssueType {
        IssueType::Transient
    }
}

/// The axum middleware (`from_fn_with_state(log, audit_layer)`): runs the request, appends its
/// record, and returns the response only once the record is stored.
pub async fn audit_layer(
    State(log): State<Arc<dyn AuditLog>>,
    request: Request,
    next: Next,
) -> Response {
    let started = Utc::now();
    let method = request.method().to_string();
    let path = request.uri().path_and_query().map_or_else(
        || request.uri().path().to_owned(),
        |p| p.as_str().to_owned(),
    );
    let correlation_id = correlation(&request);
    let mut response = next.run(request).await;
    let mut record = AuditRecord::new(started, &method, &sanitise_path(&path), "", 0);
    record.correlation_id = correlation_id;
    fill(&mut record, &mut response);
    match log.append(record).await {
        Ok(_) => response,
        Err(err) => {
            tracing::error!(
                code = waymark_core::ErrorCode::code(&err),
                "audit append failed"
            );
            crate::outcome(
                StatusCode::SERVICE_UNAVAILABLE,
                &OperationOutcome::from_error(&AuditUnavailable),
            )
        }
    }
}

/// Completes the record from the response: who (the auth outcome), the result, the detail.
fn fill(record: &mut AuditRecord, response: &mut Response) {
    let status = response.status();
    record.status = status.as_u16();
    let auth = response.extensions().get::<AuthOutcome>().cloned();
    let denial = auth.as_ref().and_then(AuthOutcome::denial_code);
    record.outcome = match (denial, status.as_u16()) {
        (Some(code), _) => code.to_owned(),
        (None, 0..=399) => "allowed".to_owned(),
        (None, 400..=499) => "refused".to_owned(),
        (None, _) => "failed".to_owned(),
    };
    if let Some(auth) = auth {
        record.time = auth.at;
        record.source_address = auth.source.map(|ip| ip.to_string());
        if let Ok(principal) = &auth.result {
            caller(record, principal);
        }
    }
    if let Some(detail) = response.extensions_mut().remove::<AuditDetail>() {
        record.person_ids = detail.person_ids;
        record.released = detail.released;
        record.withheld = detail.withheld;
        record.break_glass_reason = detail.break_glass_reason;
    }
}

fn caller(record: &mut AuditRecord, p: &Principal) {
    record.subject = Some(p.subject.clone());
    record.client_id = p.client_id.clone();
    record.organisation = Some(p.organisation.clone());
    record.role = Some(p.role.code().to_owned());
    record.registered = Some(p.registered);
    record.auth_method = Some(p.auth_method.as_str().to_owned());
}

/// The caller's `X-Request-Id`, when it is a short printable token.
fn correlation(request: &Request) -> Option<String> {
    let value = request.headers().get("x-request-id")?.to_str().ok()?;
    let ok = !value.is_empty()
        && value.len() <= 64
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c));
    ok.then(|| value.to_owned())
}
