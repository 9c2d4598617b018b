//! URI grammar (RFC 3261 §19.1, §25.1; RFC 3966).

use std::borrow::Cow;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::bytestr::ByteStr;
use crate::error::ParseError;
use crate::params::{Param, Params};
use crate::uri::{Host, Scheme, SipUri, TelUri, Uri};

pub(crate) use super::uri_compare::{sip_uri_equivalent, tel_uri_equivalent};

fn uri_err(reason: &'static str) -> ParseError {
    ParseError::Uri { reason }
}

/// Splits `scheme:rest`, checking the scheme syntax
/// (`ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )`, RFC 3986 §3.1).
fn split_scheme(text: &str) -> Result<(&str, &str), ParseError> {
    let colon = position(text, b':').ok_or_else(|| uri_err("missing scheme"))?;
    let scheme = &text[..colon];
    let mut bytes = scheme.bytes();
    let valid = bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    if !valid {
        return Err(uri_err("malformed scheme"));
    }
    Ok((scheme, &text[colon + 1..]))
}

/// The first `b` in `text`. URIs are short: a plain loop beats a vectorised
/// search and its set-up.
fn position(text: &str, b: u8) -> Option<usize> {
    text.bytes().position(|c| c == b)
}

/// Whitespace, control characters, quotes and angle brackets never appear
/// unescaped in a URI (RFC 3986 §2; they delimit it in a name-addr).
fn check_no_space(text: &str) -> Result<(), ParseError> {
    if text.bytes().any(|b| NOT_IN_URI[usize::from(b)]) {
        return Err(uri_err(
            "whitespace, control character, quote or angle bracket in URI",
        ));
    }
    Ok(())
}

/// Bytes that never appear unescaped in a URI.
const NOT_IN_URI: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = b <= 0x20
            || b == 0x7f
            || b == b'<' as usize
            || b == b'>' as usize
            || b == b'"' as usize;
        b += 1;
    }
    table
};

/// Host name characters (letters, digits, `-`, `.`, and `_` as seen in the
/// wild).
const HOST_CHAR: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric() || c == b'-' || c == b'.' || c == b'_';
        b += 1;
    }
    table
};

pub(crate) fn parse_uri(s: &ByteStr) -> Result<Uri, ParseError> {
    parse_uri_in(s, s.as_str())
}

/// Parses the URI `text`, a slice of `src`; parts share `src`'s buffer.
pub(crate) fn parse_uri_in(src: &ByteStr, text: &str) -> Result<Uri, ParseError> {
    let s = src;
    check_no_space(text)?;
    let (scheme, rest) = split_scheme(text)?;
    if scheme.eq_ignore_ascii_case("sip") {
        sip_uri_after_scheme(s, Scheme::Sip, rest).map(Uri::Sip)
    } else if scheme.eq_ignore_ascii_case("sips") {
        sip_uri_after_scheme(s, Scheme::Sips, rest).map(Uri::Sip)
    } else if scheme.eq_ignore_ascii_case("tel") {
        parse_tel(s, rest).map(Uri::Tel)
    } else if rest.is_empty() {
        Err(uri_err("empty URI after the scheme"))
    } else {
        Ok(Uri::Other(s.slice_ref(text)))
    }
}

pub(crate) fn parse_sip_uri(s: &ByteStr) -> Result<SipUri, ParseError> {
    let text = s.as_str();
    check_no_space(text)?;
    let (scheme_text, rest) = split_scheme(text)?;
    let scheme = if scheme_text.eq_ignore_ascii_case("sip") {
        Scheme::Sip
    } else if scheme_text.eq_ignore_ascii_case("sips") {
        Scheme::Sips
    } else {
        return Err(uri_err("not a sip or sips URI"));
    };
    sip_uri_after_scheme(s, scheme, rest)
}

