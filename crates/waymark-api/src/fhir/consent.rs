//! Consent through the API: `POST /fhir/Consent` records a Consent for the person its
//! `patient` names (`Patient/<person id>`) — or, with `status: inactive` and the id of one the
//! person holds, withdraws it — through the release stage's own consent handling
//! (`ReleaseStage::record_consent` / `withdraw_consent`: a new stored version, the
//! `consent.changed` event, and on withdrawal the purge and the recall to past recipients);
//! `GET /fhir/Consent/{id}` and `GET /fhir/Consent?patient=` read them. Who may record and read
//! Consents is the role policy's: roles granted the `consent` data class.

use axum::{
    Json,
    extract::{Path, Query, State, rejection::JsonRejection, rejection::QueryRejection},
    http::{HeaderValue, StatusCode, header},
    response::Response,
};
use chrono::Utc;
use serde::Deserialize;
use serde_json::{Value, json};
use waymark_core::ErrorCode as _;
use waymark_fhir::OperationOutcome;
use waymark_pipeline::{ConsentChangeError, ReleaseStage, Telemetry};
use waymark_store::StoredConsent;

use super::{
    access::may_handle_consent,
    bad_request,
    errors::{self, unprocessable},
    forbidden, json_response, not_found,
    person::{active_id, with_detail},
};
use crate::{ApiState, audit::AuditDetail, auth::Authenticated, outcome, store_error};

/// The search parameters (name, FHIR type).
pub(crate) const SEARCH_PARAMS: &[(&str, &str)] = &[("patient", "reference")];

/// Longest Consent id accepted (FHIR ids are at most 64 characters).
const MAX_ID: usize = 64;

fn refuse_role() -> Response {
    forbidden(
        "api.forbidden.consent",
        "the role policy does not let this role record or read Consents",
    )
}

fn audited(response: Response, person_id: &str) -> Response {
    let detail = AuditDetail {
        person_ids: vec![person_id.to_owned()],
        ..AuditDetail::default()
    };
    with_detail(response, detail)
}

/// `POST /fhir/Consent`.
pub(crate) async fn create(
    State(state): State<ApiState>,
    Authenticated(caller): Authenticated,
    body: Result<Json<Value>, JsonRejection>,
) -> Response {
    if !may_handle_consent(&state.policy, &caller) {
        return refuse_role();
    }
    let mut consent = match body {
        Ok(Json(consent)) => consent,
        Err(rejection) => {
            let text = "the body must be a FHIR Consent (JSON)";
            return errors::body_refused(&rejection, "api.consent.body", text);
        }
    };
    if consent["resourceType"] != "Consent" {
        return unprocessable("api.consent.type", "the body is not a Consent");
    }
    let Some(reference) = consent["patient"]["reference"].as_str() else {
        return unprocessable(
            "api.consent.patient",
            "Consent.patient must reference a Patient",
        );
    };
    let wanted = reference
        .strip_prefix("Patient/")
        .unwrap_or(reference)
        .to_owned();
    let person_id = match active_id(state.store.as_ref(), &wanted).await {
        Ok(Some(id)) => id,
        Ok(None) => {
            return unprocessable(
                "api.consent.patient",
                "Consent.patient is not a known person",
            );
        }
        Err(response) => return response,
    };
    consent["patient"] = json!({ "reference": format!("Patient/{person_id}") });
    let id = match consent["id"].as_str() {
        Some(id) if valid_id(id) => id.to_owned(),
        Some(_) => return unprocessable("api.consent.id", "Consent.id is not a valid FHIR id"),
        None => uuid::Uuid::new_v4().to_string(),
    };
    consent["id"] = json!(id);
    let desk = desk(&state);
    let now = Utc::now();
    let response = if consent["status"] == "inactive" {
        match desk.withdraw_consent(&person_id, &id, now).await {
            Ok(Some(_)) => stored(&state, &person_id, &id, StatusCode::OK).await,
            Ok(None) => not_found("the person holds no Consent with this id to withdraw"),
            Err(err) => change_error(&err),
        }
    } else {
        match desk.record_consent(&person_id, &consent, now).await {
            Ok(_) => stored(&state, &person_id, &id, StatusCode::CREATED).await,
            Err(err) => change_error(&err),
        }
    };
    audited(response, &person_id)
}

