//! `$status`, `$events` and `$resend`.

use axum::{
    extract::{Path, Query, State, rejection::QueryRejection},
    http::StatusCode,
    response::Response,
};
use serde_json::json;
use waymark_core::ErrorCode as _;
use waymark_delivery::{EventMeta, events_bundle, resend_dead_letters, status_bundle};
use waymark_fhir::OperationOutcome;
use waymark_store::NumberedEvent;

use super::{MAX_EVENTS, held};
use crate::{
    ApiState,
    audit::AuditDetail,
    auth::Authenticated,
    fhir::{access::SubscriptionAction, bad_request, json_response, person::with_detail},
    outcome, store_error,
};

/// `GET /fhir/Subscription/{id}/$status`.
pub(crate) async fn status(
    State(state): State<ApiState>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
) -> Response {
    let held = match held(&state, &caller, &id, SubscriptionAction::Status).await {
        Ok(held) => held,
        Err(response) => return response,
    };
    match state.store.events_since_start(&id).await {
        Ok(count) => json_response(StatusCode::OK, &status_bundle(&held.sub, count)),
        Err(err) => store_error(&err),
    }
}

/// `GET /fhir/Subscription/{id}/$events?eventsSinceNumber=&eventsUntilNumber=`: the numbered
/// events in that range (default: from 1 to the latest), at most [`MAX_EVENTS`], id-only: the
/// subscriber then pulls each person with its own token. The persons named are audited.
pub(crate) async fn events(
    State(state): State<ApiState>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Response {
    let held = match held(&state, &caller, &id, SubscriptionAction::Events).await {
        Ok(held) => held,
        Err(response) => return response,
    };
    let Ok(Query(params)) = query else {
        return bad_request("api.query", "the query string does not read");
    };
    let (since, until) = match range(&params) {
        Ok(range) => range,
        Err((rule, text)) => return bad_request(rule, text),
    };
    let latest = match state.store.events_since_start(&id).await {
        Ok(latest) => latest,
        Err(err) => return store_error(&err),
    };
    let until = until.unwrap_or(latest).min(latest);
    let numbered = if since > until {
        Vec::new()
    } else {
        match state
            .store
            .subscription_events(&id, since, until, MAX_EVENTS)
            .await
        {
            Ok(numbered) => numbered,
            Err(err) => return store_error(&err),
        }
    };
    let metas: Vec<EventMeta> = numbered.into_iter().map(meta).collect();
    let mut persons: Vec<String> = metas.iter().map(|m| m.patient_id.clone()).collect();
    persons.sort();
    persons.dedup();
    let response = json_response(StatusCode::OK, &events_bundle(&held.sub, &metas, latest));
    with_detail(
        response,
        AuditDetail {
            person_ids: persons,
            ..AuditDetail::default()
        },
    )
}

/// `POST /fhir/Subscription/{id}/$resend`: every dead-lettered notification of the
/// subscription back onto its queue; answers `Parameters` with the count (`resent`).
pub(crate) async fn resend(
    State(state): State<ApiState>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
) -> Response {
    if let Err(response) = held(&state, &caller, &id, SubscriptionAction::Resend).await {
        return response;
    }
    match resend_dead_letters(state.bus.as_ref(), &id).await {
        Ok(count) => {
            let parameters = json!({
                "resourceType": "Parameters",
                "parameter": [{ "name": "resent", "valueInteger": i32::try_from(count).unwrap_or(i32::MAX) }],
            });
            json_response(StatusCode::OK, &parameters)
        }
        Err(err) => {
            tracing::warn!(code = err.code(), "resend failed");
            let status = if err.is_transient() {
                StatusCode::SERVICE_UNAVAILABLE
            } else {
                StatusCode::INTERNAL_SERVER_ERROR
            };
            outcome(status, &OperationOutcome::from_error(&err))
        }
    }
}

fn meta(numbered: NumberedEvent) -> EventMeta {
    EventMeta {
        event_id: numbered.event.event_id,
        event_number: numbered.number,
        topic: numbered.event.topic,
        timestamp: numbered.event.event_time,
        patient_id: numbered.event.person_id,
    }
}

type Bad = (&'static str, &'static str);

/// `eventsSinceNumber` (default 1) and `eventsUntilNumber` (default: the latest).
fn range(params: &[(String, String)]) -> Result<(u64, Option<u64>), Bad> {
    let number = |value: &str| {
        value
            .parse::<u64>()
            .map_err(|_| ("api.events.number", "event numbers are whole numbers"))
    };
    let mut since = 1;
    let mut until = None;
    for (name, value) in params {
        match name.as_str() {
            "eventsSinceNumber" => since = number(value)?.max(1),
            "eventsUntilNumber" => until = Some(number(value)?),
            "_count" | "content" => {}
            _ => {
                return Err((
                    "api.events.parameter",
                    "$events takes eventsSinceNumber and eventsUntilNumber",
                ));
            }
        }
    }
    Ok((since, until))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn the_range_defaults_to_everything_and_refuses_non_numbers() {
        assert_eq!(range(&[]), Ok((1, None)));
        assert_eq!(
            range(&params(&[
                ("eventsSinceNumber", "0"),
                ("eventsUntilNumber", "9")
            ])),
            Ok((1, Some(9)))
        );
        assert!(range(&params(&[("eventsSinceNumber", "-1")])).is_err());
        assert!(range(&params(&[("since", "1")])).is_err());
    }
}
