//! Outbound safety (SSRF): which endpoints and which resolved addresses a notification may go to.
//!
//! Checked twice: when a subscription is validated ([`check_endpoint`]: scheme, credentials,
//! literal IP addresses, `localhost`) and when the hook connects ([`GuardedResolver`]: every
//! address a host name resolves to), so a name that later resolves to `169.254.169.254` or
//! `10.0.0.1` (DNS rebinding) is never reached.

use std::{
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    sync::Arc,
};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Where notifications may be sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EndpointPolicy {
    /// Only `https://` endpoints (else `http://` is allowed to loopback addresses only).
    pub require_https: bool,
    /// Private, loopback, link-local and other non-public addresses allowed.
    pub allow_private: bool,
}

impl EndpointPolicy {
    /// The demo and tests: plain http to loopback, any address.
    pub fn local() -> Self {
        Self {
            require_https: false,
            allow_private: true,
        }
    }

    /// Production: https only, public addresses only (private, loopback, link-local, CGNAT,
    /// unique-local, multicast, unspecified, reserved, and IPv4-mapped or NAT64 forms of those
    /// refused).
    pub fn production() -> Self {
        Self {
            require_https: true,
            allow_private: false,
        }
    }

    /// Whether a connection to `ip` is allowed.
    pub fn allows(&self, ip: IpAddr) -> bool {
        self.allow_private || is_public(ip)
    }
}

impl Default for EndpointPolicy {
    /// [`EndpointPolicy::local`], what `validate()` has always checked.
    fn default() -> Self {
        Self::local()
    }
}

/// Whether `ip` is a public unicast address.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_unspecified()
        || a == 0
        || a >= 240
        || (a == 100 && (64..128).contains(&b)) // CGNAT 100.64/10
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (18..20).contains(&b))) // benchmarking 198.18/15
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let s = ip.segments();
    if s[0] == 0x0064 && s[1] == 0xff9b && s[2..6] == [0; 4] {
        // NAT64 well-known prefix 64:ff9b::/96: judge the embedded IPv4 address.
        let [a, b] = s[6].to_be_bytes();
        let [c, d] = s[7].to_be_bytes();
        return is_public_v4(Ipv4Addr::new(a, b, c, d));
    }
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
        || (s[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
        || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated) fec0::/10
        || s[..6] == [0; 6]) // IPv4-compatible ::a.b.c.d (deprecated)
}

/// Why an endpoint is refused at validation: scheme, credentials, literal addresses and the
/// `localhost` names. Names the rule, never the URL.
pub(crate) fn check_endpoint(endpoint: &str, policy: &EndpointPolicy) -> Result<(), &'static str> {
    check(endpoint, policy, true)
}

/// The check before each request: as [`check_endpoint`] but host names are left to the
/// [`GuardedResolver`], which judges the addresses they resolve to.
pub(crate) fn check_before_connect(
    endpoint: &str,
    policy: &EndpointPolicy,
) -> Result<(), &'static str> {
    check(endpoint, policy, false)
}

fn check(endpoint: &str, policy: &EndpointPolicy, names: bool) -> Result<(), &'static str> {
    let url = reqwest::Url::parse(endpoint).map_err(|_| "not an absolute URL")?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err("credentials in the URL are not allowed");
    }
    // The URL parser normalises IPv4 forms (`0x7f000001`, `2130706433`) to dotted quads.
    let host = url.host_str().ok_or("no host")?;
    let literal = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
        .ok();
    let name = host.trim_end_matches('.');
    let localhost =
        name.eq_ignore_ascii_case("localhost") || name.to_ascii_lowercase().ends_with(".localhost");
    let loopback = localhost || literal.is_some_and(|ip| ip.is_loopback());
    match url.scheme() {
        "https" => {}
        "http" if policy.require_https => return Err("scheme must be https"),
        "http" if loopback => {}
        "http" => return Err("plain http is allowed to loopback addresses only"),
        _ => return Err("scheme must be https"),
    }
    if !policy.allow_private {
        if localhost && names {
            return Err("localhost is not allowed");
        }
        if literal.is_some_and(|ip| !is_public(ip)) {
            return Err("private, loopback and link-local addresses are not allowed");
        }
    }
    Ok(())
}

