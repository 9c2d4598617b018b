//! RTP attributes: `rtpmap`, `fmtp` (RFC 8866 §6.6, §6.15), `ptime`/`maxptime` (§6.4, §6.5),
//! the direction attributes (§6.7), `rtcp` (RFC 3605) and `rtcp-mux` (RFC 5761).

use std::fmt;
use std::net::IpAddr;

use super::{number, payload_type};
use crate::error::SdpError;
use crate::model::Attributes;

/// `a=rtpmap:<payload type> <encoding name>/<clock rate>[/<encoding parameters>]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rtpmap<'a> {
    /// The payload type number.
    pub payload_type: u8,
    /// The encoding name as written (`PCMU`, `opus`, `telephone-event`).
    pub encoding: &'a str,
    /// The RTP clock rate.
    pub clock_rate: u32,
    /// The encoding parameters: the channel count for audio.
    pub channels: Option<u8>,
}

impl<'a> Rtpmap<'a> {
    const NAME: &'static str = "rtpmap";

    /// Parses an `rtpmap` value.
    pub fn parse(value: &'a str) -> Result<Rtpmap<'a>, SdpError> {
        let err = |reason| SdpError::Attribute {
            name: Self::NAME,
            reason,
        };
        let (pt, rest) = value
            .trim()
            .split_once(|c: char| c.is_ascii_whitespace())
            .ok_or(err("expected <payload type> <encoding>/<clock rate>"))?;
        let mut parts = rest.trim().split('/');
        let encoding = parts.next().unwrap_or_default();
        if encoding.is_empty() || encoding.contains(char::is_whitespace) {
            return Err(err("missing encoding name"));
        }
        let clock = parts.next().ok_or(err("missing clock rate"))?;
        let channels = parts
            .next()
            .map(|c| number(c, Self::NAME, "channel count is not a number"))
            .transpose()?;
        if parts.next().is_some() {
            return Err(err("too many fields"));
        }
        Ok(Rtpmap {
            payload_type: payload_type(pt, Self::NAME)?,
            encoding,
            clock_rate: number(clock, Self::NAME, "clock rate is not a number")?,
            channels,
        })
    }
}

impl fmt::Display for Rtpmap<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}/{}",
            self.payload_type, self.encoding, self.clock_rate
        )?;
        match self.channels {
            Some(channels) => write!(f, "/{channels}"),
            None => Ok(()),
        }
    }
}

/// `a=fmtp:<format> <format specific parameters>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fmtp<'a> {
    /// The format (a payload type number for RTP).
    pub format: &'a str,
    /// The parameters as written.
    pub params: &'a str,
}

impl<'a> Fmtp<'a> {
    /// Parses an `fmtp` value.
    pub fn parse(value: &'a str) -> Result<Fmtp<'a>, SdpError> {
        let value = value.trim();
        let (format, params) = value
            .split_once(|c: char| c.is_ascii_whitespace())
            .unwrap_or((value, ""));
        if format.is_empty() {
            return Err(SdpError::Attribute {
                name: "fmtp",
                reason: "missing format",
            });
        }
        Ok(Fmtp {
            format,
            params: params.trim(),
        })
    }

    /// The `;`-separated parameters as `(name, value)` (`name` alone has no value).
    pub fn pairs(&self) -> impl Iterator<Item = (&'a str, Option<&'a str>)> + 'a {
        self.params
            .split(';')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| match p.split_once('=') {
                Some((k, v)) => (k.trim(), Some(v.trim())),
                None => (p, None),
            })
    }
}

impl fmt::Display for Fmtp<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.format, self.params)
    }
}

/// The direction attributes `sendrecv`, `sendonly`, `recvonly`, `inactive` (RFC 8866 §6.7,
/// RFC 3264 §5.1), from the point of view of the description's author.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum MediaDirection {
    /// Sends and receives (the default).
    #[default]
    SendRecv,
    /// Only sends.
    SendOnly,
    /// Only receives.
    RecvOnly,
    /// Neither.
    Inactive,
}

impl MediaDirection {
    /// The attribute name.
    pub fn name(self) -> &'static str {
        match self {
            MediaDirection::SendRecv => "sendrecv",
            MediaDirection::SendOnly => "sendonly",
            MediaDirection::RecvOnly => "recvonly",
            MediaDirection::Inactive => "inactive",
        }
    }

    /// The direction an attribute name stands for.
    pub fn from_name(name: &str) -> Option<MediaDirection> {
        [
            MediaDirection::SendRecv,
            MediaDirection::SendOnly,
            MediaDirection::RecvOnly,
            MediaDirection::Inactive,
        ]
        .into_iter()
        .find(|d| d.name().eq_ignore_ascii_case(name))
    }

    /// The same stream seen from the other end (`sendonly` ↔ `recvonly`): the direction an
    /// answer mirrors (RFC 3264 §6.1).
    pub fn reversed(self) -> MediaDirection {
        match self {
            MediaDirection::SendOnly => MediaDirection::RecvOnly,
            MediaDirection::RecvOnly => MediaDirection::SendOnly,
            other => other,
        }
    }

    /// Whether the author sends.
    pub fn sends(self) -> bool {
        matches!(self, MediaDirection::SendRecv | MediaDirection::SendOnly)
    }

    /// Whether the author receives.
    pub fn receives(self) -> bool {
        matches!(self, MediaDirection::SendRecv | MediaDirection::RecvOnly)
    }

    /// The direction with these sending and receiving abilities.
    pub fn from_flags(sends: bool, receives: bool) -> MediaDirection {
        match (sends, receives) {
            (true, true) => MediaDirection::SendRecv,
            (true, false) => MediaDirection::SendOnly,
            (false, true) => MediaDirection::RecvOnly,
            (false, false) => MediaDirection::Inactive,
        }
    }
}

