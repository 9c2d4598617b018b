//! Transaction matching keys (RFC 3261 §17.1.3, §17.2.3).
//!
//! A key is a short byte string written into a reusable buffer, so looking a message
//! up allocates nothing; only a new transaction copies its key. Fields are
//! separated by `\n`, which cannot occur in an unfolded header value.

use std::io::Write as _;
use std::net::IpAddr;

use sb_sip_message::{
    BRANCH_MAGIC_COOKIE, ByteStr, HeaderName, Host, Method, Request, Via, push_ip, push_u32,
};

use crate::text::push_lower;

/// Why no key could be built for a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unmatchable {
    /// An RFC 2543 request (no magic cookie) lacks a header the fallback needs.
    MissingRfc2543Fields,
}

/// The branch when it carries the RFC 3261 magic cookie.
pub(crate) fn rfc3261_branch(via: &Via) -> Option<&ByteStr> {
    via.params
        .value("branch")
        .filter(|b| b.as_bytes().starts_with(BRANCH_MAGIC_COOKIE.as_bytes()))
}

/// Writes the client transaction key: the branch (case-insensitive) and the
/// method (RFC 3261 §17.1.3). CANCEL shares its INVITE's branch and differs by
/// method.
pub(crate) fn client_key(out: &mut Vec<u8>, method: &Method, branch: &ByteStr) {
    out.clear();
    out.extend_from_slice(method.as_str().as_bytes());
    out.push(b'\n');
    push_lower(out, branch.as_bytes());
}

/// Writes the server transaction key of `request`, whose top Via is `via`
/// (RFC 3261 §17.2.3).
///
/// With an RFC 3261 branch: branch (case-insensitive), sent-by (host
/// case-insensitive, port as written) and method, with ACK mapped to INVITE so
/// that the ACK for a non-2xx finds its INVITE transaction; CANCEL keeps its
/// own method. `as_method` replaces the request's method (for matching a
/// CANCEL to its INVITE, RFC 3261 §9.2).
///
/// Without the magic cookie, the RFC 2543 fallback: Request-URI, To tag, From
/// tag, Call-ID, CSeq number, the top Via as written and the method. An ACK
/// keeps method ACK here and matches the alias that the INVITE transaction
/// registers with the To tag of its final response ([`rfc2543_ack_alias`]).
pub(crate) fn server_key(
    out: &mut Vec<u8>,
    request: &Request,
    via: &Via,
    as_method: Option<&Method>,
) -> Result<(), Unmatchable> {
    let method = as_method.unwrap_or(&request.method);
    out.clear();
    match rfc3261_branch(via) {
        Some(branch) => {
            out.extend_from_slice(b"3\n");
            let method = if *method == Method::Ack {
                &Method::Invite
            } else {
                method
            };
            out.extend_from_slice(method.as_str().as_bytes());
            out.push(b'\n');
            push_lower(out, branch.as_bytes());
            out.push(b'\n');
            match &via.host {
                Host::Domain(d) => push_lower(out, d.as_bytes()),
                Host::Ipv4(a) => push_ip(out, IpAddr::V4(*a)),
                Host::Ipv6(a) => {
                    out.push(b'[');
                    push_ip(out, IpAddr::V6(*a));
                    out.push(b']');
                }
            }
            if let Some(port) = via.port {
                out.push(b':');
                push_u32(out, u32::from(port));
            }
            Ok(())
        }
        None => {
            let to_tag = request
                .headers
                .to_addr()
                .map_err(|_| Unmatchable::MissingRfc2543Fields)?
                .tag();
            rfc2543_key(out, method, request, to_tag.as_ref().map(|t| t.as_str()))
        }
    }
}

/// The RFC 2543 key an ACK for a non-2xx final response carries: the INVITE's
/// fields with the To tag of the response (RFC 3261 §17.2.3).
pub(crate) fn rfc2543_ack_alias(
    out: &mut Vec<u8>,
    invite: &Request,
    response_to_tag: Option<&str>,
) -> Result<(), Unmatchable> {
    out.clear();
    rfc2543_key(out, &Method::Ack, invite, response_to_tag)
}

