//! The mock NOMIS: a Prison API stand-in on `127.0.0.1:0` serving a [`Population`]'s routes
//! (and `GET /health/ping`), plus the SNS side, which pushes the population's notifications to
//! an endpoint (see [`Pusher`]). Unknown paths answer 404 with the Prison API's error shape.

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
    let body = serde_json::json!({
        "status": 404,
        "userMessage": "Resource not found",
        "developerMessage": "Resource not found",
    });
    (StatusCode::NOT_FOUND, axum::Json(body)).into_response()
}
