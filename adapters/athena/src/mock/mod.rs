//! The mock Athena: on a free loopback port, a token endpoint (`POST /oauth/token`, OAuth 2
//! client credentials with [`MOCK_CLIENT_ID`] and [`MOCK_CLIENT_SECRET`] as HTTP Basic) and the
//! custody-event feed (`GET /api/v1/custody-events?cursor=…&limit=…`, bearer token) serving a
//! [`Feed`] in pages with opaque cursors, with the [`HttpFaults`] asked for. It counts what it
//! did ([`MockStats`]) so tests can check what the adapter saw.

mod faults;
mod feed;
mod synthetic;

use std::{
    collections::{HashMap, HashSet},
    net::SocketAddr,
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use axum::{
    Router,
    body::{Body, Bytes},
    extract::{Query, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use base64::Engine as _;
use http_body_util::channel::Channel;
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle, time::Instant};

pub use faults::HttpFaults;
pub use feed::{Expect, Expected, Feed, FeedFaults, FeedItem};

use crate::client::{FEED_PATH, TOKEN_PATH};
use faults::{Fault, decide};

/// The client id the mock's token endpoint accepts.
pub const MOCK_CLIENT_ID: &str = "waymark-hub";
/// The client secret the mock's token endpoint accepts.
pub const MOCK_CLIENT_SECRET: &str = "mock-athena-secret";

/// Makes cursors opaque (and tells the mock's own from made-up ones).
const CURSOR_KEY: u64 = 0x5EED_C0FF_EE00;

/// What the mock did so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MockStats {
    /// Feed requests received.
    pub feed_requests: u64,
    /// Token requests received (accepted or not).
    pub token_requests: u64,
    /// Pages answered 200 in full.
    pub pages_served: u64,
    /// Feed requests refused for a missing, unknown or revoked token.
    pub bad_tokens: u64,
    /// Faults served, by kind.
    pub unauthorized: u64,
    /// Answers 429.
    pub rate_limited: u64,
    /// Answers 503.
    pub server_errors: u64,
    /// Connections dropped mid-body.
    pub dropped: u64,
    /// Truncated (invalid JSON) pages.
    pub malformed_pages: u64,
    /// Slow answers.
    pub slow: u64,
    /// Pages answered with a cursor going backwards.
    pub rewinds: u64,
    /// Feed requests with a cursor the mock never issued.
    pub invalid_cursors: u64,
    /// The furthest feed position a request asked to continue from: what the adapter
    /// acknowledged having published.
    pub acknowledged: usize,
    /// The shortest wait between a 429 and the next feed request, in milliseconds.
    pub min_wait_after_429_ms: Option<u64>,
}

struct MockState {
    feed: Feed,
    faults: Mutex<HttpFaults>,
    stats: Mutex<MockStats>,
    tokens: Mutex<HashSet<String>>,
    last_429: Mutex<Option<Instant>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A running mock Athena.
pub struct MockAthena {
    local_addr: SocketAddr,
    state: Arc<MockState>,
    stop: Option<oneshot::Sender<()>>,
    join: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for MockAthena {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockAthena")
            .field("local_addr", &self.local_addr)
            .finish_non_exhaustive()
    }
}

impl MockAthena {
    /// Starts serving `feed`, without faults, on a free loopback port.
    pub async fn start(feed: Feed) -> std::io::Result<Self> {
        Self::start_with(feed, HttpFaults::default()).await
    }

    /// Starts serving `feed` with `faults`.
    pub async fn start_with(feed: Feed, faults: HttpFaults) -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let local_addr = listener.local_addr()?;
        let state = Arc::new(MockState {
            feed,
            faults: Mutex::new(faults),
            stats: Mutex::default(),
            tokens: Mutex::default(),
            last_429: Mutex::default(),
        });
        let app = Router::new()
            .route(TOKEN_PATH, post(token))
            .route(FEED_PATH, get(page))
            .with_state(state.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        let serve = axum::serve(listener, app).with_graceful_shutdown(async {
            let _ = stopped.await;
        });
        let join = tokio::spawn(async move {
            if serve.await.is_err() {
                tracing::warn!("mock athena server failed");
            }
        });
        Ok(Self {
            local_addr,
            state,
            stop: Some(stop),
            join: Some(join),
        })
    }

    /// The API base URL, `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.local_addr)
    }

    /// The token endpoint's URL.
    pub fn token_url(&self) -> String {
        format!("{}{TOKEN_PATH}", self.base_url())
    }

    /// What the mock serves.
    pub fn feed(&self) -> &Feed {
        &self.state.feed
    }

    /// Replaces the HTTP faults (request numbering continues).
    pub fn set_faults(&self, faults: HttpFaults) {
        *lock(&self.state.faults) = faults;
    }

    /// What the mock did so far.
    pub fn stats(&self) -> MockStats {
        *lock(&self.state.stats)
    }

    /// The opaque cursor of feed position `position` (events before it are consumed).
    pub fn cursor(position: usize) -> String {
        format!("c1.{:012x}", position as u64 ^ CURSOR_KEY)
    }

    /// Stops serving and waits for the server to finish.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(join) = self.join.take() {
            let _ = join.await;
        }
    }
}

