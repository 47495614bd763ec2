//! `GET /fhir/Patient/{id}/$summary` — the person summary released to the caller's role at the
//! moment of the read (`_format=html`: the printable page). `$everything` is [`super::everything`].

use axum::{
    Extension,
    extract::{Path, Query, State, rejection::QueryRejection},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use chrono::Utc;
use serde::Deserialize;
use waymark_policy::{BreakGlass, Releasable};

use super::{
    access::may_read_persons,
    bad_request, forbidden, json_response, not_found,
    person::{self, detail, refused_detail, with_detail},
};
use crate::{ApiState, SharedHealth, audit::AuditDetail, auth::Authenticated};

#[derive(Deserialize)]
pub(crate) struct FormatQuery {
    #[serde(rename = "_format")]
    format: Option<String>,
}

/// `$summary`.
pub(crate) async fn summary(
    State(state): State<ApiState>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
    health: Option<Extension<SharedHealth>>,
    headers: HeaderMap,
    query: Result<Query<FormatQuery>, QueryRejection>,
) -> Response {
    let Ok(Query(query)) = query else {
        return bad_request("api.query", "the query string does not read");
    };
    let html = match query.format.as_deref() {
        None | Some("json" | "application/fhir+json") => false,
        Some("html" | "text/html") => true,
        Some(_) => return bad_request("api.format", "_format must be json or html"),
    };
    if !may_read_persons(&state.policy, &caller) {
        return refused(
            &id,
            "api.forbidden.role",
            "this role may not read person records",
        );
    }
    let health = health.as_ref().map(|Extension(h)| h);
    match read(&state, &caller, &id, &headers, health).await {
        Ok((person_id, released, glass)) => {
            let response = if html {
                page(&released)
            } else {
                json_response(StatusCode::OK, released.bundle())
            };
            with_detail(response, detail(&person_id, &released, glass.as_ref()))
        }
        Err(response) => response,
    }
}

/// A 403 before anything is read, audited with the person asked for.
fn refused(id: &str, rule: &str, text: &str) -> Response {
    let detail = AuditDetail {
        person_ids: vec![id.to_owned()],
        ..AuditDetail::default()
    };
    with_detail(forbidden(rule, text), detail)
}

/// Loads the person and releases their summary to the caller now (alerting the privacy
/// officer when served under break-glass).
async fn read(
    state: &ApiState,
    caller: &crate::auth::Principal,
    id: &str,
    headers: &HeaderMap,
    health: Option<&SharedHealth>,
) -> Result<(String, Releasable, Option<BreakGlass>), Response> {
    let now = Utc::now();
    let glass = person::break_glass(headers, now).map_err(IntoResponse::into_response)?;
    let Some(person) = person::load(state.store.as_ref(), id).await? else {
        return Err(not_found("no such person"));
    };
    match person::release(&state.policy, &person, caller, glass.as_ref(), now) {
        Ok(released) => {
            person::alert_break_glass(health, caller, &released);
            Ok((person.id, released, glass))
        }
        Err(err) => {
            let response = forbidden(
                "api.forbidden.policy",
                "the role policy releases nothing of this person to this caller",
            );
            Err(with_detail(
                response,
                refused_detail(&person.id, &err, glass.as_ref()),
            ))
        }
    }
}

fn page(released: &Releasable) -> Response {
    (
        StatusCode::OK,
        [("content-type", "text/html; charset=utf-8")],
        waymark_record::html(released.bundle()),
    )
        .into_response()
}
