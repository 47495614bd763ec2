//! `POST /ingest/{source}` — for source systems that push: the body (at most
//! [`MAX_INGEST_BYTES`]) wrapped, untouched, in the source's envelope ([`native_envelope`])
//! and published to the ingest queue; `202 Accepted` (with the envelope id) only after the
//! bus confirmed the publish, so a message answered 202 is never lost, and a message pushed
//! twice is one message (the id comes from the source's own key; the bus de-duplicates).
//!
//! Authenticated as that source: the caller's token must be one of the auth config's
//! [`IngestClient`](crate::auth::IngestClient)s for the source (issuer plus subject and/or
//! client id). Invalid content is not refused here: like every adapter's, it is published and
//! the map stage quarantines it with the reason.

mod envelope;

pub use envelope::{IngestError, native_envelope};

use axum::{
    Json,
    body::Bytes,
    extract::{DefaultBodyLimit, Path, State, rejection::BytesRejection},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::post,
};
use chrono::Utc;
use serde_json::json;
use waymark_bus::{BusError, Message, Published};
use waymark_core::{ErrorCode, IssueType, SourceSystem};
use waymark_fhir::{Issue, OperationOutcome};

use crate::{ApiState, auth::Authenticated, outcome, routes::Routes};

/// Largest pushed message accepted (bytes); a larger one is a 413.
pub const MAX_INGEST_BYTES: usize = 4 * 1024 * 1024;

/// The queue pushed messages go to (the map stage's input).
const QUEUE: &str = waymark_pipeline::INGEST;

/// The ingest route, merged into [`crate::router`] behind authentication and audit.
pub(crate) fn routes() -> Routes {
    let route = post(ingest).layer(DefaultBodyLimit::max(MAX_INGEST_BYTES));
    Routes::new().route("POST", "/ingest/{source}", route)
}

fn refusal(status: StatusCode, kind: IssueType, rule: &str, text: &str) -> Response {
    outcome(
        status,
        &OperationOutcome::single(Issue::error(kind, rule, text)),
    )
}

async fn ingest(
    State(state): State<ApiState>,
    Authenticated(caller): Authenticated,
    Path(source): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let Ok(source) = source.parse::<SourceSystem>() else {
        return refusal(
            StatusCode::NOT_FOUND,
            IssueType::NotFound,
            "api.not-found",
            "no such source system",
        );
    };
    if !state.auth.config().pushes_for(&caller, source) {
        return refusal(
            StatusCode::FORBIDDEN,
            IssueType::Forbidden,
            "api.forbidden.ingest",
            "this client does not push for this source",
        );
    }
    let bytes = match body {
        Ok(bytes) if !bytes.is_empty() => bytes,
        Ok(_) => {
            return refusal(
                StatusCode::BAD_REQUEST,
                IssueType::Required,
                "api.ingest.empty",
                "the body is the source's message; it is empty",
            );
        }
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return too_large();
        }
        Err(_) => {
            return refusal(
                StatusCode::BAD_REQUEST,
                IssueType::Structure,
                "api.ingest.body",
                "the body could not be read",
            );
        }
    };
    let envelope = match native_envelope(source, bytes.to_vec(), Utc::now()) {
        Ok(envelope) => envelope,
        Err(err) => {
            return outcome(
                StatusCode::UNPROCESSABLE_ENTITY,
                &OperationOutcome::from_error(&err),
            );
        }
    };
    let message = Message::new(envelope.id.clone(), envelope.to_bytes())
        .with_header("source", source.as_str())
        .with_header("message-type", envelope.message_type.as_str())
        .with_header("content-type", envelope.content_type.as_str());
    match state.bus.publish(QUEUE, message).await {
        Ok(published) => {
            let answer = json!({
                "id": envelope.id.as_str(),
                "source": source.as_str(),
                "duplicate": published == Published::Duplicate,
            });
            (StatusCode::ACCEPTED, Json(answer)).into_response()
        }
        Err(BusError::TooLarge { .. }) => too_large(),
        Err(err) => {
            tracing::warn!(
                code = err.code(),
                source = source.as_str(),
                "ingest publish failed"
            );
            let status = if err.is_transient() {
                StatusCode::SERVICE_UNAVAILABLE
            } else {
                StatusCode::INTERNAL_SERVER_ERROR
            };
            outcome(status, &OperationOutcome::from_error(&err))
        }
    }
}

fn too_large() -> Response {
    refusal(
        StatusCode::PAYLOAD_TOO_LARGE,
        IssueType::TooCostly,
        "api.ingest.too-large",
        "the message is larger than the hub accepts",
    )
}
