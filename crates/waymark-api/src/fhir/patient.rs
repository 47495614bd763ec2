//! `GET /fhir/Patient` — person search, role-scoped: `identifier=system|value` (NHS number, PNC
//! ID, CRO number, prison number, NOMIS booking id, each source's local id), `name=` (with
//! `birthdate=`: names and aliases, fuzzy) and `birthdate=`, in any combination (all must
//! hold). A name search needs a date of birth (as a national demographics search does): a
//! name alone is too broad to be a legitimate lookup and is refused.
//!
//! Only persons whose Patient the role policy releases to the caller at this moment (role,
//! Consents) are matches at all; they are filtered before paging, there is no `total`, and a
//! `next` link appears only when another visible match exists. Each Patient is the one of the
//! caller's released summary, under the hub's person id.

use axum::{
    extract::{Query, State, rejection::QueryRejection},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse as _, Response},
};
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Value, json};
use waymark_audit::ClassDecision;
use waymark_core::DataClass;
use waymark_policy::ReleaseContext;

use super::{
    access::{may_read_persons, recipient},
    bad_request,
    errors::Bad,
    forbidden, json_response, paging,
    person::{self, with_detail},
    search::{self, Criteria},
};
use crate::{ApiState, audit::AuditDetail, auth::Authenticated, auth::Principal, store_error};

/// The search parameters (name, FHIR type).
pub(crate) const SEARCH_PARAMS: &[(&str, &str)] = &[
    ("identifier", "token"),
    ("name", "string"),
    ("birthdate", "date"),
    ("_count", "number"),
];

/// The parsed query.
struct Search {
    criteria: Criteria,
    count: usize,
    page: Option<String>,
}

