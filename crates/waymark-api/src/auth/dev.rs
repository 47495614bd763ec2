//! The development token issuer of the embedded hub: an Ed25519 key generated once and kept in
//! `<data-dir>/dev-issuer/ed25519.p8` (owner-only), an issuer config that trusts it, and token
//! minting for `waymark token` and for tests. Production mode refuses this issuer
//! ([`super::AuthConfig::validate`] and, at run time, [`super::AuthError::DevelopmentIssuer`]).

use std::{
    io::Write as _,
    path::{Path, PathBuf},
};

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use ring::{
    rand::SystemRandom,
    signature::{Ed25519KeyPair, KeyPair as _},
};
use serde_json::{Value, json};
use waymark_core::{ErrorCode, IssueType, Role};

use super::config::{
    AUTH_CONFIG_VERSION, AuthConfig, ClaimsConfig, IssuerConfig, KeyConfig, Mode, RoleCode,
};

/// The development issuer's `iss`.
pub const DEV_ISSUER: &str = "urn:waymark:development-issuer";
/// The audience of development tokens.
pub const DEV_AUDIENCE: &str = "waymark";
/// The client id of development tokens.
pub const DEV_CLIENT: &str = "waymark-dev";
/// The key file, under `<data-dir>/dev-issuer/`.
const KEY_FILE: &str = "ed25519.p8";

/// The development key could not be made, read or used.
#[derive(Debug, thiserror::Error)]
pub enum DevError {
    /// The key file could not be read or written.
    #[error("development key {path}: {reason}")]
    Io {
        /// The key file.
        path: PathBuf,
        /// The IO error.
        reason: String,
    },
    /// The key file does not hold an Ed25519 PKCS#8 key.
    #[error("development key file is not an Ed25519 PKCS#8 key")]
    BadKey,
    /// Signing failed.
    #[error("development token could not be signed")]
    Signing,
}

impl ErrorCode for DevError {
    fn code(&self) -> &'static str {
        match self {
            Self::Io { .. } => "auth.dev.io",
            Self::BadKey => "auth.dev.key",
            Self::Signing => "auth.dev.signing",
        }
    }

    fn issue_type(&self) -> IssueType {
        IssueType::Exception
    }
}

/// What a development token says.
#[derive(Clone, Debug)]
pub struct DevToken {
    /// `sub`.
    pub subject: String,
    /// The Waymark role.
    pub role: Role,
    /// A registered health professional.
    pub registered: bool,
    /// The organisation code (e.g. an ODS code).
    pub organisation: String,
    /// Lifetime (seconds).
    pub ttl_secs: u64,
}

/// The development issuer's key.
pub struct DevIssuer {
    pkcs8: Vec<u8>,
    public: Vec<u8>,
    kid: String,
}

impl std::fmt::Debug for DevIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevIssuer")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// The role code of development tokens: the Waymark role, `+registered` when registered.
pub fn dev_role_code(role: Role, registered: bool) -> String {
    if registered {
        format!("{}+registered", role.code())
    } else {
        role.code().to_owned()
    }
}