/// `a=rtcp:<port> [<nettype> <addrtype> <connection-address>]` (RFC 3605 §2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rtcp<'a> {
    /// The RTCP port.
    pub port: u16,
    /// The RTCP address, when it differs from the RTP one.
    pub address: Option<RtcpAddress<'a>>,
}

/// The address part of `a=rtcp`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtcpAddress<'a> {
    /// The network type (`IN`).
    pub net_type: &'a str,
    /// The address type (`IP4`, `IP6`).
    pub addr_type: &'a str,
    /// The address as written.
    pub address: &'a str,
}

impl<'a> Rtcp<'a> {
    const NAME: &'static str = "rtcp";

    /// Parses an `rtcp` value.
    pub fn parse(value: &'a str) -> Result<Rtcp<'a>, SdpError> {
        let mut fields = value.split_ascii_whitespace();
        let port = number(
            fields.next().unwrap_or_default(),
            Self::NAME,
            "port is not a number from 0 to 65535",
        )?;
        let address = match (fields.next(), fields.next(), fields.next(), fields.next()) {
            (None, ..) => None,
            (Some(net_type), Some(addr_type), Some(address), None) => Some(RtcpAddress {
                net_type,
                addr_type,
                address,
            }),
            _ => {
                return Err(SdpError::Attribute {
                    name: Self::NAME,
                    reason: "expected <port> [<nettype> <addrtype> <address>]",
                });
            }
        };
        Ok(Rtcp { port, address })
    }

    /// The RTCP address as an IP address, when given as one.
    pub fn ip(&self) -> Option<IpAddr> {
        self.address.and_then(|a| a.address.parse().ok())
    }
}

impl fmt::Display for Rtcp<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.port)?;
        match self.address {
            Some(a) => write!(f, " {} {} {}", a.net_type, a.addr_type, a.address),
            None => Ok(()),
        }
    }
}

impl Attributes {
    /// Every well-formed `rtpmap`, in order.
    pub fn rtpmaps(&self) -> impl Iterator<Item = Rtpmap<'_>> {
        self.all("rtpmap")
            .filter_map(|a| Rtpmap::parse(a.value_str()).ok())
    }

    /// The `rtpmap` of payload type `pt`.
    pub fn rtpmap(&self, pt: u8) -> Option<Rtpmap<'_>> {
        self.rtpmaps().find(|r| r.payload_type == pt)
    }

    /// Every well-formed `fmtp`, in order.
    pub fn fmtps(&self) -> impl Iterator<Item = Fmtp<'_>> {
        self.all("fmtp")
            .filter_map(|a| Fmtp::parse(a.value_str()).ok())
    }

    /// The parameters of the first `fmtp` for `format`.
    pub fn fmtp(&self, format: &str) -> Option<&str> {
        self.fmtps().find(|f| f.format == format).map(|f| f.params)
    }

    /// `a=ptime` in milliseconds (a fractional value is cut to whole milliseconds).
    pub fn ptime(&self) -> Option<u32> {
        self.value("ptime").and_then(milliseconds)
    }

    /// `a=maxptime` in milliseconds.
    pub fn maxptime(&self) -> Option<u32> {
        self.value("maxptime").and_then(milliseconds)
    }

    /// The first direction attribute.
    pub fn direction(&self) -> Option<MediaDirection> {
        self.iter().find_map(|a| {
            a.value
                .is_none()
                .then(|| MediaDirection::from_name(&a.name))
                .flatten()
        })
    }

    /// Replaces every direction attribute with `direction`.
    pub fn set_direction(&mut self, direction: MediaDirection) {
        self.retain(|a| MediaDirection::from_name(&a.name).is_none());
        self.push(crate::Attribute::flag(direction.name()));
    }

    /// `a=rtcp`, when present and well formed.
    pub fn rtcp(&self) -> Option<Rtcp<'_>> {
        self.value("rtcp").and_then(|v| Rtcp::parse(v).ok())
    }

    /// Whether `a=rtcp-mux` is present.
    pub fn rtcp_mux(&self) -> bool {
        self.has("rtcp-mux")
    }
}

