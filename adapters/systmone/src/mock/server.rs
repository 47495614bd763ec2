//! The mock SystmOne: a GP Connect provider on `127.0.0.1:0` answering
//! `POST /Patient/$gpc.getstructuredrecord` with the records of a [`MockData`], and
//! `GET /changes?after=&limit=` with its change feed. It checks the Spine headers and the JWT
//! (`400 BAD_REQUEST` when missing), the Parameters (`422 INVALID_PARAMETER`) and the NHS number
//! (`400 INVALID_NHS_NUMBER`), answers `404 PATIENT_NOT_FOUND` for unknown people, and applies
//! the records' [`Fault`]s.

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed},
    },
    time::Duration,
};

use axum::{
    Router,
    body::{Body, Bytes},
    extract::{Query, State},
    http::{HeaderMap, Method, StatusCode, Uri, header::CONTENT_TYPE},
    response::{IntoResponse, Response},
    routing::get,
};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};
use waymark_core::NhsNumber;

use super::{faults::Fault, population::MockData};
use crate::{
    feed::{CHANGES_PATH, ChangeNotification},
    gpc::{FHIR_JSON, INTERACTION_ID, STRUCTURED_RECORD_PATH, read_claims},
};

struct MockState {
    data: Arc<MockData>,
    slow: Duration,
    disordered_feed: bool,
    attempts: Mutex<HashMap<String, u32>>,
    calls: AtomicUsize,
    bad_headers: AtomicUsize,
    down: AtomicBool,
}

/// A running mock SystmOne.
pub struct MockSystmOne {
    local_addr: SocketAddr,
    state: Arc<MockState>,
    stop: Option<oneshot::Sender<()>>,
    join: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for MockSystmOne {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockSystmOne")
            .field("local_addr", &self.local_addr)
            .finish_non_exhaustive()
    }
}

impl MockSystmOne {
    /// Serves `data` on a free loopback port; `slow` is the delay of a `Slow` answer,
    /// `disordered_feed` reverses feed pages and repeats the notification before the cursor.
    pub async fn start(
        data: MockData,
        slow: Duration,
        disordered_feed: bool,
    ) -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let local_addr = listener.local_addr()?;
        let state = Arc::new(MockState {
            data: Arc::new(data),
            slow,
            disordered_feed,
            attempts: Mutex::default(),
            calls: AtomicUsize::new(0),
            bad_headers: AtomicUsize::new(0),
            down: AtomicBool::new(false),
        });
        let app = Router::new()
            .route(CHANGES_PATH, get(changes))
            .fallback(structured_record)
            .with_state(state.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        let serve = axum::serve(listener, app).with_graceful_shutdown(async {
            let _ = stopped.await;
        });
        let join = tokio::spawn(async move {
            if serve.await.is_err() {
                tracing::warn!("mock systmone server failed");
            }
        });
        Ok(Self {
            local_addr,
            state,
            stop: Some(stop),
            join: Some(join),
        })
    }

