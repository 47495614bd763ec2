//! `GET /fhir/Patient/{id}/$everything` — for the roles granted every data class: the
//! released summary document's resources (the merged record, as `$summary` has it; refused
//! as `$summary` is), then every stored entry of the person (merged-in persons' included,
//! `Store::entries`), each canonical bundle revalidated into a `CanonicalBundle` and released
//! through the role policy with the person's Consents as stored now (and a break-glass reason
//! if stated), all as one `searchset` (a resource several bundles carry appears once, as the
//! newest has it). An entry the policy releases nothing of, or that no longer validates, is
//! left out; every class released or withheld is in the audit row.

use std::collections::HashMap;

use axum::{
    Extension,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use chrono::Utc;
use serde_json::{Value, json};
use waymark_policy::{PolicyError, Releasable, ReleaseContext};

use super::{
    access::{may_see_everything, recipient},
    forbidden, json_response, not_found,
    person::{self, Person, detail, refused_detail, with_detail},
};
use crate::{
    ApiState, SharedHealth,
    audit::AuditDetail,
    auth::{Authenticated, Principal},
    store_error,
};

/// `$everything`.
pub(crate) async fn everything(
    State(state): State<ApiState>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
    health: Option<Extension<SharedHealth>>,
    headers: HeaderMap,
) -> Response {
    let asked = AuditDetail {
        person_ids: vec![id.clone()],
        ..AuditDetail::default()
    };
    if !may_see_everything(&state.policy, &caller) {
        let response = forbidden(
            "api.forbidden.everything",
            "$everything is only for roles that may see every data class",
        );
        return with_detail(response, asked);
    }
    let now = Utc::now();
    let glass = match person::break_glass(&headers, now) {
        Ok(glass) => glass,
        Err(bad) => return bad.into_response(),
    };
    let person = match person::load(state.store.as_ref(), &id).await {
        Ok(Some(person)) => person,
        Ok(None) => return not_found("no such person"),
        Err(response) => return response,
    };
    let entries = match state.store.entries(&person.id).await {
        Ok(entries) => entries,
        Err(err) => return store_error(&err),
    };
    let cx = ReleaseContext {
        consents: &person.consents,
        now,
        break_glass: glass.as_ref(),
    };
    let summary = match person::release(&state.policy, &person, &caller, glass.as_ref(), now) {
        Ok(summary) => summary,
        Err(err) => return refused(&person, &err, glass.as_ref()),
    };
    let health = health.as_ref().map(|Extension(h)| h);
    person::alert_break_glass(health, &caller, &summary);
    let mut released = vec![summary];
    released.extend(
        entries
            .iter()
            .filter_map(|e| release_entry(&state, &caller, e.bundle.expose(), &cx))
            .filter_map(Result::ok),
    );
    let mut audit = AuditDetail::default();
    for r in &released {
        merge(&mut audit, detail(&person.id, r, glass.as_ref()));
    }
    let bundles: Vec<&Value> = released.iter().map(Releasable::bundle).collect();
    with_detail(json_response(StatusCode::OK, &searchset(&bundles)), audit)
}

/// One stored entry released to the caller: `None` when it does not read or revalidate
/// (logged by code only: it is patient data).
fn release_entry(
    state: &ApiState,
    caller: &Principal,
    text: &str,
    cx: &ReleaseContext<'_>,
) -> Option<Result<Releasable, PolicyError>> {
    let Ok(json) = serde_json::from_str::<Value>(text) else {
        tracing::error!("a stored entry does not read");
        return None;
    };
    match state.validator.validate(json) {
        Ok(canonical) => Some(state.policy.release_with_consent(
            &canonical,
            &recipient(caller),
            cx,
        )),
        Err(_) => {
            tracing::error!("a stored entry does not revalidate; left out of $everything");
            None
        }
    }
}

/// 403: the policy releases nothing of the person to the caller.
fn refused(
    person: &Person,
    err: &PolicyError,
    glass: Option<&waymark_policy::BreakGlass>,
) -> Response {
    let response = forbidden(
        "api.forbidden.policy",
        "the role policy releases nothing of this person to this caller",
    );
    with_detail(response, refused_detail(&person.id, err, glass))
}

/// Adds `more`'s persons and classes to `into`, each class once.
fn merge(into: &mut AuditDetail, more: AuditDetail) {
    for id in more.person_ids {
        if !into.person_ids.contains(&id) {
            into.person_ids.push(id);
        }
    }
    for c in more.released {
        if !into.released.iter().any(|d| d.class == c.class) {
            into.released.push(c);
        }
    }
    for c in more.withheld {
        if !into.withheld.iter().any(|d| d.class == c.class) {
            into.withheld.push(c);
        }
    }
    if into.break_glass_reason.is_none() {
        into.break_glass_reason = more.break_glass_reason;
    }
}

/// The released bundles' resources as one `searchset` (no `total`): each resource once, by
/// `resourceType/id` (or `fullUrl`), as the last bundle to carry it has it.
fn searchset(bundles: &[&Value]) -> Value {
    let mut at: HashMap<String, usize> = HashMap::new();
    let mut entries: Vec<Value> = Vec::new();
    for entry in bundles
        .iter()
        .flat_map(|b| b["entry"].as_array().into_iter().flatten())
    {
        let resource = &entry["resource"];
        let key = match (resource["resourceType"].as_str(), resource["id"].as_str()) {
            (Some(kind), Some(id)) => format!("{kind}/{id}"),
            _ => entry["fullUrl"].as_str().unwrap_or_default().to_owned(),
        };
        let value = json!({
            "fullUrl": entry["fullUrl"],
            "resource": resource,
            "search": { "mode": "match" },
        });
        match at.get(&key) {
            Some(&i) => entries[i] = value,
            None => {
                at.insert(key, entries.len());
                entries.push(value);
            }
        }
    }
    json!({ "resourceType": "Bundle", "type": "searchset", "entry": entries })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resource_in_several_entries_appears_once_as_the_newest_has_it() {
        let older = json!({"entry": [
            {"fullUrl": "urn:uuid:p", "resource": {"resourceType": "Patient", "id": "p", "v": 1}},
            {"fullUrl": "urn:uuid:a", "resource": {"resourceType": "Flag", "id": "a"}},
        ]});
        let newer = json!({"entry": [
            {"fullUrl": "urn:uuid:p", "resource": {"resourceType": "Patient", "id": "p", "v": 2}},
        ]});
        let set = searchset(&[&older, &newer]);
        let entries = set["entry"].as_array().unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0]["resource"]["v"], 2);
        assert_eq!(entries[1]["resource"]["id"], "a");
    }
}
