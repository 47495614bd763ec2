//! Verifying one bearer token against the trusted issuers: shape and size, issuer, algorithm,
//! key, signature, then the registered claims (`aud`, `exp`, `nbf`, `iat`, `sub`, `jti`) against
//! the authenticator's clock. The token's own claims pick the issuer before the signature is
//! checked; nothing it says is believed until then.

use jsonwebtoken::{Algorithm, Header, Validation, errors::ErrorKind};
use serde::Deserialize;
use serde_json::Value;

use super::{
    config::{AuthConfig, IssuerConfig, Mode},
    dev::DEV_ISSUER,
    error::{AuthError, ConfigError},
    jwks::Jwks,
    keys::{VerifierKey, inline_keys},
};

/// A trusted issuer with its keys.
pub(crate) struct Issuer {
    pub config: IssuerConfig,
    inline: Vec<VerifierKey>,
    jwks: Option<Jwks>,
}

impl Issuer {
    pub fn new(config: IssuerConfig) -> Result<Self, ConfigError> {
        let inline = inline_keys(&config)?;
        let jwks = match &config.jwks {
            Some(jwks) => Some(Jwks::new(&config.issuer, jwks)?),
            None => None,
        };
        Ok(Self {
            config,
            inline,
            jwks,
        })
    }

    /// The key to check a token with `alg` and `kid` against.
    async fn key(
        &self,
        alg: Algorithm,
        kid: Option<&str>,
        now: i64,
    ) -> Result<VerifierKey, AuthError> {
        let mut keys = self.inline.clone();
        if let Some(jwks) = &self.jwks {
            keys.extend(jwks.keys(now, kid).await?.iter().cloned());
        }
        let named: Vec<&VerifierKey> = match kid {
            Some(k) => keys
                .iter()
                .filter(|key| key.kid.as_deref() == Some(k))
                .collect(),
            None => keys.iter().collect(),
        };
        if named.is_empty() {
            return Err(AuthError::UnknownKey);
        }
        let mut fitting = named.into_iter().filter(|key| key.fits(alg));
        match (fitting.next(), fitting.next(), kid) {
            (Some(key), None, _) | (Some(key), Some(_), Some(_)) => Ok(key.clone()),
            (Some(_), Some(_), None) => Err(AuthError::UnknownKey),
            (None, _, _) => Err(AuthError::Algorithm),
        }
    }
}

/// A token that verified: its issuer (index), its claims and its key id.
pub(crate) struct Verified {
    pub issuer: usize,
    pub claims: Value,
    pub kid: Option<String>,
    pub subject: String,
    pub token_id: String,
    pub expires_at: i64,
}

/// Verifies `token`'s signature and registered claims.
pub(crate) async fn verify(
    config: &AuthConfig,
    issuers: &[Issuer],
    token: &str,
    now: i64,
) -> Result<Verified, AuthError> {
    if token.len() > config.max_token_bytes || token.split('.').count() != 3 {
        return Err(AuthError::Malformed);
    }
    let header = jsonwebtoken::decode_header(token).map_err(|_| AuthError::Malformed)?;
    let index = issuer_of(config, issuers, token)?;
    let issuer = &issuers[index];
    if !issuer.config.algorithms.contains(&header.alg) {
        return Err(AuthError::Algorithm);
    }
    let key = issuer.key(header.alg, header.kid.as_deref(), now).await?;
    let claims = check_signature(token, &header, &key)?;
    let leeway = i64::try_from(config.leeway_secs).unwrap_or(i64::MAX);
    let checked = check_claims(&claims, &issuer.config.audiences, now, leeway)?;
    Ok(Verified {
        issuer: index,
        claims,
        kid: header.kid,
        subject: checked.subject,
        token_id: checked.token_id,
        expires_at: checked.expires_at,
    })
}

/// The trusted issuer the (not yet verified) token names.
fn issuer_of(config: &AuthConfig, issuers: &[Issuer], token: &str) -> Result<usize, AuthError> {
    #[derive(Deserialize)]
    struct Iss {
        iss: Option<Value>,
    }
    let claims: Iss =
        jsonwebtoken::dangerous::insecure_decode_claims(token).map_err(|_| AuthError::Malformed)?;
    let Some(Value::String(iss)) = claims.iss else {
        return Err(AuthError::Claim("iss"));
    };
    if iss == DEV_ISSUER && config.mode == Mode::Production {
        return Err(AuthError::DevelopmentIssuer);
    }
    issuers
        .iter()
        .position(|i| i.config.issuer == iss)
        .ok_or(AuthError::UnknownIssuer)
}

