//! The audit layer around authenticated routes, without a socket (`oneshot`): allowed and
//! denied requests are all audited (entries = requests) in a chain that verifies, query values
//! never reach the log, and a failing audit log turns a 200 into a 503 that carries no data.

use std::sync::Arc;

use async_trait::async_trait;
use axum::{
    Json, Router,
    body::Body,
    http::{Request, StatusCode, header},
    middleware::from_fn_with_state,
    response::{IntoResponse, Response},
    routing::get,
};
use http_body_util::BodyExt as _;
use serde_json::{Value, json};
use tower::ServiceExt as _;
use waymark_api::{
    audit::{AuditDetail, audit_layer},
    auth::{Authenticator, Revocations, dev::DevIssuer, dev::DevToken, protect},
};
use waymark_audit::{AuditEntry, AuditRecord, ClassDecision, Head};
use waymark_store::{AuditLog, AuditQuery, SqliteStore, StoreError, verify_log};

async fn summary() -> Response {
    let mut response =
        Json(json!({"resourceType": "Bundle", "secret": "patient-data"})).into_response();
    response.extensions_mut().insert(AuditDetail {
        person_ids: vec!["p-1".into()],
        released: vec![ClassDecision {
            class: "risk-self".into(),
            rule: "statutory".into(),
        }],
        withheld: vec![ClassDecision {
            class: "mh-clinical".into(),
            rule: "role-policy".into(),
        }],
        break_glass_reason: None,
    });
    response
}

fn app(log: Arc<dyn AuditLog>) -> (Router, String) {
    let issuer = DevIssuer::generate().expect("dev issuer");
    let auth = Authenticator::new(issuer.development_config(), Arc::new(Revocations::new()))
        .expect("authenticator");
    let token = DevToken {
        subject: "clinician-1".into(),
        role: "custody-healthcare".parse().expect("role"),
        registered: true,
        organisation: "RXY".into(),
        ttl_secs: 600,
    };
    let token = issuer
        .issue(&token, chrono::Utc::now().timestamp())
        .expect("token");
    let routes = Router::new().route("/fhir/Patient/{id}/$summary", get(summary));
    let app = protect(routes, Arc::new(auth)).layer(from_fn_with_state(log, audit_layer));
    (app, token)
}

async fn call(app: &Router, token: Option<&str>, uri: &str) -> (StatusCode, String) {
    let mut request = Request::get(uri);
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let response = app
        .clone()
        .oneshot(request.body(Body::empty()).expect("request"))
        .await
        .expect("infallible");
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allowed_and_denied_requests_are_all_audited() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(&dir.path().join("store.db"))
        .await
        .expect("store");
    let log: Arc<dyn AuditLog> = Arc::new(store);
    let (app, token) = app(log.clone());
    let uri = "/fhir/Patient/p-1/$summary?_format=json&identifier=9434765919";
    let calls = [
        (Some(token.as_str()), StatusCode::OK),
        (None, StatusCode::UNAUTHORIZED),
        (Some("not-a-token"), StatusCode::UNAUTHORIZED),
        (Some(token.as_str()), StatusCode::OK),
    ];
    for (token, expected) in calls {
        assert_eq!(call(&app, token, uri).await.0, expected);
    }
    let verified = verify_log(&*log, 10).await.expect("read").expect("intact");
    assert_eq!(
        verified.count,
        calls.len() as u64,
        "audited requests = requests"
    );
    let entries = log.audit_entries(0, 10).await.expect("entries");
    let allowed = &entries[0].record;
    assert_eq!((allowed.outcome.as_str(), allowed.status), ("allowed", 200));
    assert_eq!(allowed.subject.as_deref(), Some("clinician-1"));
    assert_eq!(allowed.organisation.as_deref(), Some("RXY"));
    assert_eq!(allowed.role.as_deref(), Some("custody-healthcare"));
    assert_eq!(allowed.auth_method.as_deref(), Some("development"));
    assert_eq!(allowed.person_ids, ["p-1"]);
    assert_eq!(allowed.withheld[0].class, "mh-clinical");
    assert_eq!(
        allowed.path,
        "/fhir/Patient/p-1/$summary?_format&identifier"
    );
    let denied = &entries[1].record;
    assert!(denied.outcome.starts_with("auth."), "{}", denied.outcome);
    assert_eq!((denied.status, denied.subject.as_ref()), (401, None));
    let text = serde_json::to_string(&entries).expect("json");
    assert!(
        !text.contains("9434765919"),
        "query values never reach the log"
    );
    let about = AuditQuery {
        person_id: Some("p-1".into()),
        limit: 10,
        ..AuditQuery::default()
    };
    assert_eq!(log.search(&about).await.expect("search").len(), 2);
}

/// An audit log that refuses every append.
struct Broken;

#[async_trait]
impl AuditLog for Broken {
    async fn append(&self, _: AuditRecord) -> Result<AuditEntry, StoreError> {
        Err(StoreError::Backend("disk full".into()))
    }
    async fn append_all(&self, _: Vec<AuditRecord>) -> Result<Vec<AuditEntry>, StoreError> {
        Err(StoreError::Backend("disk full".into()))
    }
    async fn audit_entries(&self, _: u64, _: u32) -> Result<Vec<AuditEntry>, StoreError> {
        Ok(Vec::new())
    }
    async fn head(&self) -> Result<Option<Head>, StoreError> {
        Ok(Some(Head::genesis()))
    }
    async fn search(&self, _: &AuditQuery) -> Result<Vec<AuditEntry>, StoreError> {
        Ok(Vec::new())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_audit_log_turns_data_into_a_503() {
    let (app, token) = app(Arc::new(Broken));
    let (status, body) = call(&app, Some(&token), "/fhir/Patient/p-1/$summary").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(!body.contains("patient-data"), "no data leaves unaudited");
    let outcome: Value = serde_json::from_str(&body).expect("an OperationOutcome");
    assert_eq!(outcome["resourceType"], "OperationOutcome");
    assert!(body.contains("audit.unavailable"), "{body}");
    let (status, _) = call(&app, None, "/fhir/Patient/p-1/$summary").await;
    assert_eq!(
        status,
        StatusCode::SERVICE_UNAVAILABLE,
        "a denial is not served unaudited either"
    );
}