impl Drop for MockAthena {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

fn decode_cursor(text: &str, len: usize) -> Option<usize> {
    let hex = text.strip_prefix("c1.")?;
    let position = u64::from_str_radix(hex, 16).ok()? ^ CURSOR_KEY;
    usize::try_from(position).ok().filter(|p| *p <= len)
}

async fn token(State(state): State<Arc<MockState>>, headers: HeaderMap) -> Response {
    let n = {
        let mut stats = lock(&state.stats);
        stats.token_requests += 1;
        stats.token_requests
    };
    let basic = base64::engine::general_purpose::STANDARD
        .encode(format!("{MOCK_CLIENT_ID}:{MOCK_CLIENT_SECRET}"));
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if given != Some(format!("Basic {basic}").as_str()) {
        let body = serde_json::json!({"error": "invalid_client"});
        return (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response();
    }
    let token = format!("mock-token-{n}");
    lock(&state.tokens).insert(token.clone());
    let body =
        serde_json::json!({"access_token": token, "token_type": "Bearer", "expires_in": 300});
    axum::Json(body).into_response()
}

/// Counts the request, notes how long after a 429 it came, and decides its faults.
fn admit(state: &MockState) -> (Option<Fault>, bool, bool, HttpFaults) {
    let n = {
        let mut stats = lock(&state.stats);
        stats.feed_requests += 1;
        if let Some(at) = lock(&state.last_429).take() {
            let waited = u64::try_from(at.elapsed().as_millis()).unwrap_or(u64::MAX);
            stats.min_wait_after_429_ms = Some(
                stats
                    .min_wait_after_429_ms
                    .map_or(waited, |m| m.min(waited)),
            );
        }
        stats.feed_requests
    };
    let faults = *lock(&state.faults);
    let (fault, slow, rewind) = decide(&faults, n);
    (fault, slow, rewind, faults)
}

fn authorised(state: &MockState, headers: &HeaderMap) -> bool {
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let token = given.and_then(|g| g.strip_prefix("Bearer "));
    token.is_some_and(|t| lock(&state.tokens).contains(t))
}

async fn page(
    State(state): State<Arc<MockState>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let (fault, slow, rewind, faults) = admit(&state);
    if slow {
        lock(&state.stats).slow += 1;
        tokio::time::sleep(Duration::from_millis(faults.slow_ms)).await;
    }
    if !authorised(&state, &headers) {
        lock(&state.stats).bad_tokens += 1;
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let len = state.feed.len();
    let position = match query.get("cursor").map(|c| decode_cursor(c, len)) {
        None => 0,
        Some(Some(p)) => p,
        Some(None) => {
            lock(&state.stats).invalid_cursors += 1;
            let body = serde_json::json!({"error": "invalid cursor"});
            return (StatusCode::BAD_REQUEST, axum::Json(body)).into_response();
        }
    };
    {
        let mut stats = lock(&state.stats);
        stats.acknowledged = stats.acknowledged.max(position);
    }
    if let Some(refusal) = refuse(&state, fault, &faults) {
        return refusal;
    }
    let limit = query
        .get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(100)
        .clamp(1, 1000);
    let to = (position + limit).min(len);
    let next = if rewind {
        lock(&state.stats).rewinds += 1;
        position.saturating_sub(limit)
    } else {
        to
    };
    let body = state
        .feed
        .page_body(position, to, &MockAthena::cursor(next), next < len);
    answer(&state, fault, body)
}

/// The answers of the faults that serve no page.
fn refuse(state: &MockState, fault: Option<Fault>, faults: &HttpFaults) -> Option<Response> {
    let mut stats = lock(&state.stats);
    match fault? {
        Fault::Unauthorized => {
            stats.unauthorized += 1;
            lock(&state.tokens).clear();
            Some(StatusCode::UNAUTHORIZED.into_response())
        }
        Fault::RateLimited => {
            stats.rate_limited += 1;
            *lock(&state.last_429) = Some(Instant::now());
            let retry = faults.retry_after_secs.to_string();
            Some(
                (
                    StatusCode::TOO_MANY_REQUESTS,
                    [(header::RETRY_AFTER, retry)],
                )
                    .into_response(),
            )
        }
        Fault::ServerError => {
            stats.server_errors += 1;
            Some(StatusCode::SERVICE_UNAVAILABLE.into_response())
        }
        Fault::Drop | Fault::MalformedPage => None,
    }
}

fn answer(state: &MockState, fault: Option<Fault>, mut body: Vec<u8>) -> Response {
    let mut stats = lock(&state.stats);
    let json = [(header::CONTENT_TYPE, "application/json")];
    match fault {
        Some(Fault::Drop) => {
            stats.dropped += 1;
            body.truncate(body.len() / 2);
            (json, Body::new(dropped_after(Bytes::from(body)))).into_response()
        }
        Some(Fault::MalformedPage) => {
            stats.malformed_pages += 1;
            body.truncate(body.len() / 2);
            (json, body).into_response()
        }
        _ => {
            stats.pages_served += 1;
            (json, body).into_response()
        }
    }
}

/// A body that sends `part`, then fails, so the server drops the connection mid-body.
fn dropped_after(part: Bytes) -> Channel<Bytes, std::io::Error> {
    let (mut sender, body) = Channel::new(1);
    tokio::spawn(async move {
        let _ = sender.send_data(part).await;
        sender.abort(std::io::Error::other("connection dropped by the mock"));
    });
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_made_up_ones_are_refused() {
        for p in [0, 1, 99, 1000] {
            assert_eq!(decode_cursor(&MockAthena::cursor(p), 1000), Some(p));
        }
        assert_eq!(decode_cursor(&MockAthena::cursor(1001), 1000), None);
        for bad in ["", "c1.", "c1.zz", "c2.000000000000", "0"] {
            assert_eq!(decode_cursor(bad, 1000), None, "{bad}");
        }
    }
}
