//! The authentication config (`version: 1`), JSON like the hub's other config files
//! (subscriptions, feed health): who may issue tokens, which keys sign them, how their claims
//! map to Waymark roles, where each organisation may connect from, and the lock-out policy.
//! [`AuthConfig::validate`] (in `validate.rs`) refuses what production must never accept.

use std::collections::BTreeMap;

use jsonwebtoken::{Algorithm, jwk::Jwk};
use serde::{Deserialize, Serialize};
use waymark_core::Role;

use super::IngestClient;

use super::cidr::Cidr;

/// The config format version this build reads.
pub const AUTH_CONFIG_VERSION: u32 = 1;

/// Development (the embedded hub, its development token issuer) or production.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Accepts the development issuer and HMAC keys; JWKS over plain HTTP.
    Development,
    /// Asymmetric algorithms only, no development issuer, JWKS over HTTPS only.
    #[default]
    Production,
}

/// The whole authentication config.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// Format version: `1`.
    pub version: u32,
    /// `production` (the default) or `development`.
    #[serde(default)]
    pub mode: Mode,
    /// Clock skew allowed on `exp`, `nbf` and `iat` (seconds).
    #[serde(default = "defaults::leeway")]
    pub leeway_secs: u64,
    /// Longer bearer tokens are refused unread (bytes).
    #[serde(default = "defaults::max_token_bytes")]
    pub max_token_bytes: usize,
    /// The token issuers the hub trusts.
    pub issuers: Vec<IssuerConfig>,
    /// Per organisation (by the organisation claim, e.g. an ODS code): its IP allow-list.
    #[serde(default)]
    pub organisations: BTreeMap<String, OrganisationConfig>,
    /// Refuse organisations that have no allow-list (otherwise they may connect from anywhere).
    #[serde(default)]
    pub require_ip_allow_list: bool,
    /// Proxies whose `X-Forwarded-For` is believed. Empty (the default): the header is ignored.
    #[serde(default)]
    pub trusted_proxies: Vec<Cidr>,
    /// Lock-out after repeated failures.
    #[serde(default)]
    pub lockout: LockoutConfig,
    /// Per-caller request rate limit.
    #[serde(default)]
    pub rate_limit: RateLimitConfig,
    /// Mutual TLS for system clients.
    #[serde(default)]
    pub client_certificates: Option<ClientCertificates>,
    /// The systems that push their messages to `POST /ingest/{source}`: which authenticated
    /// client is which source. A caller no entry names cannot push at all.
    #[serde(default)]
    pub ingest: Vec<IngestClient>,
}

/// One trusted token issuer.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuerConfig {
    /// The exact `iss` value.
    pub issuer: String,
    /// Accepted `aud` values; a token must name at least one.
    pub audiences: Vec<String>,
    /// Accepted `alg` values (`none` is not an algorithm and cannot be listed).
    pub algorithms: Vec<Algorithm>,
    /// Keys given inline.
    #[serde(default)]
    pub keys: Vec<KeyConfig>,
    /// Keys fetched from the issuer's JWKS document.
    #[serde(default)]
    pub jwks: Option<JwksConfig>,
    /// Where the role, organisation and client are found in this issuer's tokens.
    #[serde(default)]
    pub claims: ClaimsConfig,
    /// Role codes of this issuer → Waymark roles. Unmapped codes are refused.
    pub roles: Vec<RoleCode>,
}

/// One inline key: exactly one of `pem`, `jwk`, `secret_base64`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyConfig {
    /// Key id matched against the token's `kid` (default: the JWK's own `kid`).
    #[serde(default)]
    pub kid: Option<String>,
    /// The one algorithm this key verifies (default: the JWK's own `alg`).
    #[serde(default)]
    pub alg: Option<Algorithm>,
    /// A public key, PEM (`-----BEGIN PUBLIC KEY-----`, or PKCS#1 for RSA).
    #[serde(default)]
    pub pem: Option<String>,
    /// A public key as a JWK.
    #[serde(default)]
    pub jwk: Option<Jwk>,
    /// An HMAC secret, base64 (development only).
    #[serde(default)]
    pub secret_base64: Option<String>,
}

