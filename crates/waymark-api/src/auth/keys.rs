//! Verification keys: inline (PEM, JWK, or an HMAC secret in development) or from an issuer's
//! JWKS document (see `jwks.rs`).
//!
//! Each key belongs to one algorithm family and, when its config or JWK says so, to one
//! algorithm; a token is only ever checked with a key that fits its `alg`, so an RSA public key
//! can never be used as an HMAC secret.

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{
    Algorithm, AlgorithmFamily, DecodingKey,
    jwk::{AlgorithmParameters, EllipticCurve, Jwk, PublicKeyUse},
};

use super::{
    config::{IssuerConfig, KeyConfig},
    error::ConfigError,
};

/// One key a token may be verified with.
#[derive(Clone)]
pub(crate) struct VerifierKey {
    /// Matched against the token's `kid`.
    pub kid: Option<String>,
    family: AlgorithmFamily,
    alg: Option<Algorithm>,
    /// The key itself.
    pub key: DecodingKey,
}

impl VerifierKey {
    /// Whether this key may verify a token signed with `alg`.
    pub fn fits(&self, alg: Algorithm) -> bool {
        self.family == alg.family() && self.alg.is_none_or(|a| a == alg)
    }
}

/// The inline keys of an issuer.
pub(crate) fn inline_keys(issuer: &IssuerConfig) -> Result<Vec<VerifierKey>, ConfigError> {
    issuer
        .keys
        .iter()
        .enumerate()
        .map(|(index, config)| {
            let key = from_config(config).map_err(|reason| ConfigError::Key {
                issuer: issuer.issuer.clone(),
                index,
                reason,
            })?;
            match key.alg {
                Some(alg) if issuer.algorithms.contains(&alg) => Ok(key),
                _ => Err(ConfigError::Key {
                    issuer: issuer.issuer.clone(),
                    index,
                    reason: "the key's alg is not one of the issuer's algorithms",
                }),
            }
        })
        .collect()
}

fn from_config(config: &KeyConfig) -> Result<VerifierKey, &'static str> {
    let mut key = match (&config.pem, &config.jwk, &config.secret_base64) {
        (Some(pem), None, None) => from_pem(pem, config.alg)?,
        (None, Some(jwk), None) => from_jwk(jwk)?,
        (None, None, Some(secret)) => from_secret(secret, config.alg)?,
        _ => return Err("give exactly one of pem, jwk, secret_base64"),
    };
    if let Some(alg) = config.alg {
        if alg.family() != key.family || key.alg.is_some_and(|a| a != alg) {
            return Err("the key does not fit its alg");
        }
        key.alg = Some(alg);
    }
    if config.kid.is_some() {
        key.kid.clone_from(&config.kid);
    }
    if key.alg.is_none() {
        return Err("the key needs an alg");
    }
    Ok(key)
}

fn from_pem(pem: &str, alg: Option<Algorithm>) -> Result<VerifierKey, &'static str> {
    if pem.contains("PRIVATE KEY") {
        return Err("a private key; give the public key");
    }
    let alg = alg.ok_or("a PEM key needs an alg")?;
    let bytes = pem.as_bytes();
    let key = match alg.family() {
        AlgorithmFamily::Rsa => DecodingKey::from_rsa_pem(bytes),
        AlgorithmFamily::Ec => DecodingKey::from_ec_pem(bytes),
        AlgorithmFamily::Ed => DecodingKey::from_ed_pem(bytes)
            .and_then(|k| ed_length_ok(&k).then_some(k).ok_or_else(bad_ed)),
        AlgorithmFamily::Hmac => return Err("HMAC keys are given as secret_base64"),
    }
    .map_err(|_| "the PEM is not a public key of the alg's family")?;
    Ok(VerifierKey {
        kid: None,
        family: alg.family(),
        alg: Some(alg),
        key,
    })
}

fn from_secret(secret: &str, alg: Option<Algorithm>) -> Result<VerifierKey, &'static str> {
    let alg = alg.ok_or("a secret needs an alg")?;
    if alg.family() != AlgorithmFamily::Hmac {
        return Err("a secret is for HMAC algorithms only");
    }
    let key = DecodingKey::from_base64_secret(secret).map_err(|_| "the secret is not base64")?;
    Ok(VerifierKey {
        kid: None,
        family: AlgorithmFamily::Hmac,
        alg: Some(alg),
        key,
    })
}

/// A public key from a JWK. Symmetric (`oct`), encryption (`use: enc`) and unknown keys are
/// refused, as are points of the wrong size.
pub(crate) fn from_jwk(jwk: &Jwk) -> Result<VerifierKey, &'static str> {
    if jwk.common.public_key_use == Some(PublicKeyUse::Encryption) {
        return Err("an encryption key");
    }
    let alg = match jwk.common.key_algorithm {
        Some(ka) => Some(Algorithm::try_from(ka).map_err(|_| "not a signature algorithm")?),
        None => None,
    };
    let (family, alg, key) = match &jwk.algorithm {
        AlgorithmParameters::RSA(p) => {
            let key = DecodingKey::from_rsa_components(&p.n, &p.e).map_err(|_| "bad RSA key")?;
            (AlgorithmFamily::Rsa, alg, key)
        }
        AlgorithmParameters::EllipticCurve(p) => {
            let (size, curve_alg) = match p.curve {
                EllipticCurve::P256 => (32, Algorithm::ES256),
                EllipticCurve::P384 => (48, Algorithm::ES384),
                _ => return Err("unsupported curve"),
            };
            if b64_len(&p.x) != Some(size) || b64_len(&p.y) != Some(size) {
                return Err("bad EC point");
            }
            let key = DecodingKey::from_ec_components(&p.x, &p.y).map_err(|_| "bad EC key")?;
            (AlgorithmFamily::Ec, Some(alg.unwrap_or(curve_alg)), key)
        }
        AlgorithmParameters::OctetKeyPair(p) => {
            if p.curve != EllipticCurve::Ed25519 || b64_len(&p.x) != Some(32) {
                return Err("bad Ed25519 key");
            }
            let key = DecodingKey::from_ed_components(&p.x).map_err(|_| "bad Ed25519 key")?;
            (
                AlgorithmFamily::Ed,
                Some(alg.unwrap_or(Algorithm::EdDSA)),
                key,
            )
        }
        _ => return Err("unsupported key type"),
    };
    if alg.is_some_and(|a| a.family() != family) {
        return Err("the JWK's alg does not fit its key type");
    }
    Ok(VerifierKey {
        kid: jwk.common.key_id.clone(),
        family,
        alg,
        key,
    })
}

fn b64_len(text: &str) -> Option<usize> {
    URL_SAFE_NO_PAD.decode(text).ok().map(|b| b.len())
}

fn ed_length_ok(key: &DecodingKey) -> bool {
    key.try_get_as_bytes().is_ok_and(|b| b.len() == 32)
}

fn bad_ed() -> jsonwebtoken::errors::Error {
    jsonwebtoken::errors::ErrorKind::InvalidEddsaKey.into()
}
