//! name-addr / addr-spec with header parameters (RFC 3261 §20.10, §25.1).

use crate::bytestr::ByteStr;
use crate::error::ParseError;
use crate::name_addr::NameAddr;
use crate::params::unquote;

use super::lex::{
    is_token_byte, is_wsp, parse_header_params, quoted_end, trim_start_wsp, trim_wsp,
};
use super::sip_uri::UriScan;
use super::uri::{parse_uri_into, parse_uri_scanned};

/// Element name used in errors; callers that know the header rename it.
const WHAT: &str = "name-addr";

fn err(reason: &'static str) -> ParseError {
    ParseError::header(WHAT, reason)
}

pub(crate) fn parse_name_addr(s: &ByteStr) -> Result<NameAddr, ParseError> {
    let mut addr = NameAddr::empty();
    parse_name_addr_into(s, &mut addr)?;
    Ok(addr)
}

/// Parses one name-addr or addr-spec with parameters into `out`, which must
/// be fresh from [`NameAddr::empty`] (filled in place: see
/// [`parse_uri_into`]).
pub(crate) fn parse_name_addr_into(s: &ByteStr, out: &mut NameAddr) -> Result<(), ParseError> {
    let text = trim_wsp(s.as_str());
    let bytes = text.as_bytes();
    if bytes.is_empty() {
        return Err(err("empty value"));
    }

    if bytes[0] == b'"' {
        let end = quoted_end(bytes, 0).ok_or_else(|| err("unterminated quoted display name"))?;
        let inner = &text[1..end - 1];
        let display = if inner.is_empty() {
            None
        } else if inner.contains('\\') {
            Some(ByteStr::from(unquote(&text[..end]).into_owned()))
        } else {
            Some(s.slice_ref(inner))
        };
        let rest = trim_start_wsp(&text[end..]);
        if !rest.starts_with('<') {
            return Err(err("quoted display name not followed by <URI>"));
        }
        out.display_name = display;
        return parse_angle(s, rest, out);
    }

    // An unquoted display name is a run of tokens separated by whitespace
    // (UTF-8 text is tolerated, as some user agents send it).
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'<' {
            let name = trim_wsp(&text[..i]);
            out.display_name = (!name.is_empty()).then(|| s.slice_ref(name));
            return parse_angle(s, &text[i..], out);
        }
        if !(is_token_byte(b) || is_wsp(b) || b >= 0x80) {
            if b != b':' && text[i..].contains('<') {
                return Err(err("display name with special characters must be quoted"));
            }
            break;
        }
        i += 1;
    }
    parse_addr_spec(s, text, out)
}

/// `<URI>` followed by header parameters; `rest` starts with `<`.
fn parse_angle(s: &ByteStr, rest: &str, out: &mut NameAddr) -> Result<(), ParseError> {
    // One pass finds the closing '>' and everything the URI parser needs.
    let mut scan = UriScan::new();
    let close = scan
        .run(&rest.as_bytes()[1..], true)
        .ok_or_else(|| err("missing '>' after URI"))?
        + 1;
    if scan.wsp {
        return Err(err("whitespace inside <URI>"));
    }
    parse_uri_scanned(s, &rest[1..close], &scan, &mut out.uri)?;
    parse_header_params(s, &rest[close + 1..], WHAT, &mut out.params)
}

/// A bare addr-spec: the URI ends at the first `;` or whitespace and every
/// parameter after it belongs to the header (RFC 3261 §20.10).
fn parse_addr_spec(s: &ByteStr, text: &str, out: &mut NameAddr) -> Result<(), ParseError> {
    let end = text
        .bytes()
        .position(|b| matches!(b, b';' | b' ' | b'\t'))
        .unwrap_or(text.len());
    let uri_text = &text[..end];
    if uri_text.bytes().any(|b| b == b'?' || b == b',') {
        return Err(err("a URI with '?' or ',' must be enclosed in <>"));
    }
    parse_uri_into(s, uri_text, &mut out.uri)?;
    parse_header_params(s, &text[end..], WHAT, &mut out.params)
}

