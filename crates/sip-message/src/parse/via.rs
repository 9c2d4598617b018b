//! Via (RFC 3261 §20.42) and CSeq (§20.16).

use crate::bytestr::ByteStr;
use crate::error::ParseError;
use crate::method::Method;
use crate::via::{CSeq, Via};

use super::lex::{Cursor, is_token_byte, parse_header_params};
use super::uri::{is_host_byte, parse_host_str, parse_port};

fn via_err(reason: &'static str) -> ParseError {
    ParseError::header("Via", reason)
}

/// `sent-protocol LWS sent-by *( SEMI via-params )`, where the slashes of
/// sent-protocol and the colon of sent-by may be surrounded by whitespace.
pub(crate) fn parse_via(s: &ByteStr) -> Result<Via, ParseError> {
    let mut via = Via::empty();
    parse_via_into(s, &mut via)?;
    Ok(via)
}

/// [`parse_via`] into `out`, fresh from [`Via::empty`] (filled in place: its
/// inline parameter list makes it large).
pub(crate) fn parse_via_into(s: &ByteStr, out: &mut Via) -> Result<(), ParseError> {
    let text = s.as_str();
    let mut c = Cursor::new(text);
    c.skip_wsp();
    let protocol_start = c.pos();
    let name = c.take_while(is_token_byte);
    c.skip_wsp();
    if name.is_empty() || !c.eat(b'/') {
        return Err(via_err("malformed sent-protocol"));
    }
    c.skip_wsp();
    let version = c.take_while(is_token_byte);
    let protocol_end = c.pos();
    c.skip_wsp();
    if version.is_empty() || !c.eat(b'/') {
        return Err(via_err("malformed sent-protocol"));
    }
    c.skip_wsp();
    let transport = c.take_while(is_token_byte);
    if transport.is_empty() {
        return Err(via_err("missing transport"));
    }
    if c.skip_wsp() == 0 {
        return Err(via_err("missing whitespace before sent-by"));
    }

    let host_text = if c.peek() == Some(b'[') {
        let rest = c.rest();
        let close = rest
            .find(']')
            .ok_or_else(|| via_err("unterminated IPv6 reference"))?;
        c.take_n(close + 1)
    } else {
        c.take_while(is_host_byte)
    };
    let host = parse_host_str(s, host_text).map_err(|e| match e {
        ParseError::Uri { reason } => via_err(reason),
        other => other,
    })?;
    c.skip_wsp();
    let port = if c.eat(b':') {
        c.skip_wsp();
        let digits = c.take_while(|b| b.is_ascii_digit());
        Some(parse_port(digits).map_err(|_| via_err("malformed sent-by port"))?)
    } else {
        None
    };

    let written = &text[protocol_start..protocol_end];
    let protocol = if written == "SIP/2.0" {
        // The usual spelling: a static string reads the same and costs less.
        ByteStr::from_static("SIP/2.0")
    } else if written.len() == name.len() + 1 + version.len() {
        s.slice_ref(written)
    } else if name.eq_ignore_ascii_case("SIP") && version == "2.0" {
        // Written with inner whitespace: normalised without copying.
        ByteStr::from_static("SIP/2.0")
    } else {
        let mut joined = String::with_capacity(name.len() + 1 + version.len());
        joined.push_str(name);
        joined.push('/');
        joined.push_str(version);
        ByteStr::from(joined)
    };
    out.protocol = protocol;
    out.transport_token = match transport {
        "UDP" => ByteStr::from_static("UDP"),
        "TCP" => ByteStr::from_static("TCP"),
        "TLS" => ByteStr::from_static("TLS"),
        "WS" => ByteStr::from_static("WS"),
        "WSS" => ByteStr::from_static("WSS"),
        _ => s.slice_ref(transport),
    };
    out.host = host;
    out.port = port;
    parse_header_params(s, c.rest(), "Via", &mut out.params)
}

