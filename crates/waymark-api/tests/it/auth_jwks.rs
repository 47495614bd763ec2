//! Keys fetched from an issuer's JWKS document, served by a real axum server on loopback: the
//! first fetch, rotation picked up on an unknown `kid` (at most every `min_refresh_secs`), the
//! scheduled refresh, a failing endpoint (cached keys kept) and an unreachable one (503, within
//! the fetch timeout).

use crate::auth_support;

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use auth_support::*;
use axum::{Json, Router, extract::State, http::StatusCode, response::IntoResponse, routing::get};
use serde_json::{Value, json};

/// What the JWKS endpoint serves, and how often it was asked.
#[derive(Clone, Default)]
struct Keys {
    doc: Arc<Mutex<Option<Value>>>,
    fetches: Arc<AtomicUsize>,
}

impl Keys {
    fn serve(&self, keys: &[&TestKey]) {
        let keys: Vec<Value> = keys.iter().map(|k| k.jwk.clone()).collect();
        *self.doc.lock().unwrap() = Some(json!({ "keys": keys }));
    }

    fn fail(&self) {
        *self.doc.lock().unwrap() = None;
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

async fn jwks(State(keys): State<Keys>) -> axum::response::Response {
    keys.fetches.fetch_add(1, Ordering::SeqCst);
    match keys.doc.lock().unwrap().clone() {
        Some(doc) => Json(doc).into_response(),
        None => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// Starts the JWKS server; its URL.
async fn start(keys: Keys) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new().route("/jwks", get(jwks)).with_state(keys);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/jwks")
}

/// A development-mode hub (plain HTTP JWKS is refused in production) trusting `url`.
fn jwks_hub(url: &str, timeout_ms: u64) -> Hub {
    let mut issuer = cis2_issuer(&[]);
    issuer["keys"] = json!([]);
    issuer["jwks"] =
        json!({"url": url, "refresh_secs": 3600, "min_refresh_secs": 30, "timeout_ms": timeout_ms});
    let mut cfg = config(vec![issuer]);
    cfg["mode"] = json!("development");
    hub(&cfg)
}

async fn status(hub: &Hub, key: &TestKey) -> (u16, String) {
    let answer = call(
        &hub.app,
        Req {
            token: Some(&key.sign(&claims(hub.clock_now()))),
            ..Req::default()
        },
    )
    .await;
    (answer.status, answer.code().to_owned())
}

trait Now {
    fn clock_now(&self) -> i64;
}

impl Now for Hub {
    fn clock_now(&self) -> i64 {
        use waymark_api::auth::Clock as _;
        self.clock.now()
    }
}

#[tokio::test]
async fn rotated_keys_are_picked_up_after_a_refresh() {
    let keys = Keys::default();
    let (old, new) = (ed_key("k1"), ec_key("k2"));
    keys.serve(&[&old]);
    let hub = jwks_hub(&start(keys.clone()).await, 2000);

    assert_eq!(status(&hub, &old).await, (200, String::new()));
    assert_eq!(status(&hub, &old).await.0, 200);
    assert_eq!(keys.fetches(), 1, "cached");

    keys.serve(&[&new]);
    // Within min_refresh_secs of the last fetch an unknown kid does not fetch again.
    assert_eq!(
        status(&hub, &new).await,
        (401, "auth.key.unknown".to_owned())
    );
    assert_eq!(keys.fetches(), 1);
    hub.clock.advance(30);
    assert_eq!(
        status(&hub, &new).await.0,
        200,
        "the new kid triggers a refresh"
    );
    assert_eq!(keys.fetches(), 2);
    assert_eq!(
        status(&hub, &old).await,
        (401, "auth.key.unknown".to_owned()),
        "the old key is gone"
    );
    assert_eq!(keys.fetches(), 2, "and does not refetch at once");
}

#[tokio::test]
async fn keys_are_refreshed_on_schedule_and_kept_when_the_endpoint_fails() {
    let keys = Keys::default();
    let key = ed_key("k1");
    keys.serve(&[&key]);
    let hub = jwks_hub(&start(keys.clone()).await, 2000);
    assert_eq!(status(&hub, &key).await.0, 200);

    keys.fail();
    hub.clock.advance(3600);
    assert_eq!(
        status(&hub, &key).await.0,
        200,
        "stale but kept when the fetch fails"
    );
    assert_eq!(keys.fetches(), 2);

    keys.serve(&[&key.with_kid("k1b")]);
    hub.clock.advance(30);
    assert_eq!(status(&hub, &key.with_kid("k1b")).await.0, 200);
    assert_eq!(keys.fetches(), 3);
}

#[tokio::test]
async fn an_unreachable_jwks_answers_503_within_the_timeout() {
    // Accepts connections and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let held = Arc::new(Mutex::new(Vec::new()));
    let keep = held.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            keep.lock().unwrap().push(socket);
        }
    });
    let hub = jwks_hub(&format!("http://{addr}/jwks"), 300);
    let started = Instant::now();
    let answer = call(
        &hub.app,
        Req {
            token: Some(&ed_key("k1").sign(&claims(T0))),
            ..Req::default()
        },
    )
    .await;
    assert_eq!(
        (answer.status, answer.code()),
        (503, "auth.key.unavailable")
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "bounded by the fetch timeout"
    );
}

#[tokio::test]
async fn symmetric_and_encryption_keys_in_a_jwks_are_ignored() {
    let keys = Keys::default();
    let good = ed_key("k1");
    *keys.doc.lock().unwrap() = Some(json!({"keys": [
        {"kty": "oct", "kid": "k-oct", "k": "c2VjcmV0"},
        {"kty": "RSA", "kid": "k-enc", "use": "enc", "n": "AQAB", "e": "AQAB"},
        {"kty": "OKP", "crv": "Ed25519", "kid": "k-short", "x": "AAAA"},
        {"kty": "weird", "kid": "k-weird"},
        good.jwk
    ]}));
    let hub = jwks_hub(&start(keys.clone()).await, 2000);
    assert_eq!(status(&hub, &good).await.0, 200);
    let hs = {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
        header.kid = Some("k-oct".into());
        jsonwebtoken::encode(
            &header,
            &claims(T0),
            &jsonwebtoken::EncodingKey::from_secret(b"secret"),
        )
        .unwrap()
    };
    let answer = call(
        &hub.app,
        Req {
            token: Some(&hs),
            ..Req::default()
        },
    )
    .await;
    assert_eq!(answer.status, 401);
}
