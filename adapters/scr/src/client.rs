//! The SCR FHIR R4 API client: the two-step search of `classify.rs`, with the auth headers the
//! API asks for, a timeout per request, a body-size limit and retries with doubling backoff that
//! honour `Retry-After`, inside a give-up window. URLs hold NHS numbers, so neither a URL nor a
//! `reqwest` error text is ever logged or kept.

use std::time::{Duration, Instant};

use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_LENGTH, RETRY_AFTER};
use waymark_core::{ErrorCode, Sensitive};

use crate::{
    ScrError,
    classify::{GP_SUMMARY_TYPE, Step, Which, classify},
    request::Nhs,
};

/// The NHS number identifier system, as the API's search parameters name it.
pub const NHS_NUMBER_SYSTEM: &str = "https://fhir.nhs.uk/Id/nhs-number";
/// The header naming the user's role session (NHS Identity), sent on every request.
pub const SESSION_URID_HEADER: &str = "NHSD-Session-URID";

/// How failed SCR requests are retried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Wait before the first retry; doubled before each later one.
    pub backoff: Duration,
    /// The longest wait between two attempts (a longer `Retry-After` is cut to this).
    pub max_backoff: Duration,
    /// No retry starts after this long since the first attempt of a step.
    pub give_up_after: Duration,
    /// Attempts per step, the first included.
    pub max_attempts: u32,
}

/// What the SCR said about a person.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// The GP summary searchset (Composition and the resources it references).
    Summary(Sensitive<Vec<u8>>),
    /// Access control refused (no consent): the OperationOutcome, which holds no record.
    NoConsent(Sensitive<Vec<u8>>),
    /// The person has no Summary Care Record: the empty searchset.
    NoResult(Sensitive<Vec<u8>>),
    /// Every attempt got a 2xx body that is not the expected FHIR resource: the last one.
    Malformed(Sensitive<Vec<u8>>),
}

/// One failed attempt.
struct Failure {
    error: ScrError,
    retry_after: Option<Duration>,
    body: Option<Vec<u8>>,
}

impl Failure {
    fn of(error: ScrError) -> Self {
        Self {
            error,
            retry_after: None,
            body: None,
        }
    }

    fn retryable(&self) -> bool {
        self.error.is_transient() || matches!(self.error, ScrError::Malformed)
    }
}

/// An SCR API client.
#[derive(Clone, Debug)]
pub struct ScrApi {
    http: reqwest::Client,
    base: String,
    token: Sensitive<String>,
    session_urid: String,
    max_body: usize,
    retry: RetryPolicy,
}

