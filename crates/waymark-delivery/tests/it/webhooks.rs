//! Signing, the mock receiver's verification and the rest-hook's classification, over real HTTP
//! on loopback.

use crate::common;

use std::time::Duration;

use chrono::Utc;
use common::{secret, subscription};
use waymark_core::Role;
use waymark_delivery::{
    DeliveryOutcome, PayloadMode, RestHook, RestHookConfig, WEBHOOK_ID, WEBHOOK_SIGNATURE,
    WEBHOOK_TIMESTAMP, backoff, jitter, mock::MockReceiver, sign,
};

const BODY: &[u8] = br#"{"resourceType":"Bundle","type":"history"}"#;

fn hook() -> RestHook {
    RestHook::new(&RestHookConfig::default()).unwrap()
}

/// POSTs with explicit headers, for tampering.
async fn post(url: &str, id: &str, timestamp: i64, signature: &str, body: &[u8]) -> u16 {
    reqwest::Client::new()
        .post(url)
        .header(WEBHOOK_ID, id)
        .header(WEBHOOK_TIMESTAMP, timestamp.to_string())
        .header(WEBHOOK_SIGNATURE, signature)
        .body(body.to_vec())
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn signed_notification_is_verified_and_recorded() {
    let mock = MockReceiver::start(vec![secret(1)]).await.unwrap();
    let sub = subscription(&mock.url(), PayloadMode::IdOnly, Role::Probation);
    let outcome = hook().send(&sub, "msg-1", BODY, Utc::now()).await;
    assert_eq!(outcome, DeliveryOutcome::Delivered { status: 200 });
    let received = mock.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].webhook_id, "msg-1");
    assert_eq!(received[0].body["type"], "history");
    assert_eq!(mock.unique_ids(), ["msg-1"]);
    assert!(mock.duplicates().is_empty());
}

#[tokio::test]
async fn tampered_id_timestamp_or_body_is_refused() {
    let mock = MockReceiver::start(vec![secret(1)]).await.unwrap();
    let url = mock.url();
    let now = Utc::now().timestamp();
    let sig = sign(&secret(1), "msg-1", now, BODY).unwrap();
    assert_eq!(
        post(&url, "msg-1", now, &sig, BODY).await,
        200,
        "the untampered request"
    );
    assert_eq!(
        post(&url, "msg-2", now, &sig, BODY).await,
        401,
        "id changed"
    );
    assert_eq!(
        post(&url, "msg-1", now + 1, &sig, BODY).await,
        401,
        "timestamp changed"
    );
    let mut body = BODY.to_vec();
    body[2] ^= 1;
    assert_eq!(
        post(&url, "msg-1", now, &sig, &body).await,
        401,
        "body changed"
    );
    let mut bad_sig = sig.clone().into_bytes();
    bad_sig[5] = if bad_sig[5] == b'A' { b'B' } else { b'A' };
    let bad_sig = String::from_utf8(bad_sig).unwrap();
    assert_eq!(
        post(&url, "msg-1", now, &bad_sig, BODY).await,
        401,
        "signature changed"
    );
    let stale = now - 301;
    let stale_sig = sign(&secret(1), "msg-1", stale, BODY).unwrap();
    assert_eq!(
        post(&url, "msg-1", stale, &stale_sig, BODY).await,
        401,
        "too old"
    );
    let missing = reqwest::Client::new()
        .post(&url)
        .body(BODY)
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status().as_u16(), 401, "no signature headers");
    assert_eq!(mock.received().len(), 1);
    assert_eq!(mock.refused_count(), 6);
}

#[tokio::test]
async fn rest_hook_treats_a_refused_signature_as_rejected() {
    let mock = MockReceiver::start(vec![secret(2)]).await.unwrap();
    let sub = subscription(&mock.url(), PayloadMode::IdOnly, Role::Probation);
    let wrong_secret = hook().send(&sub, "msg-1", BODY, Utc::now()).await;
    assert_eq!(
        wrong_secret,
        DeliveryOutcome::Rejected {
            reason: "http 401".into()
        }
    );

    let right = MockReceiver::start(vec![secret(1)]).await.unwrap();
    let sub = subscription(&right.url(), PayloadMode::IdOnly, Role::Probation);
    let long_ago = Utc::now() - chrono::Duration::minutes(10);
    let stale = hook().send(&sub, "msg-1", BODY, long_ago).await;
    assert_eq!(
        stale,
        DeliveryOutcome::Rejected {
            reason: "http 401".into()
        }
    );
    assert!(right.received().is_empty());
}