fn milliseconds(value: &str) -> Option<u32> {
    let value = value.trim();
    let whole = value.split_once('.').map_or(value, |(w, _)| w);
    whole.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Attribute;

    fn list(lines: &[(&str, Option<&str>)]) -> Attributes {
        lines
            .iter()
            .map(|(n, v)| match v {
                Some(v) => Attribute::new(*n, *v),
                None => Attribute::flag(*n),
            })
            .collect::<Vec<_>>()
            .into()
    }

    #[test]
    fn rtpmap_forms() {
        let opus = Rtpmap::parse("111 opus/48000/2").unwrap();
        assert_eq!(
            opus,
            Rtpmap {
                payload_type: 111,
                encoding: "opus",
                clock_rate: 48000,
                channels: Some(2)
            }
        );
        assert_eq!(opus.to_string(), "111 opus/48000/2");
        let pcmu = Rtpmap::parse(" 0  PCMU/8000 ").unwrap();
        assert_eq!((pcmu.encoding, pcmu.channels), ("PCMU", None));
        assert_eq!(pcmu.to_string(), "0 PCMU/8000");
        for bad in [
            "",
            "0",
            "128 PCMU/8000",
            "x PCMU/8000",
            "0 PCMU",
            "0 /8000",
            "0 PCMU/fast",
            "0 PCMU/8000/two",
            "0 PCMU/8000/1/2",
            "-1 PCMU/8000",
        ] {
            assert!(Rtpmap::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn fmtp_pairs() {
        let f = Fmtp::parse("111 minptime=10; useinbandfec=1;flag").unwrap();
        assert_eq!(f.format, "111");
        assert_eq!(
            f.pairs().collect::<Vec<_>>(),
            vec![
                ("minptime", Some("10")),
                ("useinbandfec", Some("1")),
                ("flag", None)
            ]
        );
        assert_eq!(Fmtp::parse("101 0-16").unwrap().to_string(), "101 0-16");
        assert_eq!(Fmtp::parse("101").unwrap().params, "");
        assert!(Fmtp::parse(" ").is_err());
    }

    #[test]
    fn lookups() {
        let attrs = list(&[
            ("rtpmap", Some("0 PCMU/8000")),
            ("rtpmap", Some("bogus")),
            ("rtpmap", Some("101 telephone-event/8000")),
            ("fmtp", Some("101 0-16")),
            ("ptime", Some("20.5")),
            ("maxptime", Some("150")),
            ("sendonly", None),
            ("rtcp", Some("53021 IN IP4 192.0.2.4")),
            ("rtcp-mux", None),
        ]);
        assert_eq!(attrs.rtpmaps().count(), 2);
        assert_eq!(attrs.rtpmap(101).unwrap().encoding, "telephone-event");
        assert_eq!(attrs.rtpmap(8), None);
        assert_eq!(attrs.fmtp("101"), Some("0-16"));
        assert_eq!(attrs.ptime(), Some(20));
        assert_eq!(attrs.maxptime(), Some(150));
        assert_eq!(attrs.direction(), Some(MediaDirection::SendOnly));
        let rtcp = attrs.rtcp().unwrap();
        assert_eq!(rtcp.port, 53021);
        assert_eq!(rtcp.ip(), Some("192.0.2.4".parse().unwrap()));
        assert_eq!(rtcp.to_string(), "53021 IN IP4 192.0.2.4");
        assert!(attrs.rtcp_mux());
    }

    #[test]
    fn malformed_values_are_errors() {
        assert!(Rtcp::parse("").is_err());
        assert!(Rtcp::parse("70000").is_err());
        assert!(Rtcp::parse("5005 IN IP4").is_err());
        assert_eq!(Rtcp::parse("5005").unwrap().address, None);
    }

    #[test]
    fn directions() {
        let mut attrs = list(&[("sendrecv", None), ("ptime", Some("20"))]);
        assert_eq!(attrs.direction(), Some(MediaDirection::SendRecv));
        attrs.set_direction(MediaDirection::Inactive);
        assert_eq!(attrs.direction(), Some(MediaDirection::Inactive));
        assert_eq!(attrs.len(), 2);
        // A direction name with a value is some other attribute.
        assert_eq!(list(&[("sendonly", Some("x"))]).direction(), None);
        assert_eq!(
            MediaDirection::SendOnly.reversed(),
            MediaDirection::RecvOnly
        );
        assert_eq!(
            MediaDirection::Inactive.reversed(),
            MediaDirection::Inactive
        );
        assert_eq!(
            MediaDirection::from_name("RECVONLY"),
            Some(MediaDirection::RecvOnly)
        );
        assert_eq!(
            MediaDirection::from_flags(true, false),
            MediaDirection::SendOnly
        );
        assert!(!MediaDirection::RecvOnly.sends());
        assert!(MediaDirection::RecvOnly.receives());
    }
}