/// `GET /fhir/Patient`.
pub(crate) async fn search(
    State(state): State<ApiState>,
    Authenticated(caller): Authenticated,
    headers: HeaderMap,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Response {
    let Ok(Query(params)) = query else {
        return bad_request("api.query", "the query string does not read");
    };
    if !may_read_persons(&state.policy, &caller) {
        return forbidden("api.forbidden.role", "this role may not search for persons");
    }
    let parsed = match parse(&params) {
        Ok(parsed) => parsed,
        Err(bad) => return bad.into_response(),
    };
    let hits = match search::find(state.store.as_ref(), &parsed.criteria).await {
        Ok(hits) => hits,
        Err(err) => return store_error(&err),
    };
    let now = Utc::now();
    let mut visible = Vec::new();
    for hit in hits {
        match visible_to(&state, &caller, &hit.person_id, now).await {
            Ok(true) => visible.push(hit.person_id),
            Ok(false) => {}
            Err(response) => return response,
        }
    }
    respond(&state, &caller, &headers, &params, &parsed, &visible, now).await
}

/// The page of `visible` the continuation names, as a searchset.
async fn respond(
    state: &ApiState,
    caller: &Principal,
    headers: &HeaderMap,
    params: &[(String, String)],
    parsed: &Search,
    visible: &[String],
    now: DateTime<Utc>,
) -> Response {
    let bound = binding(params, caller);
    let Some(offset) = paging::offset(parsed.page.as_deref(), &bound) else {
        return bad_request(
            "api.search.page",
            "_page is not a continuation of this search",
        );
    };
    let end = offset.saturating_add(parsed.count).min(visible.len());
    let page = visible.get(offset..end).unwrap_or_default();
    let mut entries = Vec::new();
    let mut shown = Vec::new();
    for id in page {
        match patient_of(state, caller, id, now).await {
            Ok(Some(patient)) => {
                entries.push(json!({
                    "fullUrl": format!("urn:uuid:{id}"),
                    "resource": patient,
                    "search": { "mode": "match" },
                }));
                shown.push(id.clone());
            }
            Ok(None) => {}
            Err(response) => return response,
        }
    }
    let base = paging::base(headers);
    let next = (end < visible.len()).then(|| {
        paging::url(
            &base,
            "/fhir/Patient",
            params,
            Some(&paging::token(end, &bound)),
        )
    });
    let self_url = paging::url(&base, "/fhir/Patient", params, parsed.page.as_deref());
    let bundle = paging::searchset(entries, &self_url, next);
    let released = if shown.is_empty() {
        Vec::new()
    } else {
        vec![ClassDecision {
            class: DataClass::Identity.code().to_owned(),
            rule: "search-result".to_owned(),
        }]
    };
    let detail = AuditDetail {
        person_ids: shown,
        released,
        ..AuditDetail::default()
    };
    with_detail(json_response(StatusCode::OK, &bundle), detail)
}

/// The continuation binding: the criteria and the caller's role and organisation.
fn binding(params: &[(String, String)], caller: &Principal) -> String {
    let mut parts: Vec<&str> = params
        .iter()
        .filter(|(k, _)| k != "_page" && k != "_count")
        .flat_map(|(k, v)| [k.as_str(), v.as_str()])
        .collect();
    parts.push(caller.role.code());
    parts.push(&caller.organisation);
    paging::binding(&parts)
}

/// Whether the caller may see the person at all now (the policy releases `identity`).
async fn visible_to(
    state: &ApiState,
    caller: &Principal,
    person_id: &str,
    now: DateTime<Utc>,
) -> Result<bool, Response> {
    let consents = person::consents(state.store.as_ref(), person_id).await?;
    let cx = ReleaseContext {
        consents: &consents,
        now,
        break_glass: None,
    };
    Ok(state
        .policy
        .class_released(&recipient(caller), &cx, DataClass::Identity))
}

/// The Patient of the caller's released summary, under the person id.
async fn patient_of(
    state: &ApiState,
    caller: &Principal,
    person_id: &str,
    now: DateTime<Utc>,
) -> Result<Option<Value>, Response> {
    let Some(person) = person::load(state.store.as_ref(), person_id).await? else {
        return Ok(None);
    };
    let Ok(released) = person::release(&state.policy, &person, caller, None, now) else {
        return Ok(None);
    };
    let patient = waymark_fhir::entries(released.bundle())
        .find(|r| r["resourceType"] == "Patient")
        .cloned();
    Ok(patient.map(|mut p| {
        p["id"] = json!(person.id);
        p
    }))
}

/// Reads the query; unknown parameters, a bad identifier token or date, a name without a
/// date of birth, or no criterion at all are 400s.
fn parse(params: &[(String, String)]) -> Result<Search, Bad> {
    let mut criteria = Criteria::default();
    let (mut count, mut page) = (None, None);
    for (key, value) in params {
        match key.as_str() {
            "identifier" => criteria.identifier = Some(identifier(value)?),
            "name" => criteria.name = Some(value.clone()).filter(|v| !v.trim().is_empty()),
            "birthdate" => criteria.birthdate = Some(birthdate(value)?),
            "_count" => count = Some(value.as_str()),
            "_page" => page = Some(value.clone()),
            "_format" if value == "json" || value == "application/fhir+json" => {}
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
    if criteria.name.is_some() && criteria.birthdate.is_none() {
        return Err(Bad(
            "api.search.too-broad",
            "a name search needs birthdate as well",
        ));
    }
    if criteria.identifier.is_none() && criteria.birthdate.is_none() {
        return Err(Bad(
            "api.search.no-criteria",
            "search by identifier, or by birthdate (with name)",
        ));
    }
    Ok(Search {
        criteria,
        count,
        page,
    })
}

fn identifier(value: &str) -> Result<(String, String), Bad> {
    let Some((system, id)) = value.split_once('|') else {
        return Err(Bad(
            "api.search.identifier",
            "identifier must be system|value",
        ));
    };
    if !search::known_system(system) {
        return Err(Bad(
            "api.search.identifier-system",
            "the identifier system is not one the hub links persons by",
        ));
    }
    Ok((system.to_owned(), id.to_owned()))
}

fn birthdate(value: &str) -> Result<NaiveDate, Bad> {
    let value = value.strip_prefix("eq").unwrap_or(value);
    NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .map_err(|_| Bad("api.search.birthdate", "birthdate must be YYYY-MM-DD"))
}
