//! `GET /fhir/AuditEvent?patient=&agent=&date=` — the audit trail as FHIR AuditEvents, for
//! privacy officers only: who looked at a person's record, what was released and withheld,
//! denials included. `date` takes `YYYY-MM-DD` (that day) or a `ge`/`gt`/`le`/`lt` prefix and
//! may be repeated; `agent` is a client id or, without one, a token subject. Paged by sequence
//! (`_count`, `_page`).

use axum::{
    extract::{Query, State, rejection::QueryRejection},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse as _, Response},
};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde_json::{Value, json};
use waymark_store::AuditQuery;

use super::{access::may_read_audit, bad_request, errors::Bad, forbidden, json_response, paging};
use crate::{ApiState, auth::Authenticated, store_error};

/// The search parameters (name, FHIR type).
pub(crate) const SEARCH_PARAMS: &[(&str, &str)] = &[
    ("patient", "reference"),
    ("agent", "token"),
    ("date", "date"),
    ("_count", "number"),
];

/// `GET /fhir/AuditEvent`.
pub(crate) async fn search(
    State(state): State<ApiState>,
    Authenticated(caller): Authenticated,
    headers: HeaderMap,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Response {
    if !may_read_audit(&caller) {
        return forbidden(
            "api.forbidden.audit",
            "the audit trail is for privacy officers",
        );
    }
    let Ok(Query(params)) = query else {
        return bad_request("api.query", "the query string does not read");
    };
    let (mut query, page) = match parse(&params) {
        Ok(parsed) => parsed,
        Err(bad) => return bad.into_response(),
    };
    let count = query.limit as usize;
    let bound = paging::binding(
        &params
            .iter()
            .filter(|(k, _)| k != "_page" && k != "_count")
            .flat_map(|(k, v)| [k.as_str(), v.as_str()])
            .collect::<Vec<_>>(),
    );
    let Some(after) = paging::offset(page.as_deref(), &bound) else {
        return bad_request(
            "api.search.page",
            "_page is not a continuation of this search",
        );
    };
    query.after_sequence = after as u64;
    query.limit = query.limit.saturating_add(1);
    let mut found = match state.audit.search(&query).await {
        Ok(found) => found,
        Err(err) => return store_error(&err),
    };
    let more = found.len() > count;
    found.truncate(count);
    let base = paging::base(&headers);
    let next = match (more, found.last()) {
        (true, Some(last)) => {
            let token = paging::token(usize::try_from(last.sequence).unwrap_or(usize::MAX), &bound);
            Some(paging::url(
                &base,
                "/fhir/AuditEvent",
                &params,
                Some(&token),
            ))
        }
        _ => None,
    };
    let entries: Vec<Value> = found
        .iter()
        .map(|e| {
            json!({
                "fullUrl": format!("urn:waymark:audit:{}", e.sequence),
                "resource": waymark_audit::to_audit_event(e),
                "search": { "mode": "match" },
            })
        })
        .collect();
    let self_url = paging::url(&base, "/fhir/AuditEvent", &params, page.as_deref());
    json_response(StatusCode::OK, &paging::searchset(entries, &self_url, next))
}

fn parse(params: &[(String, String)]) -> Result<(AuditQuery, Option<String>), Bad> {
    let mut query = AuditQuery::default();
    let (mut count, mut page) = (None, None);
    for (key, value) in params {
        match key.as_str() {
            "patient" => {
                query.person_id = Some(value.strip_prefix("Patient/").unwrap_or(value).to_owned());
            }
            "agent" => query.client = Some(value.clone()),
            "date" => date(&mut query, value)?,
            "_count" => count = Some(value.as_str()),
            "_page" => page = Some(value.clone()),
            _ => {
                return Err(Bad(
                    "api.search.parameter",
                    "unsupported search parameter (see /fhir/metadata)",
                ));
            }
        }
    }
    let count = paging::count(count).ok_or(Bad(
        "api.search.count",
        "_count must be a whole number from 1",
    ))?;
    query.limit = u32::try_from(count).unwrap_or(u32::MAX);
    Ok((query, page))
}

/// One `date` parameter: narrows `since` / `until`.
fn date(query: &mut AuditQuery, value: &str) -> Result<(), Bad> {
    let (prefix, day) = match value.get(..2) {
        Some(p @ ("ge" | "gt" | "le" | "lt" | "eq")) => (p, &value[2..]),
        _ => ("eq", value),
    };
    let start = NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| DateTime::<Utc>::from_naive_utc_and_offset(d, Utc))
        .ok_or(Bad(
            "api.search.date",
            "date must be [ge|gt|le|lt]YYYY-MM-DD",
        ))?;
    let end = start + Duration::days(1);
    let later = |a: Option<DateTime<Utc>>, b| Some(a.map_or(b, |a: DateTime<Utc>| a.max(b)));
    let earlier = |a: Option<DateTime<Utc>>, b| Some(a.map_or(b, |a: DateTime<Utc>| a.min(b)));
    match prefix {
        "ge" => query.since = later(query.since, start),
        "gt" => query.since = later(query.since, end),
        "le" => query.until = earlier(query.until, end),
        "lt" => query.until = earlier(query.until, start),
        _ => {
            query.since = later(query.since, start);
            query.until = earlier(query.until, end);
        }
    }
    Ok(())
}
