//! The OpenAPI 3.1 document of [`crate::router`], generated from the same route tables: the
//! FHIR routes from [`crate::fhir::ENDPOINTS`], the open and admin routes from [`table`].
//! Served at [`PATH`] (open) and kept in `docs/reference/openapi.json`; a test checks that it
//! documents exactly [`crate::routed`].
//!
//! Protected operations name the `bearerAuth` scheme (a bearer JWT); every error status answers
//! a FHIR `OperationOutcome`.

mod schemas;
mod subscriptions;
mod table;

use serde_json::{Map, Value, json};

use table::{Body, Kind, Op, PROTECTED_ERRORS, Param};

/// Where the document is served.
pub const PATH: &str = "/openapi.json";

/// The document.
pub fn document() -> Value {
    let mut paths = Map::new();
    for op in table::operations() {
        let item = paths
            .entry(op.path)
            .or_insert_with(|| Value::Object(Map::new()));
        item[op.method.to_lowercase()] = operation(&op);
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Waymark hub API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The FHIR R4 pull API (role-scoped Patient search, $summary, $everything, Consent, AuditEvent, Subscription with $status, $events and $resend), ingest for source systems that push, the admin routes for integration engineers, and liveness. Every error is a FHIR OperationOutcome.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas::schemas(),
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "A JWT from a configured issuer (iss, aud, exp, nbf checked); roles from its CIS2-style role claims.",
                },
            },
        },
    })
}

/// The documented `(method, path)` pairs.
pub fn operations() -> Vec<(&'static str, &'static str)> {
    table::operations()
        .iter()
        .map(|op| (op.method, op.path))
        .collect()
}

fn operation(op: &Op) -> Value {
    let mut parameters: Vec<Value> = path_params(op.path);
    parameters.extend(op.query.iter().map(|p| param(p, "query")));
    parameters.extend(op.headers.iter().map(|p| param(p, "header")));
    let mut out = json!({
        "operationId": op.id,
        "summary": op.summary,
        "tags": [op.tag],
        "parameters": parameters,
        "responses": responses(op),
        "security": if op.open { json!([]) } else { json!([{ "bearerAuth": [] }]) },
    });
    if let Some((schema, media)) = op.request {
        out["requestBody"] = json!({
            "required": true,
            "content": { media: { "schema": reference(schema) } },
        });
    }
    out
}

fn path_params(path: &str) -> Vec<Value> {
    path.split('/')
        .filter_map(|part| part.strip_prefix('{')?.strip_suffix('}'))
        .map(|name| {
            json!({
                "name": name, "in": "path", "required": true,
                "schema": { "type": "string", "minLength": 1 },
            })
        })
        .collect()
}

fn param(p: &Param, place: &str) -> Value {
    let schema = match p.kind {
        Kind::Text => json!({ "type": "string" }),
        Kind::Count => json!({ "type": "integer", "minimum": 1 }),
        Kind::Flag => json!({ "type": "boolean" }),
        Kind::OneOf(values) => json!({ "enum": values }),
    };
    json!({ "name": p.name, "in": place, "required": false, "description": p.text, "schema": schema })
}

fn reference(schema: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{schema}") })
}

fn responses(op: &Op) -> Value {
    let content = match op.answer {
        Body::Fhir(s) => json!({ "application/fhir+json": { "schema": reference(s) } }),
        Body::FhirOrHtml(s) => json!({
            "application/fhir+json": { "schema": reference(s) },
            "text/html": { "schema": { "type": "string" } },
        }),
        Body::Json(s) => json!({ "application/json": { "schema": reference(s) } }),
        Body::Empty => Value::Null,
    };
    let mut out = Map::new();
    for status in op.ok {
        let mut success = json!({ "description": "Success" });
        if !content.is_null() {
            success["content"] = content.clone();
        }
        out.insert(status.to_string(), success);
    }
    let extra = if op.open { &[][..] } else { PROTECTED_ERRORS };
    let mut errors: Vec<u16> = op.errors.iter().chain(extra).copied().collect();
    errors.sort_unstable();
    errors.dedup();
    for status in errors {
        out.insert(status.to_string(), error(status));
    }
    Value::Object(out)
}

fn error(status: u16) -> Value {
    let description = match status {
        400 => "The request does not read (query, body or parameter)",
        401 => "No valid bearer token (a `WWW-Authenticate` header says why)",
        403 => "The role, organisation, address or consent does not allow it",
        404 => "No such resource (or none the caller may know of)",
        409 => "A conflicting change (version or merge state)",
        412 => "The `If-Match` version is not the current one",
        413 => "The body is larger than the hub accepts",
        422 => "The body reads but is not acceptable",
        429 => "Locked out or rate limited after repeated failures",
        500 => "An internal error",
        503 => "A dependency (store, bus, audit trail, key set) is unavailable",
        _ => "Error",
    };
    json!({
        "description": description,
        "content": { "application/fhir+json": { "schema": reference("OperationOutcome") } },
    })
}
