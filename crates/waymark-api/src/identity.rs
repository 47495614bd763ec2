//! The identity review queue and merges, for the people who decide who is who. Answers hold
//! person ids, reason codes, scores and field names — never names, dates or identifiers.
//!
//! - `GET /admin/identity/reviews?open=true|false&limit=N` — review items, oldest first;
//! - `GET /admin/identity/reviews/{id}` — one item;
//! - `POST /admin/identity/reviews/{id}/decision` — `{"sameAs": "<candidate person id>" | null,
//!   "reason": "..."}`: the same person (merged into the candidate) or different people;
//! - `POST /admin/identity/merge` — `{"from", "into", "reason"}`;
//! - `POST /admin/identity/persons/{id}/merges/{event}/undo` — `{"reason"}`;
//! - `GET /admin/identity/persons/{id}/history` — the person's identity events.
//!
//! Who decided (`by`) is the authenticated principal ([`decided_by`]: the token's subject and
//! issuer), never a value from the body: a body naming `by` is refused.

use axum::{
    Json,
    extract::{Path, Query, State, rejection::JsonRejection, rejection::QueryRejection},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use chrono::Utc;
use serde::Deserialize;
use serde_json::json;
use waymark_core::IssueType;
use waymark_fhir::{Issue, OperationOutcome};
use waymark_pipeline::{Decider, IdentityDesk};

use crate::{
    ApiState,
    auth::{Authenticated, Principal},
    outcome,
    routes::Routes,
    store_error,
};

/// The identity routes, merged into [`crate::router`].
pub(crate) fn routes() -> Routes {
    Routes::new()
        .get("/admin/identity/reviews", reviews)
        .get("/admin/identity/reviews/{id}", review)
        .post("/admin/identity/reviews/{id}/decision", decide)
        .post("/admin/identity/merge", merge)
        .post("/admin/identity/persons/{id}/merges/{event}/undo", unmerge)
        .get("/admin/identity/persons/{id}/history", history)
}

#[derive(Deserialize)]
struct ListQuery {
    open: Option<bool>,
    limit: Option<u32>,
}

async fn reviews(
    State(state): State<ApiState>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Response {
    let Ok(Query(q)) = query else {
        return bad_request("the query must be `open=true|false&limit=N`");
    };
    let limit = q.limit.unwrap_or(100).min(1_000);
    match state.store.reviews(q.open.unwrap_or(true), limit).await {
        Ok(items) => Json(json!({ "reviews": items })).into_response(),
        Err(err) => store_error(&err),
    }
}

async fn review(State(state): State<ApiState>, Path(id): Path<String>) -> Response {
    match state.store.review(&id).await {
        Ok(Some(item)) => Json(item).into_response(),
        Ok(None) => not_found("no such review item"),
        Err(err) => store_error(&err),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct DecisionBody {
    same_as: Option<String>,
    reason: String,
}

async fn decide(
    State(state): State<ApiState>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
    body: Result<Json<DecisionBody>, JsonRejection>,
) -> Response {
    let Ok(Json(body)) = body else {
        return bad_request("the body must be {\"sameAs\", \"reason\"}");
    };
    let decider = decider(&caller, body.reason);
    let desk = IdentityDesk::new(state.store.clone());
    match desk.decide(&id, body.same_as.as_deref(), &decider).await {
        Ok((review, merge)) => Json(json!({ "review": review, "merge": merge })).into_response(),
        Err(err) => store_error(&err),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MergeBody {
    from: String,
    into: String,
    reason: String,
}

async fn merge(
    State(state): State<ApiState>,
    Authenticated(caller): Authenticated,
    body: Result<Json<MergeBody>, JsonRejection>,
) -> Response {
    let Ok(Json(body)) = body else {
        return bad_request("the body must be {\"from\", \"into\", \"reason\"}");
    };
    let decider = decider(&caller, body.reason);
    let desk = IdentityDesk::new(state.store.clone());
    match desk.merge(&body.from, &body.into, None, &decider).await {
        Ok(event) => (StatusCode::CREATED, Json(event)).into_response(),
        Err(err) => store_error(&err),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UndoBody {
    reason: String,
}

async fn unmerge(
    State(state): State<ApiState>,
    Authenticated(caller): Authenticated,
    Path((person, event)): Path<(String, String)>,
    body: Result<Json<UndoBody>, JsonRejection>,
) -> Response {
    let Ok(Json(body)) = body else {
        return bad_request("the body must be {\"reason\"}");
    };
    let decider = decider(&caller, body.reason);
    let desk = IdentityDesk::new(state.store.clone());
    match desk.unmerge(&person, &event, &decider).await {
        Ok(event) => Json(event).into_response(),
        Err(err) => store_error(&err),
    }
}

async fn history(State(state): State<ApiState>, Path(id): Path<String>) -> Response {
    match state.store.person(&id).await {
        Ok(None) => return not_found("no such person"),
        Err(err) => return store_error(&err),
        Ok(Some(_)) => {}
    }
    match state.store.identity_history(&id).await {
        Ok(events) => Json(json!({ "personId": id, "events": events })).into_response(),
        Err(err) => store_error(&err),
    }
}

/// Who decided, as recorded in the identity history: the principal's subject at its issuer.
pub(crate) fn decided_by(caller: &Principal) -> String {
    format!("{}@{}", caller.subject, caller.issuer)
}

fn decider(caller: &Principal, reason: String) -> Decider {
    Decider {
        by: decided_by(caller),
        reason,
        at: Utc::now(),
    }
}

fn not_found(text: &str) -> Response {
    let issue = Issue::error(IssueType::NotFound, "api.not-found", text);
    outcome(StatusCode::NOT_FOUND, &OperationOutcome::single(issue))
}

fn bad_request(text: &str) -> Response {
    let issue = Issue::error(IssueType::Structure, "api.bad-request", text);
    outcome(StatusCode::BAD_REQUEST, &OperationOutcome::single(issue))
}
