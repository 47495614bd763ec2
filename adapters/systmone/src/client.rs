//! The GP Connect client: one `$gpc.getstructuredrecord` call per attempt, retried with
//! doubling backoff (honouring `Retry-After`) while the provider is unavailable, for at most a
//! configured window. URLs, bodies and `reqwest` error texts are never logged or kept.

use std::time::{Duration, Instant};

use chrono::Utc;
use reqwest::{
    Response,
    header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER},
};
use serde_json::Value;
use tokio::sync::watch;
use waymark_bus::AdapterContext;
use waymark_core::ErrorCode;

use crate::{
    SystmOneError,
    gpc::{
        FHIR_JSON, GpcIdentity, INTERACTION_ID, STRUCTURED_RECORD_PATH, bearer_jwt, parameters,
        spine_code,
    },
    request::PullRequest,
    telemetry::{Counter, Telemetry, UpstreamRetry},
};

/// How failed calls are retried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Wait before the first retry; doubled before each later one.
    pub initial: Duration,
    /// Longest wait between two attempts (a longer `Retry-After` is cut to this).
    pub max: Duration,
    /// Give up once this long has passed since the first attempt.
    pub give_up_after: Duration,
}

/// A final answer from the provider.
#[derive(Debug)]
pub enum Answer {
    /// A structured record (a `Bundle`), bytes as received.
    Record(Vec<u8>),
    /// An answer to keep but not to map: an OperationOutcome error, a malformed body. Bytes as
    /// received; the error goes into `context.error`.
    Flawed(Vec<u8>, SystmOneError),
}

/// What became of a fetch.
#[derive(Debug)]
pub enum Fetch {
    /// The provider answered for good.
    Answered(Answer),
    /// Retrying did not help, or the failure is not one to publish: keep the request as failed.
    Failed(SystmOneError),
    /// The adapter is stopping; the request stays pending.
    Stopped,
}

/// One failed attempt: the error and the provider's `Retry-After`, if any.
struct Attempt {
    error: SystmOneError,
    retry_after: Option<Duration>,
}

/// A GP Connect client.
#[derive(Clone, Debug)]
pub struct GpcClient {
    http: reqwest::Client,
    base: String,
    identity: GpcIdentity,
    retry: RetryPolicy,
    max_body: usize,
    medication_months: u32,
}

impl GpcClient {
    /// A client of the provider at `base_url` (`http(s)://host[:port][/fhir-base]`).
    pub fn new(
        base_url: &str,
        identity: GpcIdentity,
        timeout: Duration,
        retry: RetryPolicy,
        max_body: usize,
        medication_months: u32,
    ) -> Result<Self, SystmOneError> {
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            return Err(SystmOneError::Config(
                "`gpc_base_url` must be an http(s) url".into(),
            ));
        }
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|_| SystmOneError::Client)?;
        Ok(Self {
            http,
            base: base_url.trim_end_matches('/').to_owned(),
            identity,
            retry,
            max_body,
            medication_months,
        })
    }

    /// The provider's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.http
    }

    pub(crate) fn identity(&self) -> &GpcIdentity {
        &self.identity
    }

    /// Fetches a record, retrying transient failures until the window closes or `shutdown`.
    pub async fn fetch(
        &self,
        seq: u64,
        request: &PullRequest,
        telemetry: &Telemetry,
        shutdown: &watch::Receiver<bool>,
    ) -> Fetch {
        let started = Instant::now();
        let mut delay = self.retry.initial;
        loop {
            telemetry.incr(Counter::UpstreamCalls);
            let attempt = match self.attempt(request).await {
                Ok(answer) => return Fetch::Answered(answer),
                Err(attempt) => attempt,
            };
            if !attempt.error.retryable() {
                return Fetch::Failed(attempt.error);
            }
            let wait = attempt
                .retry_after
                .map_or(delay, |after| after.max(delay))
                .min(self.retry.max);
            let elapsed = started.elapsed();
            if elapsed + wait > self.retry.give_up_after {
                return Fetch::Failed(SystmOneError::GaveUp {
                    elapsed_ms: u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
                    last: attempt.error.code(),
                });
            }
            UpstreamRetry {
                seq,
                code: attempt.error.code(),
                status: attempt.error.http_status(),
                wait_ms: u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
            }
            .emit();
            telemetry.incr(Counter::Retried);
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = AdapterContext::stopped(shutdown.clone()) => return Fetch::Stopped,
            }
            delay = (delay * 2).min(self.retry.max);
        }
    }

    async fn attempt(&self, request: &PullRequest) -> Result<Answer, Attempt> {
        let url = format!("{}{STRUCTURED_RECORD_PATH}", self.base);
        let now = Utc::now();
        let body = parameters(request.nhs(), request.requested_at, self.medication_months);
        let response = self
            .http
            .post(&url)
            .header("Ssp-TraceID", uuid::Uuid::new_v4().to_string())
            .header("Ssp-From", &self.identity.from_asid)
            .header("Ssp-To", &self.identity.to_asid)
            .header("Ssp-InteractionID", INTERACTION_ID)
            .header(
                AUTHORIZATION,
                format!("Bearer {}", bearer_jwt(&self.identity, &url, now)),
            )
            .header(ACCEPT, FHIR_JSON)
            .header(CONTENT_TYPE, FHIR_JSON)
            .body(body.to_string())
            .send()
            .await
            .map_err(|_| transient(SystmOneError::Unreachable))?;
        let status = response.status().as_u16();
        let retry_after = retry_after(&response);
        let bytes = read_limited(response, self.max_body)
            .await
            .map_err(|error| Attempt {
                error,
                retry_after: None,
            })?;
        classify(status, bytes).map_err(|error| Attempt { error, retry_after })
    }
}

