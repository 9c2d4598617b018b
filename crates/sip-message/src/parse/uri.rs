//! URI grammar (RFC 3261 §19.1, §25.1; RFC 3966).

use std::borrow::Cow;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::bytestr::ByteStr;
use crate::error::ParseError;
use crate::params::Params;
use crate::uri::{Host, Scheme, SipUri, TelUri, Uri};

use super::sip_uri::{UriScan, parse_uri_params, sip_uri_after_scheme};
pub(crate) use super::uri_compare::{sip_uri_equivalent, tel_uri_equivalent};

pub(crate) fn uri_err(reason: &'static str) -> ParseError {
    ParseError::Uri { reason }
}

/// Checks the scheme syntax (`ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )`,
/// RFC 3986 §3.1).
fn check_scheme(scheme: &str) -> Result<(), ParseError> {
    let mut bytes = scheme.bytes();
    let valid = bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    if valid {
        Ok(())
    } else {
        Err(uri_err("malformed scheme"))
    }
}

/// Splits `scheme:rest` at the first colon (found by `scan`), after checking
/// that the URI holds no byte that never appears unescaped in one.
fn split_scheme<'t>(text: &'t str, scan: &UriScan) -> Result<(&'t str, usize), ParseError> {
    if scan.bad {
        return Err(uri_err(
            "whitespace, control character, quote or angle bracket in URI",
        ));
    }
    let colon = scan
        .find(text.as_bytes(), 0, text.len(), |b| b == b':')
        .ok_or_else(|| uri_err("missing scheme"))?;
    let scheme = &text[..colon];
    check_scheme(scheme)?;
    Ok((scheme, colon + 1))
}

pub(crate) fn parse_uri(s: &ByteStr) -> Result<Uri, ParseError> {
    parse_uri_in(s, s.as_str())
}

/// Parses the URI `text`, a slice of `src`; parts share `src`'s buffer.
pub(crate) fn parse_uri_in(src: &ByteStr, text: &str) -> Result<Uri, ParseError> {
    let mut uri = Uri::Sip(SipUri::empty(Scheme::Sip));
    parse_uri_into(src, text, &mut uri)?;
    Ok(uri)
}

/// Parses the URI `text`, a slice of `src`, into `out`, which must be a fresh
/// `Uri::Sip(SipUri::empty(…))`. A SIP URI is filled in place: with its
/// inline parameter lists it is large, and moving it costs more than parsing
/// it.
pub(crate) fn parse_uri_into(src: &ByteStr, text: &str, out: &mut Uri) -> Result<(), ParseError> {
    let mut scan = UriScan::new();
    scan.run(text.as_bytes(), false);
    parse_uri_scanned(src, text, &scan, out)
}

/// [`parse_uri_into`] for a text already scanned.
pub(crate) fn parse_uri_scanned(
    src: &ByteStr,
    text: &str,
    scan: &UriScan,
    out: &mut Uri,
) -> Result<(), ParseError> {
    let (scheme, rest) = split_scheme(text, scan)?;
    let scheme = if scheme.eq_ignore_ascii_case("sip") {
        Scheme::Sip
    } else if scheme.eq_ignore_ascii_case("sips") {
        Scheme::Sips
    } else if scheme.eq_ignore_ascii_case("tel") {
        *out = Uri::Tel(parse_tel(src, &text[rest..])?);
        return Ok(());
    } else if rest == text.len() {
        return Err(uri_err("empty URI after the scheme"));
    } else {
        *out = Uri::Other(src.slice_ref(text));
        return Ok(());
    };
    if !matches!(out, Uri::Sip(_)) {
        *out = Uri::Sip(SipUri::empty(scheme));
    }
    let Uri::Sip(uri) = out else {
        unreachable!("the URI was made a SIP URI just above")
    };
    uri.scheme = scheme;
    sip_uri_after_scheme(src, text, scan, rest, uri)
}

pub(crate) fn parse_sip_uri(s: &ByteStr) -> Result<SipUri, ParseError> {
    let text = s.as_str();
    let mut scan = UriScan::new();
    scan.run(text.as_bytes(), false);
    let (scheme_text, rest) = split_scheme(text, &scan)?;
    let scheme = if scheme_text.eq_ignore_ascii_case("sip") {
        Scheme::Sip
    } else if scheme_text.eq_ignore_ascii_case("sips") {
        Scheme::Sips
    } else {
        return Err(uri_err("not a sip or sips URI"));
    };
    let mut uri = SipUri::empty(scheme);
    sip_uri_after_scheme(s, text, &scan, rest, &mut uri)?;
    Ok(uri)
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
    let mut previous = HOST_OTHER;
    for &b in bytes {
        let class = HOST_CLASS[usize::from(b)];
        if class == HOST_INVALID || (class == HOST_DOT && previous == HOST_DOT) {
            return Err(uri_err("malformed host name"));
        }
        numeric &= class != HOST_OTHER;
        previous = class;
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

/// Host byte classes: not a host name character, a digit, a dot, or another
/// host name character (letters, `-` and `_` as seen in the wild).
const HOST_INVALID: u8 = 0;
const HOST_DIGIT: u8 = 1;
const HOST_DOT: u8 = 2;
const HOST_OTHER: u8 = 3;

const HOST_CLASS: [u8; 256] = {
    let mut table = [HOST_INVALID; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = if c.is_ascii_digit() {
            HOST_DIGIT
        } else if c == b'.' {
            HOST_DOT
        } else if c.is_ascii_alphabetic() || c == b'-' || c == b'_' {
            HOST_OTHER
        } else {
            HOST_INVALID
        };
        b += 1;
    }
    table
};

/// Whether `b` may appear in a host name.
#[inline]
pub(crate) fn is_host_byte(b: u8) -> bool {
    HOST_CLASS[usize::from(b)] != HOST_INVALID
}

/// Dotted-decimal IPv4: four decimal octets up to 255, no leading zeros (the
/// same rule as `Ipv4Addr::from_str`, without its generic machinery).
fn parse_ipv4(text: &[u8]) -> Option<Ipv4Addr> {
    let mut octets = [0u8; 4];
    let mut index = 0;
    let mut value: u16 = 0;
    let mut digits = 0;
    for &b in text {
        if b == b'.' {
            if digits == 0 || index == 3 {
                return None;
            }
            octets[index] = u8::try_from(value).ok()?;
            index += 1;
            (value, digits) = (0, 0);
        } else if b.is_ascii_digit() {
            // At most three digits, and no leading zero.
            if digits == 3 || (digits == 1 && value == 0) {
                return None;
            }
            value = value * 10 + u16::from(b - b'0');
            digits += 1;
        } else {
            return None;
        }
    }
    if digits == 0 || index != 3 {
        return None;
    }
    octets[3] = u8::try_from(value).ok()?;
    Some(Ipv4Addr::from(octets))
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
    let mut params = Params::default();
    if let Some(p) = param_text {
        let mut scan = UriScan::new();
        scan.run(p.as_bytes(), false);
        parse_uri_params(src, p, &scan, 0, p.len(), &mut params)?;
    }
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
