//! Reading one person for a caller: the active person (following merges), the record, the
//! Consents as stored at this moment, the release through the role policy, and what the audit
//! entry says about it.

use std::sync::PoisonError;

use axum::{http::HeaderMap, response::Response};
use chrono::{DateTime, Duration, Utc};
use serde_json::Value;
use waymark_audit::ClassDecision;
use waymark_core::Sensitive;
use waymark_health::Observation;
use waymark_policy::{BreakGlass, Policy, PolicyError, Releasable, ReleaseContext};
use waymark_record::PersonRecord;
use waymark_store::Store;

use super::{BREAK_GLASS_HEADER, access::recipient, errors::Bad};
use crate::{SharedHealth, audit::AuditDetail, auth::Principal, store_error};

/// Merge chains longer than this are not followed.
const MAX_MERGE_HOPS: usize = 8;
/// Longest break-glass reason accepted (characters).
const MAX_REASON: usize = 500;
/// How long a break-glass stated with a request lasts (it covers that request).
const BREAK_GLASS_MINUTES: i64 = 60;

/// One person, read for one request.
pub(crate) struct Person {
    /// The active person's id.
    pub id: String,
    /// The merged record.
    pub record: PersonRecord,
    /// The person's Consents, as stored now.
    pub consents: Vec<Value>,
}

/// The active person `id` is (or was merged into); `None` when unknown.
pub(crate) async fn active_id(store: &dyn Store, id: &str) -> Result<Option<String>, Response> {
    let mut current = id.to_owned();
    for _ in 0..MAX_MERGE_HOPS {
        match store.person(&current).await {
            Ok(None) => return Ok(None),
            Ok(Some(info)) => match info.merged_into {
                Some(into) => current = into,
                None => return Ok(Some(current)),
            },
            Err(err) => return Err(store_error(&err)),
        }
    }
    Ok(None)
}

/// The person with their record and Consents; `None` when unknown or without a record.
pub(crate) async fn load(store: &dyn Store, id: &str) -> Result<Option<Person>, Response> {
    let Some(id) = active_id(store, id).await? else {
        return Ok(None);
    };
    let stored = match store.person_record(&id).await {
        Ok(Some(stored)) => stored,
        Ok(None) => return Ok(None),
        Err(err) => return Err(store_error(&err)),
    };
    let Ok(record) = serde_json::from_str::<PersonRecord>(stored.record.expose()) else {
        tracing::error!("a stored person record does not read");
        return Ok(None);
    };
    let consents = consents(store, &id).await?;
    Ok(Some(Person {
        id,
        record,
        consents,
    }))
}

/// The person's Consents as stored now; one that does not parse is kept as `null`, which the
/// policy counts as an unreadable Consent (a refusal).
pub(crate) async fn consents(store: &dyn Store, id: &str) -> Result<Vec<Value>, Response> {
    match store.consents(id).await {
        Ok(list) => Ok(list
            .iter()
            .map(|c| serde_json::from_str(c.consent.expose()).unwrap_or(Value::Null))
            .collect()),
        Err(err) => Err(store_error(&err)),
    }
}

/// The break-glass reason of the request (header [`BREAK_GLASS_HEADER`]), time-boxed from
/// `now`; a header that is not short printable text is a 400.
pub(crate) fn break_glass(
    headers: &HeaderMap,
    now: DateTime<Utc>,
) -> Result<Option<BreakGlass>, Bad> {
    let Some(value) = headers.get(BREAK_GLASS_HEADER) else {
        return Ok(None);
    };
    let reason = value.to_str().map(str::trim).unwrap_or_default();
    if reason.is_empty() || reason.chars().count() > MAX_REASON {
        return Err(Bad(
            "api.break-glass.reason",
            "a break-glass reason must be 1 to 500 printable characters",
        ));
    }
    Ok(Some(BreakGlass {
        reason: reason.to_owned(),
        until: now + Duration::minutes(BREAK_GLASS_MINUTES),
    }))
}

/// The person's summary released to the caller at `now`.
pub(crate) fn release(
    policy: &Policy,
    person: &Person,
    caller: &Principal,
    glass: Option<&BreakGlass>,
    now: DateTime<Utc>,
) -> Result<Releasable, PolicyError> {
    let document = waymark_record::summary(&person.record, now);
    let cx = ReleaseContext {
        consents: &person.consents,
        now,
        break_glass: glass,
    };
    policy.release_summary(&document, &recipient(caller), &cx)
}

/// Raises the privacy officer's `privacy.break-glass` alert when `released` was served under
/// break-glass: a warning log, and an observation on the feed-health board when the process
/// gave the router one (`Extension<SharedHealth>`), which counts uses per role and
/// organisation. Neither names the person or the stated reason.
pub(crate) fn alert_break_glass(
    health: Option<&SharedHealth>,
    caller: &Principal,
    released: &Releasable,
) {
    if !released.privacy_officer_alert() {
        return;
    }
    let (role, organisation) = (caller.role.code(), caller.organisation.as_str());
    tracing::warn!(
        target: "waymark::health",
        code = waymark_health::codes::BREAK_GLASS, role, organisation,
        "record served under break-glass: alert the privacy officer"
    );
    let Some(health) = health else { return };
    let now = Utc::now();
    let mut board = health.lock().unwrap_or_else(PoisonError::into_inner);
    board.observe(
        Observation::BreakGlass {
            role: role.to_owned(),
            organisation: organisation.to_owned(),
        },
        now,
    );
    for alert in board.evaluate(now) {
        tracing::warn!(
            target: "waymark::health",
            code = alert.code, subject = %alert.subject, state = ?alert.state,
            detail = %alert.detail, "alert"
        );
    }
}

/// The audit detail of a release: the person, classes released (with their basis) and
/// withheld (with their rule, one line per class), the break-glass reason.
pub(crate) fn detail(
    person_id: &str,
    released: &Releasable,
    glass: Option<&BreakGlass>,
) -> AuditDetail {
    let manifest = released.manifest();
    let mut withheld: Vec<ClassDecision> = Vec::new();
    for w in &manifest.withheld {
        let class = w
            .data_class
            .map_or_else(|| "unlabelled".to_owned(), |c| c.code().to_owned());
        if !withheld.iter().any(|d| d.class == class) {
            withheld.push(ClassDecision {
                class,
                rule: w.rule.clone(),
            });
        }
    }
    AuditDetail {
        person_ids: vec![person_id.to_owned()],
        released: manifest
            .legal_basis
            .iter()
            .map(|(class, basis)| ClassDecision {
                class: class.code().to_owned(),
                rule: basis.code().to_owned(),
            })
            .collect(),
        withheld,
        break_glass_reason: glass.map(|g| Sensitive::new(g.reason.clone())),
    }
}

/// The audit detail of a read the policy refused outright.
pub(crate) fn refused_detail(
    person_id: &str,
    err: &PolicyError,
    glass: Option<&BreakGlass>,
) -> AuditDetail {
    let rule = match err {
        PolicyError::NothingReleasable { rule, .. } => rule.clone(),
        _ => "policy.error".to_owned(),
    };
    AuditDetail {
        person_ids: vec![person_id.to_owned()],
        released: Vec::new(),
        withheld: vec![ClassDecision {
            class: "identity".to_owned(),
            rule,
        }],
        break_glass_reason: glass.map(|g| Sensitive::new(g.reason.clone())),
    }
}

/// `response` carrying `detail` for the audit layer.
pub(crate) fn with_detail(mut response: Response, detail: AuditDetail) -> Response {
    response.extensions_mut().insert(detail);
    response
}
