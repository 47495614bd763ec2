//! Faults the mock injects, to prove the adapter retries what is transient and never loses or
//! duplicates a request. Each person's first request of each step meets at most one fault,
//! chosen from (seed, NHS number, step), so a retry succeeds and runs are reproducible.

use std::time::Duration;

use axum::{
    body::{Body, Bytes},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use http_body_util::{Full, Limited};
use serde_json::json;

use super::rng::bucket;

/// What the mock does wrong, in percent of people (each fault on the first attempt only).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Faults {
    /// Answer 503 with `Retry-After`.
    pub server_error_percent: u8,
    /// Drop the connection before the answer is complete.
    pub drop_percent: u8,
    /// Answer 200 with truncated JSON.
    pub malformed_percent: u8,
    /// Answer after `slow` (independent of the three above).
    pub slow_percent: u8,
    /// How slow a slow answer is.
    pub slow: Duration,
    /// The `Retry-After` seconds of a 503.
    pub retry_after_secs: u64,
    /// Pull-script requests sent twice in a row (a requester repeating itself).
    pub duplicate_percent: u8,
}

impl Faults {
    /// Every fault at once, at rates that exercise retries in a few hundred requests.
    pub fn chaos() -> Self {
        Self {
            server_error_percent: 10,
            drop_percent: 5,
            malformed_percent: 5,
            slow_percent: 10,
            slow: Duration::from_millis(30),
            retry_after_secs: 0,
            duplicate_percent: 10,
        }
    }
}

/// The fault a request meets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fault {
    ServerError,
    Drop,
    Malformed,
}

impl Faults {
    /// Which fault (if any) the first attempt of `step` for `nhs` meets, and whether it is slow.
    pub(crate) fn pick(&self, seed: u64, nhs: &str, step: u64) -> (Option<Fault>, bool) {
        let b = bucket(seed, nhs, 0xFA00 + step);
        let e = self.server_error_percent;
        let d = e.saturating_add(self.drop_percent);
        let m = d.saturating_add(self.malformed_percent);
        let fault = if b < e {
            Some(Fault::ServerError)
        } else if b < d {
            Some(Fault::Drop)
        } else if b < m {
            Some(Fault::Malformed)
        } else {
            None
        };
        let slow = bucket(seed, nhs, 0x510 + step) < self.slow_percent;
        (fault, slow)
    }

    /// The response of `fault` in place of `body`.
    pub(crate) fn respond(&self, fault: Fault, body: &[u8]) -> Response {
        match fault {
            Fault::ServerError => {
                let outcome = json!({"resourceType": "OperationOutcome", "issue": [{
                    "severity": "error", "code": "transient",
                    "details": {"text": "Service Unavailable"}}]});
                let mut response =
                    (StatusCode::SERVICE_UNAVAILABLE, axum::Json(outcome)).into_response();
                if let Ok(v) = HeaderValue::from_str(&self.retry_after_secs.to_string()) {
                    response.headers_mut().insert(header::RETRY_AFTER, v);
                }
                response
            }
            Fault::Drop => dropped(body),
            Fault::Malformed => fhir(StatusCode::OK, truncated(body)),
        }
    }
}

/// The first half of a body: never valid JSON.
pub(crate) fn truncated(body: &[u8]) -> Vec<u8> {
    body[..body.len() / 2].to_vec()
}

/// A FHIR JSON response.
pub(crate) fn fhir(status: StatusCode, body: Vec<u8>) -> Response {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/fhir+json")
        .body(Body::from(body))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// Fails the body as it is sent: the server drops the connection and the client sees the
/// answer end before it was complete.
fn dropped(body: &[u8]) -> Response {
    let whole = Full::new(Bytes::copy_from_slice(body));
    let failing = Limited::new(whole, body.len() / 2);
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/fhir+json")
        .body(Body::new(failing))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}