/// The address check at connect time: a reqwest resolver that resolves with the system
/// resolver and drops every address the policy refuses; a name left with none fails to
/// connect with [`AddressRefused`].
#[derive(Clone, Debug)]
pub(crate) struct GuardedResolver {
    pub(crate) policy: EndpointPolicy,
}

/// A host name resolved only to addresses the endpoint policy refuses.
#[derive(Debug, thiserror::Error)]
#[error("the endpoint resolved only to addresses the endpoint policy refuses")]
pub(crate) struct AddressRefused;

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy;
        Box::pin(async move {
            let found = tokio::net::lookup_host((name.as_str(), 0)).await?;
            let allowed: Vec<SocketAddr> = found.filter(|a| policy.allows(a.ip())).collect();
            if allowed.is_empty() {
                return Err(Box::new(AddressRefused) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

impl GuardedResolver {
    pub(crate) fn shared(policy: EndpointPolicy) -> Arc<Self> {
        Arc::new(Self { policy })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn public(text: &str) -> bool {
        is_public(text.parse().unwrap())
    }

    #[test]
    fn non_public_addresses_are_recognised() {
        for ip in [
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "127.0.0.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "240.0.0.1",
            "198.18.0.1",
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::ffff:10.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "::127.0.0.1",
        ] {
            assert!(!public(ip), "{ip} must not be public");
        }
        for ip in [
            "8.8.8.8",
            "81.2.69.160",
            "2a00:1450:4009::200e",
            "::ffff:8.8.8.8",
        ] {
            assert!(public(ip), "{ip} is public");
        }
    }

    #[tokio::test]
    async fn the_resolver_drops_refused_addresses() {
        let name = |n: &str| n.parse::<Name>().unwrap();
        let prod = GuardedResolver::shared(EndpointPolicy::production());
        let err = prod.resolve(name("localhost")).await.err().unwrap();
        assert!(err.is::<AddressRefused>(), "{err}");
        let local = GuardedResolver::shared(EndpointPolicy::local());
        let addrs: Vec<SocketAddr> = local.resolve(name("localhost")).await.unwrap().collect();
        assert!(addrs.iter().all(|a| a.ip().is_loopback()) && !addrs.is_empty());
    }

    #[test]
    fn endpoints_are_checked_against_the_policy() {
        let prod = EndpointPolicy::production();
        let local = EndpointPolicy::local();
        assert_eq!(check_endpoint("https://hmp.example/hook", &prod), Ok(()));
        assert_eq!(check_endpoint("http://127.0.0.1:9/x", &local), Ok(()));
        assert_eq!(check_endpoint("http://localhost:9/x", &local), Ok(()));
        assert_eq!(check_endpoint("http://[::1]:9/x", &local), Ok(()));
        assert!(check_endpoint("http://127.0.0.1:9/x", &prod).is_err());
        assert!(check_endpoint("https://localhost/x", &prod).is_err());
        assert!(check_endpoint("https://a.localhost./x", &prod).is_err());
        assert!(check_endpoint("https://169.254.169.254/latest", &prod).is_err());
        assert!(check_endpoint("https://10.0.0.8/x", &prod).is_err());
        assert!(check_endpoint("https://[::ffff:10.0.0.8]/x", &prod).is_err());
        assert!(check_endpoint("https://[fe80::1]/x", &prod).is_err());
        assert!(
            check_endpoint("https://0x7f000001/x", &prod).is_err(),
            "hex form"
        );
        assert!(check_endpoint("http://hmp.example/x", &local).is_err());
        assert!(check_endpoint("ftp://hmp.example/x", &local).is_err());
        assert!(check_endpoint("https://u:p@hmp.example/x", &local).is_err());
        assert_eq!(check_endpoint("https://10.0.0.8/x", &local), Ok(()));
    }
}
