//! The SNS side of the mock: POSTs notifications to an HTTP(S) subscription endpoint the way SNS
//! does, and redelivers on a non-2xx answer or a connection error, with doubling backoff, up to
//! a number of attempts.

use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, USER_AGENT};
use serde_json::Value;

use crate::{listener::SNS_TYPE_HEADER, population::Population};

/// How the pusher delivers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PushOptions {
    /// Attempts per notification, the first included (at least 1).
    pub max_attempts: u32,
    /// Wait before the first redelivery; doubled before each later one.
    pub backoff: Duration,
    /// Timeout of one attempt (SNS waits about 15 s).
    pub timeout: Duration,
}

impl Default for PushOptions {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            backoff: Duration::from_millis(50),
            timeout: Duration::from_secs(15),
        }
    }
}

/// What became of one notification.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PushOutcome {
    /// POSTs made.
    pub attempts: u32,
    /// Status of the last answer; `None` when the last attempt got no answer.
    pub last_status: Option<u16>,
    /// Whether an attempt was answered 2xx.
    pub acknowledged: bool,
}

/// What a push did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PushReport {
    /// Notifications pushed.
    pub sent: usize,
    /// Of those, acknowledged (2xx).
    pub acknowledged: usize,
    /// Of those, given up after the last attempt.
    pub failed: usize,
    /// POSTs made in all.
    pub attempts: usize,
    /// One outcome per notification, in push order.
    pub outcomes: Vec<PushOutcome>,
}

/// Delivers notifications to one endpoint.
#[derive(Clone, Debug)]
pub struct Pusher {
    http: reqwest::Client,
    endpoint: String,
    options: PushOptions,
}

impl Pusher {
    /// A pusher to `endpoint` (e.g. `http://127.0.0.1:9000/sns`).
    pub fn new(endpoint: impl Into<String>, options: PushOptions) -> Self {
        let http = reqwest::Client::builder().timeout(options.timeout).build();
        Self {
            http: http.unwrap_or_default(),
            endpoint: endpoint.into(),
            options,
        }
    }

    /// Pushes a population's script, in order, one at a time.
    pub async fn push_population(&self, population: &Population) -> PushReport {
        self.push(population.notifications().iter().map(|n| n.body.as_slice()))
            .await
    }

    /// Pushes bodies in order, one at a time.
    pub async fn push<'a>(&self, bodies: impl IntoIterator<Item = &'a [u8]>) -> PushReport {
        let mut report = PushReport::default();
        for body in bodies {
            let outcome = self.push_one(body).await;
            report.sent += 1;
            report.attempts += outcome.attempts as usize;
            if outcome.acknowledged {
                report.acknowledged += 1;
            } else {
                report.failed += 1;
            }
            report.outcomes.push(outcome);
        }
        report
    }

    /// Delivers one body, redelivering until it is acknowledged or attempts run out.
    pub async fn push_one(&self, body: &[u8]) -> PushOutcome {
        let mut delay = self.options.backoff;
        let mut outcome = PushOutcome {
            attempts: 0,
            last_status: None,
            acknowledged: false,
        };
        while outcome.attempts < self.options.max_attempts.max(1) {
            if outcome.attempts > 0 {
                tokio::time::sleep(delay).await;
                delay = delay.saturating_mul(2);
            }
            outcome.attempts += 1;
            outcome.last_status = self.post(body).await;
            if outcome.last_status.is_some_and(|s| (200..300).contains(&s)) {
                outcome.acknowledged = true;
                break;
            }
        }
        outcome
    }

    async fn post(&self, body: &[u8]) -> Option<u16> {
        let mut request = self
            .http
            .post(&self.endpoint)
            .header(SNS_TYPE_HEADER, "Notification")
            .header(CONTENT_TYPE, "text/plain; charset=UTF-8")
            .header(USER_AGENT, "Amazon Simple Notification Service Agent");
        if let Some(id) = message_id(body) {
            request = request.header("x-amz-sns-message-id", id);
        }
        let response = request.body(body.to_vec()).send().await.ok()?;
        Some(response.status().as_u16())
    }
}

/// The `MessageId` of a body, for the `x-amz-sns-message-id` header SNS sends.
fn message_id(body: &[u8]) -> Option<String> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let id = value.get("MessageId")?.as_str()?;
    id.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        .then(|| id.to_owned())
}
