//! Authentication for the API (issue 10): bearer JWTs verified against configured issuers,
//! their role claims mapped to Waymark roles, per-organisation IP allow-lists, lock-out and rate
//! limiting, revocation that takes effect at once, optional mutual TLS for system clients, and
//! the development token issuer of the embedded hub.
//!
//! - [`AuthConfig`] — the config (JSON, `version: 1`), validated: production refuses the
//!   development issuer, HMAC algorithms and plain-HTTP JWKS.
//! - [`Authenticator`] — one per hub: [`Authenticator::authenticate`] turns a request's
//!   [`Credentials`] into a [`Principal`] or an [`AuthError`] (401 / 403 / 429 / 503, each an
//!   `OperationOutcome` that never quotes the token or its claims).
//! - [`require_auth`] / [`protect`] and the [`Authenticated`] extractor — the axum side.
//! - [`Revocations`] — revoke by token id, subject, client or key id; [`RevocationSource`] is
//!   the persistence hook.
//! - [`AuthObserver`] — every [`AuthOutcome`] goes to the audit trail through it.
//! - [`dev`] — the development issuer and `waymark token`.
//!
//! Order of checks: lock-out of the source address; bearer token shape and size; issuer;
//! algorithm allowed for the issuer; key (by `kid`, refreshing the JWKS on an unknown one);
//! signature; `aud`, `exp`, `nbf`, `iat`, `sub`, `jti`; lock-out of the subject; revocation;
//! certificate binding; role mapping; the organisation's allow-list; the client's rate.

mod authenticator;
mod cidr;
mod claims;
mod clock;
mod config;
pub mod dev;
mod error;
mod hub;
mod ingest;
mod jwks;
mod keys;
mod lockout;
mod middleware;
pub mod mtls;
mod observe;
mod revocation;
mod validate;
mod verify;

pub use authenticator::{Authenticator, Credentials};
pub use cidr::{Cidr, CidrError};
pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{
    AUTH_CONFIG_VERSION, AuthConfig, ClaimsConfig, ClientCertificates, IssuerConfig, JwksConfig,
    KeyConfig, LockoutConfig, Mode, OrganisationConfig, RateLimitConfig, RoleCode, SelectedRole,
};
pub use error::{AuthError, ConfigError};
pub use hub::{HubAuthError, REVOCATIONS_FILE, hub_authenticator};
pub use ingest::IngestClient;
pub use jsonwebtoken::Algorithm;
pub use middleware::{Authenticated, client_address, protect, require_auth};
pub use mtls::PeerCertificate;
pub use observe::{AuthObserver, AuthOutcome, TracingObserver};
pub use revocation::{
    FileRevocations, MemoryRevocations, Revocation, RevocationError, RevocationSource, Revocations,
};

use waymark_core::Role;

/// How the caller authenticated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthMethod {
    /// A bearer JWT from a trusted issuer.
    BearerJwt,
    /// A bearer JWT bound to the client certificate of the connection.
    MtlsJwt,
    /// A token of the development issuer (development mode only).
    Development,
}

impl AuthMethod {
    /// `bearer-jwt`, `mtls+jwt` or `development`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BearerJwt => "bearer-jwt",
            Self::MtlsJwt => "mtls+jwt",
            Self::Development => "development",
        }
    }
}

/// The authenticated caller of one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// The token's `sub`.
    pub subject: String,
    /// The token's `iss`.
    pub issuer: String,
    /// The client application (`client_id` / `azp`), if the token names one.
    pub client_id: Option<String>,
    /// The organisation the caller acts for (e.g. an ODS code).
    pub organisation: String,
    /// The Waymark role.
    pub role: Role,
    /// A registered health professional.
    pub registered: bool,
    /// How the caller authenticated.
    pub auth_method: AuthMethod,
    /// The token's `jti`.
    pub token_id: String,
    /// The token's `exp` (seconds since the epoch).
    pub expires_at: i64,
}
