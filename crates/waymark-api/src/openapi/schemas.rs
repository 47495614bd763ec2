//! The document's component schemas (JSON Schema, OpenAPI 3.1 dialect). FHIR resources are
//! described by their envelope (`resourceType` and the fields the API relies on); the full
//! FHIR R4 definitions are linked, not copied.

use serde_json::{Value, json};

fn resource(kind: &str, required: &[&str], properties: Value) -> Value {
    let mut props = json!({ "resourceType": { "const": kind } });
    if let (Some(into), Some(from)) = (props.as_object_mut(), properties.as_object()) {
        into.extend(from.clone());
    }
    let mut needed = vec!["resourceType"];
    needed.extend_from_slice(required);
    json!({
        "type": "object",
        "description": format!("FHIR R4 {kind}: https://hl7.org/fhir/R4/{}.html", kind.to_lowercase()),
        "required": needed,
        "properties": props,
    })
}

fn fhir_schemas() -> Value {
    json!({
        "OperationOutcome": resource("OperationOutcome", &["issue"], json!({
            "issue": { "type": "array", "minItems": 1, "items": {
                "type": "object",
                "required": ["severity", "code"],
                "properties": {
                    "severity": { "enum": ["fatal", "error", "warning", "information"] },
                    "code": { "type": "string" },
                    "details": { "type": "object" },
                    "diagnostics": { "type": "string" },
                },
            }},
        })),
        "Bundle": resource("Bundle", &["type"], json!({
            "type": { "enum": ["searchset", "document", "collection", "history"] },
            "link": { "type": "array", "items": {
                "type": "object",
                "required": ["relation", "url"],
                "properties": { "relation": { "type": "string" }, "url": { "type": "string" } },
            }},
            "entry": { "type": "array", "items": {
                "type": "object",
                "properties": { "fullUrl": { "type": "string" }, "resource": { "$ref": "#/components/schemas/Resource" } },
            }},
        })),
        "Consent": resource("Consent", &["status", "scope", "category"], json!({
            "id": { "type": "string", "maxLength": 64 },
            "status": { "enum": ["draft", "proposed", "active", "rejected", "inactive", "entered-in-error"] },
            "scope": { "type": "object" },
            "category": { "type": "array", "items": { "type": "object" } },
            "patient": { "type": "object", "properties": { "reference": { "type": "string" } } },
            "dateTime": { "type": "string" },
            "provision": { "type": "object" },
        })),
        "CapabilityStatement": resource("CapabilityStatement", &["status", "fhirVersion", "rest"], json!({
            "status": { "type": "string" },
            "fhirVersion": { "const": "4.0.1" },
            "rest": { "type": "array", "items": { "type": "object" } },
        })),
        "Subscription": resource("Subscription", &["status", "criteria", "channel"], json!({
            "id": { "type": "string", "maxLength": 64 },
            "status": { "enum": ["requested", "active", "error", "off"] },
            "reason": { "type": "string" },
            "criteria": { "type": "string", "description": "A Waymark SubscriptionTopic canonical." },
            "error": { "type": "string", "description": "Why the last handshake failed (status codes only)." },
            "extension": { "type": "array", "items": { "type": "object" } },
            "channel": {
                "type": "object",
                "required": ["type", "endpoint", "payload"],
                "properties": {
                    "type": { "const": "rest-hook" },
                    "endpoint": { "type": "string" },
                    "payload": { "enum": ["application/fhir+json", "application/cloudevents+json"] },
                    "header": { "type": "array", "items": { "type": "string" } },
                    "extension": { "type": "array", "items": { "type": "object" } },
                },
            },
        })),
        "Parameters": resource("Parameters", &["parameter"], json!({
            "parameter": { "type": "array", "items": { "type": "object" } },
        })),
        "Resource": {
            "type": "object",
            "required": ["resourceType"],
            "properties": { "resourceType": { "type": "string" }, "id": { "type": "string" } },
        },
    })
}

fn admin_schemas() -> Value {
    let text = json!({ "type": "string" });
    json!({
        "Health": {
            "type": "object",
            "required": ["status", "store"],
            "properties": { "status": { "const": "ok" }, "store": { "type": "object" } },
        },
        "OpenApiDocument": {
            "type": "object",
            "required": ["openapi", "paths"],
            "properties": { "openapi": { "type": "string" }, "paths": { "type": "object" } },
        },
        "AdminAnswer": {
            "type": "object",
            "description": "Ids, reason codes, scores and field names; never names, dates or identifiers.",
        },
        "ReviewDecision": {
            "type": "object",
            "additionalProperties": false,
            "required": ["reason"],
            "properties": { "sameAs": { "type": ["string", "null"] }, "reason": text },
        },
        "Merge": {
            "type": "object",
            "additionalProperties": false,
            "required": ["from", "into", "reason"],
            "properties": { "from": text, "into": text, "reason": text },
        },
        "UndoMerge": {
            "type": "object",
            "additionalProperties": false,
            "required": ["reason"],
            "properties": { "reason": text },
        },
        "RedriveReport": {
            "type": "object",
            "required": ["dry_run", "redriven", "still_failing", "entries"],
            "properties": {
                "dry_run": { "type": "boolean" },
                "redriven": { "type": "integer", "minimum": 0 },
                "still_failing": { "type": "integer", "minimum": 0 },
                "entries": { "type": "array", "items": { "type": "object" } },
            },
        },
        "IngestMessage": {
            "type": "string",
            "description": "The source's native message, byte for byte (HL7 v2, JSON, FHIR), at most 4 MiB.",
        },
        "IngestAnswer": {
            "type": "object",
            "required": ["id", "source", "duplicate"],
            "properties": {
                "id": text,
                "source": text,
                "duplicate": { "type": "boolean", "description": "The same message was accepted before." },
            },
        },
        "DryRunInput": {
            "type": "object",
            "description": "A mapping input document (`{envelope, message, context}`) or an envelope as stored by the hub.",
            "required": ["envelope"],
            "properties": { "envelope": { "type": "object" }, "message": {}, "context": { "type": "object" } },
        },
        "DryRunAnswer": {
            "type": "object",
            "required": ["bundle", "outcome"],
            "properties": {
                "bundle": { "$ref": "#/components/schemas/Bundle" },
                "outcome": { "$ref": "#/components/schemas/OperationOutcome" },
            },
        },
    })
}

/// Every component schema.
pub(crate) fn schemas() -> Value {
    let mut all = fhir_schemas();
    if let (Some(into), Some(from)) = (all.as_object_mut(), admin_schemas().as_object()) {
        into.extend(from.clone());
    }
    all
}
