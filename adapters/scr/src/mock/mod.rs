//! The mock SCR: the SCR FHIR R4 API's two searches on `127.0.0.1:0`, answering for a
//! [`ScrPopulation`] with [`Faults`], shaped like the real samples. Requests without a bearer
//! token are answered 401.

mod content;
mod faults;
mod population;
mod render;
mod rng;

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering::Relaxed},
    },
};

use axum::{
    Router,
    extract::{Query, State},
    http::{HeaderMap, StatusCode, header::AUTHORIZATION},
    response::Response,
    routing::get,
};
use serde_json::{Value, json};
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};

pub use faults::Faults;
pub use population::{ScrPerson, ScrPopulation, ScrState};

use crate::{NHS_NUMBER_SYSTEM, request::PullRequest};
use faults::{fhir, truncated};

struct MockState {
    population: Arc<ScrPopulation>,
    faults: Faults,
    attempts: Mutex<HashMap<String, u32>>,
    requests: AtomicU64,
}

/// A running mock SCR.
pub struct MockScr {
    local_addr: SocketAddr,
    state: Arc<MockState>,
    stop: Option<oneshot::Sender<()>>,
    join: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for MockScr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockScr")
            .field("local_addr", &self.local_addr)
            .finish_non_exhaustive()
    }
}

impl MockScr {
    /// Starts serving `population` with `faults` on a free loopback port.
    pub async fn start(population: ScrPopulation, faults: Faults) -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let local_addr = listener.local_addr()?;
        let state = Arc::new(MockState {
            population: Arc::new(population),
            faults,
            attempts: Mutex::default(),
            requests: AtomicU64::new(0),
        });
        let app = Router::new()
            .route("/DocumentReference", get(documents))
            .route("/Bundle", get(summary))
            .with_state(state.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        let serve = axum::serve(listener, app).with_graceful_shutdown(async {
            let _ = stopped.await;
        });
        let join = tokio::spawn(async move {
            if serve.await.is_err() {
                tracing::warn!("mock scr server failed");
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

    /// What the mock serves.
    pub fn population(&self) -> &ScrPopulation {
        &self.state.population
    }

    /// Requests received so far.
    pub fn requests(&self) -> u64 {
        self.state.requests.load(Relaxed)
    }

    /// Requests received about the person with NHS number `nhs`, both steps.
    pub fn requests_about(&self, nhs: &str) -> u32 {
        let attempts = self.attempts();
        ["docs", "summary"]
            .iter()
            .map(|step| attempts.get(&format!("{step}:{nhs}")).copied().unwrap_or(0))
            .sum()
    }

    fn attempts(&self) -> std::sync::MutexGuard<'_, HashMap<String, u32>> {
        self.state
            .attempts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The population's pull script, with the duplicates the faults ask for.
    pub fn pull_script(&self) -> Vec<PullRequest> {
        let seed = self.state.population.seed();
        let percent = self.state.faults.duplicate_percent;
        let mut script = Vec::new();
        for request in self.state.population.pull_requests() {
            let twice = rng::bucket(seed, request.nhs_number.expose(), 0xD0) < percent;
            if twice {
                script.push(request.clone());
            }
            script.push(request);
        }
        script
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

impl Drop for MockScr {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

type Params = Query<HashMap<String, String>>;

fn outcome(status: StatusCode, code: &str, text: &str) -> Response {
    let body = json!({"resourceType": "OperationOutcome", "issue": [{
        "severity": "error", "code": code, "details": {"text": text}}]});
    fhir(status, serde_json::to_vec(&body).unwrap_or_default())
}

fn json_response(status: StatusCode, value: &Value) -> Response {
    fhir(status, serde_json::to_vec(value).unwrap_or_default())
}

/// The NHS number of a `system|value` token parameter.
fn nhs_of(params: &HashMap<String, String>, name: &str) -> Option<String> {
    let token = params.get(name)?;
    let value = token.strip_prefix(NHS_NUMBER_SYSTEM)?.strip_prefix('|')?;
    Some(value.to_owned())
}

/// Counts the attempt and applies the fault the first attempt meets, if any.
async fn faulted(state: &MockState, step: &str, nhs: &str, body: &[u8]) -> Option<Response> {
    state.requests.fetch_add(1, Relaxed);
    let attempt = {
        let mut attempts = state
            .attempts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let n = attempts.entry(format!("{step}:{nhs}")).or_default();
        *n += 1;
        *n
    };
    if attempt > 1 {
        return None;
    }
    let step_no = u64::from(step == "summary");
    let (fault, slow) = state.faults.pick(state.population.seed(), nhs, step_no);
    if slow {
        tokio::time::sleep(state.faults.slow).await;
    }
    fault.map(|f| state.faults.respond(f, body))
}

fn authorised(headers: &HeaderMap) -> bool {
    headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("Bearer ") && v.len() > 7)
}

async fn documents(
    State(state): State<Arc<MockState>>,
    headers: HeaderMap,
    Query(params): Params,
) -> Response {
    if !authorised(&headers) {
        return outcome(
            StatusCode::UNAUTHORIZED,
            "login",
            "missing or invalid bearer token",
        );
    }
    let Some(nhs) = nhs_of(&params, "patient") else {
        return outcome(
            StatusCode::BAD_REQUEST,
            "invalid",
            "patient search parameter required",
        );
    };
    let population = &state.population;
    let (status, body) = match population.find(&nhs) {
        None => (StatusCode::OK, population.no_result(u32::MAX)),
        Some(p) => match p.state {
            ScrState::NoRecord => (StatusCode::OK, population.no_result(p.person)),
            ScrState::NoConsent => (StatusCode::FORBIDDEN, render::no_consent()),
            ScrState::AlwaysFails => {
                return outcome(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "exception",
                    "internal error",
                );
            }
            ScrState::Summary | ScrState::AlwaysMalformed => {
                (StatusCode::OK, population.documents(p))
            }
        },
    };
    let bytes = serde_json::to_vec(&body).unwrap_or_default();
    if let Some(faulty) = faulted(&state, "docs", &nhs, &bytes).await {
        return faulty;
    }
    fhir(status, bytes)
}

async fn summary(
    State(state): State<Arc<MockState>>,
    headers: HeaderMap,
    Query(params): Params,
) -> Response {
    if !authorised(&headers) {
        return outcome(
            StatusCode::UNAUTHORIZED,
            "login",
            "missing or invalid bearer token",
        );
    }
    let id = params.get("composition.identifier");
    let Some(nhs) = nhs_of(&params, "composition.subject:Patient.identifier") else {
        return outcome(
            StatusCode::BAD_REQUEST,
            "invalid",
            "subject search parameter required",
        );
    };
    let population = &state.population;
    let found = population
        .find(&nhs)
        .filter(|p| id == Some(&population.composition_id(p)));
    let (status, bytes) = match found {
        None => {
            let empty = population.no_result(u32::MAX);
            (
                StatusCode::OK,
                serde_json::to_vec(&empty).unwrap_or_default(),
            )
        }
        Some(p) => match p.state {
            ScrState::NoConsent => {
                return json_response(StatusCode::FORBIDDEN, &render::no_consent());
            }
            ScrState::AlwaysMalformed => {
                let whole = serde_json::to_vec(&population.summary(p)).unwrap_or_default();
                (StatusCode::OK, truncated(&whole))
            }
            _ => (
                StatusCode::OK,
                serde_json::to_vec(&population.summary(p)).unwrap_or_default(),
            ),
        },
    };
    if let Some(faulty) = faulted(&state, "summary", &nhs, &bytes).await {
        return faulty;
    }
    fhir(status, bytes)
}
