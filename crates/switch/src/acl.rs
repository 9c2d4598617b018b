//! Source-address access lists: the trunks whose INVITEs skip authentication.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use crate::config::TrunkConfig;

/// An address prefix: `192.0.2.0/24`, `2001:db8::/32`, or a single address
/// (`192.0.2.7` is `192.0.2.7/32`). IPv4-mapped IPv6 sources
/// (`::ffff:192.0.2.7`) match IPv4 prefixes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IpPrefix {
    addr: IpAddr,
    len: u8,
}

/// Why a text is not an address prefix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid address prefix {text:?}: {reason}")]
pub struct InvalidPrefix {
    /// The text given.
    pub text: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl IpPrefix {
    /// A prefix of `len` bits of `addr` (bits past `len` are ignored).
    /// `None` when `len` exceeds the address size.
    pub fn new(addr: IpAddr, len: u8) -> Option<IpPrefix> {
        let max = if addr.is_ipv4() { 32 } else { 128 };
        (len <= max).then_some(IpPrefix { addr, len })
    }

    /// The prefix holding exactly `addr`.
    pub fn host(addr: IpAddr) -> IpPrefix {
        IpPrefix {
            addr,
            len: if addr.is_ipv4() { 32 } else { 128 },
        }
    }

    /// Whether `ip` lies within the prefix.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.len)).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.len))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl FromStr for IpPrefix {
    type Err = InvalidPrefix;

    fn from_str(text: &str) -> Result<IpPrefix, InvalidPrefix> {
        let err = |reason| InvalidPrefix {
            text: text.to_owned(),
            reason,
        };
        let (addr, len) = match text.split_once('/') {
            Some((addr, len)) => (addr, Some(len)),
            None => (text, None),
        };
        let addr: IpAddr = addr.trim().parse().map_err(|_| err("not an IP address"))?;
        match len {
            None => Ok(IpPrefix::host(addr)),
            Some(len) => {
                let len: u8 = len
                    .trim()
                    .parse()
                    .map_err(|_| err("prefix length is not a number"))?;
                IpPrefix::new(addr, len).ok_or_else(|| err("prefix length too long"))
            }
        }
    }
}

impl fmt::Display for IpPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

/// Whether one of `trunk`'s addresses contains `ip` (the first configured
/// trunk that admits a source is the one its calls belong to).
pub(crate) fn trunk_admits(trunk: &TrunkConfig, ip: IpAddr) -> bool {
    trunk.addresses.iter().any(|p| p.contains(ip))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn prefixes_match_their_addresses() {
        let net: IpPrefix = "192.0.2.0/24".parse().unwrap();
        assert!(net.contains(ip("192.0.2.200")));
        assert!(net.contains(ip("::ffff:192.0.2.1")));
        assert!(!net.contains(ip("192.0.3.1")));
        assert!(!net.contains(ip("2001:db8::1")));
        let host: IpPrefix = "198.51.100.7".parse().unwrap();
        assert!(host.contains(ip("198.51.100.7")));
        assert!(!host.contains(ip("198.51.100.8")));
        let all: IpPrefix = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("203.0.113.9")));
        let v6: IpPrefix = "2001:db8::/32".parse().unwrap();
        assert!(v6.contains(ip("2001:db8:ffff::1")));
        assert!(!v6.contains(ip("2001:db9::1")));
        assert_eq!(v6.to_string(), "2001:db8::/32");
        assert!("192.0.2.0/33".parse::<IpPrefix>().is_err());
        assert!("example.com".parse::<IpPrefix>().is_err());
        assert!("192.0.2.0/x".parse::<IpPrefix>().is_err());
    }

    #[test]
    fn first_matching_trunk_wins() {
        let trunks = [
            TrunkConfig {
                name: "a".into(),
                addresses: vec!["192.0.2.0/28".parse().unwrap()],
                context: "from-a".into(),
                ..TrunkConfig::default()
            },
            TrunkConfig {
                name: "b".into(),
                addresses: vec!["192.0.2.0/24".parse().unwrap()],
                context: "from-b".into(),
                ..TrunkConfig::default()
            },
        ];
        let first = |addr| trunks.iter().position(|t| trunk_admits(t, ip(addr)));
        assert_eq!(first("192.0.2.3"), Some(0));
        assert_eq!(first("192.0.2.99"), Some(1));
        assert!(first("198.51.100.1").is_none());
    }
}