/// The part of a SIP URI after `sip:`; `rest` is a slice of `s`.
fn sip_uri_after_scheme(s: &ByteStr, scheme: Scheme, rest: &str) -> Result<SipUri, ParseError> {
    // userinfo: '@' appears nowhere else in the grammar, so the first one ends
    // it; the user part may hold ';', '?', ',' and '/' (RFC 3261 §25.1).
    let (user, password, hostpart) = match position(rest, b'@') {
        Some(at) => {
            let userinfo = &rest[..at];
            let (user, password) = match position(userinfo, b':') {
                Some(c) => (&userinfo[..c], Some(s.slice_ref(&userinfo[c + 1..]))),
                None => (userinfo, None),
            };
            if user.is_empty() {
                return Err(uri_err("empty user part"));
            }
            (Some(s.slice_ref(user)), password, &rest[at + 1..])
        }
        None => (None, None, rest),
    };

    let hostport_end = hostpart
        .bytes()
        .position(|b| b == b';' || b == b'?')
        .unwrap_or(hostpart.len());
    let (hostport, tail) = hostpart.split_at(hostport_end);
    let (host, port) = parse_hostport(s, hostport)?;

    let (param_text, header_text) = match position(tail, b'?') {
        Some(q) => (&tail[..q], Some(&tail[q + 1..])),
        None => (tail, None),
    };
    let params = match param_text.strip_prefix(';') {
        Some(p) => parse_uri_params(s, p)?,
        None => Params::new(),
    };
    let headers = match header_text {
        Some(h) => parse_uri_headers(s, h)?,
        None => Params::new(),
    };
    Ok(SipUri {
        scheme,
        user,
        password,
        host,
        port,
        params,
        headers,
    })
}

/// `host [":" port]`, IPv6 references in brackets.
fn parse_hostport(s: &ByteStr, hostport: &str) -> Result<(Host, Option<u16>), ParseError> {
    let (host_text, port_text) = if hostport.starts_with('[') {
        let close =
            position(hostport, b']').ok_or_else(|| uri_err("unterminated IPv6 reference"))?;
        let after = &hostport[close + 1..];
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p),
            None if after.is_empty() => None,
            None => return Err(uri_err("unexpected text after IPv6 reference")),
        };
        (&hostport[..=close], port)
    } else {
        match position(hostport, b':') {
            Some(c) => (&hostport[..c], Some(&hostport[c + 1..])),
            None => (hostport, None),
        }
    };
    let host = parse_host_str(s, host_text)?;
    let port = port_text.map(parse_port).transpose()?;
    Ok((host, port))
}

/// A port: 1 to 5 digits, at most 65535.
pub(crate) fn parse_port(p: &str) -> Result<u16, ParseError> {
    if p.is_empty() || p.len() > 5 {
        return Err(uri_err("malformed port"));
    }
    let mut port: u32 = 0;
    for b in p.bytes() {
        if !b.is_ascii_digit() {
            return Err(uri_err("malformed port"));
        }
        port = port * 10 + u32::from(b - b'0');
    }
    u16::try_from(port).map_err(|_| uri_err("port out of range"))
}

pub(crate) fn parse_host(s: &ByteStr) -> Result<Host, ParseError> {
    parse_host_str(s, s.as_str())
}

/// Parses a host that is `text`, a slice of `src`.
pub(crate) fn parse_host_str(src: &ByteStr, text: &str) -> Result<Host, ParseError> {
    if let Some(inner) = text.strip_prefix('[') {
        let inner = inner
            .strip_suffix(']')
            .ok_or_else(|| uri_err("unterminated IPv6 reference"))?;
        return inner
            .parse::<Ipv6Addr>()
            .map(Host::Ipv6)
            .map_err(|_| uri_err("malformed IPv6 address"));
    }
    let bytes = text.as_bytes();
    let Some(&first) = bytes.first() else {
        return Err(uri_err("empty host"));
    };
    // One pass: host name characters, no empty label, and whether it is all
    // digits and dots (a top label never starts with a digit, so that must be
    // an IPv4 address).
    let mut numeric = true;
    let mut previous = 0u8;
    for &b in bytes {
        if !HOST_CHAR[usize::from(b)] || (b == b'.' && previous == b'.') {
            return Err(uri_err("malformed host name"));
        }
        numeric &= b.is_ascii_digit() || b == b'.';
        previous = b;
    }
    if numeric {
        return parse_ipv4(bytes)
            .map(Host::Ipv4)
            .ok_or_else(|| uri_err("malformed IPv4 address"));
    }
    if first == b'.' || first == b'-' {
        return Err(uri_err("malformed host name"));
    }
    Ok(Host::Domain(src.slice_ref(text)))
}

