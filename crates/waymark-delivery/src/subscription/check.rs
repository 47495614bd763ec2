//! The checks behind [`Subscription::validate_with`](super::Subscription::validate_with).

use super::{SubscriptionError, error::shown};
use crate::secret_key;

/// How many extra headers a subscription may carry.
const MAX_HEADERS: usize = 16;
/// The longest `Name: value` line accepted.
const MAX_HEADER_LEN: usize = 2048;

/// Headers a subscriber may not set: the hub owns them (framing, signature, routing).
const FORBIDDEN_HEADERS: [&str; 13] = [
    "host",
    "content-type",
    "content-length",
    "content-encoding",
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Whether `s` is a slug of `a-z`, `0-9`, `-` (and `extra`), 1 to 64 characters.
pub(super) fn slug(s: &str, extra: char) -> bool {
    (1..=64).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == extra)
}

/// Checks a `whsec_` secret decodes to 24 to 64 bytes.
pub(super) fn secret(secret: &str) -> Result<(), SubscriptionError> {
    let key = secret_key(secret)?;
    if !(24..=64).contains(&key.len()) {
        return Err(SubscriptionError::SecretLength(key.len()));
    }
    Ok(())
}

/// Checks a heartbeat period (seconds) is in `60..=86400`.
pub(super) fn heartbeat(period: Option<u64>) -> Result<(), SubscriptionError> {
    match period {
        Some(p) if !(60..=86_400).contains(&p) => Err(SubscriptionError::Heartbeat(p)),
        _ => Ok(()),
    }
}

/// Splits a `Name: value` header line into its checked name and trimmed value. The error
/// names the header (names are not secret), never its value.
pub fn parse_header(line: &str) -> Result<(&str, &str), SubscriptionError> {
    let (name, value) = line
        .split_once(':')
        .ok_or_else(|| SubscriptionError::Header("is not of the form `Name: value`".into()))?;
    let name = name.trim();
    let value = value.trim();
    let token = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    if !token {
        return Err(SubscriptionError::Header(
            "name is not an HTTP token".into(),
        ));
    }
    let lower = name.to_ascii_lowercase();
    if FORBIDDEN_HEADERS.contains(&lower.as_str()) || lower.starts_with("webhook-") {
        return Err(SubscriptionError::Header(format!(
            "`{}` is set by the hub and may not be configured",
            shown(&lower)
        )));
    }
    if line.len() > MAX_HEADER_LEN || value.is_empty() {
        return Err(SubscriptionError::Header(format!(
            "`{}` must have a value of at most {MAX_HEADER_LEN} bytes",
            shown(&lower)
        )));
    }
    if value
        .bytes()
        .any(|b| !(b == b'\t' || (0x20..0x7f).contains(&b)))
    {
        return Err(SubscriptionError::Header(format!(
            "`{}` has a value with characters other than visible ASCII and spaces",
            shown(&lower)
        )));
    }
    Ok((name, value))
}

/// Checks every header line, and that there are at most [`MAX_HEADERS`] with distinct names.
pub(super) fn headers<'a>(
    lines: impl ExactSizeIterator<Item = &'a str>,
) -> Result<(), SubscriptionError> {
    if lines.len() > MAX_HEADERS {
        return Err(SubscriptionError::Header(format!(
            "count is over {MAX_HEADERS}"
        )));
    }
    let mut seen = std::collections::BTreeSet::new();
    for line in lines {
        let (name, _) = parse_header(line)?;
        if !seen.insert(name.to_ascii_lowercase()) {
            return Err(SubscriptionError::Header(format!(
                "`{}` is given twice",
                shown(name)
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_lines_are_checked() {
        assert_eq!(
            parse_header("Authorization: Bearer abc").unwrap(),
            ("Authorization", "Bearer abc")
        );
        assert_eq!(parse_header("X-Api-Key:k").unwrap(), ("X-Api-Key", "k"));
        for bad in [
            "Authorization",
            ": v",
            "Bad Name: v",
            "Host: evil.example",
            "content-type: text/plain",
            "Content-Length: 5",
            "Webhook-Signature: v1,x",
            "webhook-id: 1",
            "Transfer-Encoding: chunked",
            "Connection: close",
            "X-A: line\r\nInjected: 1",
            "X-A:",
        ] {
            assert!(parse_header(bad).is_err(), "{bad:?}");
        }
        let err = parse_header("Host: secret-value.example").unwrap_err();
        assert!(!err.to_string().contains("secret-value"));
        assert!(headers(["X-A: 1", "x-a: 2"].into_iter()).is_err());
        assert!(headers(["X-A: 1", "X-B: 2"].into_iter()).is_ok());
    }
}
