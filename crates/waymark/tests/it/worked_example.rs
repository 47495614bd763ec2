//! `docs/receiving-system.md`, run as written: the Subscription JSON and the Python signature
//! check are read from the page; a receiving system subscribes with its own token, gets a signed
//! handshake and event notifications, verifies them with the page's Python, and pulls the
//! person's summary.

use std::sync::{Arc, Mutex};

use axum::{Router, body::Bytes, extract::State, http::HeaderMap};
use serde_json::{Value, json};
use waymark_adapter_nomis::{Population, PushOptions};
use waymark_core::Role;

use crate::common::{World, dev_token, eventually, repo_root};

const PAGE: &str = "docs/receiving-system.md";
const ORG: &str = "hmp-example-healthcare";

/// One raw request: the `webhook-*` headers and the exact body bytes.
#[derive(Clone)]
struct Raw {
    headers: Value,
    body: Vec<u8>,
}

type Inbox = Arc<Mutex<Vec<Raw>>>;

async fn record(State(inbox): State<Inbox>, headers: HeaderMap, body: Bytes) -> &'static str {
    let mut picked = serde_json::Map::new();
    for name in ["webhook-id", "webhook-timestamp", "webhook-signature"] {
        let value = headers.get(name).and_then(|v| v.to_str().ok());
        picked.insert(name.into(), json!(value.unwrap_or_default()));
    }
    inbox.lock().unwrap().push(Raw {
        headers: Value::Object(picked),
        body: body.to_vec(),
    });
    "ok"
}

async fn receiver() -> (String, Inbox) {
    let inbox = Inbox::default();
    let app = Router::new().fallback(record).with_state(inbox.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/waymark", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, inbox)
}

/// The first fenced block of `lang` on the page.
fn block(lang: &str) -> String {
    let page = std::fs::read_to_string(repo_root().join(PAGE)).unwrap();
    let start = page.find(&format!("```{lang}\n")).expect("the block") + lang.len() + 4;
    let end = start + page[start..].find("```").unwrap();
    page[start..end].to_owned()
}

fn kind(body: &[u8]) -> String {
    let bundle: Value = serde_json::from_slice(body).unwrap();
    let params = bundle["entry"][0]["resource"]["parameter"]
        .as_array()
        .unwrap();
    let t = params.iter().find(|p| p["name"] == "type").unwrap();
    t["valueCode"].as_str().unwrap().to_owned()
}

fn focus(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let start = text.find("\"reference\":\"Patient/").expect("a focus") + 13;
    let end = start + text[start..].find('"').unwrap();
    text[start..end].to_owned()
}

/// The page's `verify` over each case: `[secret, headers, body]`.
fn python_verify(cases: &[(String, Value, Vec<u8>)]) -> Vec<bool> {
    let dir = tempfile::tempdir().unwrap();
    let script = format!(
        "{}\nimport json, sys\ncases = json.load(open(sys.argv[1]))\n\
         print(json.dumps([verify(s, h, bytes.fromhex(b)) for s, h, b in cases]))\n",
        block("python")
    );
    let input: Vec<Value> = cases
        .iter()
        .map(|(s, h, b)| json!([s, h, hex::encode(b)]))
        .collect();
    std::fs::write(dir.path().join("verify.py"), script).unwrap();
    std::fs::write(dir.path().join("cases.json"), json!(input).to_string()).unwrap();
    let out = std::process::Command::new("python3")
        .arg(dir.path().join("verify.py"))
        .arg(dir.path().join("cases.json"))
        .output()
        .expect("python3 runs the page's verifier");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_receiving_system_page_works_as_written() {
    let world = World::new(Population::synthetic(4, 21)).await;
    let (hub, _p, _d) = world.start_hub().await;
    let (endpoint, inbox) = receiver().await;
    let token = dev_token(world.data.path(), Role::PrisonHealthcare, true, ORG);
    let api = format!("http://{}", hub.api_addr());
    let http = reqwest::Client::new();

    let mut subscription: Value = serde_json::from_str(&block("json")).unwrap();
    let secret = subscription["channel"]["extension"][1]["valueString"]
        .as_str()
        .unwrap()
        .to_owned();
    subscription["channel"]["endpoint"] = json!(endpoint);
    let created = http
        .post(format!("{api}/fhir/Subscription"))
        .bearer_auth(&token)
        .json(&subscription)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status().as_u16(), 201);
    let created: Value = created.json().await.unwrap();
    assert_eq!(created["status"], "active", "the handshake was accepted");
    assert!(
        !created.to_string().contains(&secret[6..]),
        "the secret is never returned"
    );
    let id = created["id"].as_str().unwrap().to_owned();

    world
        .nomis
        .push_to(&hub.nomis_endpoint(), PushOptions::default())
        .await;
    let events = || {
        let inbox = inbox.lock().unwrap();
        inbox
            .iter()
            .filter(|r| kind(&r.body) == "event-notification")
            .count()
    };
    assert!(
        eventually(60, || events() >= 3).await,
        "notifications arrived"
    );

    let received = inbox.lock().unwrap().clone();
    assert_eq!(kind(&received[0].body), "handshake");
    let event = received
        .iter()
        .find(|r| kind(&r.body) == "event-notification")
        .unwrap();
    let mut tampered = event.body.clone();
    tampered[10] ^= 1;
    let wrong = "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".to_owned();
    let verdicts = python_verify(&[
        (
            secret.clone(),
            received[0].headers.clone(),
            received[0].body.clone(),
        ),
        (secret.clone(), event.headers.clone(), event.body.clone()),
        (secret.clone(), event.headers.clone(), tampered),
        (wrong, event.headers.clone(), event.body.clone()),
    ]);
    assert_eq!(verdicts, [true, true, false, false]);

    let patient = focus(&event.body);
    let summary = http
        .get(format!("{api}/fhir/{patient}/$summary"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(summary.status().as_u16(), 200);
    let summary: Value = summary.json().await.unwrap();
    assert_eq!(summary["type"], "document");
    assert_eq!(
        summary["entry"][0]["resource"]["resourceType"],
        "Composition"
    );

    let status = http
        .get(format!("{api}/fhir/Subscription/{id}/$status"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(status.status().as_u16(), 200);
    eprintln!(
        "worked example: subscribed ({id}), handshake + {} notifications verified by the page's \
         Python (tampered and wrong-secret refused), summary of {patient} pulled",
        events()
    );
    hub.stop().await;
}