/// Dotted-decimal IPv4: four decimal octets up to 255, no leading zeros (the
/// same rule as `Ipv4Addr::from_str`, without its generic machinery).
fn parse_ipv4(text: &[u8]) -> Option<Ipv4Addr> {
    let mut octets = [0u8; 4];
    let mut parts = text.split(|b| *b == b'.');
    for octet in &mut octets {
        let part = parts.next()?;
        if part.is_empty() || part.len() > 3 || (part.len() > 1 && part[0] == b'0') {
            return None;
        }
        let mut value: u16 = 0;
        for &d in part {
            if !d.is_ascii_digit() {
                return None;
            }
            value = value * 10 + u16::from(d - b'0');
        }
        *octet = u8::try_from(value).ok()?;
    }
    parts.next().is_none().then(|| Ipv4Addr::from(octets))
}

/// `name[=value]` pieces separated by `;` (the leading `;` already removed).
fn parse_uri_params(src: &ByteStr, text: &str) -> Result<Params, ParseError> {
    let mut params = Params::new();
    for piece in text.split(';') {
        let (name, value) = match piece.split_once('=') {
            Some((n, v)) => {
                if v.is_empty() {
                    return Err(uri_err("empty URI parameter value"));
                }
                (n, Some(src.slice_ref(v)))
            }
            None => (piece, None),
        };
        if name.is_empty() {
            return Err(uri_err("empty URI parameter"));
        }
        params.0.push(Param {
            name: src.slice_ref(name),
            value,
        });
    }
    Ok(params)
}

/// `hname=hvalue` pieces separated by `&` (the leading `?` already removed).
fn parse_uri_headers(src: &ByteStr, text: &str) -> Result<Params, ParseError> {
    let mut headers = Params::new();
    for piece in text.split('&') {
        let (name, value) = piece
            .split_once('=')
            .ok_or_else(|| uri_err("URI header without '='"))?;
        if name.is_empty() {
            return Err(uri_err("empty URI header name"));
        }
        headers.0.push(Param {
            name: src.slice_ref(name),
            value: Some(src.slice_ref(value)),
        });
    }
    Ok(headers)
}

/// `tel:` URI (RFC 3966 §3): a global (`+…`) or local number, then parameters.
fn parse_tel(src: &ByteStr, rest: &str) -> Result<TelUri, ParseError> {
    let (number, param_text) = match rest.find(';') {
        Some(i) => (&rest[..i], Some(&rest[i + 1..])),
        None => (rest, None),
    };
    let digits = number.strip_prefix('+').unwrap_or(number);
    let global = digits.len() != number.len();
    let is_separator = |b: u8| matches!(b, b'-' | b'.' | b'(' | b')');
    let valid = digits.bytes().any(|b| b.is_ascii_hexdigit())
        && digits.bytes().all(|b| {
            is_separator(b)
                || if global {
                    b.is_ascii_digit()
                } else {
                    b.is_ascii_hexdigit() || b == b'*' || b == b'#'
                }
        });
    if !valid {
        return Err(uri_err("malformed telephone number"));
    }
    let params = match param_text {
        Some(p) => parse_uri_params(src, p)?,
        None => Params::new(),
    };
    Ok(TelUri {
        number: src.slice_ref(number),
        params,
    })
}

