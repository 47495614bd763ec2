//! CIDR blocks (`10.1.0.0/16`, `2001:db8::/32`, or a bare address) for the per-organisation IP
//! allow-lists and the trusted proxies. IPv4-mapped IPv6 addresses (`::ffff:10.1.2.3`) match
//! IPv4 blocks, so a dual-stack listener does not bypass a list.

use std::{fmt, net::IpAddr, str::FromStr};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One block of addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

/// A CIDR block that does not parse (the text is not echoed: it is config, but stays short).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("not a CIDR block (expected e.g. 10.1.0.0/16 or 2001:db8::/32)")]
pub struct CidrError;

impl Cidr {
    /// Whether `addr` is inside the block.
    pub fn contains(&self, addr: IpAddr) -> bool {
        match (self.network, canonical(addr)) {
            (IpAddr::V4(net), IpAddr::V4(a)) => prefix_eq(
                u128::from(u32::from(net)),
                u128::from(u32::from(a)),
                self.prefix,
                32,
            ),
            (IpAddr::V6(net), IpAddr::V6(a)) => {
                prefix_eq(u128::from(net), u128::from(a), self.prefix, 128)
            }
            _ => false,
        }
    }
}

/// Whether `addr` is inside any of `blocks`.
pub fn any_contains(blocks: &[Cidr], addr: IpAddr) -> bool {
    blocks.iter().any(|b| b.contains(addr))
}

/// IPv4-mapped IPv6 addresses become IPv4.
fn canonical(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 @ IpAddr::V4(_) => v4,
    }
}

fn prefix_eq(net: u128, addr: u128, prefix: u8, width: u8) -> bool {
    if prefix == 0 {
        return true;
    }
    let shift = u32::from(width - prefix);
    (net >> shift) == (addr >> shift)
}

impl FromStr for Cidr {
    type Err = CidrError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let network = canonical(addr.trim().parse::<IpAddr>().map_err(|_| CidrError)?);
        let width = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.trim().parse::<u8>().map_err(|_| CidrError)?,
            None => width,
        };
        if prefix > width {
            return Err(CidrError);
        }
        Ok(Self { network, prefix })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

impl Serialize for Cidr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Cidr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn v4_blocks_match_their_addresses_only() {
        let block: Cidr = "10.1.0.0/16".parse().unwrap();
        assert!(block.contains(ip("10.1.255.7")));
        assert!(!block.contains(ip("10.2.0.1")));
        assert!(block.contains(ip("::ffff:10.1.2.3")));
        assert!(!block.contains(ip("2001:db8::1")));
        let host: Cidr = "192.168.1.9".parse().unwrap();
        assert!(host.contains(ip("192.168.1.9")));
        assert!(!host.contains(ip("192.168.1.10")));
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("8.8.8.8")));
    }

    #[test]
    fn v6_blocks_match_their_addresses_only() {
        let block: Cidr = "2001:db8::/32".parse().unwrap();
        assert!(block.contains(ip("2001:db8:1::5")));
        assert!(!block.contains(ip("2001:db9::5")));
        assert!(!block.contains(ip("10.0.0.1")));
    }

    #[test]
    fn malformed_blocks_are_refused() {
        for bad in [
            "10.1.0.0/33",
            "10.1.0/16",
            "::/129",
            "x/8",
            "10.0.0.0/-1",
            "",
        ] {
            assert_eq!(bad.parse::<Cidr>(), Err(CidrError), "{bad}");
        }
        let json: Result<Vec<Cidr>, _> = serde_json::from_str(r#"["10.0.0.0/8", "nope"]"#);
        assert!(json.is_err());
        let ok: Vec<Cidr> = serde_json::from_str(r#"["10.0.0.0/8"]"#).unwrap();
        assert_eq!(ok[0].to_string(), "10.0.0.0/8");
    }
}