/// `GET /fhir/Consent/{id}`.
pub(crate) async fn read(
    State(state): State<ApiState>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
) -> Response {
    if !may_handle_consent(&state.policy, &caller) {
        return refuse_role();
    }
    let holders = match state.store.consent_holders(&id).await {
        Ok(holders) => holders,
        Err(err) => return store_error(&err),
    };
    let Some(person_id) = holders.first() else {
        return not_found("no such Consent");
    };
    let response = stored(&state, person_id, &id, StatusCode::OK).await;
    audited(response, person_id)
}

#[derive(Deserialize)]
pub(crate) struct ConsentQuery {
    patient: Option<String>,
}

/// `GET /fhir/Consent?patient=`.
pub(crate) async fn search(
    State(state): State<ApiState>,
    Authenticated(caller): Authenticated,
    query: Result<Query<ConsentQuery>, QueryRejection>,
) -> Response {
    if !may_handle_consent(&state.policy, &caller) {
        return refuse_role();
    }
    let Ok(Query(ConsentQuery {
        patient: Some(patient),
    })) = query
    else {
        return bad_request(
            "api.search.patient",
            "search Consents by patient=Patient/<id>",
        );
    };
    let wanted = patient.strip_prefix("Patient/").unwrap_or(&patient);
    let person_id = match active_id(state.store.as_ref(), wanted).await {
        Ok(Some(id)) => id,
        Ok(None) => return super::paging_empty(),
        Err(response) => return response,
    };
    let consents = match state.store.consents(&person_id).await {
        Ok(list) => list,
        Err(err) => return store_error(&err),
    };
    let entries: Vec<Value> = consents
        .iter()
        .map(|c| json!({"fullUrl": format!("urn:uuid:{}", c.consent_id), "resource": resource(c), "search": {"mode": "match"}}))
        .collect();
    let bundle = json!({"resourceType": "Bundle", "type": "searchset", "entry": entries});
    audited(json_response(StatusCode::OK, &bundle), &person_id)
}

/// The stored current version of the person's Consent `id`, answered with `status`.
async fn stored(state: &ApiState, person_id: &str, id: &str, status: StatusCode) -> Response {
    let list = match state.store.consents(person_id).await {
        Ok(list) => list,
        Err(err) => return store_error(&err),
    };
    let Some(found) = list.iter().find(|c| c.consent_id == id) else {
        return not_found("no such Consent");
    };
    let mut response = json_response(status, &resource(found));
    if status == StatusCode::CREATED
        && let Ok(location) = HeaderValue::from_str(&format!("Consent/{id}"))
    {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

/// A stored Consent as a FHIR resource, its version as `meta.versionId`.
fn resource(stored: &StoredConsent) -> Value {
    let mut consent: Value = serde_json::from_str(stored.consent.expose()).unwrap_or(Value::Null);
    if consent.is_object() {
        consent["meta"]["versionId"] = json!(stored.version.to_string());
        consent["meta"]["lastUpdated"] = json!(stored.recorded_at);
    }
    consent
}

fn change_error(err: &ConsentChangeError) -> Response {
    let status = match err {
        ConsentChangeError::Malformed(_) => StatusCode::UNPROCESSABLE_ENTITY,
        ConsentChangeError::Store(e) => return store_error(e),
        ConsentChangeError::Notify => StatusCode::SERVICE_UNAVAILABLE,
    };
    tracing::info!(code = err.code(), "consent change refused");
    outcome(status, &OperationOutcome::from_error(err))
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

/// The release stage's consent handling, with the API's store, bus, policy and subscriptions.
fn desk(state: &ApiState) -> ReleaseStage {
    ReleaseStage {
        validator: state.validator.clone(),
        policy: state.policy.clone(),
        subscriptions: state.subscriptions.clone(),
        store: state.store.clone(),
        audit: state.audit.clone(),
        bus: state.bus.clone(),
        retry_window: waymark_delivery::RETRY_WINDOW,
        telemetry: Telemetry::log_only(),
    }
}
