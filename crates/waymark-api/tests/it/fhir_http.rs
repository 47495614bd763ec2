//! A scenario over real HTTP: the router served on a loopback socket (with the connection's
//! address), a custody nurse's system searching by prison number and printing the summary, the
//! audit row naming the caller's address; the CapabilityStatement read without a token.

use std::net::SocketAddr;

use serde_json::Value;
use waymark_api::router;
use waymark_core::Role;
use waymark_store::AuditLog;

use crate::fhir_world::{MAIN_PRISON_NUMBER, World};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_custody_nurse_searches_and_prints_over_http() {
    let w = World::new().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = router(w.state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let client = reqwest::Client::new();
    let base = format!("http://{addr}");
    let token = w.token(Role::CustodyHealthcare, true);

    let metadata: Value = client
        .get(format!("{base}/fhir/metadata"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(metadata["resourceType"], "CapabilityStatement");

    let search = client
        .get(format!("{base}/fhir/Patient"))
        .query(&[(
            "identifier",
            format!("https://fhir.waymark.org.uk/Id/nomis-prison-number|{MAIN_PRISON_NUMBER}"),
        )])
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(search.status(), 200);
    let bundle: Value = search.json().await.unwrap();
    let id = bundle["entry"][0]["resource"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(id, w.main);
    assert!(
        bundle["link"][0]["url"]
            .as_str()
            .unwrap()
            .starts_with(&base)
    );

    let page = client
        .get(format!("{base}/fhir/Patient/{id}/$summary?_format=html"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("Testperson"), "the nurse sees the name");

    let anonymous = client
        .get(format!("{base}/fhir/Patient/{id}/$summary"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    assert!(anonymous.headers().contains_key("www-authenticate"));

    let log: &dyn AuditLog = w.store.as_ref();
    let rows = log.audit_entries(0, 10).await.unwrap();
    assert_eq!(rows.len(), 3, "search, summary, refusal");
    assert!(
        rows.iter()
            .all(|r| r.record.source_address.as_deref() == Some("127.0.0.1"))
    );
    assert_eq!(rows[1].record.person_ids, std::slice::from_ref(&w.main));
    server.abort();
}
