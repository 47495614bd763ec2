//! Paging without counts: a page size (`_count`), an opaque continuation (`_page`) bound to the
//! search it continues, and `self` / `next` links. No `total`, and a `next` link only when the
//! caller may see another match, so a page never reveals matches the caller may not see.

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// Page size when `_count` is absent.
pub(crate) const DEFAULT_COUNT: usize = 20;
/// Largest page.
pub(crate) const MAX_COUNT: usize = 100;

/// `_count`: 1 to [`MAX_COUNT`] (larger values are cut to it).
pub(crate) fn count(value: Option<&str>) -> Option<usize> {
    match value {
        None => Some(DEFAULT_COUNT),
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| *n >= 1)
            .map(|n| n.min(MAX_COUNT)),
    }
}

/// The binding of a continuation to its search: a digest of everything that decides the
/// result (the criteria and the caller's role and organisation).
pub(crate) fn binding(parts: &[&str]) -> String {
    let mut hash = Sha256::new();
    for part in parts {
        hash.update(part.as_bytes());
        hash.update([0]);
    }
    hex::encode(&hash.finalize()[..8])
}

/// The continuation of a search at `offset`.
pub(crate) fn token(offset: usize, binding: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{offset}.{binding}"))
}

/// The offset a continuation names, if it was made for this search.
pub(crate) fn offset(token: Option<&str>, binding: &str) -> Option<usize> {
    let Some(token) = token else {
        return Some(0);
    };
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(token).ok()?).ok()?;
    let (offset, bound) = text.split_once('.')?;
    (bound == binding).then(|| offset.parse().ok()).flatten()
}

/// A `searchset` Bundle with `self` and (when `next` is given) `next` links and no `total`.
pub(crate) fn searchset(entries: Vec<Value>, self_url: &str, next: Option<String>) -> Value {
    let mut links = vec![json!({ "relation": "self", "url": self_url })];
    links.extend(next.map(|url| json!({ "relation": "next", "url": url })));
    json!({
        "resourceType": "Bundle",
        "type": "searchset",
        "link": links,
        "entry": entries,
    })
}

/// `path?query` from `params` (percent-encoded), leaving out `_page` and adding `page` when
/// given.
pub(crate) fn url(
    base: &str,
    path: &str,
    params: &[(String, String)],
    page: Option<&str>,
) -> String {
    let mut parts: Vec<String> = params
        .iter()
        .filter(|(k, _)| k != "_page")
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect();
    parts.extend(page.map(|p| format!("_page={}", encode(p))));
    format!("{base}{path}?{}", parts.join("&"))
}

fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// `http://host` from the request's `Host` header (empty, for relative links, without one).
pub(crate) fn base(headers: &axum::http::HeaderMap) -> String {
    headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b))
        })
        .map(|h| format!("http://{h}"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_continuation_works_only_for_its_own_search() {
        let bound = binding(&["identifier", "x", "gp", "Y01"]);
        let other = binding(&["identifier", "y", "gp", "Y01"]);
        let t = token(40, &bound);
        assert_eq!(offset(Some(&t), &bound), Some(40));
        assert_eq!(offset(Some(&t), &other), None);
        assert_eq!(offset(Some("%%%"), &bound), None);
        assert_eq!(offset(None, &bound), Some(0));
    }

    #[test]
    fn counts_and_urls() {
        assert_eq!(count(None), Some(DEFAULT_COUNT));
        assert_eq!(count(Some("0")), None);
        assert_eq!(count(Some("500")), Some(MAX_COUNT));
        let params = vec![("name".to_owned(), "a b|c".to_owned())];
        assert_eq!(
            url("", "/fhir/Patient", &params, Some("t")),
            "/fhir/Patient?name=a%20b%7Cc&_page=t"
        );
    }
}