/// A retry is about to happen: the code of the failure, the attempt that failed, the wait.
pub(crate) type OnRetry<'a> = &'a (dyn Fn(&'static str, u32, Duration) + Send + Sync);

impl ScrApi {
    /// A client for the API at `base_url` (`http(s)://host[:port]/summary-care-record/FHIR/R4`).
    pub fn new(
        base_url: &str,
        token: Sensitive<String>,
        session_urid: &str,
        timeout: Duration,
        max_body: usize,
        retry: RetryPolicy,
    ) -> Result<Self, ScrError> {
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            return Err(ScrError::Config(
                "`scr_api_url` must be an http(s) url".into(),
            ));
        }
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|_| ScrError::Client)?;
        Ok(Self {
            http,
            base: base_url.trim_end_matches('/').to_owned(),
            token,
            session_urid: session_urid.to_owned(),
            max_body,
            retry,
        })
    }

    /// Searches the person's GP summary and fetches it.
    pub(crate) async fn fetch(&self, nhs: &Nhs, on_retry: OnRetry<'_>) -> Result<Answer, ScrError> {
        let correlation = uuid::Uuid::new_v4().to_string();
        let patient = format!("{NHS_NUMBER_SYSTEM}|{}", nhs.expose());
        let documents = [
            ("patient", patient.clone()),
            ("type", format!("http://snomed.info/sct|{GP_SUMMARY_TYPE}")),
        ];
        let (step, body) = self
            .step(
                Which::Documents,
                "/DocumentReference",
                &documents,
                &correlation,
                on_retry,
            )
            .await?;
        let id = match step {
            Step::Found(id) => id,
            other => return Ok(answer(other, body)),
        };
        let summary = [
            ("composition.identifier", id),
            ("composition.subject:Patient.identifier", patient),
        ];
        let (step, body) = self
            .step(Which::Summary, "/Bundle", &summary, &correlation, on_retry)
            .await?;
        Ok(answer(step, body))
    }

    /// One step, retried; a malformed body that outlives the retries comes back as such.
    async fn step(
        &self,
        which: Which,
        path: &str,
        query: &[(&str, String)],
        correlation: &str,
        on_retry: OnRetry<'_>,
    ) -> Result<(Step, Vec<u8>), ScrError> {
        let started = Instant::now();
        let mut delay = self.retry.backoff;
        let mut attempts = 0;
        loop {
            attempts += 1;
            let failure = match self.get_once(which, path, query, correlation).await {
                Ok(found) => return Ok(found),
                Err(failure) => failure,
            };
            let wait = failure
                .retry_after
                .unwrap_or(delay)
                .min(self.retry.max_backoff);
            let in_window = started.elapsed() + wait <= self.retry.give_up_after;
            if failure.retryable() && attempts < self.retry.max_attempts.max(1) && in_window {
                on_retry(failure.error.code(), attempts, wait);
                tokio::time::sleep(wait).await;
                delay = (delay * 2).min(self.retry.max_backoff);
                continue;
            }
            return match failure {
                Failure {
                    error: ScrError::Malformed,
                    body: Some(body),
                    ..
                } => Ok((Step::Malformed, body)),
                f if f.retryable() => Err(ScrError::GaveUp {
                    attempts,
                    last: f.error.code(),
                }),
                f => Err(f.error),
            };
        }
    }

    async fn get_once(
        &self,
        which: Which,
        path: &str,
        query: &[(&str, String)],
        correlation: &str,
    ) -> Result<(Step, Vec<u8>), Failure> {
        let request = self
            .http
            .get(format!("{}{path}", self.base))
            .query(query)
            .header(ACCEPT, "application/fhir+json")
            .header(AUTHORIZATION, format!("Bearer {}", self.token.expose()))
            .header(SESSION_URID_HEADER, &self.session_urid)
            .header("X-Request-ID", uuid::Uuid::new_v4().to_string())
            .header("X-Correlation-ID", correlation);
        let mut response = request
            .send()
            .await
            .map_err(|_| Failure::of(ScrError::Unreachable))?;
        let status = response.status().as_u16();
        let retry_after = retry_after(response.headers());
        let declared = response
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
        let too_large = ScrError::TooLarge {
            limit: self.max_body,
        };
        if declared.is_some_and(|n| n > self.max_body) {
            return Err(Failure::of(too_large));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|_| Failure::of(ScrError::Unreachable))?
        {
            if body.len() + chunk.len() > self.max_body {
                return Err(Failure::of(too_large));
            }
            body.extend_from_slice(&chunk);
        }
        match classify(which, status, &body) {
            Ok(step) => Ok((step, body)),
            Err(error) => {
                let malformed = matches!(error, ScrError::Malformed);
                Err(Failure {
                    error,
                    retry_after,
                    body: malformed.then_some(body),
                })
            }
        }
    }
}

/// The answer a final step means.
fn answer(step: Step, body: Vec<u8>) -> Answer {
    let body = Sensitive::new(body);
    match step {
        Step::Summary | Step::Found(_) => Answer::Summary(body),
        Step::NoConsent => Answer::NoConsent(body),
        Step::NoResult => Answer::NoResult(body),
        Step::Malformed => Answer::Malformed(body),
    }
}

/// `Retry-After` in seconds (the HTTP-date form is not used by the API and is ignored).
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let seconds = headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()?;
    Some(Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_only() {
        let mut headers = reqwest::header::HeaderMap::new();
        assert_eq!(retry_after(&headers), None);
        headers.insert(RETRY_AFTER, "2".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(2)));
        headers.insert(
            RETRY_AFTER,
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&headers), None);
    }

    #[test]
    fn base_url_must_be_http() {
        let retry = RetryPolicy {
            backoff: Duration::ZERO,
            max_backoff: Duration::ZERO,
            give_up_after: Duration::ZERO,
            max_attempts: 1,
        };
        let token = Sensitive::new(String::new());
        let made = ScrApi::new("ftp://x", token, "", Duration::from_secs(1), 10, retry);
        assert_eq!(made.unwrap_err().code(), "scr.config");
    }
}