/// `1*DIGIT LWS Method`. The number must fit in 32 bits here; the RFC's
/// 2^31 limit is checked by request validation.
pub(crate) fn parse_cseq(s: &ByteStr) -> Result<CSeq, ParseError> {
    let err = |reason| ParseError::header("CSeq", reason);
    let mut c = Cursor::new(s.as_str());
    c.skip_wsp();
    let digits = c.take_while(|b| b.is_ascii_digit());
    if digits.is_empty() {
        return Err(err("missing sequence number"));
    }
    let seq = digits
        .parse::<u32>()
        .map_err(|_| err("sequence number out of range"))?;
    if c.skip_wsp() == 0 {
        return Err(err("missing whitespace before method"));
    }
    let method = c.take_while(is_token_byte);
    if method.is_empty() {
        return Err(err("missing method"));
    }
    c.skip_wsp();
    if !c.at_end() {
        return Err(err("unexpected text after method"));
    }
    Ok(CSeq {
        seq,
        method: Method::from_bytestr(&s.slice_ref(method)),
    })
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use super::*;
    use crate::transport::Transport;
    use crate::uri::Host;

    fn via(s: &str) -> Via {
        parse_via(&ByteStr::from(s)).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn plain_via() {
        let v = via("SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds;rport");
        assert_eq!(v.protocol, "SIP/2.0");
        assert_eq!(v.transport(), Some(Transport::Udp));
        assert_eq!(v.host, Host::Ipv4("192.0.2.1".parse().unwrap()));
        assert_eq!(v.port, Some(5060));
        assert_eq!(v.branch().unwrap().as_str(), "z9hG4bK776asdhds");
        assert!(v.branch().unwrap().is_rfc3261());
        assert_eq!(v.rport(), Some(None));
        assert_eq!(
            v.to_string(),
            "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds;rport"
        );
    }

    #[test]
    fn whitespace_everywhere() {
        let v = via("SIP  /   2.0 /UDP 192.0.2.2;branch=390skdjuw");
        assert_eq!(v.protocol, "SIP/2.0");
        assert_eq!(v.transport_token, "UDP");
        let v = via("SIP  / 2.0  / TCP     spindle.example.com   ;  branch  =   z9hG4bK9ikj8");
        assert_eq!(v.host, Host::Domain(ByteStr::from("spindle.example.com")));
        assert_eq!(v.branch().unwrap().as_str(), "z9hG4bK9ikj8");
        let v = via("SIP/2.0/TCP host.example.com : 5070 ;branch=z9hG4bKx");
        assert_eq!(v.port, Some(5070));
    }

    #[test]
    fn ipv6_and_received() {
        let v =
            via("SIP/2.0/WSS [2001:db8::9]:443;branch=z9hG4bKa;received=2001:db8::9;rport=50000");
        assert_eq!(v.host, Host::Ipv6("2001:db8::9".parse().unwrap()));
        assert_eq!(v.port, Some(443));
        assert_eq!(v.transport(), Some(Transport::Wss));
        assert_eq!(v.received(), Some("2001:db8::9".parse::<IpAddr>().unwrap()));
        assert_eq!(v.rport(), Some(Some(50000)));
        let v = via("SIP/2.0/UDP example.com;received=[2001:db8::1]");
        assert_eq!(v.received(), Some("2001:db8::1".parse::<IpAddr>().unwrap()));
    }

    #[test]
    fn unknown_transport_and_protocol() {
        let v = via("SIP/2.0/SCTP t2.example.com;branch=z9hG4bKklasjdhf");
        assert_eq!(v.transport(), None);
        assert_eq!(v.transport_token, "SCTP");
        let v = via("XSIP / 3.0/UNKNOWN t4.example.com");
        assert_eq!(v.protocol, "XSIP/3.0");
    }

    #[test]
    fn stamp_source() {
        // RFC 3261 §18.2.1: received added when the host differs.
        let mut v = via("SIP/2.0/UDP pc33.example.com;branch=z9hG4bK1");
        v.stamp_source("192.0.2.7".parse().unwrap(), 5062);
        assert_eq!(v.received(), Some("192.0.2.7".parse().unwrap()));
        assert_eq!(v.rport(), None);
        // Same address, no rport: nothing added.
        let mut v = via("SIP/2.0/UDP 192.0.2.7:5060;branch=z9hG4bK1");
        v.stamp_source("192.0.2.7".parse().unwrap(), 5060);
        assert!(!v.params.contains("received"));
        // RFC 3581 §4: rport filled and received always added.
        let mut v = via("SIP/2.0/UDP 192.0.2.7:5060;rport;branch=z9hG4bK1");
        v.stamp_source("192.0.2.7".parse().unwrap(), 40000);
        assert_eq!(v.rport(), Some(Some(40000)));
        assert_eq!(v.received(), Some("192.0.2.7".parse().unwrap()));
        assert_eq!(
            v.to_string(),
            "SIP/2.0/UDP 192.0.2.7:5060;rport=40000;branch=z9hG4bK1;received=192.0.2.7"
        );
        // IPv6 source: received without brackets, parseable again.
        let mut v = via("SIP/2.0/TCP [2001:db8::1];branch=z9hG4bK1;rport");
        v.stamp_source("2001:db8::2".parse().unwrap(), 5070);
        let again = via(&v.to_string());
        assert_eq!(again.received(), Some("2001:db8::2".parse().unwrap()));
        assert_eq!(again.rport(), Some(Some(5070)));
    }

    #[test]
    fn via_rejects() {
        for bad in [
            "",
            "SIP/2.0 host",
            "SIP/2.0/UDP",
            "SIP/2.0/UDPhost",
            "SIP/2.0/UDP 192.0.2.15;;",
            ";",
            "SIP/2.0/UDP host:;branch=x",
            "SIP/2.0/UDP host:99999",
            "SIP/2.0/UDP [2001:db8::1",
            "SIP/2.0/UDP 192.0.2.300",
            "SIP/2.0/UDP host junk",
            "SIP/2.0/UDP host;branch=",
        ] {
            assert!(parse_via(&ByteStr::from(bad)).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn cseq() {
        let c = parse_cseq(&ByteStr::from("0009\t INVITE")).unwrap();
        assert_eq!(c.seq, 9);
        assert_eq!(c.method, Method::Invite);
        let c = parse_cseq(&ByteStr::from(
            "139122385 !interesting-Method0123456789_*+`.%indeed'~",
        ))
        .unwrap();
        assert_eq!(
            c.method.as_str(),
            "!interesting-Method0123456789_*+`.%indeed'~"
        );
        assert_eq!(
            parse_cseq(&ByteStr::from("4294967295 ACK")).unwrap().seq,
            u32::MAX
        );
        for bad in [
            "",
            "INVITE",
            "1",
            "1INVITE",
            "36893488147419103232 INVITE",
            "-1 INVITE",
            "1 INVITE x",
            "1 INV<ITE",
        ] {
            assert!(parse_cseq(&ByteStr::from(bad)).is_err(), "{bad:?} accepted");
        }
    }
}
