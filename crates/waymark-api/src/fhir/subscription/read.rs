//! Read and search. A search lists only what the caller may reach (filtered before paging, no
//! `total`, a `next` link only when another such subscription exists).

use axum::{
    extract::{Path, Query, State, rejection::QueryRejection},
    http::{HeaderMap, StatusCode},
    response::Response,
};
use serde_json::{Value, json};
use waymark_delivery::{Subscription, SubscriptionStatus, TOPIC_BASE};

use super::{answer, held, refused, resource};
use crate::{
    ApiState,
    auth::{Authenticated, Principal},
    fhir::{
        access::{Reach, SubscriptionAction, subscription_reach, within_reach},
        bad_request, json_response, paging,
    },
    store_error,
};

/// `GET /fhir/Subscription/{id}`.
pub(crate) async fn read(
    State(state): State<ApiState>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
) -> Response {
    match held(&state, &caller, &id, SubscriptionAction::Read).await {
        Ok(held) => answer(StatusCode::OK, &held.sub, held.version, None),
        Err(response) => response,
    }
}

/// What a search asks for.
#[derive(Debug, Default, PartialEq, Eq)]
struct Criteria {
    status: Option<SubscriptionStatus>,
    topic: Option<String>,
    count: usize,
    page: Option<String>,
}

/// `GET /fhir/Subscription?status=&topic=&_count=&_page=`.
pub(crate) async fn search(
    State(state): State<ApiState>,
    Authenticated(caller): Authenticated,
    headers: HeaderMap,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Response {
    let reach = subscription_reach(&caller, SubscriptionAction::Search);
    if reach == Reach::Refused {
        return refused();
    }
    let Ok(Query(params)) = query else {
        return bad_request("api.query", "the query string does not read");
    };
    let criteria = match parse(&params) {
        Ok(criteria) => criteria,
        Err((rule, text)) => return bad_request(rule, text),
    };
    let stored = match state.store.subscriptions().await {
        Ok(stored) => stored,
        Err(err) => return store_error(&err),
    };
    // An unreadable stored subscription is nobody's to see (a read of it says why).
    let matches: Vec<(Subscription, u64)> = stored
        .iter()
        .filter_map(|s| resource::decode(s).ok().map(|sub| (sub, s.version)))
        .filter(|(sub, _)| within_reach(&caller, reach, &sub.recipient))
        .filter(|(sub, _)| criteria.status.is_none_or(|s| s == sub.status))
        .filter(|(sub, _)| criteria.topic.as_ref().is_none_or(|t| *t == sub.topic))
        .collect();
    let bound = binding(&criteria, &caller);
    let Some(offset) = paging::offset(criteria.page.as_deref(), &bound) else {
        return bad_request(
            "api.search.page",
            "_page is not a continuation of this search",
        );
    };
    let end = offset.saturating_add(criteria.count).min(matches.len());
    let entries: Vec<Value> = matches
        .get(offset..end)
        .unwrap_or_default()
        .iter()
        .map(|(sub, version)| {
            json!({
                "fullUrl": format!("Subscription/{}", sub.id),
                "resource": resource::answer(sub, *version, None),
                "search": { "mode": "match" },
            })
        })
        .collect();
    let base = paging::base(&headers);
    let next = (end < matches.len()).then(|| {
        let page = paging::token(end, &bound);
        paging::url(&base, "/fhir/Subscription", &params, Some(&page))
    });
    let this = paging::url(
        &base,
        "/fhir/Subscription",
        &params,
        criteria.page.as_deref(),
    );
    json_response(StatusCode::OK, &paging::searchset(entries, &this, next))
}

fn parse(params: &[(String, String)]) -> Result<Criteria, (&'static str, &'static str)> {
    let mut criteria = Criteria::default();
    let mut count = None;
    for (name, value) in params {
        match name.as_str() {
            "status" => {
                criteria.status = Some(SubscriptionStatus::from_code(value).ok_or((
                    "api.search.status",
                    "status is requested, active, error or off",
                ))?);
            }
            "topic" => {
                let topic = value.strip_prefix(TOPIC_BASE).unwrap_or(value);
                criteria.topic = Some(topic.to_owned());
            }
            "_count" => count = Some(value.as_str()),
            "_page" => criteria.page = Some(value.clone()),
            _ => {
                return Err((
                    "api.search.parameter",
                    "search Subscriptions by status, topic, _count and _page",
                ));
            }
        }
    }
    criteria.count =
        paging::count(count).ok_or(("api.search.count", "_count is a number from 1"))?;
    Ok(criteria)
}

/// A continuation is bound to the criteria and to who asked.
fn binding(criteria: &Criteria, caller: &Principal) -> String {
    let status = criteria.status.map_or("", SubscriptionStatus::code);
    paging::binding(&[
        status,
        criteria.topic.as_deref().unwrap_or_default(),
        caller.role.code(),
        &caller.organisation,
        &criteria.count.to_string(),
    ])
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
    fn criteria_read_topic_canonicals_and_refuse_unknown_parameters() {
        let topic = format!("{TOPIC_BASE}prison.reception");
        let got = parse(&params(&[("status", "active"), ("topic", &topic)])).unwrap();
        assert_eq!(got.status, Some(SubscriptionStatus::Active));
        assert_eq!(got.topic.as_deref(), Some("prison.reception"));
        assert_eq!(got.count, paging::DEFAULT_COUNT);
        assert!(parse(&params(&[("status", "on")])).is_err());
        assert!(parse(&params(&[("endpoint", "x")])).is_err());
        assert!(parse(&params(&[("_count", "0")])).is_err());
    }
}
