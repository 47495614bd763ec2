//! Create, update and delete. A write never answers before the store has it; the live set is
//! refreshed after each.

use axum::{
    Json,
    extract::{Path, State, rejection::JsonRejection},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use chrono::Utc;
use serde_json::{Value, json};
use waymark_core::ErrorCode as _;
use waymark_delivery::{DeliveryOutcome, Subscription, SubscriptionError, SubscriptionStatus};
use waymark_fhir::OperationOutcome;
use waymark_store::StoreError;

use super::{
    Held, answer, held, refresh, refused,
    resource::{
        DEFAULT_PURPOSE, encode, restore_headers, set_recipient, set_secret, stated_purpose,
        states_secret,
    },
};
use crate::{
    ApiState,
    auth::{Authenticated, Principal},
    fhir::{
        access::{Reach, SubscriptionAction, own_recipient, subscription_reach},
        bad_request,
        errors::unprocessable,
    },
    outcome, store_error,
};

/// `POST /fhir/Subscription`.
pub(crate) async fn create(
    State(state): State<ApiState>,
    Authenticated(caller): Authenticated,
    body: Result<Json<Value>, JsonRejection>,
) -> Response {
    let reach = subscription_reach(&caller, SubscriptionAction::Create);
    if reach == Reach::Refused {
        return refused();
    }
    let mut resource = match body {
        Ok(Json(resource)) if resource.is_object() => resource,
        Err(rejection) => return not_a_subscription(Some(&rejection)),
        Ok(_) => return not_a_subscription(None),
    };
    let id = format!("sub-{}", uuid::Uuid::new_v4().simple());
    resource["id"] = json!(id);
    if reach == Reach::OwnOrganisation {
        as_caller(&mut resource, &caller);
    }
    let mut sub = match Subscription::from_fhir(&resource, &state.endpoints) {
        Ok(sub) => sub,
        Err(err) => return rejected(&err),
    };
    sub.status = SubscriptionStatus::Requested;
    let requested = SubscriptionStatus::Requested.code();
    if let Err(err) = state
        .store
        .put_subscription(&id, &encode(&sub), requested, Some(0))
        .await
    {
        return store_error(&err);
    }
    let (status, error) = handshake(&state, &sub).await;
    sub.status = status;
    let written = state
        .store
        .put_subscription(&id, &encode(&sub), status.code(), Some(1))
        .await;
    refresh(&state).await;
    match written {
        Ok(version) => answer(StatusCode::CREATED, &sub, version, error.as_deref()),
        Err(err) => conflict(&err, false),
    }
}

/// `PUT /fhir/Subscription/{id}`.
pub(crate) async fn update(
    State(state): State<ApiState>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Json<Value>, JsonRejection>,
) -> Response {
    let held = match held(&state, &caller, &id, SubscriptionAction::Update).await {
        Ok(held) => held,
        Err(response) => return response,
    };
    let expected = match if_match(&headers) {
        Ok(expected) => expected,
        Err(()) => {
            return bad_request(
                "api.subscription.if-match",
                "If-Match must be W/\"<version>\"",
            );
        }
    };
    if expected.is_some_and(|v| v != held.version) {
        return precondition_failed();
    }
    let mut resource = match body {
        Ok(Json(resource)) if resource.is_object() => resource,
        Err(rejection) => return not_a_subscription(Some(&rejection)),
        Ok(_) => return not_a_subscription(None),
    };
    if resource.get("id").is_some_and(|given| given != id.as_str()) {
        return bad_request(
            "api.subscription.id",
            "Subscription.id must be the id in the URL",
        );
    }
    let mut sub = match revised(&state, &caller, &held, &mut resource) {
        Ok(sub) => sub,
        Err(response) => return *response,
    };
    let (status, error) = settle(&state, &held.sub, &sub).await;
    sub.status = status;
    let version = expected.unwrap_or(held.version);
    let written = state
        .store
        .put_subscription(&id, &encode(&sub), status.code(), Some(version))
        .await;
    match written {
        Ok(version) => {
            refresh(&state).await;
            answer(StatusCode::OK, &sub, version, error.as_deref())
        }
        Err(err) => conflict(&err, expected.is_some()),
    }
}

/// `DELETE /fhir/Subscription/{id}`: 204. Its event numbers are kept.
pub(crate) async fn delete(
    State(state): State<ApiState>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
) -> Response {
    if let Err(response) = held(&state, &caller, &id, SubscriptionAction::Delete).await {
        return response;
    }
    match state.store.delete_subscription(&id).await {
        Ok(true) => {
            refresh(&state).await;
            StatusCode::NO_CONTENT.into_response()
        }
        Ok(false) => super::absent(),
        Err(err) => store_error(&err),
    }
}

/// The subscription an update asks for: id from the URL, recipient from the caller's token
/// unless it may set any, the stored secret and header values where the resource leaves them
/// out (a read never shows them).
fn revised(
    state: &ApiState,
    caller: &Principal,
    held: &Held,
    resource: &mut Value,
) -> Result<Subscription, Box<Response>> {
    resource["id"] = json!(held.sub.id);
    if subscription_reach(caller, SubscriptionAction::Update) == Reach::OwnOrganisation {
        as_caller(resource, caller);
    }
    let keeps_secret = !states_secret(resource);
    if keeps_secret {
        set_secret(resource, held.sub.secret.expose());
    }
    let mut sub =
        Subscription::from_fhir(resource, &state.endpoints).map_err(|e| Box::new(rejected(&e)))?;
    if keeps_secret {
        sub.previous_secret = held.sub.previous_secret.clone();
    }
    restore_headers(&mut sub, &held.sub).map_err(|()| {
        Box::new(unprocessable(
            "api.subscription.header",
            "a header given as [redacted] names no stored header",
        ))
    })?;
    Ok(sub)
}

/// The status an update leaves: `off` when asked; otherwise a new handshake when the
/// subscriber asks for one (`requested`), the subscription is not active, or its endpoint or
/// secret changed; else it stays `active`.
async fn settle(
    state: &ApiState,
    before: &Subscription,
    after: &Subscription,
) -> (SubscriptionStatus, Option<String>) {
    if after.status == SubscriptionStatus::Off {
        return (SubscriptionStatus::Off, None);
    }
    let again = after.status == SubscriptionStatus::Requested
        || before.status != SubscriptionStatus::Active
        || before.endpoint != after.endpoint
        || before.secret != after.secret;
    if again {
        handshake(state, after).await
    } else {
        (SubscriptionStatus::Active, None)
    }
}

/// The handshake: `active` when the endpoint took it, else `error` with the reason (status
/// codes and error kinds only).
async fn handshake(state: &ApiState, sub: &Subscription) -> (SubscriptionStatus, Option<String>) {
    match state.hook.handshake(sub, Utc::now()).await {
        DeliveryOutcome::Delivered { .. } => (SubscriptionStatus::Active, None),
        DeliveryOutcome::Retry { reason, .. } | DeliveryOutcome::Rejected { reason } => {
            tracing::info!(subscription = %sub.id, reason = %reason, "handshake failed");
            (
                SubscriptionStatus::Error,
                Some(format!("handshake failed: {reason}")),
            )
        }
    }
}

/// Writes the caller's own organisation, role and registration as the recipient.
fn as_caller(resource: &mut Value, caller: &Principal) {
    let purpose = stated_purpose(resource).unwrap_or_else(|| DEFAULT_PURPOSE.to_owned());
    set_recipient(resource, &own_recipient(caller, purpose));
}

/// `If-Match`: none (or `*`) is `None`; `W/"<n>"`, `"<n>"` and `<n>` are `Some(n)`.
fn if_match(headers: &HeaderMap) -> Result<Option<u64>, ()> {
    let Some(value) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    let text = value.to_str().map_err(|_| ())?.trim();
    if text == "*" {
        return Ok(None);
    }
    let bare = text.strip_prefix("W/").unwrap_or(text).trim_matches('"');
    bare.parse().map(Some).map_err(|_| ())
}

fn not_a_subscription(rejection: Option<&JsonRejection>) -> Response {
    let (rule, text) = (
        "api.subscription.body",
        "the body must be a FHIR Subscription (JSON object)",
    );
    match rejection {
        Some(rejection) => crate::fhir::errors::body_refused(rejection, rule, text),
        None => bad_request(rule, text),
    }
}

fn rejected(err: &SubscriptionError) -> Response {
    tracing::info!(code = err.code(), "subscription refused");
    outcome(
        StatusCode::UNPROCESSABLE_ENTITY,
        &OperationOutcome::from_error(err),
    )
}

fn precondition_failed() -> Response {
    outcome(
        StatusCode::PRECONDITION_FAILED,
        &OperationOutcome::from_error(&StoreError::VersionConflict("subscription".to_owned())),
    )
}

/// A version conflict is 412 when the caller named a version, else 409 (another write won).
fn conflict(err: &StoreError, named_version: bool) -> Response {
    match err {
        StoreError::VersionConflict(_) if named_version => precondition_failed(),
        StoreError::VersionConflict(_) => {
            outcome(StatusCode::CONFLICT, &OperationOutcome::from_error(err))
        }
        _ => store_error(err),
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn if_match_reads_weak_and_strong_versions() {
        let mut headers = HeaderMap::new();
        assert_eq!(if_match(&headers), Ok(None));
        for (text, want) in [
            ("W/\"3\"", Ok(Some(3))),
            ("\"4\"", Ok(Some(4))),
            ("*", Ok(None)),
        ] {
            headers.insert(header::IF_MATCH, HeaderValue::from_static(text));
            assert_eq!(if_match(&headers), want, "{text}");
        }
        headers.insert(header::IF_MATCH, HeaderValue::from_static("W/\"x\""));
        assert_eq!(if_match(&headers), Err(()));
    }
}
