//! The OpenAPI document: current in `docs/reference/openapi.json` (`WAYMARK_BLESS=1`
//! regenerates it), exactly the routed endpoints, served without a token, every error an
//! `OperationOutcome`, and every documented operation answered by its route (never the
//! fallback) with a documented status.

use std::{collections::BTreeSet, path::PathBuf};

use serde_json::Value;
use waymark_api::{openapi, routed};
use waymark_core::Role;

use crate::fhir_world::World;

fn reference_file() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/reference/openapi.json")
}

#[test]
fn the_reference_document_is_current() {
    let fresh = serde_json::to_string_pretty(&openapi::document()).unwrap() + "\n";
    let path = reference_file();
    if std::env::var("WAYMARK_BLESS").is_ok_and(|v| v == "1") {
        std::fs::write(&path, &fresh).unwrap();
    }
    let stored = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        stored == fresh,
        "{} is stale; regenerate it with WAYMARK_BLESS=1 cargo nextest run -p waymark-api openapi",
        path.display()
    );
}

/// The `(METHOD, path)` operations of a document.
fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    let paths = doc["paths"].as_object().unwrap();
    paths
        .iter()
        .flat_map(|(path, item)| {
            let methods = item.as_object().unwrap().keys();
            methods.map(move |m| (m.to_uppercase(), path.clone()))
        })
        .collect()
}

#[test]
fn the_document_lists_exactly_the_routed_endpoints() {
    let routes = routed();
    let served: BTreeSet<(String, String)> = routes
        .iter()
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    assert_eq!(served.len(), routes.len(), "no route is added twice");
    assert_eq!(documented(&openapi::document()), served);
    assert!(served.contains(&("GET".into(), "/fhir/Patient/{id}/$summary".into())));
    assert!(served.contains(&("POST".into(), "/admin/quarantine/redrive".into())));
}

#[test]
fn protected_operations_need_a_bearer_jwt_and_errors_are_operation_outcomes() {
    let doc = openapi::document();
    assert_eq!(doc["openapi"], "3.1.0");
    let scheme = &doc["components"]["securitySchemes"]["bearerAuth"];
    assert_eq!(
        (&scheme["scheme"], &scheme["bearerFormat"]),
        (&"bearer".into(), &"JWT".into())
    );
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let open = ["/health", "/fhir/metadata", "/openapi.json"].contains(&path.as_str());
            let security = op["security"].as_array().unwrap();
            assert_eq!(security.is_empty(), open, "{method} {path}");
            let responses = op["responses"].as_object().unwrap();
            assert!(open || responses.contains_key("401"), "{method} {path}");
            for (status, response) in responses.iter().filter(|(s, _)| !s.starts_with('2')) {
                let schema = &response["content"]["application/fhir+json"]["schema"]["$ref"];
                assert_eq!(
                    schema, "#/components/schemas/OperationOutcome",
                    "{method} {path} {status}"
                );
            }
        }
    }
}

#[tokio::test]
async fn the_document_is_served_without_a_token() {
    let w = World::new().await;
    let answer = w.get("/openapi.json", None).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.content_type, "application/json");
    assert_eq!(answer.json, openapi::document());
}

/// `path` with each `{param}` replaced by a value.
fn concrete(path: &str) -> String {
    path.split('/')
        .map(|part| {
            if part.starts_with('{') {
                "probe-id"
            } else {
                part
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[tokio::test]
async fn every_documented_operation_is_served_with_a_documented_status() {
    let w = World::new().await;
    let doc = openapi::document();
    let callers = [
        None,
        Some(w.token(Role::CustodyHealthcare, true)),
        Some(w.token(Role::PrivacyOfficer, false)),
        Some(w.dev.engineer()),
    ];
    for (method, path) in documented(&doc) {
        let op = &doc["paths"][&path][method.to_lowercase()];
        for token in &callers {
            let body = (method == "POST").then(|| serde_json::json!({}));
            let answer = w
                .call(
                    &method,
                    &concrete(&path),
                    token.as_deref(),
                    body.as_ref(),
                    &[],
                )
                .await;
            let status = answer.status.to_string();
            assert!(
                !answer.text.contains("no such endpoint"),
                "{method} {path} reached the fallback"
            );
            assert!(
                op["responses"].get(&status).is_some(),
                "{method} {path} answered an undocumented {status}: {}",
                answer.text
            );
            if answer.status >= 400 {
                assert_eq!(
                    answer.json["resourceType"], "OperationOutcome",
                    "{method} {path}"
                );
            }
        }
    }
}