/// Where an issuer publishes its keys.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JwksConfig {
    /// The JWKS URL (HTTPS in production).
    pub url: String,
    /// Fetched again after this long (seconds).
    #[serde(default = "defaults::jwks_refresh")]
    pub refresh_secs: u64,
    /// A token with an unknown `kid` fetches again at most this often (seconds).
    #[serde(default = "defaults::jwks_min_refresh")]
    pub min_refresh_secs: u64,
    /// A fetch is abandoned after this long (milliseconds).
    #[serde(default = "defaults::jwks_timeout")]
    pub timeout_ms: u64,
}

/// Claim paths are dotted (`a.b.c`) through JSON objects.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClaimsConfig {
    /// An array of role entries (CIS2: `nhsid_nrbac_roles`); absent: the token itself is the
    /// one entry.
    pub role_entries: Option<String>,
    /// Keep only the entry the user selected (CIS2: claim `selected_roleid`, entry field
    /// `person_roleid`).
    pub selected_role: Option<SelectedRole>,
    /// The role code(s), inside an entry (CIS2: `role_code`); a string or array of strings.
    pub role_code: String,
    /// The organisation code, inside the entry, else at the top level (CIS2: `org_code`).
    pub organisation: String,
    /// The client id, at the top level; the first present wins.
    pub client_id: Vec<String>,
}

/// How the user's selected role entry is found.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SelectedRole {
    /// The top-level claim holding the selected entry's id.
    pub claim: String,
    /// The field of each entry holding its id.
    pub field: String,
}

/// One role code → one Waymark role.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleCode {
    /// The issuer's code (e.g. a CIS2 role code).
    pub code: String,
    /// The Waymark role.
    pub role: Role,
    /// A registered health professional (a registered nurse, not an L&D support worker).
    #[serde(default)]
    pub registered: bool,
}

/// One organisation's network rules.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrganisationConfig {
    /// The blocks its users and systems may connect from. Empty: anywhere (unless
    /// `require_ip_allow_list`).
    #[serde(default)]
    pub ip_allow: Vec<Cidr>,
}

/// N failures within a window lock the source address (or the authenticated client) out.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LockoutConfig {
    /// Failures that lock.
    pub max_failures: u32,
    /// ... counted over this many seconds.
    pub window_secs: u64,
    /// Locked for this many seconds.
    pub lock_secs: u64,
    /// Most sources tracked at once (the oldest are forgotten first).
    pub max_tracked: usize,
}

/// At most `requests` per `per_secs` per authenticated caller (issuer + subject: a user, or a
/// system client); `requests: 0` turns it off.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimitConfig {
    /// Requests allowed per window.
    pub requests: u32,
    /// Window length (seconds).
    pub per_secs: u64,
}

/// Mutual TLS for system clients. The TLS layer verifies the chain against `ca_pem`; the
/// authenticator binds the certificate to the token (see [`super::mtls`]).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientCertificates {
    /// The CA that issues client certificates (PEM).
    pub ca_pem: String,
    /// Client ids that must present a certificate.
    #[serde(default)]
    pub required_for_clients: Vec<String>,
    /// Per client id: SHA-256 fingerprints (hex) of its certificates.
    #[serde(default)]
    pub fingerprints: BTreeMap<String, Vec<String>>,
    /// TLS terminated by a proxy in front of the hub (`docs/tls.md`): the request header in
    /// which the proxy passes the client certificate it verified, URL-encoded PEM, with
    /// `X-Client-Verify: SUCCESS` (nginx: `$ssl_client_escaped_cert`, `$ssl_client_verify`).
    /// Believed only from an address in `trusted_proxies`; unset (the default): never read.
    #[serde(default)]
    pub proxy_header: Option<String>,
}

mod defaults {
    pub(super) fn leeway() -> u64 {
        60
    }
    pub(super) fn max_token_bytes() -> usize {
        16 * 1024
    }
    pub(super) fn jwks_refresh() -> u64 {
        3600
    }
    pub(super) fn jwks_min_refresh() -> u64 {
        60
    }
    pub(super) fn jwks_timeout() -> u64 {
        5000
    }
}

impl Default for ClaimsConfig {
    fn default() -> Self {
        Self {
            role_entries: None,
            selected_role: None,
            role_code: "role".to_owned(),
            organisation: "org".to_owned(),
            client_id: vec!["client_id".to_owned(), "azp".to_owned()],
        }
    }
}

impl Default for LockoutConfig {
    fn default() -> Self {
        Self {
            max_failures: 10,
            window_secs: 300,
            lock_secs: 900,
            max_tracked: 100_000,
        }
    }
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            requests: 1200,
            per_secs: 60,
        }
    }
}
