//! Bearer-token authentication through the axum middleware, without a socket (`oneshot`):
//! every refusal the issue names, revocation on the very next request, the role mapping, the
//! IP allow-lists, lock-out with a hand-driven clock, and bodies that never quote the token.

use crate::auth_support;

use auth_support::*;
use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use waymark_api::auth::{AuthConfig, AuthOutcome, ConfigError, Revocation, mtls};

fn standard() -> (Hub, TestKey, TestKey, TestKey) {
    let (rsa, ed, ec) = (rsa_key(), ed_key("ed-1"), ec_key("ec-1"));
    let hub = hub(&config(vec![cis2_issuer(&[&rsa, &ed, &ec])]));
    (hub, rsa, ed, ec)
}

async fn with(hub: &Hub, token: &str) -> Answer {
    call(
        &hub.app,
        Req {
            token: Some(token),
            ..Req::default()
        },
    )
    .await
}

#[tokio::test]
async fn valid_rs256_eddsa_and_es256_tokens_are_accepted() {
    let (hub, rsa, ed, ec) = standard();
    for key in [&rsa, &ed, &ec] {
        let answer = with(&hub, &key.sign(&claims(T0))).await;
        assert_eq!(answer.status, 200, "{:?}: {}", key.alg, answer.text);
        assert_eq!(answer.body["subject"], SUBJECT);
        assert_eq!(answer.body["role"], "custody-healthcare");
        assert_eq!(answer.body["registered"], true);
        assert_eq!(answer.body["organisation"], "RXY");
        assert_eq!(answer.body["client"], CLIENT);
        assert_eq!(answer.body["method"], "bearer-jwt");
    }
    // Without a kid, the one key that fits the algorithm is used.
    let answer = with(&hub, &ed.sign_without_kid(&claims(T0))).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
}

#[tokio::test]
async fn the_selected_cis2_role_decides_role_and_registration() {
    let (hub, rsa, ..) = standard();
    let mut c = claims(T0);
    c["selected_roleid"] = json!("pr-2");
    let answer = with(&hub, &rsa.sign(&c)).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.body["role"], "liaison-diversion");
    assert_eq!(answer.body["registered"], false);
    assert_eq!(answer.body["organisation"], "RXZ");
}

#[tokio::test]
async fn expired_and_not_yet_valid_tokens_are_rejected() {
    let (hub, _, ed, _) = standard();
    let token = ed.sign(&claims(T0));
    hub.clock.advance(600 + 29);
    assert_eq!(with(&hub, &token).await.status, 200, "within the leeway");
    hub.clock.advance(1);
    assert_invalid_token(&with(&hub, &token).await, "auth.expired");

    hub.clock.set(T0);
    let mut future = claims(T0 + 120);
    future["iat"] = json!(T0);
    assert_invalid_token(&with(&hub, &ed.sign(&future)).await, "auth.not-yet-valid");
    let mut issued_later = claims(T0);
    issued_later["iat"] = json!(T0 + 3600);
    assert_invalid_token(
        &with(&hub, &ed.sign(&issued_later)).await,
        "auth.not-yet-valid",
    );
    let mut no_exp = claims(T0);
    no_exp.as_object_mut().unwrap().remove("exp");
    assert_invalid_token(&with(&hub, &ed.sign(&no_exp)).await, "auth.claim");
}

#[tokio::test]
async fn wrong_audience_and_wrong_issuer_are_rejected() {
    let (hub, rsa, ..) = standard();
    let mut c = claims(T0);
    c["aud"] = json!("someone-else");
    assert_invalid_token(&with(&hub, &rsa.sign(&c)).await, "auth.audience");
    c.as_object_mut().unwrap().remove("aud");
    assert_invalid_token(&with(&hub, &rsa.sign(&c)).await, "auth.audience");

    let mut c = claims(T0);
    c["iss"] = json!("https://evil.test/");
    assert_invalid_token(&with(&hub, &rsa.sign(&c)).await, "auth.issuer");
    c.as_object_mut().unwrap().remove("iss");
    assert_invalid_token(&with(&hub, &rsa.sign(&c)).await, "auth.claim");
}

#[tokio::test]
async fn missing_sub_or_jti_is_rejected() {
    let (hub, _, ed, _) = standard();
    for claim in ["sub", "jti"] {
        let mut c = claims(T0);
        c.as_object_mut().unwrap().remove(claim);
        let answer = with(&hub, &ed.sign(&c)).await;
        assert_invalid_token(&answer, "auth.claim");
        assert!(
            answer.text.contains(&format!("`{claim}`")),
            "names the claim"
        );
    }
}

