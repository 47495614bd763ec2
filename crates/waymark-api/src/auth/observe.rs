//! The hook the audit trail uses to record every authentication outcome, allowed or denied:
//! who (when the token verified), from where, what was asked, and why it was refused. Never the
//! token or its claims beyond the verified [`Principal`].

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use waymark_core::ErrorCode as _;

use super::{Principal, error::AuthError};

/// One authentication decision. The middleware also puts it in the request extensions (when
/// allowed) and in the response extensions (always), for an audit layer around the routes.
#[derive(Clone, Debug)]
pub struct AuthOutcome {
    /// When.
    pub at: DateTime<Utc>,
    /// The client's address, if known.
    pub source: Option<IpAddr>,
    /// The HTTP method.
    pub method: String,
    /// The request path, without the query string.
    pub path: String,
    /// The principal, or why the request was refused.
    pub result: Result<Principal, AuthError>,
}

impl AuthOutcome {
    /// The refusal's stable code (`auth.expired`, ...), or `None` when allowed.
    pub fn denial_code(&self) -> Option<&'static str> {
        self.result.as_ref().err().map(|e| e.code())
    }
}

/// Receives every [`AuthOutcome`]. Called on the request path: must not block.
pub trait AuthObserver: Send + Sync {
    /// One decision.
    fn observe(&self, outcome: &AuthOutcome);
}

/// The default observer: denials at `info` (code, status, address), allowed at `debug`
/// (role and method only). Subjects and organisations are left to the audit trail.
#[derive(Clone, Copy, Debug, Default)]
pub struct TracingObserver;

impl AuthObserver for TracingObserver {
    fn observe(&self, outcome: &AuthOutcome) {
        let source = outcome.source.map(|ip| ip.to_string()).unwrap_or_default();
        match &outcome.result {
            Ok(p) => tracing::debug!(
                role = p.role.code(),
                method = p.auth_method.as_str(),
                "request authenticated"
            ),
            Err(err) => tracing::info!(
                code = err.code(),
                status = err.status().as_u16(),
                source,
                "request refused"
            ),
        }
    }
}
