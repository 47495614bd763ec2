//! Mutual TLS for system clients: binding the client certificate to the token.
//!
//! The TLS layer (not served by this crate yet) verifies the certificate chain against
//! `client_certificates.ca_pem` and puts the peer's leaf certificate in the request extensions
//! as a [`PeerCertificate`]. [`check_binding`] then decides whether that certificate belongs to
//! the token's client: by the token's own confirmation claim (`cnf.x5t#S256`, RFC 8705) and/or
//! by the SHA-256 fingerprints configured for the client. A client listed in
//! `required_for_clients` must present a bound certificate.

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
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
        }
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
