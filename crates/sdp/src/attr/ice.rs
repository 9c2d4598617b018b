//! ICE and DTLS attributes, read only: `candidate` (RFC 8839 §5.1), `ice-ufrag`/`ice-pwd`
//! (§5.4), `fingerprint` (RFC 8122 §5) and `setup` (RFC 4145 §4).

use std::fmt;

use super::{next_field, number};
use crate::error::SdpError;
use crate::model::Attributes;

/// `a=candidate:<foundation> <component> <transport> <priority> <address> <port> typ <type>
/// [raddr <address>] [rport <port>] *(<name> <value>)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate<'a> {
    /// The foundation.
    pub foundation: &'a str,
    /// The component id (1 = RTP, 2 = RTCP).
    pub component: u16,
    /// The transport (`udp`, `tcp`).
    pub transport: &'a str,
    /// The priority.
    pub priority: u32,
    /// The address: an IP address or an mDNS `.local` name.
    pub address: &'a str,
    /// The port.
    pub port: u16,
    /// The candidate type (`host`, `srflx`, `prflx`, `relay`).
    pub kind: &'a str,
    /// `raddr`, when given.
    pub related_address: Option<&'a str>,
    /// `rport`, when given.
    pub related_port: Option<u16>,
    /// The extension name/value pairs as written (`generation 0 network-id 1`).
    pub extensions: &'a str,
}

impl<'a> Candidate<'a> {
    const NAME: &'static str = "candidate";

    /// Parses a `candidate` value.
    pub fn parse(value: &'a str) -> Result<Candidate<'a>, SdpError> {
        let err = |reason| SdpError::Attribute {
            name: Self::NAME,
            reason,
        };
        let mut rest = value.trim();
        let mut field = || next_field(&mut rest);
        let foundation = field();
        let component = field();
        let transport = field();
        let priority = field();
        let address = field();
        let port = field();
        let typ = field();
        let kind = field();
        if kind.is_empty() || !typ.eq_ignore_ascii_case("typ") {
            return Err(err(
                "expected <foundation> <component> <transport> <priority> <address> <port> typ <type>",
            ));
        }
        let mut candidate = Candidate {
            foundation,
            component: number(component, Self::NAME, "component is not a number")?,
            transport,
            priority: number(priority, Self::NAME, "priority is not a number")?,
            address,
            port: number(port, Self::NAME, "port is not a number from 0 to 65535")?,
            kind,
            related_address: None,
            related_port: None,
            extensions: "",
        };
        loop {
            let before = rest;
            match next_field(&mut rest) {
                "raddr" => {
                    candidate.related_address =
                        Some(next_field(&mut rest)).filter(|a| !a.is_empty());
                }
                "rport" => {
                    let port = next_field(&mut rest);
                    candidate.related_port =
                        Some(number(port, Self::NAME, "rport is not a port number")?);
                }
                _ => {
                    candidate.extensions = before.trim();
                    break;
                }
            }
        }
        Ok(candidate)
    }
}

/// `a=fingerprint:<hash function> <hex bytes separated by ':'>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fingerprint<'a> {
    /// The hash function (`sha-256`).
    pub hash_function: &'a str,
    /// The fingerprint as written.
    pub value: &'a str,
}

impl<'a> Fingerprint<'a> {
    /// Parses a `fingerprint` value (the bytes must be hex pairs separated by `:`).
    pub fn parse(value: &'a str) -> Result<Fingerprint<'a>, SdpError> {
        let err = |reason| SdpError::Attribute {
            name: "fingerprint",
            reason,
        };
        let (hash_function, value) = value
            .trim()
            .split_once(|c: char| c.is_ascii_whitespace())
            .ok_or(err("expected <hash function> <fingerprint>"))?;
        let value = value.trim();
        let well_formed = value
            .split(':')
            .all(|b| b.len() == 2 && b.bytes().all(|c| c.is_ascii_hexdigit()));
        if !well_formed {
            return Err(err("fingerprint is not hex pairs separated by ':'"));
        }
        Ok(Fingerprint {
            hash_function,
            value,
        })
    }

    /// The fingerprint bytes.
    pub fn bytes(&self) -> Vec<u8> {
        // Checked by `parse`: every part is two hex digits.
        self.value
            .split(':')
            .filter_map(|b| u8::from_str_radix(b, 16).ok())
            .collect()
    }
}

impl fmt::Display for Fingerprint<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.hash_function, self.value)
    }
}