#[tokio::test]
async fn tampered_payloads_and_signatures_are_rejected() {
    let (hub, rsa, ed, ec) = standard();
    for key in [&rsa, &ed, &ec] {
        let token = key.sign(&claims(T0));
        let parts: Vec<&str> = token.split('.').collect();
        let mut forged = claims(T0);
        forged["selected_roleid"] = json!("pr-2");
        let payload = URL_SAFE_NO_PAD.encode(forged.to_string());
        let tampered = format!("{}.{}.{}", parts[0], payload, parts[2]);
        assert_invalid_token(&with(&hub, &tampered).await, "auth.signature");

        let mut signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
        signature[5] ^= 0x01;
        let tampered = format!(
            "{}.{}.{}",
            parts[0],
            parts[1],
            URL_SAFE_NO_PAD.encode(signature)
        );
        assert_invalid_token(&with(&hub, &tampered).await, "auth.signature");
    }
}

#[tokio::test]
async fn alg_none_and_malformed_tokens_are_rejected() {
    let (hub, ..) = standard();
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims(T0).to_string());
    for token in [
        format!("{header}.{payload}."),
        format!("{header}.{payload}"),
    ] {
        assert_invalid_token(&with(&hub, &token).await, "auth.malformed");
    }
    assert_invalid_token(&with(&hub, "not-a-jwt").await, "auth.malformed");
    let huge = format!("{header}.{}.x", "A".repeat(20_000));
    assert_invalid_token(&with(&hub, &huge).await, "auth.malformed");
}

/// HS256 "signed" with the RSA public key, the classic key-confusion attack: refused whether
/// or not the issuer accepts HS256 at all.
#[tokio::test]
async fn hs256_signed_with_the_rsa_public_key_is_rejected() {
    let rsa = rsa_key();
    let pem = rsa.pem.clone().unwrap();
    let confused = |kid: Option<&str>| {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
        header.kid = kid.map(str::to_owned);
        let key = jsonwebtoken::EncodingKey::from_secret(pem.as_bytes());
        jsonwebtoken::encode(&header, &claims(T0), &key).unwrap()
    };
    let (hub, ..) = standard();
    assert_invalid_token(
        &with(&hub, &confused(Some("rsa-1"))).await,
        "auth.algorithm",
    );

    // A development issuer that does accept HS256 (with its own secret) still never uses the
    // RSA key as an HMAC secret.
    let mut issuer = cis2_issuer(&[&rsa]);
    issuer["algorithms"] = json!(["RS256", "HS256"]);
    issuer["keys"].as_array_mut().unwrap().push(json!({
        "kid": "hs-1", "alg": "HS256", "secret_base64": "c2VjcmV0LW9mLXRoZS1kZXYtaXNzdWVy"
    }));
    let mut cfg = config(vec![issuer]);
    cfg["mode"] = json!("development");
    let dev = auth_support::hub(&cfg);
    assert_invalid_token(
        &with(&dev, &confused(Some("rsa-1"))).await,
        "auth.algorithm",
    );
    assert_invalid_token(&with(&dev, &confused(None)).await, "auth.signature");
}

#[tokio::test]
async fn an_unknown_kid_is_rejected() {
    let (hub, ..) = standard();
    let stranger = ed_key("ed-9");
    assert_invalid_token(
        &with(&hub, &stranger.sign(&claims(T0))).await,
        "auth.key.unknown",
    );
    // A known kid on a key that is not the signer's.
    let impostor = ed_key("ed-1");
    assert_invalid_token(
        &with(&hub, &impostor.sign(&claims(T0))).await,
        "auth.signature",
    );
}

#[tokio::test]
async fn revocation_stops_the_very_next_request() {
    let (hub, rsa, ed, _) = standard();
    let revocations = hub.revocations().clone();

    let token = ed.sign(&claims(T0));
    let jti = claims_of(&token)["jti"].as_str().unwrap().to_owned();
    assert_eq!(with(&hub, &token).await.status, 200);
    revocations.revoke(Revocation::TokenId(jti)).await.unwrap();
    assert_invalid_token(&with(&hub, &token).await, "auth.revoked");
    assert_eq!(
        with(&hub, &ed.sign(&claims(T0))).await.status,
        200,
        "other tokens still work"
    );

    for revocation in [
        Revocation::Subject(SUBJECT.into()),
        Revocation::Client(CLIENT.into()),
        Revocation::Key("rsa-1".into()),
    ] {
        let token = rsa.sign(&claims(T0));
        assert_eq!(with(&hub, &token).await.status, 200, "{revocation:?}");
        revocations.revoke(revocation.clone()).await.unwrap();
        assert_invalid_token(&with(&hub, &token).await, "auth.revoked");
        revocations.reinstate(&revocation).await.unwrap();
        assert_eq!(
            with(&hub, &token).await.status,
            200,
            "reinstated {revocation:?}"
        );
    }
}

fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

#[tokio::test]
async fn an_unmapped_role_is_forbidden() {
    let (hub, rsa, ..) = standard();
    let mut c = claims(T0);
    c["nhsid_nrbac_roles"][0]["role_code"] = json!("S9999:G9999:R9999");
    let answer = with(&hub, &rsa.sign(&c)).await;
    assert_eq!(answer.status, 403, "{}", answer.text);
    assert_eq!(answer.code(), "auth.role.unmapped");
    assert!(answer.header("www-authenticate").is_none());

    let mut c = claims(T0);
    c.as_object_mut().unwrap().remove("selected_roleid");
    let answer = with(&hub, &rsa.sign(&c)).await;
    assert_eq!((answer.status, answer.code()), (403, "auth.role.ambiguous"));
}

#[tokio::test]
async fn an_address_outside_the_organisations_allow_list_is_forbidden() {
    let (hub, _, ed, _) = standard();
    let token = ed.sign(&claims(T0));
    for inside in ["10.1.200.7", "2001:db8::7", "::ffff:10.1.0.1"] {
        let answer = call(
            &hub.app,
            Req {
                token: Some(&token),
                from: Some(inside),
                ..Req::default()
            },
        )
        .await;
        assert_eq!(answer.status, 200, "{inside}: {}", answer.text);
    }
    let outside = call(
        &hub.app,
        Req {
            token: Some(&token),
            from: Some("10.2.0.1"),
            ..Req::default()
        },
    )
    .await;
    assert_eq!((outside.status, outside.code()), (403, "auth.address"));

    // X-Forwarded-For is ignored unless the peer is a trusted proxy.
    let spoofed = Req {
        token: Some(&token),
        from: Some("10.2.0.1"),
        forwarded_for: Some("10.1.0.5"),
        ..Req::default()
    };
    assert_eq!(call(&hub.app, spoofed).await.status, 403);
    let mut cfg = config(vec![cis2_issuer(&[&ed])]);
    cfg["trusted_proxies"] = json!(["192.168.0.0/24"]);
    let proxied = auth_support::hub(&cfg);
    let via_proxy = Req {
        token: Some(&token),
        from: Some("192.168.0.2"),
        forwarded_for: Some("10.1.0.5"),
        ..Req::default()
    };
    assert_eq!(call(&proxied.app, via_proxy).await.status, 200);
}

#[tokio::test]
async fn organisations_without_a_list_are_refused_when_lists_are_required() {
    let ed = ed_key("ed-1");
    let mut c = claims(T0);
    c["selected_roleid"] = json!("pr-2"); // RXZ: no allow-list
    let token = ed.sign(&c);
    let open = hub(&config(vec![cis2_issuer(&[&ed])]));
    assert_eq!(with(&open, &token).await.status, 200);
    let mut cfg = config(vec![cis2_issuer(&[&ed])]);
    cfg["require_ip_allow_list"] = json!(true);
    let strict = hub(&cfg);
    assert_eq!(with(&strict, &token).await.code(), "auth.address");
}

fn lockout_hub() -> (Hub, TestKey) {
    let ed = ed_key("ed-1");
    let mut cfg = config(vec![cis2_issuer(&[&ed])]);
    cfg["lockout"] = json!({"max_failures": 3, "window_secs": 60, "lock_secs": 300});
    (hub(&cfg), ed)
}

#[tokio::test]
async fn repeated_failures_lock_the_address_out() {
    let (hub, ed) = lockout_hub();
    let good = ed.sign(&claims(T0));
    let from = Some("10.1.9.9");
    for _ in 0..3 {
        let answer = call(
            &hub.app,
            Req {
                token: Some("a.b.c"),
                from,
                ..Req::default()
            },
        )
        .await;
        assert_eq!(answer.status, 401);
    }
    let locked = call(
        &hub.app,
        Req {
            token: Some(&good),
            from,
            ..Req::default()
        },
    )
    .await;
    assert_eq!(
        (locked.status, locked.code()),
        (429, "auth.locked-out"),
        "{}",
        locked.text
    );
    assert_eq!(locked.header("retry-after"), Some("300"));
    let other = call(
        &hub.app,
        Req {
            token: Some(&good),
            from: Some("10.1.9.8"),
            ..Req::default()
        },
    )
    .await;
    assert_eq!(other.status, 200, "other addresses are not locked");
}

