//! Why a request was refused, and how each refusal answers: 401 with
//! `WWW-Authenticate: Bearer error="invalid_token"` for a token that is not good, 403 for a good
//! token whose role, organisation or address is refused, 429 with `Retry-After` when locked out
//! or rate limited, 503 when an issuer's keys cannot be fetched. No message ever quotes the
//! token or a claim value.

use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use waymark_core::{ErrorCode, IssueType};
use waymark_fhir::OperationOutcome;

/// A refused request.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization: Bearer` header.
    #[error("a bearer token is required")]
    Missing,
    /// Not a well-formed JWT (or too long, or `alg: none`).
    #[error("the bearer token is malformed")]
    Malformed,
    /// The `iss` is not a trusted issuer.
    #[error("the token's issuer is not trusted")]
    UnknownIssuer,
    /// The development issuer, in production mode.
    #[error("development tokens are not accepted in production mode")]
    DevelopmentIssuer,
    /// The `alg` is not allowed for this issuer or does not fit the key.
    #[error("the token's signing algorithm is not accepted")]
    Algorithm,
    /// No key of the issuer has the token's `kid`.
    #[error("the token's signing key is not known")]
    UnknownKey,
    /// The issuer's keys could not be fetched.
    #[error("the issuer's keys are unavailable; try again later")]
    KeysUnavailable,
    /// The signature does not verify.
    #[error("the token's signature is invalid")]
    Signature,
    /// Past `exp`.
    #[error("the token has expired")]
    Expired,
    /// Before `nbf`, or `iat` in the future.
    #[error("the token is not valid yet")]
    NotYetValid,
    /// No accepted `aud`.
    #[error("the token is not for this service")]
    Audience,
    /// A required claim is missing or has the wrong type (the claim's name, never its value).
    #[error("the token lacks a valid `{0}` claim")]
    Claim(&'static str),
    /// The token, subject, client or key was revoked.
    #[error("the token has been revoked")]
    Revoked,
    /// The client must present a certificate bound to its token.
    #[error("a client certificate bound to the token is required")]
    Certificate,
    /// No role code in the token maps to a Waymark role.
    #[error("the token's role is not recognised")]
    RoleUnmapped,
    /// Several role entries map to different roles and none is selected.
    #[error("the token carries several roles; select one")]
    RoleAmbiguous,
    /// The token names no organisation.
    #[error("the token names no organisation")]
    Organisation,
    /// The source address is outside the organisation's allow-list.
    #[error("this organisation may not connect from this address")]
    Address,
    /// Too many failures from this source or client.
    #[error("too many failed attempts; try again later")]
    LockedOut {
        /// Seconds until the lock is lifted.
        retry_after: u64,
    },
    /// Too many requests from this client.
    #[error("too many requests; try again later")]
    RateLimited {
        /// Seconds until the next window.
        retry_after: u64,
    },
}

impl ErrorCode for AuthError {
    fn code(&self) -> &'static str {
        match self {
            Self::Missing => "auth.missing",
            Self::Malformed => "auth.malformed",
            Self::UnknownIssuer => "auth.issuer",
            Self::DevelopmentIssuer => "auth.issuer.development",
            Self::Algorithm => "auth.algorithm",
            Self::UnknownKey => "auth.key.unknown",
            Self::KeysUnavailable => "auth.key.unavailable",
            Self::Signature => "auth.signature",
            Self::Expired => "auth.expired",
            Self::NotYetValid => "auth.not-yet-valid",
            Self::Audience => "auth.audience",
            Self::Claim(_) => "auth.claim",
            Self::Revoked => "auth.revoked",
            Self::Certificate => "auth.certificate",
            Self::RoleUnmapped => "auth.role.unmapped",
            Self::RoleAmbiguous => "auth.role.ambiguous",
            Self::Organisation => "auth.organisation",
            Self::Address => "auth.address",
            Self::LockedOut { .. } => "auth.locked-out",
            Self::RateLimited { .. } => "auth.rate-limited",
        }
    }

    fn issue_type(&self) -> IssueType {
        match self {
            Self::KeysUnavailable | Self::LockedOut { .. } | Self::RateLimited { .. } => {
                IssueType::Transient
            }
            _ => IssueType::Forbidden,
        }
    }
}

impl AuthError {
    /// The HTTP status of the refusal.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::RoleUnmapped | Self::RoleAmbiguous | Self::Organisation | Self::Address => {
                StatusCode::FORBIDDEN
            }
            Self::LockedOut { .. } | Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::KeysUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::UNAUTHORIZED,
        }
    }

    /// Whether the failure counts towards a lock-out: a credential was presented and refused.
    /// Not: no credential at all, the hub's own key trouble, an existing lock or rate limit.
    pub fn counts_as_failure(&self) -> bool {
        !matches!(
            self,
            Self::Missing
                | Self::KeysUnavailable
                | Self::LockedOut { .. }
                | Self::RateLimited { .. }
        )
    }

    fn www_authenticate(&self) -> Option<&'static str> {
        match self {
            Self::Missing => Some("Bearer realm=\"waymark\""),
            _ if self.status() == StatusCode::UNAUTHORIZED => {
                Some("Bearer realm=\"waymark\", error=\"invalid_token\"")
            }
            _ => None,
        }
    }

    fn retry_after(&self) -> Option<u64> {
        match self {
            Self::LockedOut { retry_after } | Self::RateLimited { retry_after } => {
                Some((*retry_after).max(1))
            }
            _ => None,
        }
    }
}

impl IntoResponse for AuthError {
    fn into_response(self) -> Response {
        let mut response = crate::outcome(self.status(), &OperationOutcome::from_error(&self));
        let headers = response.headers_mut();
        if let Some(value) = self.www_authenticate() {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(value));
        }
        if let Some(secs) = self.retry_after() {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// A config that cannot be used. Messages name fields, never keys or secrets.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// Not valid JSON for the config's shape.
    #[error("auth config is malformed: {0}")]
    Malformed(String),
    /// The file could not be read.
    #[error("auth config cannot be read: {0}")]
    Io(String),
    /// A version this build does not read.
    #[error("auth config version {0} is not supported (this build reads version 1)")]
    Version(u32),
    /// The development issuer in a production config.
    #[error("the development token issuer is refused in production mode")]
    DevelopmentIssuer,
    /// Any other rule.
    #[error("auth config is invalid: {0}")]
    Invalid(String),
    /// A key that cannot be used.
    #[error("auth config key {index} of issuer {issuer}: {reason}")]
    Key {
        /// The issuer's `iss`.
        issuer: String,
        /// The key's position in `keys`.
        index: usize,
        /// What is wrong.
        reason: &'static str,
    },
}

impl ConfigError {
    pub(crate) fn invalid(text: &str) -> Self {
        Self::Invalid(text.to_owned())
    }
}

impl ErrorCode for ConfigError {
    fn code(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "auth.config.malformed",
            Self::Io(_) => "auth.config.io",
            Self::Version(_) => "auth.config.version",
            Self::DevelopmentIssuer => "auth.config.development-issuer",
            Self::Invalid(_) => "auth.config.invalid",
            Self::Key { .. } => "auth.config.key",
        }
    }

    fn issue_type(&self) -> IssueType {
        IssueType::Invalid
    }
}
