//! Mutual TLS for system clients: binding the client certificate to the token.
//!
//! The TLS layer verifies the certificate chain against `client_certificates.ca_pem` and puts
//! the peer's leaf certificate in the request extensions as a [`PeerCertificate`]; where TLS is
//! terminated by a proxy in front of the hub (nginx, an ingress), [`from_proxy_header`] reads
//! the certificate the proxy verified and passed on, from a trusted proxy only. [`check_binding`] then decides whether that certificate belongs to
//! the token's client: by the token's own confirmation claim (`cnf.x5t#S256`, RFC 8705) and/or
//! by the SHA-256 fingerprints configured for the client. A client listed in
//! `required_for_clients` must present a bound certificate.

use axum::http::HeaderMap;
use base64::{
    Engine as _,
    engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD},
};
use ring::digest::{SHA256, digest};

use super::{config::ClientCertificates, error::AuthError};

/// The client's leaf certificate (DER), as verified by the TLS layer.
#[derive(Clone, Debug)]
pub struct PeerCertificate(pub Vec<u8>);

/// The SHA-256 fingerprint of a certificate, lowercase hex without separators.
pub fn fingerprint(der: &[u8]) -> String {
    hex::encode(digest(&SHA256, der))
}

/// The RFC 8705 thumbprint (`x5t#S256`): base64url SHA-256 of the DER.
pub fn thumbprint(der: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(digest(&SHA256, der))
}

/// The header a proxy sets to `SUCCESS` when it verified the client certificate.
pub const PROXY_VERIFY_HEADER: &str = "x-client-verify";

/// Longest certificate header read (URL-encoded PEM).
const MAX_PROXY_CERT: usize = 16 * 1024;

/// The client certificate a TLS-terminating proxy verified and passed in `header_name`
/// (URL-encoded PEM) with `X-Client-Verify: SUCCESS`. The caller must have checked that the
/// request came from a trusted proxy. `None` when absent, unverified or unreadable.
pub fn from_proxy_header(headers: &HeaderMap, header_name: &str) -> Option<PeerCertificate> {
    let verified = headers
        .get(PROXY_VERIFY_HEADER)
        .is_some_and(|v| v.as_bytes() == b"SUCCESS");
    let value = headers.get(header_name)?.to_str().ok()?;
    if !verified || value.len() > MAX_PROXY_CERT {
        return None;
    }
    let pem = percent_decode(value)?;
    let body: String = pem
        .lines()
        .map(str::trim)
        .skip_while(|l| *l != "-----BEGIN CERTIFICATE-----")
        .skip(1)
        .take_while(|l| *l != "-----END CERTIFICATE-----")
        .collect();
    let der = STANDARD.decode(body).ok()?;
    (!der.is_empty()).then_some(PeerCertificate(der))
}

/// `%XX` escapes decoded (and `+` kept: PEM base64 uses it literally).
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn normalise(hex_fingerprint: &str) -> String {
    hex_fingerprint
        .chars()
        .filter(|c| *c != ':')
        .flat_map(char::to_lowercase)
        .collect()
}