/// `a=setup` (RFC 4145 §4): which end opens the DTLS connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Setup {
    /// This end connects.
    Active,
    /// This end accepts.
    Passive,
    /// Either (offers only).
    ActPass,
    /// Keep the existing connection.
    HoldConn,
}

impl Setup {
    /// The attribute value.
    pub fn name(self) -> &'static str {
        match self {
            Setup::Active => "active",
            Setup::Passive => "passive",
            Setup::ActPass => "actpass",
            Setup::HoldConn => "holdconn",
        }
    }

    /// Parses a `setup` value.
    pub fn parse(value: &str) -> Result<Setup, SdpError> {
        [
            Setup::Active,
            Setup::Passive,
            Setup::ActPass,
            Setup::HoldConn,
        ]
        .into_iter()
        .find(|s| s.name().eq_ignore_ascii_case(value.trim()))
        .ok_or(SdpError::Attribute {
            name: "setup",
            reason: "not active, passive, actpass or holdconn",
        })
    }
}

impl Attributes {
    /// `a=ice-ufrag`.
    pub fn ice_ufrag(&self) -> Option<&str> {
        self.value("ice-ufrag").map(str::trim)
    }

    /// `a=ice-pwd`.
    pub fn ice_pwd(&self) -> Option<&str> {
        self.value("ice-pwd").map(str::trim)
    }

    /// Every well-formed `candidate`, in order.
    pub fn candidates(&self) -> impl Iterator<Item = Candidate<'_>> {
        self.all("candidate")
            .filter_map(|a| Candidate::parse(a.value_str()).ok())
    }

    /// The first well-formed `fingerprint`.
    pub fn fingerprint(&self) -> Option<Fingerprint<'_>> {
        self.all("fingerprint")
            .find_map(|a| Fingerprint::parse(a.value_str()).ok())
    }

    /// `a=setup`, when present and well formed.
    pub fn setup(&self) -> Option<Setup> {
        self.value("setup").and_then(|v| Setup::parse(v).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates() {
        let host = Candidate::parse(
            "1467250027 1 udp 2122260223 192.0.2.3 46243 typ host generation 0 network-id 1",
        )
        .unwrap();
        assert_eq!(host.component, 1);
        assert_eq!(host.priority, 2_122_260_223);
        assert_eq!(
            (host.address, host.port, host.kind),
            ("192.0.2.3", 46243, "host")
        );
        assert_eq!(host.extensions, "generation 0 network-id 1");
        let srflx = Candidate::parse(
            "842163049 1 udp 1677729535 198.51.100.7 50000 typ srflx raddr 192.0.2.3 rport 46243",
        )
        .unwrap();
        assert_eq!(srflx.related_address, Some("192.0.2.3"));
        assert_eq!(srflx.related_port, Some(46243));
        assert_eq!(srflx.extensions, "");
        let mdns = Candidate::parse(
            "1 1 UDP 2130706431 4f7a6b2c-0000-4000-8000-000000000001.local 50001 typ host",
        )
        .unwrap();
        assert!(mdns.address.ends_with(".local"));
        for bad in [
            "",
            "1 1 udp 1 192.0.2.1 5000 host",
            "1 x udp 1 192.0.2.1 5000 typ host",
            "1 1 udp 1 192.0.2.1 99999 typ host",
            "1 1 udp 1 192.0.2.1 5000 typ",
            "1 1 udp 1 192.0.2.1 5000 typ srflx raddr 192.0.2.2 rport x",
        ] {
            assert!(Candidate::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn fingerprint_and_setup() {
        let f = Fingerprint::parse("sha-256 AB:cd:01").unwrap();
        assert_eq!(f.hash_function, "sha-256");
        assert_eq!(f.bytes(), vec![0xab, 0xcd, 0x01]);
        assert_eq!(f.to_string(), "sha-256 AB:cd:01");
        assert!(Fingerprint::parse("sha-256").is_err());
        assert!(Fingerprint::parse("sha-256 ABC:01").is_err());
        assert!(Fingerprint::parse("sha-256 zz").is_err());
        assert_eq!(Setup::parse("actpass").unwrap(), Setup::ActPass);
        assert_eq!(Setup::parse("HOLDCONN").unwrap().name(), "holdconn");
        assert!(Setup::parse("both").is_err());
    }
}
