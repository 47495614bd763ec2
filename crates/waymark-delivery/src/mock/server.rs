//! The mock's HTTP side: answer, verify, file.

use std::sync::Arc;

use axum::{
    body::Bytes,
    extract::State,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use chrono::Utc;
use serde_json::Value;

use super::{Failure, Inner, Kind, Received, Shared, gaps, verify};

pub(super) async fn receive(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (failure, slow) = {
        let mut inner = shared.lock();
        inner.requests += 1;
        let down = inner.down.then_some(Failure {
            status: StatusCode::SERVICE_UNAVAILABLE,
            retry_after: None,
        });
        (down.or_else(|| inner.failures.pop_front()), inner.slow)
    };
    if !slow.is_zero() {
        tokio::time::sleep(slow).await;
    }
    if let Some(f) = failure {
        return failed(f);
    }
    let Some((webhook_id, timestamp)) = verify::verify(&shared.keys, &headers, &body, Utc::now())
    else {
        shared.lock().refused += 1;
        return StatusCode::UNAUTHORIZED.into_response();
    };
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let received = Received {
        webhook_id,
        timestamp,
        content_type: text(&headers, header::CONTENT_TYPE.as_str()),
        headers: headers
            .iter()
            .filter(|(name, _)| !name.as_str().starts_with("webhook-"))
            .map(|(name, value)| {
                let value = value.to_str().unwrap_or_default().to_owned();
                (name.as_str().to_owned(), value)
            })
            .collect(),
        body,
        received_at: Utc::now(),
    };
    record(&mut shared.lock(), received);
    StatusCode::OK.into_response()
}

fn text(headers: &HeaderMap, name: &str) -> String {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// Files an accepted request, or loses it when it is the n-th notification.
fn record(inner: &mut Inner, received: Received) {
    let kind = gaps::kind(&received.body);
    if kind == Kind::Notification {
        inner.notifications += 1;
        if inner
            .drop_every
            .is_some_and(|n| inner.notifications.is_multiple_of(n))
        {
            inner.dropped += 1;
            return;
        }
    }
    let numbers = gaps::numbers(&received.body);
    if let Some(subscription) = numbers.subscription.clone() {
        inner
            .streams
            .entry(subscription)
            .or_default()
            .note(&numbers);
    }
    match kind {
        Kind::Notification => inner.received.push(received),
        Kind::Handshake => inner.handshakes.push(received),
        Kind::Heartbeat => inner.heartbeats.push(received),
    }
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
