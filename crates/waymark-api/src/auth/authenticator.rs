//! The [`Authenticator`]: config, key caches, revocations, lock-out state and the clock; one per
//! hub process, shared by every request.

use std::{net::IpAddr, sync::Arc};

use serde_json::Value;

use super::{
    AuthMethod, Principal,
    cidr::any_contains,
    claims::{client_id, map_role},
    clock::{Clock, SystemClock},
    config::AuthConfig,
    dev::DEV_ISSUER,
    error::{AuthError, ConfigError},
    lockout::{Guard, LockKey},
    mtls::check_binding,
    observe::{AuthObserver, AuthOutcome, TracingObserver},
    revocation::{Revocation, Revocations},
    verify::{Issuer, Verified, verify},
};

/// What one request presents.
#[derive(Clone, Copy, Debug, Default)]
pub struct Credentials<'a> {
    /// The `Authorization` header, if any.
    pub authorization: Option<&'a str>,
    /// The client's address (after the trusted-proxy rule).
    pub source: Option<IpAddr>,
    /// The client certificate (DER) the TLS layer verified, if any.
    pub peer_certificate: Option<&'a [u8]>,
}

/// Verifies requests: see the [module docs](super).
pub struct Authenticator {
    config: AuthConfig,
    issuers: Vec<Issuer>,
    revocations: Arc<Revocations>,
    clock: Arc<dyn Clock>,
    guard: Guard,
    observer: Arc<dyn AuthObserver>,
}

impl Authenticator {
    /// Checks `config` and builds its keys; revocations are shared with whoever revokes.
    pub fn new(config: AuthConfig, revocations: Arc<Revocations>) -> Result<Self, ConfigError> {
        config.validate()?;
        // Only `rust_crypto` is enabled; installing it explicitly keeps a second backend
        // enabled elsewhere in the build from making jsonwebtoken panic. Already set: fine.
        let _ = jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.install_default();
        let issuers = config
            .issuers
            .iter()
            .cloned()
            .map(Issuer::new)
            .collect::<Result<_, _>>()?;
        Ok(Self {
            guard: Guard::new(config.lockout.clone(), config.rate_limit.clone()),
            config,
            issuers,
            revocations,
            clock: Arc::new(SystemClock),
            observer: Arc::new(TracingObserver),
        })
    }

    /// Uses `clock` instead of the system clock.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Reports every outcome to `observer` (the audit trail) instead of the log.
    #[must_use]
    pub fn with_observer(mut self, observer: Arc<dyn AuthObserver>) -> Self {
        self.observer = observer;
        self
    }

    /// The config in force.
    pub fn config(&self) -> &AuthConfig {
        &self.config
    }

    /// The revocation registry checked on every request.
    pub fn revocations(&self) -> &Arc<Revocations> {
        &self.revocations
    }

    /// The authenticator's clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    pub(crate) fn observe(&self, outcome: &AuthOutcome) {
        self.observer.observe(outcome);
    }

    /// Authenticates one request: lock-out, token, revocation, certificate binding, role,
    /// organisation address, rate. Every failure that is the caller's doing is counted.
    pub async fn authenticate(&self, request: &Credentials<'_>) -> Result<Principal, AuthError> {
        let now = self.clock.now();
        if let Some(ip) = request.source {
            self.guard.check(&LockKey::Address(ip), now)?;
        }
        let result = self.authenticate_token(request, now).await;
        if let (Err(err), Some(ip)) = (&result, request.source)
            && err.counts_as_failure()
        {
            self.guard.fail(LockKey::Address(ip), now);
        }
        result
    }

    async fn authenticate_token(
        &self,
        request: &Credentials<'_>,
        now: i64,
    ) -> Result<Principal, AuthError> {
        let token = bearer(request.authorization)?;
        let verified = verify(&self.config, &self.issuers, token, now).await?;
        let issuer = &self.issuers[verified.issuer].config;
        let caller = format!("{} {}", issuer.issuer, verified.subject);
        self.guard.check(&LockKey::Subject(caller), now)?;
        let client = client_id(&verified.claims, &issuer.claims);
        if self
            .revocations
            .any_revoked(&revocation_keys(&verified, client.as_deref()))
        {
            return Err(AuthError::Revoked);
        }
        let thumbprint = verified
            .claims
            .pointer("/cnf/x5t#S256")
            .and_then(Value::as_str);
        let mtls = check_binding(
            self.config.client_certificates.as_ref(),
            client.as_deref(),
            thumbprint,
            request.peer_certificate,
        )?;
        self.admit(verified, client, mtls, request.source, now)
    }

    /// A verified token's role, organisation address and rate.
    fn admit(
        &self,
        verified: Verified,
        client: Option<String>,
        mtls: bool,
        source: Option<IpAddr>,
        now: i64,
    ) -> Result<Principal, AuthError> {
        let issuer = &self.issuers[verified.issuer].config;
        let caller = format!("{} {}", issuer.issuer, verified.subject);
        let refused = |err: AuthError| {
            self.guard.fail(LockKey::Subject(caller.clone()), now);
            err
        };
        let mapped = map_role(&verified.claims, &issuer.claims, &issuer.roles).map_err(refused)?;
        self.check_address(&mapped.organisation, source)
            .map_err(refused)?;
        self.guard.rate(&caller, now)?;
        let auth_method = match (issuer.issuer == DEV_ISSUER, mtls) {
            (true, _) => AuthMethod::Development,
            (false, true) => AuthMethod::MtlsJwt,
            (false, false) => AuthMethod::BearerJwt,
        };
        Ok(Principal {
            subject: verified.subject,
            issuer: issuer.issuer.clone(),
            client_id: client,
            organisation: mapped.organisation,
            role: mapped.role,
            registered: mapped.registered,
            auth_method,
            token_id: verified.token_id,
            expires_at: verified.expires_at,
        })
    }

    /// The organisation's allow-list, if it has one (or must have one).
    fn check_address(&self, organisation: &str, source: Option<IpAddr>) -> Result<(), AuthError> {
        let list = self
            .config
            .organisations
            .get(organisation)
            .map(|o| o.ip_allow.as_slice())
            .filter(|l| !l.is_empty());
        match (list, source) {
            (Some(list), Some(ip)) if any_contains(list, ip) => Ok(()),
            (Some(_), _) => Err(AuthError::Address),
            (None, _) if self.config.require_ip_allow_list => Err(AuthError::Address),
            (None, _) => Ok(()),
        }
    }
}

/// The token of an `Authorization: Bearer <token>` header.
fn bearer(header: Option<&str>) -> Result<&str, AuthError> {
    let header = header.ok_or(AuthError::Missing)?;
    let (scheme, token) = header.split_once(' ').ok_or(AuthError::Missing)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthError::Missing);
    }
    let token = token.trim();
    if token.is_empty() {
        return Err(AuthError::Malformed);
    }
    Ok(token)
}

fn revocation_keys(verified: &Verified, client: Option<&str>) -> Vec<Revocation> {
    let mut keys = vec![
        Revocation::TokenId(verified.token_id.clone()),
        Revocation::Subject(verified.subject.clone()),
    ];
    keys.extend(client.map(|c| Revocation::Client(c.to_owned())));
    keys.extend(verified.kid.clone().map(Revocation::Key));
    keys
}
