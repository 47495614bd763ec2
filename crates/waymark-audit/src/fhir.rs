//! An [`AuditEntry`] as a FHIR R4 `AuditEvent`, and a `searchset` Bundle of them.

use chrono::SecondsFormat;
use serde_json::{Value, json};
use waymark_core::DATA_CLASS_SYSTEM;

use crate::{AuditEntry, AuditRecord};

const EVENT_TYPE: &str = "http://terminology.hl7.org/CodeSystem/audit-event-type";
const INTERACTION: &str = "http://hl7.org/fhir/restful-interaction";
const ENTITY_TYPE: &str = "http://terminology.hl7.org/CodeSystem/audit-entity-type";
const OBJECT_ROLE: &str = "http://terminology.hl7.org/CodeSystem/object-role";
const SOURCE_TYPE: &str = "http://terminology.hl7.org/CodeSystem/security-source-type";
const ACT_REASON: &str = "http://terminology.hl7.org/CodeSystem/v3-ActReason";
const ROLE_SYSTEM: &str = "https://fhir.waymark.org.uk/CodeSystem/hjmd-role";
const CLIENT_SYSTEM: &str = "https://fhir.waymark.org.uk/NamingSystem/client-id";
const ORG_SYSTEM: &str = "https://fhir.nhs.uk/Id/ods-organization-code";

/// The entry as an R4 `AuditEvent` (id `audit-<sequence>`): type `rest` with the interaction
/// as subtype, action, recorded, outcome (`0` success, `4` refused, `8` failed), the requesting
/// agent (client, subject, organisation, role, network address), the hub as source, one
/// entity per person (`Patient/<id>`, released data classes as `securityLabel`), and one
/// entity for the query with the sanitised path, the withheld classes and rules, and the
/// chain's sequence and hashes as details. A break-glass reason becomes `purposeOfEvent`
/// (`BTG`, the reason as text): the export is for privacy officers.
pub fn to_audit_event(entry: &AuditEntry) -> Value {
    let r = &entry.record;
    let mut event = json!({
        "resourceType": "AuditEvent",
        "id": format!("audit-{}", entry.sequence),
        "type": {"system": EVENT_TYPE, "code": "rest", "display": "RESTful Operation"},
        "subtype": [{"system": INTERACTION, "code": interaction(r)}],
        "action": action(r),
        "recorded": r.time.to_rfc3339_opts(SecondsFormat::Micros, true),
        "outcome": outcome(r.status),
        "outcomeDesc": format!("{} (HTTP {})", r.outcome, r.status),
        "agent": [agent(r)],
        "source": {
            "site": "waymark",
            "observer": {"display": "Waymark hub"},
            "type": [{"system": SOURCE_TYPE, "code": "4"}]
        },
        "entity": entities(entry),
    });
    if let Some(reason) = &r.break_glass_reason {
        event["purposeOfEvent"] = json!([{
            "coding": [{"system": ACT_REASON, "code": "BTG", "display": "break the glass"}],
            "text": reason.expose(),
        }]);
    }
    event
}

/// A `searchset` Bundle of the entries' AuditEvents.
pub fn searchset<'a>(entries: impl IntoIterator<Item = &'a AuditEntry>) -> Value {
    let entry: Vec<Value> = entries
        .into_iter()
        .map(|e| json!({"fullUrl": format!("urn:waymark:audit:{}", e.sequence), "resource": to_audit_event(e), "search": {"mode": "match"}}))
        .collect();
    json!({"resourceType": "Bundle", "type": "searchset", "total": entry.len(), "entry": entry})
}

fn interaction(r: &AuditRecord) -> &'static str {
    if r.path.contains('$') {
        return "operation";
    }
    match r.method.as_str() {
        "GET" | "HEAD" if r.path.contains('?') => "search-type",
        "GET" | "HEAD" => "read",
        "POST" => "create",
        "PUT" => "update",
        "PATCH" => "patch",
        "DELETE" => "delete",
        _ => "operation",
    }
}

fn action(r: &AuditRecord) -> &'static str {
    if r.path.contains('$') {
        return "E";
    }
    match r.method.as_str() {
        "GET" | "HEAD" => "R",
        "POST" => "C",
        "PUT" | "PATCH" => "U",
        "DELETE" => "D",
        _ => "E",
    }
}

fn outcome(status: u16) -> &'static str {
    match status {
        0..=399 => "0",
        400..=499 => "4",
        _ => "8",
    }
}

fn agent(r: &AuditRecord) -> Value {
    let client = r.client_id.as_deref().or(r.subject.as_deref());
    let mut agent = json!({"requestor": true});
    if let Some(client) = client {
        agent["who"] = json!({"identifier": {"system": CLIENT_SYSTEM, "value": client}});
    }
    if let Some(subject) = &r.subject {
        agent["altId"] = json!(subject);
    }
    if let Some(role) = &r.role {
        agent["role"] = json!([{"coding": [{"system": ROLE_SYSTEM, "code": role}]}]);
    }
    if let Some(org) = &r.organisation {
        agent["location"] = json!({"identifier": {"system": ORG_SYSTEM, "value": org}});
    }
    if let Some(method) = &r.auth_method {
        agent["policy"] = json!([format!("urn:waymark:auth-method:{method}")]);
    }
    if let Some(address) = &r.source_address {
        agent["network"] = json!({"address": address, "type": "2"});
    }
    agent
}

fn entities(entry: &AuditEntry) -> Vec<Value> {
    let r = &entry.record;
    let labels: Vec<Value> = r
        .released
        .iter()
        .map(|c| json!({"system": DATA_CLASS_SYSTEM, "code": c.class}))
        .collect();
    let mut out: Vec<Value> = r
        .person_ids
        .iter()
        .map(|id| {
            let mut e = json!({
                "what": {"reference": format!("Patient/{id}")},
                "type": {"system": ENTITY_TYPE, "code": "1"},
                "role": {"system": OBJECT_ROLE, "code": "1"},
            });
            if !labels.is_empty() {
                e["securityLabel"] = json!(labels);
            }
            e
        })
        .collect();
    out.push(query_entity(entry));
    out
}

fn query_entity(entry: &AuditEntry) -> Value {
    let r = &entry.record;
    let mut detail = vec![
        json!({"type": "sequence", "valueString": entry.sequence.to_string()}),
        json!({"type": "prev-hash", "valueString": entry.prev_hash}),
        json!({"type": "hash", "valueString": entry.hash}),
    ];
    for c in &r.released {
        detail.push(json!({"type": "released", "valueString": format!("{} {}", c.class, c.rule)}));
    }
    for c in &r.withheld {
        detail.push(json!({"type": "withheld", "valueString": format!("{} {}", c.class, c.rule)}));
    }
    if let Some(id) = &r.correlation_id {
        detail.push(json!({"type": "correlation-id", "valueString": id}));
    }
    json!({
        "type": {"system": ENTITY_TYPE, "code": "2"},
        "role": {"system": OBJECT_ROLE, "code": "24"},
        "name": format!("{} {}", r.method, r.path),
        "detail": detail,
    })
}
