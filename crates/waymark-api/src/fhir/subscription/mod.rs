//! `Subscription` through the API (issue 9), FHIR R4 in the Subscriptions R5 Backport IG shape
//! (`waymark_delivery::Subscription::from_fhir` / `to_fhir`):
//!
//! - `POST /fhir/Subscription` — the hub assigns the id; validated against the hub's
//!   `EndpointPolicy`; stored `requested`, then the handshake decides `active` or `error`
//!   (the reason, status codes only, in `Subscription.error`); 201 with `Location`;
//! - `GET|PUT|DELETE /fhir/Subscription/{id}` — `PUT` checks `If-Match: W/"<version>"` (412
//!   when it moved on) and keeps the stored secret and header values a read never shows;
//! - `GET /fhir/Subscription?status=&topic=` — paged, only what the caller may reach;
//! - `$status`, `$events` (numbered events, id-only, at most [`MAX_EVENTS`] a call) and
//!   `$resend` (dead letters back onto the queue).
//!
//! Who may do what is [`super::access::SUBSCRIPTION_RULES`]. Every write refreshes the live
//! set (`SubscriptionSet::refresh`). No answer ever carries a secret or a header value.

mod ops;
mod read;
mod resource;
mod write;

pub(crate) use ops::{events, resend, status};
pub(crate) use read::{read, search};
pub(crate) use write::{create, delete, update};

use axum::{
    http::{HeaderValue, StatusCode, header},
    response::Response,
};
use waymark_delivery::Subscription;
use waymark_fhir::OperationOutcome;

use super::{
    access::{Reach, SubscriptionAction, subscription_reach, within_reach},
    forbidden, json_response, not_found,
};
use crate::{ApiState, auth::Principal, outcome, store_error};

/// The search parameters (name, FHIR type).
pub(crate) const SEARCH_PARAMS: &[(&str, &str)] =
    &[("status", "token"), ("topic", "uri"), ("_count", "number")];

/// Most events one `$events` answer lists (ask again from the last number + 1 for more).
pub const MAX_EVENTS: u32 = 100;

/// A stored subscription the caller may reach.
pub(crate) struct Held {
    pub sub: Subscription,
    pub version: u64,
}

/// Subscription `id` if the caller's reach for `action` covers it; else the answer: 403 when
/// the action is not the caller's at all, 404 when it does not exist or belongs to another
/// organisation (no existence leak).
pub(crate) async fn held(
    state: &ApiState,
    caller: &Principal,
    id: &str,
    action: SubscriptionAction,
) -> Result<Held, Response> {
    let reach = subscription_reach(caller, action);
    if reach == Reach::Refused {
        return Err(refused());
    }
    let stored = match state.store.subscription(id).await {
        Ok(Some(stored)) => stored,
        Ok(None) => return Err(absent()),
        Err(err) => return Err(store_error(&err)),
    };
    let sub = resource::decode(&stored).map_err(|err| unreadable(&err))?;
    if !within_reach(caller, reach, &sub.recipient) {
        return Err(absent());
    }
    Ok(Held {
        sub,
        version: stored.version,
    })
}

pub(crate) fn refused() -> Response {
    forbidden(
        "api.forbidden.subscription",
        "this role may not do this to subscriptions",
    )
}

pub(crate) fn absent() -> Response {
    not_found("no such Subscription")
}

fn unreadable(err: &resource::Unreadable) -> Response {
    tracing::error!(
        code = waymark_core::ErrorCode::code(err),
        "stored subscription unreadable"
    );
    outcome(
        StatusCode::INTERNAL_SERVER_ERROR,
        &OperationOutcome::from_error(err),
    )
}

/// The subscription as answered: the resource, `ETag: W/"<version>"`, and on a create the
/// `Location`.
pub(crate) fn answer(
    status: StatusCode,
    sub: &Subscription,
    version: u64,
    error: Option<&str>,
) -> Response {
    let mut response = json_response(status, &resource::answer(sub, version, error));
    let headers = response.headers_mut();
    if let Ok(etag) = HeaderValue::from_str(&format!("W/\"{version}\"")) {
        headers.insert(header::ETAG, etag);
    }
    if status == StatusCode::CREATED
        && let Ok(location) =
            HeaderValue::from_str(&format!("Subscription/{}/_history/{version}", sub.id))
    {
        headers.insert(header::LOCATION, location);
    }
    response
}

/// Re-reads the live set after a write; a failure is logged (multi-process hubs poll anyway).
pub(crate) async fn refresh(state: &ApiState) {
    if let Err(err) = state.subscriptions.refresh().await {
        tracing::warn!(
            code = waymark_core::ErrorCode::code(&err),
            "subscription set not refreshed"
        );
    }
}
