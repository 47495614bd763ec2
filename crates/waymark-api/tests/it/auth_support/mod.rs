//! Shared by the auth test binaries: keys generated per run, token minting, a protected router
//! and a request helper that checks a refusal never quotes the token or its claims.
#![allow(dead_code)]

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex, OnceLock},
};

use axum::{
    Json, Router,
    body::Body,
    extract::ConnectInfo,
    http::{HeaderMap, Request},
    routing::get,
};
use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use http_body_util::BodyExt;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use ring::{
    rand::SystemRandom,
    signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _},
};
use serde_json::{Value, json};
use tower::ServiceExt;
use waymark_api::auth::{
    AuthConfig, AuthObserver, AuthOutcome, Authenticated, Authenticator, ManualClock,
    PeerCertificate, Revocations, protect,
};

/// The issuer of most tests.
pub const ISS: &str = "https://cis2.test/realms/Healthcare";
/// Its audience.
pub const AUD: &str = "waymark-hub";
/// The test clock's start.
pub const T0: i64 = 1_800_000_000;
/// Claim values that must never appear in a response body.
pub const SUBJECT: &str = "canary-subject-5e1f";
pub const CLIENT: &str = "canary-client-77a0";

/// A signing key and the matching public key as a JWK.
#[derive(Clone)]
pub struct TestKey {
    pub alg: Algorithm,
    pub kid: String,
    pub encoding: EncodingKey,
    pub jwk: Value,
    /// The public key as PEM (RSA only).
    pub pem: Option<String>,
}

impl TestKey {
    pub fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(self.alg);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding).unwrap()
    }

    pub fn sign_without_kid(&self, claims: &Value) -> String {
        jsonwebtoken::encode(&Header::new(self.alg), claims, &self.encoding).unwrap()
    }

    /// The same key material under another key id.
    pub fn with_kid(&self, kid: &str) -> Self {
        let mut key = self.clone();
        key.kid = kid.to_owned();
        key.jwk["kid"] = json!(kid);
        key
    }
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A 2048-bit RSA key, generated once per test binary.
pub fn rsa_key() -> TestKey {
    static KEY: OnceLock<TestKey> = OnceLock::new();
    KEY.get_or_init(|| {
        use rsa::{pkcs1::EncodeRsaPrivateKey, pkcs8::EncodePublicKey, traits::PublicKeyParts};
        let private = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).unwrap();
        let public = private.to_public_key();
        TestKey {
            alg: Algorithm::RS256,
            kid: "rsa-1".into(),
            encoding: EncodingKey::from_rsa_der(private.to_pkcs1_der().unwrap().as_bytes()),
            jwk: json!({"kty": "RSA", "kid": "rsa-1", "alg": "RS256", "use": "sig",
                        "n": b64(&public.n().to_bytes_be()), "e": b64(&public.e().to_bytes_be())}),
            pem: Some(
                public
                    .to_public_key_pem(rsa::pkcs8::LineEnding::LF)
                    .unwrap(),
            ),
        }
    })
    .clone()
}

/// A fresh Ed25519 key.
pub fn ed_key(kid: &str) -> TestKey {
    let doc = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
    let pair = Ed25519KeyPair::from_pkcs8(doc.as_ref()).unwrap();
    TestKey {
        alg: Algorithm::EdDSA,
        kid: kid.into(),
        encoding: EncodingKey::from_ed_der(doc.as_ref()),
        jwk: json!({"kty": "OKP", "crv": "Ed25519", "kid": kid, "x": b64(pair.public_key().as_ref())}),
        pem: None,
    }
}

/// A fresh P-256 key.
pub fn ec_key(kid: &str) -> TestKey {
    let rng = SystemRandom::new();
    let doc = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let pair =
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, doc.as_ref(), &rng).unwrap();
    let point = pair.public_key().as_ref();
    TestKey {
        alg: Algorithm::ES256,
        kid: kid.into(),
        encoding: EncodingKey::from_ec_der(doc.as_ref()),
        jwk: json!({"kty": "EC", "crv": "P-256", "kid": kid,
                    "x": b64(&point[1..33]), "y": b64(&point[33..65])}),
        pem: None,
    }
}

/// CIS2-style claims: custody healthcare nurse (registered) at RXY, valid for ten minutes.
pub fn claims(now: i64) -> Value {
    json!({
        "iss": ISS, "aud": [AUD, "other"], "sub": SUBJECT,
        "jti": uuid::Uuid::new_v4().to_string(),
        "iat": now, "nbf": now, "exp": now + 600,
        "client_id": CLIENT,
        "selected_roleid": "pr-1",
        "nhsid_nrbac_roles": [
            {"person_roleid": "pr-1", "role_code": "S0080:G0450:R8001", "org_code": "RXY"},
            {"person_roleid": "pr-2", "role_code": "S0080:G0450:R8003", "org_code": "RXZ"}
        ]
    })
}

