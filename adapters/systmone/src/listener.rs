//! The adapter's own HTTP endpoint: `POST /pull` takes a pull request
//! (`{nhsNumber, reason, requestedAt}`) and answers `202` only once it is journaled (fsynced);
//! `400` for an unusable request, `503` (with `Retry-After`) when the journal is full or the
//! adapter is stopping. `GET /status` gives the counters (no patient data).

use std::sync::Arc;

use axum::{
    Json, Router,
    body::Bytes,
    extract::{DefaultBodyLimit, State},
    http::{StatusCode, header::RETRY_AFTER},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use chrono::Utc;
use serde_json::json;
use waymark_core::ErrorCode;

use crate::{SystmOneError, handle::PullHandle, request::PullRequest, telemetry::PullRejected};

/// Where pull requests are posted.
pub const PULL_PATH: &str = "/pull";
/// Where the counters are read.
pub const STATUS_PATH: &str = "/status";
/// Largest pull request body accepted.
pub const MAX_PULL_BYTES: usize = 64 * 1024;

/// The endpoint's routes.
pub fn router(handle: PullHandle) -> Router {
    Router::new()
        .route(PULL_PATH, post(pull))
        .route(STATUS_PATH, get(status))
        .layer(DefaultBodyLimit::max(MAX_PULL_BYTES))
        .with_state(Arc::new(handle))
}

async fn pull(State(handle): State<Arc<PullHandle>>, body: Bytes) -> Response {
    let request = match PullRequest::from_json(&body, Utc::now()) {
        Ok(request) => request,
        Err(err) => {
            handle.counters().incr(crate::telemetry::Counter::Rejected);
            PullRejected { code: err.code() }.emit();
            return refusal(&err);
        }
    };
    match handle.pull(request).await {
        Ok(submitted) => (
            StatusCode::ACCEPTED,
            Json(json!({"seq": submitted.seq, "coalesced": submitted.coalesced})),
        )
            .into_response(),
        Err(err) => refusal(&err),
    }
}

async fn status(State(handle): State<Arc<PullHandle>>) -> Response {
    let t = handle.telemetry();
    Json(json!({
        "accepted": t.accepted, "coalesced": t.coalesced, "rejected": t.rejected,
        "notifications": t.notifications, "upstreamCalls": t.upstream_calls,
        "retried": t.retried, "received": t.received, "published": t.published,
        "duplicates": t.duplicates, "flawed": t.flawed, "publishFailures": t.publish_failures,
        "failed": t.failed, "feedErrors": t.feed_errors, "pending": t.pending,
        "inFlight": t.in_flight, "failedKept": t.failed_kept, "lagMs": t.lag_ms,
        "failedCodes": handle.failed_codes(),
    }))
    .into_response()
}

fn refusal(err: &SystmOneError) -> Response {
    let body = Json(json!({"error": err.code(), "text": err.to_string()}));
    match err {
        SystmOneError::InvalidRequest(_) => (StatusCode::BAD_REQUEST, body).into_response(),
        _ => (StatusCode::SERVICE_UNAVAILABLE, [(RETRY_AFTER, "5")], body).into_response(),
    }
}
