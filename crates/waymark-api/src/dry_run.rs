//! `POST /admin/mappings/dry-run?source=S&type=T`: run a message through its mapping and the
//! profile, exactly as the map stage would, with no side effects (nothing is published, stored
//! or quarantined).
//!
//! The body is a mapping input document (`{envelope, message, context}`, as in
//! `mappings/*/tests/`) or an envelope as stored by the hub. `source` and `type`, when given,
//! replace the envelope's, to try a message against another mapping.
//!
//! - 200 `{"bundle": <canonical bundle>, "outcome": <OperationOutcome naming the mapping>}`
//! - 422 OperationOutcome: the mapping failed, or the profile refused its bundle (then the
//!   outcome also names the mapping and version that produced it)
//! - 400 OperationOutcome: the body or the query cannot be read
//! - 503 OperationOutcome: the mapping runner is unavailable (stuck runs; restart the process)

use axum::{
    Json,
    body::Bytes,
    extract::{Query, State, rejection::QueryRejection},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use serde_json::{Value, json};
use waymark_core::{Envelope, ErrorCode, IssueType, SourceSystem};
use waymark_fhir::{Issue, OperationOutcome};
use waymark_mapping::{MappingError, MappingInput};

use crate::{ApiState, routes::Routes};

/// The dry-run route.
pub(crate) fn routes() -> Routes {
    Routes::new().post("/admin/mappings/dry-run", dry_run)
}

#[derive(Deserialize)]
struct Params {
    source: Option<SourceSystem>,
    #[serde(rename = "type")]
    message_type: Option<String>,
}

async fn dry_run(
    State(state): State<ApiState>,
    params: Result<Query<Params>, QueryRejection>,
    body: Bytes,
) -> Response {
    let Ok(Query(params)) = params else {
        return bad_request("the query must be `source=<source system>&type=<message type>`");
    };
    let mut input = match read_body(&body) {
        Ok(input) => input,
        Err(Unreadable::Shape(text)) => return bad_request(text),
        Err(Unreadable::Mapping(err)) => return refused(&err, None),
    };
    if let Some(source) = params.source {
        input.envelope.source = source;
    }
    if let Some(message_type) = params.message_type {
        input.envelope.message_type = message_type;
    }
    let ran = tokio::task::spawn_blocking(move || run(&state, &input)).await;
    match ran {
        Ok(response) => response,
        Err(_) => {
            let issue = Issue::error(
                IssueType::Exception,
                "api.dry-run",
                "the dry run did not complete",
            );
            respond(
                StatusCode::INTERNAL_SERVER_ERROR,
                &OperationOutcome::single(issue),
            )
        }
    }
}

/// Maps and validates; the same two steps as `waymark_pipeline::map_envelope`.
fn run(state: &ApiState, input: &MappingInput) -> Response {
    let meta = &input.envelope;
    let mapping = state.mappings.mapping_for(meta.source, &meta.message_type);
    let bundle = match state.mappings.map_input(input) {
        Ok(bundle) => bundle,
        Err(err) => return refused(&err, mapping.map(|m| m.issue())),
    };
    match state.validator.validate(bundle) {
        Ok(canonical) => {
            let outcome = OperationOutcome {
                issues: mapping.map(|m| m.issue()).into_iter().collect(),
            };
            let body = json!({"bundle": canonical.into_json(), "outcome": outcome.to_json()});
            (StatusCode::OK, Json(body)).into_response()
        }
        Err(mut outcome) => {
            outcome.issues.extend(mapping.map(|m| m.issue()));
            respond(StatusCode::UNPROCESSABLE_ENTITY, &outcome)
        }
    }
}

enum Unreadable {
    Shape(&'static str),
    Mapping(MappingError),
}

/// An input document or an envelope, told apart by their keys.
fn read_body(body: &[u8]) -> Result<MappingInput, Unreadable> {
    let not_json = Unreadable::Shape("the body is not JSON");
    let json: Value = serde_json::from_slice(body).map_err(|_| not_json)?;
    if json.get("envelope").is_some() && json.get("message").is_some() {
        return serde_json::from_value(json).map_err(|_| {
            Unreadable::Shape(
                "the body has `envelope` and `message` but is not a mapping input document",
            )
        });
    }
    if json.get("checksum").is_some() && json.get("payload").is_some() {
        let envelope = Envelope::from_bytes(body).map_err(|_| {
            Unreadable::Shape("the body looks like an envelope but does not decode")
        })?;
        return MappingInput::from_envelope(&envelope).map_err(Unreadable::Mapping);
    }
    Err(Unreadable::Shape(
        "the body must be a mapping input document ({envelope, message, context}) or an envelope",
    ))
}

fn refused(err: &MappingError, mapping: Option<Issue>) -> Response {
    let status = if err.issue_type() == IssueType::Transient {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let mut outcome = OperationOutcome::from_error(err);
    outcome.issues.extend(mapping);
    respond(status, &outcome)
}

fn bad_request(text: &'static str) -> Response {
    let issue = Issue::error(IssueType::Structure, "api.dry-run.unreadable", text);
    respond(StatusCode::BAD_REQUEST, &OperationOutcome::single(issue))
}

fn respond(status: StatusCode, outcome: &OperationOutcome) -> Response {
    (
        status,
        [("content-type", "application/fhir+json")],
        outcome.to_json().to_string(),
    )
        .into_response()
}