#[tokio::test]
async fn rotated_secrets_are_both_accepted() {
    let mock = MockReceiver::start(vec![secret(1), secret(2)])
        .await
        .unwrap();
    let mut sub = subscription(&mock.url(), PayloadMode::IdOnly, Role::Probation);
    assert!(matches!(
        hook().send(&sub, "a", BODY, Utc::now()).await,
        DeliveryOutcome::Delivered { .. }
    ));
    sub.secret = secret(2).into();
    assert!(matches!(
        hook().send(&sub, "b", BODY, Utc::now()).await,
        DeliveryOutcome::Delivered { .. }
    ));
    assert_eq!(mock.unique_ids(), ["a", "b"]);
}

#[tokio::test]
async fn unavailable_then_ok_is_retry_then_delivered() {
    let mock = MockReceiver::start(vec![secret(1)]).await.unwrap();
    let sub = subscription(&mock.url(), PayloadMode::IdOnly, Role::Probation);
    mock.fail_next(1);
    let first = hook()
        .send_attempt(&sub, "msg-1", BODY, Utc::now(), 3)
        .await;
    let expected_after = backoff(3, jitter("msg-1", 3));
    let want = DeliveryOutcome::Retry {
        after: expected_after,
        reason: "http 503".into(),
    };
    assert_eq!(
        first, want,
        "no Retry-After: backoff from the attempt number"
    );
    let second = hook()
        .send_attempt(&sub, "msg-1", BODY, Utc::now(), 4)
        .await;
    assert_eq!(second, DeliveryOutcome::Delivered { status: 200 });
    assert_eq!(mock.request_count(), 2);
    assert_eq!(mock.unique_ids(), ["msg-1"]);
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let mock = MockReceiver::start(vec![secret(1)]).await.unwrap();
    let sub = subscription(&mock.url(), PayloadMode::IdOnly, Role::Probation);
    mock.fail_next_with(1, 429, Some(42));
    let outcome = hook().send(&sub, "msg-1", BODY, Utc::now()).await;
    let want = DeliveryOutcome::Retry {
        after: Duration::from_secs(42),
        reason: "http 429".into(),
    };
    assert_eq!(outcome, want);
    mock.fail_next_with(1, 503, Some(7));
    let outcome = hook().send(&sub, "msg-1", BODY, Utc::now()).await;
    assert!(
        matches!(outcome, DeliveryOutcome::Retry { after, .. } if after == Duration::from_secs(7))
    );
}

#[tokio::test]
async fn gone_and_other_client_errors_are_rejected() {
    let mock = MockReceiver::start(vec![secret(1)]).await.unwrap();
    let sub = subscription(&mock.url(), PayloadMode::IdOnly, Role::Probation);
    mock.fail_next_with(1, 410, None);
    let gone = hook().send(&sub, "msg-1", BODY, Utc::now()).await;
    assert_eq!(
        gone,
        DeliveryOutcome::Rejected {
            reason: "gone".into()
        }
    );
    mock.fail_next_with(1, 400, None);
    let bad = hook().send(&sub, "msg-1", BODY, Utc::now()).await;
    assert_eq!(
        bad,
        DeliveryOutcome::Rejected {
            reason: "http 400".into()
        }
    );
    mock.fail_next_with(1, 408, None);
    assert!(matches!(
        hook().send(&sub, "m", BODY, Utc::now()).await,
        DeliveryOutcome::Retry { .. }
    ));
}

#[tokio::test]
async fn unreachable_endpoint_and_timeouts_are_retried() {
    // A port that was just free: connection refused.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let sub = subscription(
        &format!("http://127.0.0.1:{port}/x"),
        PayloadMode::IdOnly,
        Role::Gp,
    );
    let outcome = hook().send(&sub, "msg-1", BODY, Utc::now()).await;
    assert!(
        matches!(&outcome, DeliveryOutcome::Retry { reason, .. } if reason == "connection failed"),
        "{outcome:?}"
    );

    // A listener that accepts and never answers: timeout.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = silent.local_addr().unwrap();
    let _held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            open.push(socket);
        }
    });
    let config = RestHookConfig {
        timeout: Duration::from_millis(300),
        ..RestHookConfig::default()
    };
    let sub = subscription(&format!("http://{addr}/x"), PayloadMode::IdOnly, Role::Gp);
    let outcome = RestHook::new(&config)
        .unwrap()
        .send(&sub, "msg-1", BODY, Utc::now())
        .await;
    assert!(
        matches!(&outcome, DeliveryOutcome::Retry { reason, .. } if reason == "timed out"),
        "{outcome:?}"
    );
}
