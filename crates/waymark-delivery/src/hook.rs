//! The rest-hook channel: POST a signed notification, classify the answer.

use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header;

use crate::{
    BACKOFF_CAP, DeliveryOutcome, EndpointPolicy, PayloadMode, RETRY_WINDOW, Subscription,
    WEBHOOK_ID, WEBHOOK_SIGNATURE, WEBHOOK_TIMESTAMP, backoff,
    endpoint::{GuardedResolver, check_before_connect},
    handshake_bundle, heartbeat_bundle, jitter,
    outcome::{classify, error_kind},
    parse_header, retry_after, sign,
    signal::{CLOUDEVENTS_CONTENT_TYPE, signal_control},
};

/// Settings of a [`RestHook`].
#[derive(Clone, Debug)]
pub struct RestHookConfig {
    /// Time allowed to connect.
    pub connect_timeout: Duration,
    /// Time allowed for the whole request, response headers and the (small) body read included.
    pub timeout: Duration,
    /// Response body bytes read (and discarded) at most; the rest is never read.
    pub max_response_bytes: usize,
    /// How long a notification is retried before it is dead-lettered (declare the queue with
    /// [`queue_spec_for`](crate::queue_spec_for) and this window). Default [`RETRY_WINDOW`].
    pub retry_window: Duration,
    /// Which endpoints and resolved addresses may be reached; checked on every request (the
    /// URL) and at connect time (every address the host name resolves to).
    pub endpoints: EndpointPolicy,
}

impl Default for RestHookConfig {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(30),
            max_response_bytes: 4096,
            retry_window: RETRY_WINDOW,
            endpoints: EndpointPolicy::local(),
        }
    }
}

/// The HTTP client could not be built.
#[derive(Debug, thiserror::Error)]
#[error("rest-hook client could not be built: {0}")]
pub struct HookError(String);

/// Posts notifications to subscribers' endpoints.
#[derive(Clone, Debug)]
pub struct RestHook {
    client: reqwest::Client,
    max_response_bytes: usize,
    endpoints: EndpointPolicy,
}

impl RestHook {
    /// A client with the config's timeouts and address policy that never follows redirects (a
    /// redirect must not carry a notification to a host nobody configured) and ignores proxy
    /// settings from the environment (a proxy would resolve names out of the policy's reach).
    pub fn new(config: &RestHookConfig) -> Result<Self, HookError> {
        let client = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(GuardedResolver::shared(config.endpoints))
            .user_agent(concat!("waymark/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| HookError(e.to_string()))?;
        Ok(Self {
            client,
            max_response_bytes: config.max_response_bytes,
            endpoints: config.endpoints,
        })
    }

    /// Signs and POSTs `body` to the subscription's endpoint as a first attempt.
    pub async fn send(
        &self,
        sub: &Subscription,
        webhook_id: &str,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> DeliveryOutcome {
        self.send_attempt(sub, webhook_id, body, now, 1).await
    }

    /// The handshake on creation: a `handshake` notification (a CloudEvent in signal mode),
    /// signed like any other. `Delivered` means the endpoint is there and holds the secret.
    pub async fn handshake(&self, sub: &Subscription, now: DateTime<Utc>) -> DeliveryOutcome {
        let bundle = handshake_bundle(sub, now);
        self.control(sub, &bundle, "handshake", 0, now).await
    }

    /// A `heartbeat` notification (a CloudEvent in signal mode): no data, only the event count.
    pub async fn heartbeat(
        &self,
        sub: &Subscription,
        events_since_start: u64,
        now: DateTime<Utc>,
    ) -> DeliveryOutcome {
        let bundle = heartbeat_bundle(sub, events_since_start, now);
        self.control(sub, &bundle, "heartbeat", events_since_start, now)
            .await
    }

    async fn control(
        &self,
        sub: &Subscription,
        bundle: &serde_json::Value,
        kind: &str,
        events_since_start: u64,
        now: DateTime<Utc>,
    ) -> DeliveryOutcome {
        let id = bundle["id"].as_str().unwrap_or_default().to_owned();
        let body = match sub.payload {
            PayloadMode::Signal => signal_control(sub, &id, kind, events_since_start, now),
            _ => bundle.clone(),
        };
        self.send(sub, &id, body.to_string().as_bytes(), now).await
    }

    /// As [`RestHook::send`], for delivery attempt `attempt` (1, 2, ...), which sets the backoff
    /// when the endpoint gives no `Retry-After`. The content type is
    /// `application/cloudevents+json` for a signal subscription, else `application/fhir+json`;
    /// `webhook-signature` carries one `v1,` signature per secret (two while rotating).
    pub async fn send_attempt(
        &self,
        sub: &Subscription,
        webhook_id: &str,
        body: &[u8],
        now: DateTime<Utc>,
        attempt: u32,
    ) -> DeliveryOutcome {
        let backoff_delay = backoff(attempt, jitter(webhook_id, attempt));
        // Our configuration is wrong, not the message: keep it queued until it is fixed.
        let misconfigured = |reason: String| DeliveryOutcome::Retry {
            after: BACKOFF_CAP,
            reason,
        };
        if let Err(why) = check_before_connect(&sub.endpoint, &self.endpoints) {
            return misconfigured(format!("endpoint refused: {why}"));
        }
        let request = match self.request(sub, webhook_id, body, now) {
            Ok(r) => r,
            Err(reason) => return misconfigured(reason),
        };
        match request.send().await {
            Ok(response) => {
                let status = response.status();
                let after = retry_after(response.headers().get(header::RETRY_AFTER), now);
                self.drain(response).await;
                classify(status, after.unwrap_or(backoff_delay))
            }
            Err(e) => DeliveryOutcome::Retry {
                after: backoff_delay,
                reason: error_kind(&e).into(),
            },
        }
    }

    /// The signed request, with the subscription's own headers; `Err` names what is
    /// misconfigured (never a value).
    fn request(
        &self,
        sub: &Subscription,
        webhook_id: &str,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<reqwest::RequestBuilder, String> {
        let timestamp = now.timestamp();
        let mut signatures = vec![sign(sub.secret.expose(), webhook_id, timestamp, body)];
        if let Some(previous) = &sub.previous_secret {
            signatures.push(sign(previous.expose(), webhook_id, timestamp, body));
        }
        let signature = signatures
            .into_iter()
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())?
            .join(" ");
        let content_type = match sub.payload {
            PayloadMode::Signal => CLOUDEVENTS_CONTENT_TYPE,
            _ => "application/fhir+json",
        };
        let mut request = self.client.post(&sub.endpoint);
        for line in &sub.headers {
            let (name, value) = parse_header(line.expose()).map_err(|e| e.to_string())?;
            request = request.header(name, value);
        }
        Ok(request
            .header(header::CONTENT_TYPE, content_type)
            .header(WEBHOOK_ID, webhook_id)
            .header(WEBHOOK_TIMESTAMP, timestamp.to_string())
            .header(WEBHOOK_SIGNATURE, signature)
            .body(body.to_vec()))
    }

    /// Reads at most `max_response_bytes` of the body (so the connection can be reused) and
    /// drops it unread beyond that; the content is never looked at.
    async fn drain(&self, mut response: reqwest::Response) {
        let mut read = 0;
        while read < self.max_response_bytes {
            match response.chunk().await {
                Ok(Some(chunk)) => read += chunk.len(),
                _ => break,
            }
        }
    }
}