fn transient(error: SystmOneError) -> Attempt {
    Attempt {
        error,
        retry_after: None,
    }
}

/// `Retry-After` in seconds, or as an HTTP date.
fn retry_after(response: &Response) -> Option<Duration> {
    let text = response.headers().get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = text.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(text).ok()?;
    (at.to_utc() - Utc::now()).to_std().ok()
}

/// Reads the body, refusing more than `limit` bytes; a connection dropped mid-body is
/// `Unreachable` (retried).
pub(crate) async fn read_limited(
    mut response: Response,
    limit: usize,
) -> Result<Vec<u8>, SystmOneError> {
    let too_large = SystmOneError::TooLarge { limit };
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Err(too_large);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|_| SystmOneError::Unreachable)?
    {
        if body.len() + chunk.len() > limit {
            return Err(too_large);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A final answer, or the error of a failed attempt (retryable or not).
fn classify(status: u16, body: Vec<u8>) -> Result<Answer, SystmOneError> {
    let parsed: Option<Value> = serde_json::from_slice(&body).ok();
    let resource_type = parsed
        .as_ref()
        .and_then(|v| v.get("resourceType"))
        .and_then(Value::as_str);
    let error = match (status, resource_type) {
        (200, Some("Bundle")) => return Ok(Answer::Record(body)),
        (200, _) => SystmOneError::Malformed,
        (_, Some("OperationOutcome")) => SystmOneError::Gpc {
            status,
            spine_code: parsed
                .as_ref()
                .and_then(spine_code)
                .unwrap_or_else(|| "OTHER".into()),
        },
        _ => SystmOneError::Status { status },
    };
    if error.retryable() {
        Err(error)
    } else {
        Ok(Answer::Flawed(body, error))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_classified() {
        let bundle = br#"{"resourceType":"Bundle"}"#.to_vec();
        assert!(matches!(classify(200, bundle), Ok(Answer::Record(_))));
        let oo = br#"{"resourceType":"OperationOutcome","issue":[{"details":{"coding":[{"code":"PATIENT_NOT_FOUND"}]}}]}"#;
        match classify(404, oo.to_vec()) {
            Ok(Answer::Flawed(_, err)) => assert_eq!(err.code(), "systmone.gpc.patient-not-found"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            classify(200, b"{\"resourceType\":\"Bun".to_vec()),
            Ok(Answer::Flawed(_, SystmOneError::Malformed))
        ));
        assert!(matches!(
            classify(503, b"down".to_vec()),
            Err(SystmOneError::Status { status: 503 })
        ));
        assert!(matches!(
            classify(500, oo.to_vec()),
            Err(SystmOneError::Gpc { status: 500, .. })
        ));
        assert!(matches!(
            classify(401, b"".to_vec()),
            Ok(Answer::Flawed(_, SystmOneError::Status { status: 401 }))
        ));
    }
}
