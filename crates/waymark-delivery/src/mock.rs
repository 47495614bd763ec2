//! A mock receiving system: a stand-in for a custody, prison or probation system that takes
//! rest-hook notifications, for the demo and the tests.
//!
//! It verifies every request's Standard Webhooks signature with its own implementation (on
//! `ring::hmac`, not the `hmac` crate the sender uses, so a shared bug cannot hide), answers 401
//! to a bad or missing signature or a timestamp more than five minutes off, records each accepted
//! notification, and can be told to fail the next requests so retry paths can be exercised.

use std::{
    collections::{BTreeMap, VecDeque},
    io,
    net::SocketAddr,
    sync::{Arc, Mutex, PoisonError},
};

use axum::{
    Router,
    body::Bytes,
    extract::State,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use base64::{Engine as _, engine::general_purpose::STANDARD};
use chrono::{DateTime, Utc};
use ring::hmac;
use serde_json::Value;
use tokio::task::JoinHandle;

/// How far a `webhook-timestamp` may be from the receiver's clock.
const TOLERANCE_SECS: i64 = 5 * 60;

/// One accepted notification.
#[derive(Clone, Debug)]
pub struct Received {
    /// The `webhook-id` header.
    pub webhook_id: String,
    /// The `webhook-timestamp` header.
    pub timestamp: i64,
    /// The body, parsed.
    pub body: Value,
    /// When it arrived, by the receiver's clock.
    pub received_at: DateTime<Utc>,
}

/// A canned failure answer.
#[derive(Clone, Copy, Debug)]
struct Failure {
    status: StatusCode,
    retry_after: Option<u64>,
}

#[derive(Default)]
struct Inner {
    received: Vec<Received>,
    failures: VecDeque<Failure>,
    requests: usize,
    refused: usize,
}

struct Shared {
    keys: Vec<hmac::Key>,
    inner: Mutex<Inner>,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A running mock receiver on `127.0.0.1`; stops when dropped.
pub struct MockReceiver {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for MockReceiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockReceiver")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl MockReceiver {
    /// Starts a receiver on `127.0.0.1:0` accepting signatures by any of `secrets`
    /// (`whsec_<base64>`, several for rotation). Must be called inside a tokio runtime.
    pub async fn start(secrets: Vec<String>) -> io::Result<Self> {
        let keys = secrets
            .iter()
            .map(|s| key(s))
            .collect::<io::Result<Vec<_>>>()?;
        let shared = Arc::new(Shared {
            keys,
            inner: Mutex::new(Inner::default()),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let app = Router::new()
            .fallback(receive)
            .with_state(Arc::clone(&shared));
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::warn!(error = %e, "mock receiver stopped");
            }
        });
        Ok(Self { addr, shared, task })
    }

    /// The endpoint to configure in a subscription.
    pub fn url(&self) -> String {
        format!("http://{}/notify", self.addr)
    }

    /// Every accepted notification, in arrival order.
    pub fn received(&self) -> Vec<Received> {
        self.shared.lock().received.clone()
    }

    /// The distinct `webhook-id`s accepted, in order of first arrival.
    pub fn unique_ids(&self) -> Vec<String> {
        let mut seen = std::collections::BTreeSet::new();
        let received = self.shared.lock();
        received
            .received
            .iter()
            .filter(|r| seen.insert(r.webhook_id.clone()))
            .map(|r| r.webhook_id.clone())
            .collect()
    }

    /// The `webhook-id`s accepted more than once.
    pub fn duplicates(&self) -> Vec<String> {
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for r in &self.shared.lock().received {
            *counts.entry(r.webhook_id.clone()).or_default() += 1;
        }
        counts
            .into_iter()
            .filter(|(_, n)| *n > 1)
            .map(|(id, _)| id)
            .collect()
    }

    /// Answers the next `n` requests with 503 (before looking at them).
    pub fn fail_next(&self, n: usize) {
        self.fail_next_with(n, 503, None);
    }

    /// Answers the next `n` requests with `status`, and a `Retry-After: <seconds>` if given.
    pub fn fail_next_with(&self, n: usize, status: u16, retry_after: Option<u64>) {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        let failure = Failure {
            status,
            retry_after,
        };
        self.shared
            .lock()
            .failures
            .extend(std::iter::repeat_n(failure, n));
    }

    /// Every request that reached the receiver, failed, refused and accepted.
    pub fn request_count(&self) -> usize {
        self.shared.lock().requests
    }

    /// Requests refused with 401 (bad or missing signature, stale timestamp).
    pub fn refused_count(&self) -> usize {
        self.shared.lock().refused
    }
}

impl Drop for MockReceiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn key(secret: &str) -> io::Result<hmac::Key> {
    let invalid = |what: &str| io::Error::new(io::ErrorKind::InvalidInput, what.to_owned());
    let encoded = secret
        .strip_prefix("whsec_")
        .ok_or_else(|| invalid("secret needs `whsec_`"))?;
    let bytes = STANDARD
        .decode(encoded)
        .map_err(|_| invalid("secret is not base64"))?;
    Ok(hmac::Key::new(hmac::HMAC_SHA256, &bytes))
}

async fn receive(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let failure = {
        let mut inner = shared.lock();
        inner.requests += 1;
        inner.failures.pop_front()
    };
    if let Some(f) = failure {
        return failed(f);
    }
    let Some((webhook_id, timestamp)) = verify(&shared.keys, &headers, &body, Utc::now()) else {
        shared.lock().refused += 1;
        return StatusCode::UNAUTHORIZED.into_response();
    };
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let received = Received {
        webhook_id,
        timestamp,
        body,
        received_at: Utc::now(),
    };
    shared.lock().received.push(received);
    StatusCode::OK.into_response()
}

fn failed(f: Failure) -> Response {
    let mut response = f.status.into_response();
    if let Some(secs) = f.retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

/// `(webhook-id, timestamp)` when the headers carry a valid signature by one of `keys` over
/// this body, made within the tolerance of `now`.
fn verify(
    keys: &[hmac::Key],
    headers: &HeaderMap,
    body: &[u8],
    now: DateTime<Utc>,
) -> Option<(String, i64)> {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let id = text("webhook-id")?;
    let timestamp_text = text("webhook-timestamp")?;
    let timestamp: i64 = timestamp_text.parse().ok()?;
    if (now.timestamp() - timestamp).abs() > TOLERANCE_SECS {
        return None;
    }
    let mut signed = Vec::with_capacity(id.len() + timestamp_text.len() + body.len() + 2);
    signed.extend_from_slice(id.as_bytes());
    signed.push(b'.');
    signed.extend_from_slice(timestamp_text.as_bytes());
    signed.push(b'.');
    signed.extend_from_slice(body);
    let valid = text("webhook-signature")?
        .split(' ')
        .filter_map(|s| s.strip_prefix("v1,"))
        .filter_map(|s| STANDARD.decode(s).ok())
        .any(|tag| keys.iter().any(|k| hmac::verify(k, &signed, &tag).is_ok()));
    valid.then(|| (id.to_owned(), timestamp))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifies_the_standard_webhooks_reference_vector_independently() {
        let keys = vec![key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap()];
        let mut headers = HeaderMap::new();
        headers.insert(
            "webhook-id",
            HeaderValue::from_static("msg_p5jXN8AQM9LWM0D4loKWxJek"),
        );
        headers.insert("webhook-timestamp", HeaderValue::from_static("1614265330"));
        headers.insert(
            "webhook-signature",
            HeaderValue::from_static("v1,bad v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="),
        );
        let body = br#"{"test": 2432232314}"#;
        let at = DateTime::from_timestamp(1_614_265_330 + 60, 0).unwrap();
        assert!(verify(&keys, &headers, body, at).is_some());
        assert!(verify(&keys, &headers, br#"{"test": 2432232315}"#, at).is_none());
        let late = DateTime::from_timestamp(1_614_265_330 + 301, 0).unwrap();
        assert!(verify(&keys, &headers, body, late).is_none());
    }
}