fn check_signature(token: &str, header: &Header, key: &VerifierKey) -> Result<Value, AuthError> {
    let mut validation = Validation::new(header.alg);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    match jsonwebtoken::decode::<Value>(token, &key.key, &validation) {
        Ok(data) if data.claims.is_object() => Ok(data.claims),
        Ok(_) => Err(AuthError::Malformed),
        Err(err) => Err(match err.kind() {
            ErrorKind::InvalidAlgorithm | ErrorKind::InvalidKeyFormat => AuthError::Algorithm,
            ErrorKind::InvalidSignature
            | ErrorKind::InvalidEcdsaKey
            | ErrorKind::InvalidEddsaKey
            | ErrorKind::InvalidRsaKey(_) => AuthError::Signature,
            _ => AuthError::Malformed,
        }),
    }
}

struct Checked {
    subject: String,
    token_id: String,
    expires_at: i64,
}

/// `aud`, `exp` (required), `nbf`, `iat`, `sub` and `jti` (required).
fn check_claims(
    claims: &Value,
    audiences: &[String],
    now: i64,
    leeway: i64,
) -> Result<Checked, AuthError> {
    let aud_ok = match claims.get("aud") {
        Some(Value::String(a)) => audiences.contains(a),
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(Value::as_str)
            .any(|a| audiences.iter().any(|ok| ok == a)),
        _ => false,
    };
    if !aud_ok {
        return Err(AuthError::Audience);
    }
    let expires_at = numeric(claims, "exp")?.ok_or(AuthError::Claim("exp"))?;
    if now >= expires_at.saturating_add(leeway) {
        return Err(AuthError::Expired);
    }
    if numeric(claims, "nbf")?.is_some_and(|nbf| now.saturating_add(leeway) < nbf) {
        return Err(AuthError::NotYetValid);
    }
    if numeric(claims, "iat")?.is_some_and(|iat| iat > now.saturating_add(leeway)) {
        return Err(AuthError::NotYetValid);
    }
    Ok(Checked {
        subject: text(claims, "sub")?,
        token_id: text(claims, "jti")?,
        expires_at,
    })
}

/// A `NumericDate` claim, if present (whole seconds; fractions are dropped).
fn numeric(claims: &Value, name: &'static str) -> Result<Option<i64>, AuthError> {
    match claims.get(name) {
        None => Ok(None),
        Some(v) => match v.as_i64() {
            Some(n) => Ok(Some(n)),
            None => v
                .as_f64()
                .filter(|f| f.is_finite() && f.abs() < 1e15)
                .map(|f| Some(f.floor() as i64))
                .ok_or(AuthError::Claim(name)),
        },
    }
}

/// A required non-empty string claim.
fn text(claims: &Value, name: &'static str) -> Result<String, AuthError> {
    match claims.get(name) {
        Some(Value::String(s)) if !s.is_empty() && s.len() <= 1024 => Ok(s.clone()),
        _ => Err(AuthError::Claim(name)),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn check(claims: Value, now: i64) -> Result<Checked, AuthError> {
        check_claims(&claims, &["hub".to_owned()], now, 10)
    }

    #[test]
    fn registered_claims_are_checked_with_leeway() {
        let ok =
            json!({"aud": ["x", "hub"], "exp": 100, "nbf": 50, "iat": 50, "sub": "s", "jti": "j"});
        assert!(check(ok.clone(), 60).is_ok());
        assert!(check(ok.clone(), 109).is_ok());
        assert!(matches!(check(ok.clone(), 110), Err(AuthError::Expired)));
        assert!(check(ok.clone(), 41).is_ok());
        assert!(matches!(check(ok, 39), Err(AuthError::NotYetValid)));
    }

    #[test]
    fn missing_or_wrong_claims_are_named_not_quoted() {
        let base = json!({"aud": "hub", "exp": 100.5, "sub": "s", "jti": "j"});
        assert!(check(base.clone(), 0).is_ok());
        let mut no_jti = base.clone();
        no_jti.as_object_mut().unwrap().remove("jti");
        assert!(matches!(check(no_jti, 0), Err(AuthError::Claim("jti"))));
        let mut bad_exp = base.clone();
        bad_exp["exp"] = json!("tomorrow");
        assert!(matches!(check(bad_exp, 0), Err(AuthError::Claim("exp"))));
        let mut other_aud = base;
        other_aud["aud"] = json!("elsewhere");
        assert!(matches!(check(other_aud, 0), Err(AuthError::Audience)));
    }
}