/// Refusals of a verified token (here: the wrong address) count against its subject too, so
/// moving between addresses does not escape the lock.
#[tokio::test]
async fn repeated_refusals_of_a_verified_token_lock_its_subject_out() {
    let (hub, ed) = lockout_hub();
    let token = ed.sign(&claims(T0));
    for from in ["10.2.0.1", "10.3.0.1", "10.4.0.1"] {
        let answer = call(
            &hub.app,
            Req {
                token: Some(&token),
                from: Some(from),
                ..Req::default()
            },
        )
        .await;
        assert_eq!(answer.code(), "auth.address");
    }
    let inside = call(
        &hub.app,
        Req {
            token: Some(&token),
            ..Req::default()
        },
    )
    .await;
    assert_eq!((inside.status, inside.code()), (429, "auth.locked-out"));
}

#[tokio::test]
async fn a_lock_out_is_released_after_its_period() {
    let (hub, ed) = lockout_hub();
    let from = Some("10.1.9.9");
    for _ in 0..3 {
        let bad =
            ed.sign(&json!({"iss": ISS, "aud": "nope", "sub": "x", "jti": "y", "exp": T0 + 60}));
        assert_eq!(
            call(
                &hub.app,
                Req {
                    token: Some(&bad),
                    from,
                    ..Req::default()
                }
            )
            .await
            .status,
            401
        );
    }
    let good = ed.sign(&claims(T0 + 300));
    hub.clock.advance(299);
    assert_eq!(
        call(
            &hub.app,
            Req {
                token: Some(&good),
                from,
                ..Req::default()
            }
        )
        .await
        .status,
        429
    );
    hub.clock.advance(1);
    assert_eq!(
        call(
            &hub.app,
            Req {
                token: Some(&good),
                from,
                ..Req::default()
            }
        )
        .await
        .status,
        200
    );
}

#[tokio::test]
async fn missing_tokens_are_challenged_but_not_counted() {
    let (hub, ed) = lockout_hub();
    for _ in 0..5 {
        let answer = call(&hub.app, Req::default()).await;
        assert_eq!((answer.status, answer.code()), (401, "auth.missing"));
        assert_eq!(
            answer.header("www-authenticate"),
            Some("Bearer realm=\"waymark\"")
        );
    }
    assert_eq!(
        with(&hub, &ed.sign(&claims(T0))).await.status,
        200,
        "not locked out"
    );
}

#[tokio::test]
async fn a_client_over_its_rate_is_throttled() {
    let ed = ed_key("ed-1");
    let mut cfg = config(vec![cis2_issuer(&[&ed])]);
    cfg["rate_limit"] = json!({"requests": 2, "per_secs": 10});
    let hub = hub(&cfg);
    let token = ed.sign(&claims(T0));
    assert_eq!(with(&hub, &token).await.status, 200);
    assert_eq!(with(&hub, &token).await.status, 200);
    let limited = with(&hub, &token).await;
    assert_eq!((limited.status, limited.code()), (429, "auth.rate-limited"));
    assert_eq!(limited.header("retry-after"), Some("10"));
    hub.clock.advance(10);
    assert_eq!(with(&hub, &token).await.status, 200);
}

#[tokio::test]
async fn production_refuses_the_development_issuer() {
    let dev = waymark_api::auth::dev::DevIssuer::generate().unwrap();
    let mut production = dev.development_config();
    production.mode = waymark_api::auth::Mode::Production;
    assert!(matches!(
        production.validate(),
        Err(ConfigError::DevelopmentIssuer)
    ));

    let token = dev
        .issue(
            &waymark_api::auth::dev::DevToken {
                subject: SUBJECT.into(),
                role: waymark_core::Role::CustodyOfficer,
                registered: false,
                organisation: "RXY".into(),
                ttl_secs: 3600,
            },
            T0,
        )
        .unwrap();
    let (prod_hub, ..) = standard();
    assert_invalid_token(&with(&prod_hub, &token).await, "auth.issuer.development");

    let dev_hub = hub(&serde_json::to_value(dev.development_config()).unwrap());
    let answer = with(&dev_hub, &token).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.body["method"], "development");
    assert_eq!(answer.body["role"], "custody-officer");
}

