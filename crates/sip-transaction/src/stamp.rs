//! Stamping the top Via of an inbound request with the source it came from
//! (RFC 3261 §18.2.1, RFC 3581 §4).

use std::net::{IpAddr, SocketAddr};

use bytes::Bytes;
use sb_sip_message::{ByteStr, HeaderName, Host, ParseError, Request, Via, push_ip, push_u32};

/// Parses the top Via of `request` and, when the sent-by host is not the
/// source address or the client asked for `rport`, rewrites the header with
/// `received` (and `rport` filled in). Returns the Via as parsed, before
/// stamping: matching and the response destination only use its branch,
/// sent-by and whether `rport` is present.
///
/// The result is the text [`Via::stamp_source`] and `Display` produce, written
/// without the formatting machinery (this runs for every inbound request).
pub(crate) fn stamp_top_via(request: &mut Request, source: SocketAddr) -> Result<Via, ParseError> {
    let value = request
        .headers
        .get_mut(&HeaderName::Via)
        .ok_or(ParseError::MissingHeader("Via"))?;
    let via = Via::parse(value)?;
    if via.params.contains("rport") || via.host.ip() != Some(source.ip()) {
        *value = stamped_text(&via, source);
    }
    Ok(via)
}

/// `via` as text with `rport` set to the source port (when present) and
/// `received` set to the source address (replaced in place or appended).
fn stamped_text(via: &Via, source: SocketAddr) -> ByteStr {
    let mut out = Vec::with_capacity(96);
    out.extend_from_slice(via.protocol.as_bytes());
    out.push(b'/');
    out.extend_from_slice(via.transport_token.as_bytes());
    out.push(b' ');
    match &via.host {
        Host::Domain(d) => out.extend_from_slice(d.as_bytes()),
        Host::Ipv4(a) => push_ip(&mut out, IpAddr::V4(*a)),
        Host::Ipv6(a) => {
            out.push(b'[');
            push_ip(&mut out, IpAddr::V6(*a));
            out.push(b']');
        }
    }
    if let Some(port) = via.port {
        out.push(b':');
        push_u32(&mut out, u32::from(port));
    }
    let mut received_written = false;
    for p in via.params.iter() {
        let name = p.name.as_bytes();
        out.push(b';');
        out.extend_from_slice(name);
        if name.eq_ignore_ascii_case(b"rport") {
            out.push(b'=');
            push_u32(&mut out, u32::from(source.port()));
        } else if name.eq_ignore_ascii_case(b"received") {
            out.push(b'=');
            push_ip(&mut out, source.ip());
            received_written = true;
        } else if let Some(v) = &p.value {
            out.push(b'=');
            out.extend_from_slice(v.as_bytes());
        }
    }
    if !received_written {
        out.extend_from_slice(b";received=");
        push_ip(&mut out, source.ip());
    }
    ByteStr::from_utf8(Bytes::from(out))
        .expect("UTF-8 pieces of the parsed Via joined by ASCII are UTF-8")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Same text as `Via::stamp_source` followed by `Display`.
    #[test]
    fn matches_stamp_source() {
        let sources = ["192.0.2.10:40000", "[2001:db8::10]:5062", "192.0.2.255:1"];
        let vias = [
            "SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK1",
            "SIP/2.0/UDP 192.0.2.10:5060;rport;branch=z9hG4bK1",
            "SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK1;rport",
            "SIP/2.0/TCP pc33.example.com;branch=z9hG4bK1",
            "SIP/2.0/UDP [2001:db8::10]:5062;branch=z9hG4bK1;received=192.0.2.99",
            "SIP/2.0/WSS df7jal23ls0d.invalid;branch=z9hG4bK1;rport=1234;x=\"a;b\"",
            "SIP/2.0/UDP 10.0.0.5;RPORT;branch=z9hG4bK1;ttl=16",
        ];
        for source in sources {
            let source: SocketAddr = source.parse().expect("address");
            for text in vias {
                let via = Via::parse(&ByteStr::from(text)).expect("valid Via");
                let mut expected = via.clone();
                expected.stamp_source(source.ip(), source.port());
                let wants = via.params.contains("rport") || via.host.ip() != Some(source.ip());
                if wants {
                    assert_eq!(
                        stamped_text(&via, source).as_str(),
                        expected.to_string(),
                        "{text} from {source}"
                    );
                }
            }
        }
    }
}