/// The CIS2 issuer: RS256, EdDSA and ES256 keys inline.
pub fn cis2_issuer(keys: &[&TestKey]) -> Value {
    let keys: Vec<Value> = keys
        .iter()
        .map(|k| match &k.pem {
            Some(pem) => json!({"kid": k.kid, "alg": "RS256", "pem": pem}),
            None => json!({"jwk": k.jwk}),
        })
        .collect();
    json!({
        "issuer": ISS, "audiences": [AUD], "algorithms": ["RS256", "EdDSA", "ES256"],
        "keys": keys,
        "claims": {
            "role_entries": "nhsid_nrbac_roles",
            "selected_role": {"claim": "selected_roleid", "field": "person_roleid"},
            "role_code": "role_code", "organisation": "org_code", "client_id": ["client_id", "azp"]
        },
        "roles": [
            {"code": "S0080:G0450:R8001", "role": "custody-healthcare", "registered": true},
            {"code": "S0080:G0450:R8003", "role": "liaison-diversion", "registered": false}
        ]
    })
}

/// A production config around `issuers`, RXY allowed from 10.1.0.0/16 only (lock-out after
/// 1000 failures: the lock-out tests lower it).
pub fn config(issuers: Vec<Value>) -> Value {
    json!({
        "version": 1, "mode": "production", "leeway_secs": 30,
        "issuers": issuers,
        "organisations": {"RXY": {"ip_allow": ["10.1.0.0/16", "2001:db8::/32"]}},
        "lockout": {"max_failures": 1000, "window_secs": 60, "lock_secs": 300},
        "rate_limit": {"requests": 1000, "per_secs": 60}
    })
}

/// Every outcome, as reported.
#[derive(Default)]
pub struct Recorder(pub Mutex<Vec<AuthOutcome>>);

impl AuthObserver for Recorder {
    fn observe(&self, outcome: &AuthOutcome) {
        self.0.lock().unwrap().push(outcome.clone());
    }
}

/// The pieces of a test hub.
pub struct Hub {
    pub app: Router,
    pub auth: Arc<Authenticator>,
    pub clock: ManualClock,
    pub recorder: Arc<Recorder>,
}

impl Hub {
    pub fn revocations(&self) -> &Arc<Revocations> {
        self.auth.revocations()
    }
}

/// A hub with `config`, a manual clock at [`T0`] and a recording observer; one route,
/// `GET /whoami`, answers the principal.
pub fn hub(config: &Value) -> Hub {
    let config = AuthConfig::from_json(&config.to_string()).unwrap();
    let clock = ManualClock::at(T0);
    let recorder = Arc::new(Recorder::default());
    let auth = Arc::new(
        Authenticator::new(config, Arc::new(Revocations::new()))
            .unwrap()
            .with_clock(Arc::new(clock.clone()))
            .with_observer(recorder.clone()),
    );
    let routes = Router::new().route(
        "/whoami",
        get(|Authenticated(p): Authenticated| async move {
            Json(json!({
                "subject": p.subject, "role": p.role.code(), "registered": p.registered,
                "organisation": p.organisation, "method": p.auth_method.as_str(),
                "client": p.client_id,
            }))
        }),
    );
    Hub {
        app: protect(routes, auth.clone()),
        auth,
        clock,
        recorder,
    }
}

/// An answer.
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Answer {
    /// The OperationOutcome's rule code.
    pub fn code(&self) -> &str {
        self.body["issue"][0]["details"]["coding"][0]["code"]
            .as_str()
            .unwrap_or("")
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Options of one request.
#[derive(Default)]
pub struct Req<'a> {
    pub token: Option<&'a str>,
    pub from: Option<&'a str>,
    pub certificate: Option<&'a [u8]>,
    pub forwarded_for: Option<&'a str>,
}

/// `GET /whoami` from `from` (default 10.1.2.3) with `token`. A refusal's body must be an
/// OperationOutcome that quotes neither the token nor a claim value.
pub async fn call(app: &Router, req: Req<'_>) -> Answer {
    let from = SocketAddr::new(req.from.unwrap_or("10.1.2.3").parse().unwrap(), 40000);
    let mut builder = Request::get("/whoami");
    if let Some(token) = req.token {
        builder = builder.header("authorization", format!("Bearer {token}"));
    }
    if let Some(xff) = req.forwarded_for {
        builder = builder.header("x-forwarded-for", xff);
    }
    let mut request = builder.body(Body::empty()).unwrap();
    request.extensions_mut().insert(ConnectInfo(from));
    if let Some(der) = req.certificate {
        request
            .extensions_mut()
            .insert(PeerCertificate(der.to_vec()));
    }
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    let body: Value = serde_json::from_str(&text).unwrap();
    if status != 200 {
        assert_eq!(body["resourceType"], "OperationOutcome", "{text}");
        assert_clean(&text, req.token);
    }
    Answer {
        status,
        headers,
        body,
        text,
    }
}

/// The body quotes neither the token (nor any of its parts) nor the canary claim values.
pub fn assert_clean(text: &str, token: Option<&str>) {
    for canary in [SUBJECT, CLIENT, "RXY", "R8001", "pr-1"] {
        assert!(!text.contains(canary), "body quotes a claim value: {text}");
    }
    if let Some(token) = token {
        for part in token.split('.').filter(|p| p.len() >= 8) {
            assert!(!text.contains(part), "body quotes the token: {text}");
        }
    }
}

/// Asserts a 401 `invalid_token` refusal with `code`.
pub fn assert_invalid_token(answer: &Answer, code: &str) {
    assert_eq!(answer.status, 401, "{}", answer.text);
    assert_eq!(answer.code(), code, "{}", answer.text);
    let challenge = answer.header("www-authenticate").unwrap_or("");
    assert!(challenge.starts_with("Bearer "), "{challenge}");
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
}
