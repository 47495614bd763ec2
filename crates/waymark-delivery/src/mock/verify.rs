//! The mock's own Standard Webhooks verifier, on `ring::hmac` (not the `hmac` crate the sender
//! uses), so a shared bug cannot hide.

use std::io;

use axum::http::HeaderMap;
use base64::{Engine as _, engine::general_purpose::STANDARD};
use chrono::{DateTime, Utc};
use ring::hmac;

/// How far a `webhook-timestamp` may be from the receiver's clock.
const TOLERANCE_SECS: i64 = 5 * 60;

/// The HMAC key of a `whsec_<base64>` secret.
pub(super) fn key(secret: &str) -> io::Result<hmac::Key> {
    let invalid = |what: &str| io::Error::new(io::ErrorKind::InvalidInput, what.to_owned());
    let encoded = secret
        .strip_prefix("whsec_")
        .ok_or_else(|| invalid("secret needs `whsec_`"))?;
    let bytes = STANDARD
        .decode(encoded)
        .map_err(|_| invalid("secret is not base64"))?;
    Ok(hmac::Key::new(hmac::HMAC_SHA256, &bytes))
}

/// `(webhook-id, timestamp)` when the headers carry a valid signature by one of `keys` over
/// this body (any of the space-separated `v1,` signatures), made within the tolerance of `now`.
pub(super) fn verify(
    keys: &[hmac::Key],
    headers: &HeaderMap,
    body: &[u8],
    now: DateTime<Utc>,
) -> Option<(String, i64)> {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let id = text("webhook-id")?;
    let timestamp_text = text("webhook-timestamp")?;
    let timestamp: i64 = timestamp_text.parse().ok()?;
    // `abs_diff`: a hostile timestamp (`i64::MIN`) must not overflow.
    if now.timestamp().abs_diff(timestamp) > TOLERANCE_SECS.unsigned_abs() {
        return None;
    }
    let mut signed = Vec::with_capacity(id.len() + timestamp_text.len() + body.len() + 2);
    signed.extend_from_slice(id.as_bytes());
    signed.push(b'.');
    signed.extend_from_slice(timestamp_text.as_bytes());
    signed.push(b'.');
    signed.extend_from_slice(body);
    let valid = text("webhook-signature")?
        .split(' ')
        .filter_map(|s| s.strip_prefix("v1,"))
        .filter_map(|s| STANDARD.decode(s).ok())
        .any(|tag| keys.iter().any(|k| hmac::verify(k, &signed, &tag).is_ok()));
    valid.then(|| (id.to_owned(), timestamp))
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn a_hostile_timestamp_is_refused_not_overflowed() {
        let keys = vec![key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap()];
        let mut headers = HeaderMap::new();
        headers.insert("webhook-id", HeaderValue::from_static("msg"));
        headers.insert("webhook-signature", HeaderValue::from_static("v1,AAAA"));
        for stamp in ["-9223372036854775808", "9223372036854775807"] {
            headers.insert("webhook-timestamp", HeaderValue::from_static(stamp));
            assert!(
                verify(&keys, &headers, b"{}", Utc::now()).is_none(),
                "{stamp}"
            );
        }
    }

    #[test]
    fn verifies_the_standard_webhooks_reference_vector_independently() {
        let keys = vec![key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap()];
        let mut headers = HeaderMap::new();
        headers.insert(
            "webhook-id",
            HeaderValue::from_static("msg_p5jXN8AQM9LWM0D4loKWxJek"),
        );
        headers.insert("webhook-timestamp", HeaderValue::from_static("1614265330"));
        headers.insert(
            "webhook-signature",
            HeaderValue::from_static("v1,bad v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="),
        );
        let body = br#"{"test": 2432232314}"#;
        let at = DateTime::from_timestamp(1_614_265_330 + 60, 0).unwrap();
        assert!(verify(&keys, &headers, body, at).is_some());
        assert!(verify(&keys, &headers, br#"{"test": 2432232315}"#, at).is_none());
        let late = DateTime::from_timestamp(1_614_265_330 + 301, 0).unwrap();
        assert!(verify(&keys, &headers, body, late).is_none());
    }
}
