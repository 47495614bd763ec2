//! The axum side: [`require_auth`] (a `from_fn_with_state` middleware) authenticates every
//! request of the routes it wraps and puts the [`Principal`] in the request extensions;
//! handlers take [`Authenticated`]. [`protect`] wraps a router's routes.
//!
//! The client's address is the connection's (`ConnectInfo<SocketAddr>`, so serve with
//! `into_make_service_with_connect_info`). Only when that address is one of the configured
//! `trusted_proxies` is `X-Forwarded-For` read: the rightmost address that is not itself a
//! trusted proxy.

use std::{net::IpAddr, net::SocketAddr, sync::Arc};

use axum::{
    Router,
    extract::{ConnectInfo, FromRequestParts, Request, State},
    http::{HeaderMap, header, request::Parts},
    middleware::{Next, from_fn_with_state},
    response::{IntoResponse, Response},
};

use super::{
    Principal,
    authenticator::{Authenticator, Credentials},
    cidr::{Cidr, any_contains},
    error::AuthError,
    mtls::PeerCertificate,
    observe::AuthOutcome,
};

/// A handler argument: the authenticated caller. Fails closed (401) on a route that
/// [`require_auth`] does not wrap.
#[derive(Clone, Debug)]
pub struct Authenticated(pub Principal);

impl<S: Send + Sync> FromRequestParts<S> for Authenticated {
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Principal>()
            .cloned()
            .map(Self)
            .ok_or(AuthError::Missing)
    }
}

/// Wraps every route of `router` (not its fallback) in [`require_auth`].
pub fn protect<S: Clone + Send + Sync + 'static>(
    router: Router<S>,
    auth: Arc<Authenticator>,
) -> Router<S> {
    router.route_layer(from_fn_with_state(auth, require_auth))
}

/// Authenticates the request, reports the outcome, and either runs the route with the
/// [`Principal`] (and the [`AuthOutcome`]) in its extensions or answers the refusal.
pub async fn require_auth(
    State(auth): State<Arc<Authenticator>>,
    mut request: Request,
    next: Next,
) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let source = client_address(peer, request.headers(), &auth.config().trusted_proxies);
    // Owned copies: the request body is not `Sync`, so no borrow of it may cross an await.
    let authorization = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let certificate = request
        .extensions()
        .get::<PeerCertificate>()
        .cloned()
        .or_else(|| proxied_certificate(&auth, peer, request.headers()));
    let credentials = Credentials {
        authorization: authorization.as_deref(),
        source,
        peer_certificate: certificate.as_ref().map(|c| c.0.as_slice()),
    };
    let result = auth.authenticate(&credentials).await;
    let outcome = AuthOutcome {
        at: auth.clock().now_utc(),
        source,
        method: request.method().to_string(),
        path: request.uri().path().to_owned(),
        result,
    };
    auth.observe(&outcome);
    let mut response = match &outcome.result {
        Ok(principal) => {
            request.extensions_mut().insert(principal.clone());
            request.extensions_mut().insert(outcome.clone());
            next.run(request).await
        }
        Err(err) => err.clone().into_response(),
    };
    response.extensions_mut().insert(outcome);
    response
}

/// The certificate a trusted TLS-terminating proxy passed on, when the config names its header
/// and the connection comes from one of `trusted_proxies`.
fn proxied_certificate(
    auth: &Authenticator,
    peer: Option<IpAddr>,
    headers: &HeaderMap,
) -> Option<PeerCertificate> {
    let config = auth.config();
    let header = config
        .client_certificates
        .as_ref()?
        .proxy_header
        .as_deref()?;
    let trusted = peer.is_some_and(|p| any_contains(&config.trusted_proxies, p));
    trusted
        .then(|| super::mtls::from_proxy_header(headers, header))
        .flatten()
}

/// The client's address: the peer's, or — from a trusted proxy — the rightmost untrusted
/// address of `X-Forwarded-For`.
pub fn client_address(
    peer: Option<IpAddr>,
    headers: &HeaderMap,
    trusted: &[Cidr],
) -> Option<IpAddr> {
    let peer = peer?;
    if !any_contains(trusted, peer) {
        return Some(peer);
    }
    let forwarded: Vec<IpAddr> = match headers
        .get_all("x-forwarded-for")
        .iter()
        .map(|v| v.to_str().ok())
        .collect::<Option<Vec<&str>>>()
    {
        Some(values) => match values
            .iter()
            .flat_map(|v| v.split(','))
            .map(|a| a.trim().parse::<IpAddr>().ok())
            .collect::<Option<Vec<_>>>()
        {
            Some(list) => list,
            None => return Some(peer),
        },
        None => return Some(peer),
    };
    Some(
        forwarded
            .into_iter()
            .rev()
            .find(|a| !any_contains(trusted, *a))
            .unwrap_or(peer),
    )
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarded_for_is_read_only_from_trusted_proxies() {
        let trusted: Vec<Cidr> = vec!["10.0.0.0/8".parse().unwrap()];
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            HeaderValue::from_static("1.2.3.4, 5.6.7.8, 10.0.0.9"),
        );
        assert_eq!(
            client_address(Some(ip("10.0.0.1")), &headers, &trusted),
            Some(ip("5.6.7.8"))
        );
        assert_eq!(
            client_address(Some(ip("9.9.9.9")), &headers, &trusted),
            Some(ip("9.9.9.9"))
        );
        assert_eq!(
            client_address(Some(ip("10.0.0.1")), &headers, &[]),
            Some(ip("10.0.0.1"))
        );
        headers.insert("x-forwarded-for", HeaderValue::from_static("garbage"));
        assert_eq!(
            client_address(Some(ip("10.0.0.1")), &headers, &trusted),
            Some(ip("10.0.0.1"))
        );
        assert_eq!(client_address(None, &headers, &trusted), None);
    }
}
