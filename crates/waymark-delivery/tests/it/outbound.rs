//! Outbound safety (SSRF): refused at validation, and again at connect time against the
//! addresses a name resolves to (DNS rebinding).

use crate::common;

use std::time::Duration;

use chrono::Utc;
use common::subscription;
use waymark_core::{ErrorCode, Role};
use waymark_delivery::{
    DeliveryOutcome, EndpointPolicy, PayloadMode, RestHook, RestHookConfig, mock::MockReceiver,
};

const BODY: &[u8] = br#"{"resourceType":"Bundle","type":"history"}"#;

#[test]
fn production_validation_refuses_unsafe_endpoints() {
    let prod = EndpointPolicy::production();
    let check = |endpoint: &str| {
        let sub = subscription(endpoint, PayloadMode::IdOnly, Role::Probation);
        sub.validate_with(&prod).map_err(|e| e.code())
    };
    assert_eq!(check("https://hmp-leeds.example/notify"), Ok(()));
    for endpoint in [
        "http://hmp-leeds.example/notify",
        "http://127.0.0.1:9/notify",
        "https://127.0.0.1/notify",
        "https://localhost/notify",
        "https://LOCALHOST./notify",
        "https://api.localhost/notify",
        "https://169.254.169.254/latest/meta-data/",
        "https://10.0.0.5/notify",
        "https://172.20.1.1/notify",
        "https://192.168.0.1/notify",
        "https://100.64.1.1/notify",
        "https://0.0.0.0/notify",
        "https://2130706433/notify",
        "https://[::1]/notify",
        "https://[fd00::1]/notify",
        "https://[fe80::1]/notify",
        "https://[::ffff:169.254.169.254]/notify",
        "https://[ff02::1]/notify",
    ] {
        assert_eq!(check(endpoint), Err("subscription.endpoint"), "{endpoint}");
    }
    // The demo and tests' policy keeps what `validate()` always allowed.
    let sub = subscription("http://127.0.0.1:9/", PayloadMode::IdOnly, Role::Probation);
    assert!(sub.validate().is_ok());
}

/// A name that resolves to a refused address (here `localhost`, as a rebinding name would) is
/// never connected to: the resolver drops the address and the attempt fails before any byte is
/// sent. The same endpoint is reached with the local policy.
#[tokio::test]
async fn connect_time_check_refuses_names_resolving_to_private_addresses() {
    let mock = MockReceiver::start(vec![common::secret(1)]).await.unwrap();
    let port = mock.url().rsplit(':').next().unwrap().to_owned();
    let by_name = format!("http://localhost:{port}");
    let sub = subscription(&by_name, PayloadMode::IdOnly, Role::Probation);
    let strict = RestHookConfig {
        endpoints: EndpointPolicy {
            require_https: false,
            allow_private: false,
        },
        ..RestHookConfig::default()
    };
    let outcome = RestHook::new(&strict)
        .unwrap()
        .send(&sub, "msg-1", BODY, Utc::now())
        .await;
    assert!(
        matches!(&outcome, DeliveryOutcome::Retry { reason, .. } if reason == "endpoint address refused by policy"),
        "{outcome:?}"
    );
    assert_eq!(mock.request_count(), 0, "nothing reached the address");

    let literal = subscription(&mock.url(), PayloadMode::IdOnly, Role::Probation);
    let outcome = RestHook::new(&strict)
        .unwrap()
        .send(&literal, "msg-1", BODY, Utc::now())
        .await;
    assert!(
        matches!(&outcome, DeliveryOutcome::Retry { reason, after } if reason.starts_with("endpoint refused") && *after >= Duration::from_secs(3600)),
        "a literal address is refused before connecting, and kept queued: {outcome:?}"
    );
    assert_eq!(mock.request_count(), 0);

    let outcome = RestHook::new(&RestHookConfig::default())
        .unwrap()
        .send(&sub, "msg-1", BODY, Utc::now())
        .await;
    assert_eq!(outcome, DeliveryOutcome::Delivered { status: 200 });
    eprintln!("refused by name and by literal address; delivered with the local policy");
}

/// Redirects are not followed (a 3xx is a retry), a slow endpoint times out, and a huge
/// response body is not read beyond the limit.
#[tokio::test]
async fn redirects_timeouts_and_large_answers_are_bounded() {
    use axum::{Router, http::StatusCode, response::IntoResponse, routing::post};
    let app = Router::new()
        .route(
            "/redirect",
            post(|| async { (StatusCode::FOUND, [("location", "http://169.254.169.254/")]) }),
        )
        .route(
            "/huge",
            post(|| async { (StatusCode::OK, vec![b'x'; 8 * 1024 * 1024]).into_response() }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let _server = tokio::spawn(async move { axum::serve(listener, app).await });
    let hook = RestHook::new(&RestHookConfig::default()).unwrap();
    let sub = subscription(
        &format!("http://{addr}/redirect"),
        PayloadMode::IdOnly,
        Role::Gp,
    );
    let outcome = hook.send(&sub, "m", BODY, Utc::now()).await;
    assert!(
        matches!(&outcome, DeliveryOutcome::Retry { reason, .. } if reason.contains("redirects are not followed")),
        "{outcome:?}"
    );
    let sub = subscription(
        &format!("http://{addr}/huge"),
        PayloadMode::IdOnly,
        Role::Gp,
    );
    let started = std::time::Instant::now();
    let outcome = hook.send(&sub, "m", BODY, Utc::now()).await;
    assert_eq!(outcome, DeliveryOutcome::Delivered { status: 200 });
    eprintln!(
        "8 MiB answer classified in {:?} (4 KiB read)",
        started.elapsed()
    );

    let slow = MockReceiver::start(vec![common::secret(1)]).await.unwrap();
    slow.go_slow(Duration::from_secs(2));
    let config = RestHookConfig {
        timeout: Duration::from_millis(300),
        ..RestHookConfig::default()
    };
    let sub = subscription(&slow.url(), PayloadMode::IdOnly, Role::Gp);
    let outcome = RestHook::new(&config)
        .unwrap()
        .send(&sub, "m", BODY, Utc::now())
        .await;
    assert!(
        matches!(&outcome, DeliveryOutcome::Retry { reason, .. } if reason == "timed out"),
        "{outcome:?}"
    );
}
