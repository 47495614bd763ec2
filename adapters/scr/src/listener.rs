//! The pull endpoint: `POST /pull` with `{nhsNumber, reason, requestedAt}`.
//!
//! `202` only once the request is journaled and fsynced (or coalesced with a pending request
//! for the same person): the answer is the acknowledgement. `400` for a body that is not a
//! well-formed request or an NHS number that fails its check (never journaled, counted as
//! rejected); `413` over 4 KiB; `503` when the journal cannot take it (full, failing) or the
//! adapter is stopping: the caller asks again later. `GET /pull/status` gives the journal's
//! counts and the adapter's counters (no identifiers).

use axum::{
    Json, Router,
    body::Bytes,
    extract::{DefaultBodyLimit, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde_json::json;
use waymark_core::ErrorCode;

use crate::{ScrError, handle::PullHandle, journal::Accepted, request::PullRequest};

/// The path pull requests are posted to.
pub const PULL_PATH: &str = "/pull";
/// The largest pull request body accepted.
pub const MAX_PULL_BYTES: usize = 4096;

/// The endpoint's routes.
pub fn router(handle: PullHandle) -> Router {
    Router::new()
        .route(PULL_PATH, post(pull))
        .route("/pull/status", get(status))
        .layer(DefaultBodyLimit::max(MAX_PULL_BYTES))
        .with_state(handle)
}

async fn pull(State(handle): State<PullHandle>, body: Bytes) -> Response {
    let request = match PullRequest::from_json(&body) {
        Ok(request) => request,
        Err(err) => {
            handle.reject(&err);
            return refused(StatusCode::BAD_REQUEST, &err);
        }
    };
    match handle.submit(request).await {
        Ok(Accepted::Journaled { seq }) => accepted(seq, false),
        Ok(Accepted::Coalesced { seq }) => accepted(seq, true),
        Err(err @ (ScrError::InvalidNhsNumber | ScrError::InvalidRequest)) => {
            refused(StatusCode::BAD_REQUEST, &err)
        }
        Err(err) => refused(StatusCode::SERVICE_UNAVAILABLE, &err),
    }
}

fn accepted(seq: u64, coalesced: bool) -> Response {
    let body = json!({ "seq": seq, "coalesced": coalesced });
    (StatusCode::ACCEPTED, Json(body)).into_response()
}

fn refused(status: StatusCode, err: &ScrError) -> Response {
    let body = json!({
        "resourceType": "OperationOutcome",
        "issue": [{ "severity": "error", "code": err.issue_type().code(),
                    "details": { "text": err.code() } }],
    });
    (status, Json(body)).into_response()
}

async fn status(State(handle): State<PullHandle>) -> Response {
    let journal = handle.status();
    let t = handle.telemetry();
    let body = json!({
        "pending": journal.pending, "done": journal.done, "failed": journal.failed,
        "failedCodes": handle.failed_codes(),
        "received": t.received, "coalesced": t.coalesced, "rejected": t.rejected,
        "fetched": t.fetched, "retried": t.retried, "published": t.published,
        "duplicates": t.duplicates, "publishFailures": t.publish_failures,
        "noConsent": t.no_consent, "noResult": t.no_result, "flawed": t.flawed,
        "lagMsLast": t.lag_ms_last, "lagMsMax": t.lag_ms_max,
    });
    Json(body).into_response()
}