#[test]
fn production_refuses_hmac_and_plain_http_jwks() {
    let rsa = rsa_key();
    let mut hs = cis2_issuer(&[&rsa]);
    hs["algorithms"] = json!(["RS256", "HS256"]);
    let err = AuthConfig::from_json(&config(vec![hs]).to_string()).unwrap_err();
    assert!(err.to_string().contains("asymmetric"), "{err}");

    let mut http = cis2_issuer(&[]);
    http["keys"] = json!([]);
    http["jwks"] = json!({"url": "http://keys.test/jwks"});
    let err = AuthConfig::from_json(&config(vec![http]).to_string()).unwrap_err();
    assert!(err.to_string().contains("https"), "{err}");

    let mut none = cis2_issuer(&[&rsa]);
    none["algorithms"] = json!(["none"]);
    assert!(AuthConfig::from_json(&config(vec![none]).to_string()).is_err());
}

#[tokio::test]
async fn a_required_system_client_must_present_its_certificate() {
    let ed = ed_key("ed-1");
    let certificate = b"DER of the NOMIS adapter's client certificate".as_slice();
    let mut cfg = config(vec![cis2_issuer(&[&ed])]);
    cfg["client_certificates"] = json!({
        "ca_pem": "-----BEGIN CERTIFICATE-----\n...\n-----END CERTIFICATE-----",
        "required_for_clients": [CLIENT],
        "fingerprints": {CLIENT: [mtls::fingerprint(certificate)]}
    });
    let hub = hub(&cfg);
    let token = ed.sign(&claims(T0));
    let bound = call(
        &hub.app,
        Req {
            token: Some(&token),
            certificate: Some(certificate),
            ..Req::default()
        },
    )
    .await;
    assert_eq!(bound.status, 200, "{}", bound.text);
    assert_eq!(bound.body["method"], "mtls+jwt");
    assert_invalid_token(&with(&hub, &token).await, "auth.certificate");
    let other = call(
        &hub.app,
        Req {
            token: Some(&token),
            certificate: Some(b"another"),
            ..Req::default()
        },
    )
    .await;
    assert_invalid_token(&other, "auth.certificate");
}

#[tokio::test]
async fn every_outcome_reaches_the_observer_without_token_contents() {
    let (hub, _, ed, _) = standard();
    let token = ed.sign(&claims(T0));
    assert_eq!(with(&hub, &token).await.status, 200);
    let mut expired = claims(T0 - 7200);
    expired["iat"] = json!(T0 - 7200);
    assert_eq!(with(&hub, &ed.sign(&expired)).await.status, 401);
    let seen: Vec<AuthOutcome> = hub.recorder.0.lock().unwrap().clone();
    assert_eq!(seen.len(), 2);
    let allowed = seen[0].result.as_ref().unwrap();
    assert_eq!(allowed.subject, SUBJECT);
    assert_eq!(seen[0].path, "/whoami");
    assert_eq!(seen[0].source, Some("10.1.2.3".parse().unwrap()));
    assert_eq!(seen[1].denial_code(), Some("auth.expired"));
    assert!(
        !format!("{:?}", seen[1]).contains(SUBJECT),
        "a refusal carries no claims"
    );
}

/// An audit layer around the routes finds the outcome on the response, allowed or denied.
#[tokio::test]
async fn the_outcome_rides_on_the_response_for_an_outer_audit_layer() {
    use tower::ServiceExt as _;
    let (hub, _, ed, _) = standard();
    for (token, allowed) in [(ed.sign(&claims(T0)), true), ("x.y.z".to_owned(), false)] {
        let mut request = axum::http::Request::get("/whoami")
            .header("authorization", format!("Bearer {token}"))
            .body(axum::body::Body::empty())
            .unwrap();
        let peer: std::net::SocketAddr = "10.1.0.9:5000".parse().unwrap();
        request
            .extensions_mut()
            .insert(axum::extract::ConnectInfo(peer));
        let response = hub.app.clone().oneshot(request).await.unwrap();
        let outcome = response.extensions().get::<AuthOutcome>().unwrap();
        assert_eq!(outcome.result.is_ok(), allowed);
        assert_eq!(outcome.method, "GET");
        assert_eq!(outcome.source, Some(peer.ip()));
    }
}

#[tokio::test]
async fn the_extractor_fails_closed_on_an_unprotected_route() {
    use axum::{Router, routing::get};
    use tower::ServiceExt as _;
    let app: Router = Router::new().route(
        "/open",
        get(|waymark_api::Authenticated(_p): waymark_api::Authenticated| async { "never" }),
    );
    let request = axum::http::Request::get("/open")
        .body(axum::body::Body::empty())
        .unwrap();
    let response = app.oneshot(request).await.unwrap();
    assert_eq!(response.status(), 401);
}
