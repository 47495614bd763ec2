//! Token rejection on every protected endpoint: expired, wrong audience, wrong issuer,
//! tampered, revoked, and none at all are refused with a 401 `OperationOutcome` that quotes
//! nothing of the token, no handler runs, and each refusal is an audit row with its code.

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use waymark_api::auth::{Revocation, dev::DEV_ISSUER};
use waymark_core::Role;
use waymark_store::{AuditLog, verify_log};

use crate::fhir_world::World;

/// One URI (and method) per protected endpoint, FHIR and admin.
fn endpoints(w: &World) -> Vec<(&'static str, String)> {
    let main = &w.main;
    vec![
        ("GET", "/fhir/Patient?birthdate=1991-07-14".to_owned()),
        ("GET", format!("/fhir/Patient/{main}/$summary")),
        ("GET", format!("/fhir/Patient/{main}/$everything")),
        ("POST", "/fhir/Consent".to_owned()),
        ("GET", "/fhir/Consent/c-1".to_owned()),
        ("GET", format!("/fhir/Consent?patient=Patient/{main}")),
        ("GET", format!("/fhir/AuditEvent?patient=Patient/{main}")),
        ("GET", "/admin/quarantine".to_owned()),
        ("GET", "/admin/identity/reviews".to_owned()),
        ("POST", "/admin/mappings/dry-run".to_owned()),
    ]
}

/// The bad tokens, with the refusal code each must get.
fn bad_tokens(w: &World) -> Vec<(&'static str, String)> {
    let now = chrono::Utc::now().timestamp();
    let claims = |patch: Value| {
        let mut c = json!({
            "iss": DEV_ISSUER, "aud": "waymark", "sub": "matrix-user", "jti": uuid(),
            "iat": now, "nbf": now, "exp": now + 600,
            "client_id": "waymark-dev", "org": "ORG01", "role": "custody-healthcare+registered",
        });
        for (k, v) in patch.as_object().unwrap() {
            c[k] = v.clone();
        }
        c
    };
    let sign = |c: Value| w.dev.issuer.sign(&c).unwrap();
    let good = w.token(Role::CustodyHealthcare, true);
    let (head, rest) = good.split_once('.').unwrap();
    let (payload, signature) = rest.split_once('.').unwrap();
    // The claims re-encoded with another organisation, under the original signature.
    let mut forged: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    forged["org"] = json!("ELSEWHERE");
    let forged = URL_SAFE_NO_PAD.encode(forged.to_string());
    let tampered = format!("{head}.{forged}.{signature}");
    vec![
        (
            "auth.expired",
            sign(claims(
                json!({"iat": now - 7200, "nbf": now - 7200, "exp": now - 3600}),
            )),
        ),
        (
            "auth.audience",
            sign(claims(json!({"aud": "someone-else"}))),
        ),
        (
            "auth.issuer",
            sign(claims(json!({"iss": "https://evil.example/issuer"}))),
        ),
        ("auth.signature", tampered),
        ("auth.revoked", sign(claims(json!({"sub": "revoked-user"})))),
        ("auth.missing", String::new()),
    ]
}

fn uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_tokens_are_refused_on_every_endpoint_and_audited() {
    let w = World::new().await;
    w.dev
        .revocations
        .revoke(Revocation::Subject("revoked-user".into()))
        .await
        .unwrap();
    let body = json!({"resourceType": "Consent"});
    let mut requests = 0u64;
    for (method, uri) in endpoints(&w) {
        for (code, token) in bad_tokens(&w) {
            let token = (!token.is_empty()).then_some(token);
            let answer = w
                .call(method, &uri, token.as_deref(), Some(&body), &[])
                .await;
            requests += 1;
            assert_eq!(answer.status, 401, "{method} {uri} {code}: {}", answer.text);
            assert_eq!(answer.json["resourceType"], "OperationOutcome");
            if let Some(token) = &token {
                assert!(
                    !answer.text.contains(token.as_str()),
                    "the token is never quoted"
                );
            }
            let entries = w.store.audit_entries(requests - 1, 1).await.unwrap();
            let row = &entries[0].record;
            assert_eq!(row.outcome, code, "{method} {uri}");
            assert!(
                row.person_ids.is_empty() && row.subject.is_none(),
                "no handler ran"
            );
        }
    }
    let log: &dyn AuditLog = w.store.as_ref();
    let verified = verify_log(log, 100).await.unwrap().unwrap();
    assert_eq!(verified.count, requests, "every refusal is audited");
}

#[tokio::test]
async fn open_routes_need_no_token_and_admin_routes_need_the_engineer() {
    let w = World::new().await;
    assert_eq!(w.get("/health", None).await.status, 200);
    assert_eq!(w.get("/fhir/metadata", None).await.status, 200);
    let nurse = w.token(Role::CustodyHealthcare, true);
    let refused = w.get("/admin/quarantine", Some(&nurse)).await;
    assert_eq!(refused.status, 403);
    assert_eq!(refused.json["issue"][0]["code"], "forbidden");
    let engineer = w.dev.engineer();
    assert_eq!(
        w.get("/admin/quarantine", Some(&engineer)).await.status,
        200
    );
    let entries = w.store.audit_entries(0, 10).await.unwrap();
    assert_eq!(
        entries.len(),
        2,
        "open routes are not audited; admin calls are"
    );
}
