//! A mock receiving system: a stand-in for a custody, prison or probation system that takes
//! rest-hook notifications, for the demo and the tests.
//!
//! It verifies every request's Standard Webhooks signature with its own implementation
//! (`verify`, on `ring::hmac`, not the `hmac` crate the sender uses), answers 401 to a bad or
//! missing signature or a timestamp more than five minutes off, and records accepted
//! notifications, handshakes and heartbeats separately. It can be told to fail the next
//! requests, to go slow or down, or to lose every n-th notification (answering 200: a receiving
//! system that lost it); [`MockReceiver::gaps`] is what such a system sees missing from the
//! event numbers, and [`MockReceiver::refill`] takes an `$events` answer to fill the gaps.

mod gaps;
mod server;
mod verify;

use std::{
    collections::{BTreeMap, BTreeSet, VecDeque},
    io,
    net::SocketAddr,
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use axum::{Router, http::StatusCode};
use chrono::{DateTime, Utc};
use ring::hmac;
use serde_json::Value;
use tokio::task::JoinHandle;

pub use gaps::Kind;

/// One accepted request.
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
    /// The `content-type` header.
    pub content_type: String,
    /// Every header but the three `webhook-*` ones, names lower case.
    pub headers: BTreeMap<String, String>,
}

/// A canned failure answer.
#[derive(Clone, Copy, Debug)]
pub(super) struct Failure {
    pub(super) status: StatusCode,
    pub(super) retry_after: Option<u64>,
}

#[derive(Default)]
pub(super) struct Inner {
    received: Vec<Received>,
    handshakes: Vec<Received>,
    heartbeats: Vec<Received>,
    failures: VecDeque<Failure>,
    requests: usize,
    refused: usize,
    slow: Duration,
    down: bool,
    drop_every: Option<usize>,
    notifications: usize,
    dropped: usize,
    streams: BTreeMap<String, gaps::Stream>,
}

pub(super) struct Shared {
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
            .map(|s| verify::key(s))
            .collect::<io::Result<Vec<_>>>()?;
        let shared = Arc::new(Shared {
            keys,
            inner: Mutex::new(Inner::default()),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let app = Router::new()
            .fallback(server::receive)
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

    /// Every accepted (and not dropped) notification, in arrival order: handshakes and
    /// heartbeats are listed apart.
    pub fn received(&self) -> Vec<Received> {
        self.shared.lock().received.clone()
    }

    /// Every accepted handshake.
    pub fn handshakes(&self) -> Vec<Received> {
        self.shared.lock().handshakes.clone()
    }

    /// Every accepted heartbeat.
    pub fn heartbeats(&self) -> Vec<Received> {
        self.shared.lock().heartbeats.clone()
    }

    /// The distinct `webhook-id`s of the notifications kept, in order of first arrival.
    pub fn unique_ids(&self) -> Vec<String> {
        let mut seen = BTreeSet::new();
        let inner = self.shared.lock();
        inner
            .received
            .iter()
            .filter(|r| seen.insert(r.webhook_id.clone()))
            .map(|r| r.webhook_id.clone())
            .collect()
    }

    /// The `webhook-id`s of notifications kept more than once.
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

    /// Every request waits `delay` before it is answered (zero: back to normal).
    pub fn go_slow(&self, delay: Duration) {
        self.shared.lock().slow = delay;
    }

    /// While `true`, every request is answered 503 (before looking at it).
    pub fn go_down(&self, down: bool) {
        self.shared.lock().down = down;
    }

    /// Answers 200 to every notification but loses every `n`-th one (counting the verified
    /// notifications, not handshakes or heartbeats); `0` stops losing them.
    pub fn drop_every(&self, n: usize) {
        self.shared.lock().drop_every = (n > 0).then_some(n);
    }

    /// How many notifications were answered 200 and lost.
    pub fn dropped_count(&self) -> usize {
        self.shared.lock().dropped
    }

    /// Per subscription id, the event numbers up to the highest count seen (in a notification's
    /// `events-since-subscription-start` or `event-number`, or a heartbeat's count) that were
    /// never received; subscriptions with none are left out.
    pub fn gaps(&self) -> BTreeMap<String, Vec<u64>> {
        gaps::gaps(&self.shared.lock().streams)
    }

    /// Takes in an `$events` answer (a `query-event` bundle): its events count as received.
    /// Returns how many were missing before.
    pub fn refill(&self, bundle: &Value) -> usize {
        let numbers = gaps::numbers(bundle);
        let Some(subscription) = numbers.subscription.clone() else {
            return 0;
        };
        let mut inner = self.shared.lock();
        inner
            .streams
            .entry(subscription)
            .or_default()
            .note(&numbers)
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