    /// The FHIR base URL, `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.local_addr)
    }

    /// What the mock serves.
    pub fn data(&self) -> &MockData {
        &self.state.data
    }

    /// Structured-record calls received (all outcomes).
    pub fn calls(&self) -> usize {
        self.state.calls.load(Relaxed)
    }

    /// Calls refused for missing or wrong Spine headers or JWT.
    pub fn bad_header_calls(&self) -> usize {
        self.state.bad_headers.load(Relaxed)
    }

    /// While `true`, every structured-record call is answered `503`.
    pub fn set_down(&self, down: bool) {
        self.state.down.store(down, Relaxed);
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

impl Drop for MockSystmOne {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A GP Connect OperationOutcome answer.
pub(crate) fn outcome(status: StatusCode, issue: &str, code: &str, display: &str) -> Response {
    let body = json!({
        "resourceType": "OperationOutcome",
        "meta": {"profile": ["https://fhir.nhs.uk/STU3/StructureDefinition/GPConnect-OperationOutcome-1"]},
        "issue": [{"severity": "error", "code": issue, "details": {"coding": [{
            "system": "https://fhir.nhs.uk/STU3/CodeSystem/Spine-ErrorOrWarningCode-1",
            "code": code, "display": display}]}}]
    });
    fhir(status, body.to_string().into_bytes())
}

fn fhir(status: StatusCode, body: Vec<u8>) -> Response {
    (status, [(CONTENT_TYPE, FHIR_JSON)], body).into_response()
}

fn headers_ok(headers: &HeaderMap) -> bool {
    let get = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    };
    let token = get("authorization").strip_prefix("Bearer ").unwrap_or("");
    !get("ssp-traceid").is_empty()
        && !get("ssp-from").is_empty()
        && !get("ssp-to").is_empty()
        && get("ssp-interactionid") == INTERACTION_ID
        && read_claims(token).is_some()
}

/// The NHS number the Parameters name.
fn requested_nhs(body: &[u8]) -> Option<String> {
    let params: Value = serde_json::from_slice(body).ok()?;
    if params.get("resourceType")? != "Parameters" {
        return None;
    }
    params.get("parameter")?.as_array()?.iter().find_map(|p| {
        (p.get("name")? == "patientNHSNumber").then(|| {
            p.pointer("/valueIdentifier/value")?
                .as_str()
                .map(str::to_owned)
        })?
    })
}

async fn structured_record(
    State(state): State<Arc<MockState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if method != Method::POST || uri.path() != STRUCTURED_RECORD_PATH {
        return outcome(
            StatusCode::NOT_FOUND,
            "not-supported",
            "NOT_FOUND",
            "Not found",
        );
    }
    state.calls.fetch_add(1, Relaxed);
    if !headers_ok(&headers) {
        state.bad_headers.fetch_add(1, Relaxed);
        return outcome(
            StatusCode::BAD_REQUEST,
            "invalid",
            "BAD_REQUEST",
            "Bad request",
        );
    }
    let Some(nhs) = requested_nhs(&body) else {
        return outcome(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            "INVALID_PARAMETER",
            "Invalid parameter",
        );
    };
    if NhsNumber::parse(&nhs).is_err() {
        return outcome(
            StatusCode::BAD_REQUEST,
            "value",
            "INVALID_NHS_NUMBER",
            "Invalid NHS number",
        );
    }
    if state.down.load(Relaxed) {
        return unavailable(0);
    }
    let Some(record) = state.data.record(&nhs) else {
        return outcome(
            StatusCode::NOT_FOUND,
            "not-found",
            "PATIENT_NOT_FOUND",
            "Patient not found",
        );
    };
    let attempt = {
        let mut attempts = state
            .attempts
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let n = attempts.entry(nhs).or_default();
        *n += 1;
        *n
    };
    apply(record.fault, attempt, state.slow, record.body.clone()).await
}

fn unavailable(retry_after: u32) -> Response {
    let mut response = outcome(
        StatusCode::SERVICE_UNAVAILABLE,
        "transient",
        "INTERNAL_SERVER_ERROR",
        "Service unavailable",
    );
    if let Ok(value) = retry_after.to_string().parse() {
        response.headers_mut().insert("retry-after", value);
    }
    response
}

async fn apply(fault: Fault, attempt: u32, slow: Duration, body: Vec<u8>) -> Response {
    match fault {
        Fault::Slow if attempt == 1 => {
            tokio::time::sleep(slow).await;
            fhir(StatusCode::OK, body)
        }
        Fault::ServerError if attempt <= 2 => unavailable(1),
        Fault::DroppedConnection if attempt == 1 => dropped(body),
        Fault::Malformed => {
            let half = body.len() / 2;
            fhir(StatusCode::OK, body[..half].to_vec())
        }
        _ => fhir(StatusCode::OK, body),
    }
}

/// A 200 whose body stops half-way and whose connection is then reset.
fn dropped(body: Vec<u8>) -> Response {
    let (mut tx, channel) = http_body_util::Channel::<Bytes, std::io::Error>::new(1);
    let half = Bytes::from(body[..body.len() / 2].to_vec());
    tokio::spawn(async move {
        let _ = tx.send_data(half).await;
        tx.abort(std::io::Error::other("connection dropped by the mock"));
    });
    (
        StatusCode::OK,
        [(CONTENT_TYPE, FHIR_JSON)],
        Body::new(channel),
    )
        .into_response()
}

#[derive(Deserialize)]
struct FeedQuery {
    after: Option<u64>,
    limit: Option<usize>,
}

async fn changes(
    State(state): State<Arc<MockState>>,
    headers: HeaderMap,
    Query(q): Query<FeedQuery>,
) -> Response {
    let get = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    };
    if get("ssp-from").is_empty() || get("ssp-to").is_empty() {
        return outcome(
            StatusCode::BAD_REQUEST,
            "invalid",
            "BAD_REQUEST",
            "Bad request",
        );
    }
    let after = q.after.unwrap_or(0);
    let limit = q.limit.unwrap_or(100).clamp(1, 10_000);
    let feed = state.data.feed();
    let mut page: Vec<&ChangeNotification> = feed
        .iter()
        .filter(|n| n.sequence > after)
        .take(limit)
        .collect();
    if state.disordered_feed {
        page.reverse();
        if let Some(previous) = feed.iter().find(|n| n.sequence == after) {
            page.push(previous);
        }
    }
    (StatusCode::OK, axum::Json(json!({"notifications": page}))).into_response()
}
