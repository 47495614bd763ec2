//! The edges the hub signs or answers at: the webhook signature (Standard Webhooks, as
//! `waymark-delivery` signs it, checked here by an independent `ring` implementation) and the
//! values of the API's Patient search parameters as `waymark-identity` reads them.

use base64::{Engine as _, engine::general_purpose::STANDARD};
use chrono::NaiveDate;
use ring::hmac;
use serde_json::json;
use waymark_delivery::{secret_key, sign};
use waymark_identity::{
    Demographics, Identifier, MatchConfig, Name, blocking_keys, demographics, score,
};

/// The Standard Webhooks reference secret.
const REFERENCE_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// `secret \n msg-id \n body`: the secret parsed (typed refusal or key); a signature made by
/// `sign` verifies independently over exactly `{msg_id}.{timestamp}.{body}` and stops verifying
/// when one bit of the body changes.
pub fn webhook_verify(data: &[u8]) {
    let mut parts = data.splitn(3, |b| *b == b'\n');
    let secret = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let msg_id = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let body = parts.next().unwrap_or_default();
    let timestamp = i64::try_from(data.len()).unwrap_or(0) * 7_919 - 1_000_000;
    for secret in [secret.as_str(), REFERENCE_SECRET] {
        let (Ok(key), Ok(header)) = (secret_key(secret), sign(secret, &msg_id, timestamp, body))
        else {
            continue;
        };
        let key = hmac::Key::new(hmac::HMAC_SHA256, &key);
        let tag = header.strip_prefix("v1,").map(|t| STANDARD.decode(t));
        let Some(Ok(tag)) = tag else {
            panic!("the signature header is `v1,<base64>`");
        };
        let signed = |body: &[u8]| {
            [
                msg_id.as_bytes(),
                b".",
                timestamp.to_string().as_bytes(),
                b".",
                body,
            ]
            .concat()
        };
        assert!(
            hmac::verify(&key, &signed(body), &tag).is_ok(),
            "the signature verifies"
        );
        let mut changed = body.to_vec();
        match changed.first_mut() {
            Some(b) => *b ^= 1,
            None => changed.push(b'x'),
        }
        assert!(
            hmac::verify(&key, &signed(&changed), &tag).is_err(),
            "a changed body fails"
        );
    }
}

/// A query string as the API reads it (`application/x-www-form-urlencoded` pairs), each
/// Patient search value through what the search gives it to: `identifier=system|value` to
/// `Identifier::check`, `birthdate` as a date, `name` words as names scored and blocked with
/// the date of birth, `_count` as a number, `_page` as base64.
pub fn api_query(data: &[u8]) {
    let Ok(pairs) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(data) else {
        return;
    };
    let mut query = Demographics::default();
    for (name, value) in pairs.iter().take(64) {
        match name.as_str() {
            "identifier" => {
                let (system, value) = value.split_once('|').unwrap_or(("", value));
                if let Some(id) = Identifier::check(system, value) {
                    let _key = id.key();
                }
            }
            "birthdate" => query.birth_date = NaiveDate::parse_from_str(value, "%Y-%m-%d").ok(),
            "name" => query.names.push(name_of(value)),
            "_count" => {
                let _ = value.parse::<usize>();
            }
            "_page" => {
                let _ = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(value);
            }
            _ => {}
        }
    }
    query.names.truncate(8);
    let keys = blocking_keys(&query);
    assert!(keys.len() <= 8, "at most 8 blocking keys");
    let _ = score(&query, &query, &MatchConfig::default());
    let patient = json!({"resourceType": "Patient", "name": query.names.iter().map(|n| json!({"family": n.family, "given": n.given})).collect::<Vec<_>>()});
    let _ = demographics(&patient);
}

fn name_of(text: &str) -> Name {
    let mut words: Vec<String> = text
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| !w.is_empty())
        .take(16)
        .map(str::to_owned)
        .collect();
    let family = words.pop().unwrap_or_default();
    Name {
        given: words,
        family,
        alias: false,
    }
}
