//! The FHIR API's refusals, each an `OperationOutcome` that names a rule, never a value.

use axum::{extract::rejection::JsonRejection, http::StatusCode, response::Response};
use waymark_core::IssueType;
use waymark_fhir::{Issue, OperationOutcome};

use crate::outcome;

fn one(status: StatusCode, kind: IssueType, rule: &str, text: &str) -> Response {
    outcome(
        status,
        &OperationOutcome::single(Issue::error(kind, rule, text)),
    )
}

/// A JSON body the extractor refused: 413 when it is over the body limit
/// ([`crate::MAX_BODY_BYTES`]), otherwise 400 with `rule` and `text`.
pub(crate) fn body_refused(rejection: &JsonRejection, rule: &str, text: &str) -> Response {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return one(
            StatusCode::PAYLOAD_TOO_LARGE,
            IssueType::TooCostly,
            "api.body-too-large",
            "the body is larger than the hub accepts",
        );
    }
    bad_request(rule, text)
}

/// 400: the request is malformed (`rule` names what).
pub(crate) fn bad_request(rule: &str, text: &str) -> Response {
    one(StatusCode::BAD_REQUEST, IssueType::Invalid, rule, text)
}

/// 403: the caller's role may not do this.
pub(crate) fn forbidden(rule: &str, text: &str) -> Response {
    one(StatusCode::FORBIDDEN, IssueType::Forbidden, rule, text)
}

/// 404: no such resource (or none the caller may know of).
pub(crate) fn not_found(text: &str) -> Response {
    one(
        StatusCode::NOT_FOUND,
        IssueType::NotFound,
        "api.not-found",
        text,
    )
}

/// 422: the resource does not read (`rule` names the element's problem).
pub(crate) fn unprocessable(rule: &str, text: &str) -> Response {
    one(
        StatusCode::UNPROCESSABLE_ENTITY,
        IssueType::Processing,
        rule,
        text,
    )
}

/// A 400 decided while reading a request (rule, text): small, so parsers can return it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Bad(pub &'static str, pub &'static str);

impl axum::response::IntoResponse for Bad {
    fn into_response(self) -> Response {
        bad_request(self.0, self.1)
    }
}