fn rfc2543_key(
    out: &mut Vec<u8>,
    method: &Method,
    request: &Request,
    to_tag: Option<&str>,
) -> Result<(), Unmatchable> {
    let missing = |_| Unmatchable::MissingRfc2543Fields;
    let h = &request.headers;
    let from_tag = h.from_addr().map_err(missing)?.tag();
    let call_id = h.call_id().map_err(missing)?;
    let cseq = h.cseq().map_err(missing)?;
    let top_via = h
        .get(&HeaderName::Via)
        .ok_or(Unmatchable::MissingRfc2543Fields)?;
    let _ = write!(
        out,
        "2\n{}\n{}\n{}\n{}\n{}\n{}\n{}",
        method,
        request.uri,
        to_tag.unwrap_or(""),
        from_tag.as_ref().map_or("", |t| t.as_str()),
        call_id,
        cseq.seq,
        top_via
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use sb_sip_message::{Param, Params, Scheme, SipUri, Uri};

    use super::*;

    fn via(host: Host, port: Option<u16>, branch: Option<&str>) -> Via {
        let mut params = Params::new();
        if let Some(b) = branch {
            params.push(Param {
                name: ByteStr::from("branch"),
                value: Some(ByteStr::from(b)),
            });
        }
        Via {
            protocol: ByteStr::from_static("SIP/2.0"),
            transport_token: ByteStr::from_static("UDP"),
            host,
            port,
            params,
        }
    }

    fn request(method: Method) -> Request {
        Request::new(
            method,
            Uri::Sip(SipUri::new(
                Scheme::Sip,
                Some("bob"),
                Host::Domain(ByteStr::from("example.com")),
                None,
            )),
        )
    }

    fn key(method: Method, via: &Via, as_method: Option<&Method>) -> Vec<u8> {
        let mut out = Vec::new();
        server_key(&mut out, &request(method), via, as_method).expect("rfc 3261 key");
        out
    }

    #[test]
    fn server_key_normalises_case_and_maps_ack_to_invite() {
        let domain = |d: &str| Host::Domain(ByteStr::from(d));
        let a = via(domain("PC33.Example.COM"), Some(5060), Some("z9hG4bKAbC"));
        let b = via(domain("pc33.example.com"), Some(5060), Some("z9hG4bKabc"));
        assert_eq!(key(Method::Invite, &a, None), key(Method::Invite, &b, None));
        assert_eq!(key(Method::Ack, &a, None), key(Method::Invite, &b, None));
        assert_ne!(key(Method::Cancel, &a, None), key(Method::Invite, &a, None));
        assert_eq!(
            key(Method::Cancel, &a, Some(&Method::Invite)),
            key(Method::Invite, &a, None)
        );
        // Sent-by differences separate transactions.
        let other_port = via(domain("pc33.example.com"), Some(5070), Some("z9hG4bKabc"));
        assert_ne!(
            key(Method::Invite, &other_port, None),
            key(Method::Invite, &b, None)
        );
        let no_port = via(domain("pc33.example.com"), None, Some("z9hG4bKabc"));
        assert_ne!(
            key(Method::Invite, &no_port, None),
            key(Method::Invite, &b, None)
        );
        let v6 = via(
            Host::Ipv6("2001:db8::1".parse().expect("v6")),
            Some(5060),
            Some("z9hG4bKabc"),
        );
        assert_eq!(
            key(Method::Invite, &v6, None),
            b"3\nINVITE\nz9hg4bkabc\n[2001:db8::1]:5060"
        );
    }

    #[test]
    fn client_key_is_branch_and_method() {
        let mut a = Vec::new();
        let mut b = Vec::new();
        let upper = ByteStr::from("z9hG4bKX");
        client_key(&mut a, &Method::Invite, &upper);
        client_key(&mut b, &Method::Cancel, &upper);
        assert_ne!(a, b);
        client_key(&mut b, &Method::Invite, &ByteStr::from("z9hg4bkx"));
        assert_eq!(a, b);
    }

    #[test]
    fn cookie_detection() {
        let host = Host::Domain(ByteStr::from("example.com"));
        assert_eq!(
            rfc3261_branch(&via(host.clone(), None, Some("z9hG4bK1"))).map(|b| b.as_str()),
            Some("z9hG4bK1")
        );
        assert_eq!(rfc3261_branch(&via(host.clone(), None, Some("1234"))), None);
        assert_eq!(rfc3261_branch(&via(host, None, None)), None);
    }
}