/// `q=0.5` → 500; `None` unless 0 ≤ q ≤ 1 with at most three decimals
/// (RFC 3261 §20.10 `qvalue`).
pub(crate) fn parse_qvalue(s: &str) -> Option<u16> {
    let s = trim_wsp(s);
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, f),
        None => (s, ""),
    };
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut millis: u16 = 0;
    for (k, b) in frac.bytes().enumerate() {
        millis += u16::from(b - b'0') * [100, 10, 1][k];
    }
    match int {
        "0" => Some(millis),
        "1" if millis == 0 => Some(1000),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::name_addr::Contact;
    use crate::uri::Uri;

    fn na(s: &str) -> NameAddr {
        parse_name_addr(&ByteStr::from(s)).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn quoted_display_names() {
        let a = na(r#""J Rosenberg \\\""       <sip:jdrosen@example.com> ; tag = 98asjd8"#);
        assert_eq!(a.display_name.as_deref(), Some(r#"J Rosenberg \""#));
        assert_eq!(a.tag().unwrap().as_str(), "98asjd8");
        let a = na(r#""Alice" <sip:alice@example.com>"#);
        assert_eq!(a.display_name.as_deref(), Some("Alice"));
        assert!(na(r#""" <sip:a@example.com>"#).display_name.is_none());
    }

    #[test]
    fn token_display_names() {
        let a = na("caller<sip:caller@example.com>;tag=323");
        assert_eq!(a.display_name.as_deref(), Some("caller"));
        let a = na("token1~` token2'+_ <sip:mundane@example.com>");
        assert_eq!(a.display_name.as_deref(), Some("token1~` token2'+_"));
        assert!(na("<sip:a@example.com>").display_name.is_none());
    }

    #[test]
    fn bare_addr_spec_params_belong_to_header() {
        let a = na("sip:alice@example.com;tag=abc;transport=tcp");
        let Uri::Sip(u) = &a.uri else { panic!() };
        assert!(u.params.is_empty());
        assert_eq!(a.tag().unwrap().as_str(), "abc");
        assert_eq!(a.params.value("transport").unwrap(), "tcp");
        let a = na("sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n");
        assert_eq!(a.tag().unwrap().as_str(), "1918181833n");
        let a = na("tel:+1-201-555-0123;tag=9");
        assert!(matches!(a.uri, Uri::Tel(_)));
        assert_eq!(a.tag().unwrap().as_str(), "9");
    }

    #[test]
    fn uri_params_stay_inside_angles() {
        let a = na("<sip:alice@example.com;transport=tcp>;expires=60;q=0.7");
        let Uri::Sip(u) = &a.uri else { panic!() };
        assert_eq!(u.params.value("transport").unwrap(), "tcp");
        assert_eq!(a.expires(), Some(60));
        assert_eq!(a.q_millis(), Some(700));
    }

    #[test]
    fn sip_instance_contact() {
        let c = Contact::parse(&ByteStr::from(
            r#"<sip:abc@df7jal23ls0d.invalid;transport=ws>;+sip.ice;reg-id=1;+sip.instance="<urn:uuid:6a9b1c2d-0e1f-4a5b-8c7d-9e0f1a2b3c4d>";expires=600"#,
        ))
        .unwrap();
        let a = c.addr().unwrap();
        assert_eq!(a.reg_id(), Some(1));
        assert_eq!(a.expires(), Some(600));
        assert!(a.params.contains("+sip.ice"));
        assert_eq!(
            a.sip_instance().unwrap(),
            "urn:uuid:6a9b1c2d-0e1f-4a5b-8c7d-9e0f1a2b3c4d"
        );
        assert_eq!(
            Contact::parse(&ByteStr::from(" * ")).unwrap(),
            Contact::Star
        );
    }

    #[test]
    fn rejects() {
        for bad in [
            "",
            r#""Mr. J. User <sip:j.user@example.com>"#,
            "Bell, Alexander <sip:a.g.bell@example.com>;tag=43",
            r#""Watson, Thomas" < sip:t.watson@example.org >"#,
            "sip:user@example.com?Route=%3Csip:sip.example.com%3E",
            "<sip:a@example.com",
            "<sip:a@example.com>;;",
            r#""x" sip:a@example.com"#,
            "<sip:a@example.com> junk",
            "<>",
        ] {
            assert!(
                parse_name_addr(&ByteStr::from(bad)).is_err(),
                "{bad:?} accepted"
            );
        }
    }

    #[test]
    fn qvalues() {
        assert_eq!(parse_qvalue("0.33"), Some(330));
        assert_eq!(parse_qvalue("1"), Some(1000));
        assert_eq!(parse_qvalue("1.000"), Some(1000));
        assert_eq!(parse_qvalue("0"), Some(0));
        assert_eq!(parse_qvalue("0.001"), Some(1));
        assert_eq!(parse_qvalue("0."), Some(0));
        for bad in ["1.5", "1.001", "2", "0.1234", "-0.5", "", ".5", "0.a", "01"] {
            assert_eq!(parse_qvalue(bad), None, "{bad}");
        }
    }
}