/// Resolves `%XX` escapes into bytes; malformed escapes stay literal.
pub(crate) fn unescape_bytes(s: &str) -> Cow<'_, [u8]> {
    if !s.contains('%') {
        return Cow::Borrowed(s.as_bytes());
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let (Some(h), Some(l)) = (
                bytes.get(i + 1).and_then(|b| hex_value(*b)),
                bytes.get(i + 2).and_then(|b| hex_value(*b)),
            )
        {
            out.push(h << 4 | l);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Cow::Owned(out)
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Resolves `%XX` escapes. Escapes that decode to invalid UTF-8 become U+FFFD.
pub(crate) fn unescape(s: &str) -> Cow<'_, str> {
    match unescape_bytes(s) {
        Cow::Borrowed(_) => Cow::Borrowed(s),
        Cow::Owned(bytes) => match String::from_utf8(bytes) {
            Ok(text) => Cow::Owned(text),
            Err(e) => Cow::Owned(String::from_utf8_lossy(e.as_bytes()).into_owned()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sip(s: &str) -> SipUri {
        parse_sip_uri(&ByteStr::from(s)).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn full_sip_uri() {
        let u =
            sip("SIPS:alice:secret@Example.COM:5061;transport=tcp;lr?Subject=hi&Priority=urgent");
        assert_eq!(u.scheme, Scheme::Sips);
        assert_eq!(u.user.as_deref(), Some("alice"));
        assert_eq!(u.password.as_deref(), Some("secret"));
        assert_eq!(u.host, Host::Domain(ByteStr::from("Example.COM")));
        assert_eq!(u.port, Some(5061));
        assert_eq!(u.params.value("transport").unwrap(), "tcp");
        assert!(u.is_loose_router());
        assert_eq!(u.headers.value("priority").unwrap(), "urgent");
        assert_eq!(
            u.to_string(),
            "sips:alice:secret@Example.COM:5061;transport=tcp;lr?Subject=hi&Priority=urgent"
        );
    }

    #[test]
    fn hosts() {
        assert_eq!(
            sip("sip:192.0.2.4").host,
            Host::Ipv4("192.0.2.4".parse().unwrap())
        );
        let u = sip("sip:bob@[2001:db8::9]:5070;maddr=[2001:db8::1]");
        assert_eq!(u.host, Host::Ipv6("2001:db8::9".parse().unwrap()));
        assert_eq!(u.port, Some(5070));
        assert_eq!(u.params.value("maddr").unwrap(), "[2001:db8::1]");
        for bad in [
            "sip:",
            "sip:@example.com",
            "sip:192.0.2.256",
            "sip:[2001:db8::1",
            "sip:[2001:db8::1]x",
            "sip:ex ample.com",
            "sip:example.com:",
            "sip:example.com:65536",
            "sip:example.com;",
            "sip:example.com;a=",
            "sip:example.com?",
            "sip:example.com?a",
            "sip:exa<mple.com",
            "sip:.example.com",
            "sip:a\"b@example.com",
            "sip:a@example.com;x=>",
        ] {
            assert!(
                parse_sip_uri(&ByteStr::from(bad)).is_err(),
                "{bad} accepted"
            );
        }
    }

    #[test]
    fn ipv4_rules_match_the_standard_library() {
        for text in [
            "192.0.2.1",
            "0.0.0.0",
            "255.255.255.255",
            "192.0.2.256",
            "01.2.3.4",
            "1.2.3",
            "1.2.3.4.5",
            "1..2.3",
            "1.2.3.",
            ".1.2.3",
            "1234.1.1.1",
            "00.1.1.1",
            "10.0.0.10",
        ] {
            assert_eq!(parse_ipv4(text.as_bytes()), text.parse().ok(), "{text}");
        }
    }

    #[test]
    fn user_part_keeps_semicolons() {
        let u = sip("sip:user;par=u%40example.net@example.com");
        assert_eq!(u.user.as_deref(), Some("user;par=u%40example.net"));
        assert!(u.params.is_empty());
        assert_eq!(u.user_unescaped().unwrap(), "user;par=u@example.net");
    }

    #[test]
    fn tel_and_other() {
        let Uri::Tel(t) = parse_uri(&ByteStr::from("tel:+1-201-555-0123;ext=44")).unwrap() else {
            panic!("not tel")
        };
        assert!(t.is_global());
        assert_eq!(t.digits(), "+12015550123");
        assert_eq!(t.params.value("ext").unwrap(), "44");
        let Uri::Tel(t) = parse_uri(&ByteStr::from("TEL:7042;phone-context=example.com")).unwrap()
        else {
            panic!("not tel")
        };
        assert!(!t.is_global());
        assert!(matches!(
            parse_uri(&ByteStr::from("urn:service:sos")).unwrap(),
            Uri::Other(_)
        ));
        for bad in [
            "<sip:a@example.com>",
            "t+le:1-201-555-019>",
            "tel:",
            "tel:+",
            "tel:+12a",
            "http:",
            "1x:y",
            "mailto: a",
        ] {
            assert!(parse_uri(&ByteStr::from(bad)).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn unescaping() {
        assert_eq!(unescape("%75se%72"), "user");
        assert_eq!(unescape("null-%00-null"), "null-\0-null");
        assert_eq!(unescape("100%"), "100%");
        assert_eq!(unescape("%Z%45"), "%ZE");
        assert_eq!(unescape("%FF"), "\u{FFFD}");
        assert!(matches!(unescape("plain"), Cow::Borrowed("plain")));
    }
}