impl DevIssuer {
    /// A fresh key, kept in memory only (tests).
    pub fn generate() -> Result<Self, DevError> {
        let doc =
            Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).map_err(|_| DevError::Signing)?;
        Self::from_pkcs8(doc.as_ref())
    }

    /// The key in `<data_dir>/dev-issuer/`, generated on first use.
    pub fn load_or_create(data_dir: &Path) -> Result<Self, DevError> {
        let dir = data_dir.join("dev-issuer");
        let path = dir.join(KEY_FILE);
        let io = |e: std::io::Error| DevError::Io {
            path: path.clone(),
            reason: e.to_string(),
        };
        match std::fs::read(&path) {
            Ok(bytes) => return Self::from_pkcs8(&bytes),
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(e)),
            Err(_) => {}
        }
        std::fs::create_dir_all(&dir).map_err(io)?;
        let issuer = Self::generate()?;
        let mut file = owner_only(&path).map_err(io)?;
        file.write_all(&issuer.pkcs8)
            .and_then(|()| file.sync_all())
            .map_err(io)?;
        Ok(issuer)
    }

    fn from_pkcs8(pkcs8: &[u8]) -> Result<Self, DevError> {
        let pair =
            Ed25519KeyPair::from_pkcs8_maybe_unchecked(pkcs8).map_err(|_| DevError::BadKey)?;
        let public = pair.public_key().as_ref().to_vec();
        let digest = ring::digest::digest(&ring::digest::SHA256, &public);
        Ok(Self {
            pkcs8: pkcs8.to_vec(),
            kid: format!("dev-{}", &hex::encode(digest)[..16]),
            public,
        })
    }

    /// The key id in tokens.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key as a JWK.
    pub fn public_jwk(&self) -> Value {
        json!({
            "kty": "OKP", "crv": "Ed25519", "use": "sig", "alg": "EdDSA",
            "kid": self.kid, "x": URL_SAFE_NO_PAD.encode(&self.public),
        })
    }

    /// The issuer config that trusts this key: every Waymark role, by its code (see
    /// [`dev_role_code`]), organisation in `org`.
    pub fn issuer_config(&self) -> IssuerConfig {
        let roles = Role::ALL
            .iter()
            .flat_map(|role| [false, true].map(|registered| (*role, registered)))
            .map(|(role, registered)| RoleCode {
                code: dev_role_code(role, registered),
                role,
                registered,
            })
            .collect();
        IssuerConfig {
            issuer: DEV_ISSUER.to_owned(),
            audiences: vec![DEV_AUDIENCE.to_owned()],
            algorithms: vec![Algorithm::EdDSA],
            keys: vec![KeyConfig {
                jwk: serde_json::from_value(self.public_jwk()).ok(),
                ..KeyConfig::default()
            }],
            jwks: None,
            claims: ClaimsConfig::default(),
            roles,
        }
    }

    /// A development config: this issuer only, development mode, default lock-out.
    pub fn development_config(&self) -> AuthConfig {
        AuthConfig {
            version: AUTH_CONFIG_VERSION,
            mode: Mode::Development,
            leeway_secs: 60,
            max_token_bytes: 16 * 1024,
            issuers: vec![self.issuer_config()],
            organisations: Default::default(),
            require_ip_allow_list: false,
            trusted_proxies: Vec::new(),
            lockout: Default::default(),
            rate_limit: Default::default(),
            client_certificates: None,
            ingest: Vec::new(),
        }
    }

    /// The claims of a development token issued at `now`.
    pub fn claims(&self, token: &DevToken, now: i64) -> Value {
        let ttl = i64::try_from(token.ttl_secs).unwrap_or(i64::MAX);
        json!({
            "iss": DEV_ISSUER, "aud": DEV_AUDIENCE, "sub": token.subject,
            "jti": uuid::Uuid::new_v4().to_string(),
            "iat": now, "nbf": now, "exp": now.saturating_add(ttl),
            "client_id": DEV_CLIENT, "org": token.organisation,
            "role": dev_role_code(token.role, token.registered),
        })
    }

    /// A signed development token issued at `now`.
    pub fn issue(&self, token: &DevToken, now: i64) -> Result<String, DevError> {
        self.sign(&self.claims(token, now))
    }

    /// Signs any claims with the development key (tests craft odd tokens with it).
    pub fn sign(&self, claims: &Value) -> Result<String, DevError> {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &EncodingKey::from_ed_der(&self.pkcs8))
            .map_err(|_| DevError::Signing)
    }
}

#[cfg(unix)]
fn owner_only(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt as _;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn owner_only(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_made_once_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let first = DevIssuer::load_or_create(dir.path()).unwrap();
        let again = DevIssuer::load_or_create(dir.path()).unwrap();
        assert_eq!(first.kid(), again.kid());
        assert!(first.kid().starts_with("dev-"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let path = dir.path().join("dev-issuer").join(KEY_FILE);
            let mode = std::fs::metadata(path).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "owner only");
        }
        assert!(!format!("{first:?}").contains("pkcs8"));
    }

    #[test]
    fn the_issuer_config_maps_every_role_both_ways() {
        let issuer = DevIssuer::generate().unwrap();
        let config = issuer.issuer_config();
        assert_eq!(config.roles.len(), Role::ALL.len() * 2);
        assert!(config.roles.contains(&RoleCode {
            code: "liaison-diversion+registered".into(),
            role: Role::LiaisonDiversion,
            registered: true,
        }));
        assert!(issuer.development_config().validate().is_ok());
    }
}
