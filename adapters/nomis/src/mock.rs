//! The mock NOMIS: a Prison API stand-in on `127.0.0.1:0` serving a [`Population`]'s routes
//! (and `GET /health/ping`), plus the SNS side, which pushes the population's notifications to
//! an endpoint (see [`Pusher`]). Unknown paths answer 404 with the Prison API's error shape.
//! [`MockNomis::fail_next`] makes the next requests to some paths fail (an outage that ends).

use std::{
    collections::BTreeMap,
    net::SocketAddr,
    sync::{Arc, Mutex},
};

use axum::{
    Router,
    body::Body,
    extract::State,
    http::{Method, StatusCode, Uri, header::CONTENT_TYPE},
    response::{IntoResponse, Response},
    routing::get,
};
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};

use crate::{
    population::{Population, parse_query},
    pusher::{PushOptions, PushReport, Pusher},
};

pub use crate::faults::{FAILING_PRISONER, UNKNOWN_PRISONER};

struct MockState {
    population: Arc<Population>,
    hits: Mutex<BTreeMap<String, usize>>,
    failures: Mutex<Vec<Failure>>,
}

/// The next `remaining` requests whose path starts with `prefix` are answered `status`.
struct Failure {
    prefix: String,
    remaining: usize,
    status: u16,
}

impl MockState {
    /// The status to fail a request to `path` with, if a failure rule still applies (used up).
    fn take_failure(&self, path: &str) -> Option<u16> {
        let mut failures = self
            .failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let rule = failures
            .iter_mut()
            .find(|f| f.remaining > 0 && path.starts_with(&f.prefix))?;
        rule.remaining -= 1;
        Some(rule.status)
    }
}

/// A running mock NOMIS.
#[derive(Debug)]
pub struct MockNomis {
    local_addr: SocketAddr,
    population: Arc<Population>,
    state: Arc<MockState>,
    stop: Option<oneshot::Sender<()>>,
    join: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for MockState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockState").finish_non_exhaustive()
    }
}

impl MockNomis {
    /// Starts serving `population` on a free loopback port.
    pub async fn start(population: Population) -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let local_addr = listener.local_addr()?;
        let population = Arc::new(population);
        let state = Arc::new(MockState {
            population: population.clone(),
            hits: Mutex::default(),
            failures: Mutex::default(),
        });
        let app = Router::new()
            .route("/health/ping", get(|| async { "pong" }))
            .fallback(answer)
            .with_state(state.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        let serve = axum::serve(listener, app).with_graceful_shutdown(async {
            let _ = stopped.await;
        });
        let join = tokio::spawn(async move {
            if serve.await.is_err() {
                tracing::warn!("mock nomis server failed");
            }
        });
        Ok(Self {
            local_addr,
            population,
            state,
            stop: Some(stop),
            join: Some(join),
        })
    }

    /// The Prison API base URL, `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.local_addr)
    }

    /// Where the mock listens.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// What the mock serves and pushes.
    pub fn population(&self) -> &Population {
        &self.population
    }

    /// How many requests `path` has received.
    pub fn hits(&self, path: &str) -> usize {
        let hits = self
            .state
            .hits
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        hits.get(path).copied().unwrap_or(0)
    }

    /// The next `count` requests whose path starts with `path_prefix` are answered `status`
    /// with the Prison API's error body, whatever the routes say; later ones are served as
    /// usual. `fail_next("/api/", 6, 503)` is an outage of the whole API that ends; an exact
    /// path fails one record. Rules added earlier are used up first. They count in [`hits`].
    ///
    /// [`hits`]: MockNomis::hits
    pub fn fail_next(&self, path_prefix: impl Into<String>, count: usize, status: u16) {
        let mut failures = self
            .state
            .failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        failures.push(Failure {
            prefix: path_prefix.into(),
            remaining: count,
            status,
        });
    }

    /// A pusher to `endpoint` (the adapter's `/sns` URL).
    pub fn pusher(&self, endpoint: impl Into<String>, options: PushOptions) -> Pusher {
        Pusher::new(endpoint, options)
    }

    /// Pushes the whole script to `endpoint`, in order.
    pub async fn push_to(&self, endpoint: &str, options: PushOptions) -> PushReport {
        self.pusher(endpoint, options)
            .push_population(&self.population)
            .await
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

impl Drop for MockNomis {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn answer(State(state): State<Arc<MockState>>, method: Method, uri: Uri) -> Response {
    let path = uri.path();
    {
        let mut hits = state
            .hits
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *hits.entry(path.to_owned()).or_default() += 1;
    }
    if let Some(status) = state.take_failure(path) {
        return error(status);
    }
    let query = parse_query(uri.query().unwrap_or(""));
    match state.population.lookup(method.as_str(), path, &query) {
        Some(route) => Response::builder()
            .status(StatusCode::from_u16(route.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
            .header(CONTENT_TYPE, route.content_type.as_str())
            .body(Body::from(route.body.clone()))
            .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response()),
        None => not_found(),
    }
}

/// The Prison API's 404 body.
fn not_found() -> Response {
    error(404)
}

/// The Prison API's error body for `status`.
fn error(status: u16) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let message = status.canonical_reason().unwrap_or("Error");
    let message = if status == StatusCode::NOT_FOUND {
        "Resource not found"
    } else {
        message
    };
    let body = serde_json::json!({
        "status": status.as_u16(),
        "userMessage": message,
        "developerMessage": message,
    });
    (status, axum::Json(body)).into_response()
}