/// Whether the connection's certificate is bound to the token. `Ok(true)`: it is (the request
/// is `mtls+jwt`); `Ok(false)`: no certificate is involved; `Err(Certificate)`: a certificate
/// is required or bound but missing, or belongs to someone else.
pub fn check_binding(
    config: Option<&ClientCertificates>,
    client_id: Option<&str>,
    token_thumbprint: Option<&str>,
    peer_der: Option<&[u8]>,
) -> Result<bool, AuthError> {
    let required = client_id
        .is_some_and(|c| config.is_some_and(|cfg| cfg.required_for_clients.iter().any(|r| r == c)));
    let configured: Vec<String> = match (config, client_id) {
        (Some(cfg), Some(client)) => cfg
            .fingerprints
            .get(client)
            .map(|list| list.iter().map(|f| normalise(f)).collect())
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    let Some(der) = peer_der else {
        return if required || token_thumbprint.is_some() {
            Err(AuthError::Certificate)
        } else {
            Ok(false)
        };
    };
    if token_thumbprint.is_some_and(|t| t != thumbprint(der)) {
        return Err(AuthError::Certificate);
    }
    let by_config = configured.contains(&fingerprint(der));
    if !configured.is_empty() && !by_config {
        return Err(AuthError::Certificate);
    }
    let bound = by_config || token_thumbprint.is_some();
    if required && !bound {
        return Err(AuthError::Certificate);
    }
    Ok(bound)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    const CERT: &[u8] = b"certificate one";
    const OTHER: &[u8] = b"certificate two";

    fn config() -> ClientCertificates {
        ClientCertificates {
            ca_pem: "-----BEGIN CERTIFICATE-----".into(),
            required_for_clients: vec!["nomis-adapter".into()],
            fingerprints: BTreeMap::from([(
                "nomis-adapter".to_owned(),
                vec![fingerprint(CERT).to_uppercase()],
            )]),
            proxy_header: None,
        }
    }

    fn proxied(cert: Option<&str>, verify: Option<&str>) -> Option<PeerCertificate> {
        let mut headers = HeaderMap::new();
        if let Some(c) = cert {
            headers.insert("x-client-cert", c.parse().unwrap());
        }
        if let Some(v) = verify {
            headers.insert(PROXY_VERIFY_HEADER, v.parse().unwrap());
        }
        from_proxy_header(&headers, "x-client-cert")
    }

    #[test]
    fn a_proxied_certificate_is_read_only_when_the_proxy_verified_it() {
        // nginx's `$ssl_client_escaped_cert`: the PEM with `%0A` for newlines, `+` and `/` kept.
        let b64 = STANDARD.encode(b"a DER certificate+/");
        let pem = format!("-----BEGIN%20CERTIFICATE-----%0A{b64}%0A-----END%20CERTIFICATE-----%0A");
        let read = proxied(Some(&pem), Some("SUCCESS")).expect("read");
        assert_eq!(read.0, b"a DER certificate+/");
        assert!(proxied(Some(&pem), Some("FAILED:unable to verify")).is_none());
        assert!(proxied(Some(&pem), None).is_none());
        assert!(proxied(None, Some("SUCCESS")).is_none());
        assert!(proxied(Some("forged"), Some("SUCCESS")).is_none());
        assert!(proxied(Some("%zz%0"), Some("SUCCESS")).is_none());
        let huge = "A".repeat(MAX_PROXY_CERT + 1);
        assert!(proxied(Some(&huge), Some("SUCCESS")).is_none());
    }

    #[test]
    fn a_required_client_needs_its_own_certificate() {
        let cfg = config();
        let c = Some("nomis-adapter");
        assert_eq!(check_binding(Some(&cfg), c, None, Some(CERT)), Ok(true));
        assert_eq!(
            check_binding(Some(&cfg), c, None, None),
            Err(AuthError::Certificate)
        );
        assert_eq!(
            check_binding(Some(&cfg), c, None, Some(OTHER)),
            Err(AuthError::Certificate)
        );
    }

    #[test]
    fn a_certificate_bound_token_needs_that_certificate() {
        let t = thumbprint(CERT);
        assert_eq!(
            check_binding(None, Some("app"), Some(&t), Some(CERT)),
            Ok(true)
        );
        assert_eq!(
            check_binding(None, Some("app"), Some(&t), Some(OTHER)),
            Err(AuthError::Certificate)
        );
        assert_eq!(
            check_binding(None, Some("app"), Some(&t), None),
            Err(AuthError::Certificate)
        );
    }

    #[test]
    fn other_clients_need_no_certificate() {
        let cfg = config();
        assert_eq!(
            check_binding(Some(&cfg), Some("gp-app"), None, None),
            Ok(false)
        );
        assert_eq!(
            check_binding(Some(&cfg), Some("gp-app"), None, Some(OTHER)),
            Ok(false)
        );
        assert_eq!(check_binding(None, None, None, None), Ok(false));
    }
}
