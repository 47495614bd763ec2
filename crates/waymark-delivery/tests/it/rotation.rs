//! Secret rotation and the subscriber's own headers, verified by the mock's independent
//! verifier.

use crate::common;

use chrono::Utc;
use common::{secret, subscription};
use waymark_core::{Role, Sensitive};
use waymark_delivery::{
    DeliveryOutcome, PayloadMode, RestHook, RestHookConfig, mock::MockReceiver,
};

const BODY: &[u8] = br#"{"resourceType":"Bundle","type":"history"}"#;

fn hook() -> RestHook {
    RestHook::new(&RestHookConfig::default()).unwrap()
}

/// While `previous_secret` is set, `webhook-signature` carries two `v1,` signatures: a receiver
/// still on the old secret and one already on the new one both verify; one holding neither
/// refuses. Once the previous secret is cleared, only the new one verifies.
#[tokio::test]
async fn during_rotation_a_receiver_with_either_secret_verifies() {
    let old_only = MockReceiver::start(vec![secret(1)]).await.unwrap();
    let new_only = MockReceiver::start(vec![secret(2)]).await.unwrap();
    let neither = MockReceiver::start(vec![secret(3)]).await.unwrap();
    let rotating = |url: &str| {
        let mut sub = subscription(url, PayloadMode::IdOnly, Role::Probation);
        sub.secret = Sensitive::new(secret(2));
        sub.previous_secret = Some(Sensitive::new(secret(1)));
        sub
    };
    for mock in [&old_only, &new_only] {
        let outcome = hook()
            .send(&rotating(&mock.url()), "m", BODY, Utc::now())
            .await;
        assert_eq!(outcome, DeliveryOutcome::Delivered { status: 200 });
        let signature = &mock.received()[0];
        assert_eq!(signature.webhook_id, "m");
    }
    let outcome = hook()
        .send(&rotating(&neither.url()), "m", BODY, Utc::now())
        .await;
    assert_eq!(
        outcome,
        DeliveryOutcome::Rejected {
            reason: "http 401".into()
        }
    );
    assert_eq!(neither.refused_count(), 1);

    let mut rotated = rotating(&old_only.url());
    rotated.previous_secret = None;
    let outcome = hook().send(&rotated, "n", BODY, Utc::now()).await;
    assert_eq!(
        outcome,
        DeliveryOutcome::Rejected {
            reason: "http 401".into()
        }
    );
    assert_eq!(
        old_only.refused_count(),
        1,
        "the old secret no longer verifies"
    );
    rotated.endpoint = new_only.url();
    let outcome = hook().send(&rotated, "n", BODY, Utc::now()).await;
    assert_eq!(outcome, DeliveryOutcome::Delivered { status: 200 });
}

/// The signature header itself: two space-separated `v1,` entries while rotating, one after.
#[tokio::test]
async fn the_signature_header_lists_one_signature_per_secret() {
    let (addr, seen) = header_echo().await;
    let mut sub = subscription(
        &format!("http://{addr}/"),
        PayloadMode::IdOnly,
        Role::Probation,
    );
    sub.previous_secret = Some(Sensitive::new(secret(9)));
    hook().send(&sub, "m", BODY, Utc::now()).await;
    sub.previous_secret = None;
    hook().send(&sub, "m", BODY, Utc::now()).await;
    let seen = seen.lock().unwrap().clone();
    let counts: Vec<usize> = seen
        .iter()
        .map(|h| {
            h["webhook-signature"]
                .split(' ')
                .filter(|s| s.starts_with("v1,"))
                .count()
        })
        .collect();
    assert_eq!(counts, [2, 1]);
}

/// The subscriber's own headers go with every POST; the hub's own headers cannot be replaced.
#[tokio::test]
async fn configured_headers_are_sent() {
    let mock = MockReceiver::start(vec![secret(1)]).await.unwrap();
    let mut sub = subscription(&mock.url(), PayloadMode::FullResource, Role::Probation);
    sub.headers = vec![
        Sensitive::new("Authorization: Bearer abc-123".into()),
        Sensitive::new("X-Site: LEI".into()),
    ];
    assert!(sub.validate().is_ok());
    let outcome = hook().send(&sub, "m", BODY, Utc::now()).await;
    assert_eq!(outcome, DeliveryOutcome::Delivered { status: 200 });
    let received = &mock.received()[0];
    assert_eq!(received.headers["authorization"], "Bearer abc-123");
    assert_eq!(received.headers["x-site"], "LEI");
    assert_eq!(received.content_type, "application/fhir+json");

    sub.headers = vec![Sensitive::new("Content-Type: text/plain".into())];
    assert!(sub.validate().is_err());
    let outcome = hook().send(&sub, "m2", BODY, Utc::now()).await;
    assert!(
        matches!(&outcome, DeliveryOutcome::Retry { reason, .. } if reason.contains("content-type")),
        "a forbidden header is a configuration error, kept queued: {outcome:?}"
    );
    assert_eq!(mock.request_count(), 1);
}

type Seen = std::sync::Arc<std::sync::Mutex<Vec<std::collections::BTreeMap<String, String>>>>;

/// A server that records every request's headers and answers 200.
async fn header_echo() -> (std::net::SocketAddr, Seen) {
    use axum::{Router, extract::State, http::HeaderMap};
    let seen: Seen = Seen::default();
    let app = Router::new()
        .fallback(|State(seen): State<Seen>, headers: HeaderMap| async move {
            let map = headers
                .iter()
                .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap().to_owned()))
                .collect();
            seen.lock().unwrap().push(map);
        })
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr, seen)
}
