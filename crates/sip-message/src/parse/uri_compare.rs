//! URI equivalence: RFC 3261 §19.1.4 for SIP URIs, RFC 3966 §4 for tel URIs.

use crate::bytestr::ByteStr;
use crate::params::{Param, Params};
use crate::uri::{SipUri, TelUri};

use super::uri::unescape_bytes;

/// URI parameters that must match whenever either URI carries them
/// (RFC 3261 §19.1.4).
const ALWAYS_COMPARED: [&str; 5] = ["user", "ttl", "method", "maddr", "transport"];

pub(crate) fn sip_uri_equivalent(a: &SipUri, b: &SipUri) -> bool {
    a.scheme == b.scheme
        && same_userinfo(a.user.as_ref(), b.user.as_ref())
        && same_userinfo(a.password.as_ref(), b.password.as_ref())
        && a.host.equivalent(&b.host)
        // A missing port is not the default port: the two may resolve differently.
        && a.port == b.port
        && same_params(&a.params, &b.params)
        && same_headers(&a.headers, &b.headers)
}

/// User and password: case-sensitive after unescaping.
fn same_userinfo(a: Option<&ByteStr>, b: Option<&ByteStr>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => unescape_bytes(a) == unescape_bytes(b),
        _ => false,
    }
}

/// Case-insensitive comparison after unescaping.
fn same_text_ci(a: &str, b: &str) -> bool {
    unescape_bytes(a).eq_ignore_ascii_case(&unescape_bytes(b))
}

fn same_value_ci(a: Option<&ByteStr>, b: Option<&ByteStr>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => same_text_ci(a, b),
        _ => false,
    }
}

/// The parameter whose unescaped name is `name` (case-insensitive).
fn find<'a>(params: &'a Params, name: &str) -> Option<&'a Param> {
    params.iter().find(|p| same_text_ci(&p.name, name))
}

fn same_params(a: &Params, b: &Params) -> bool {
    for name in ALWAYS_COMPARED {
        match (find(a, name), find(b, name)) {
            (None, None) => {}
            (Some(x), Some(y)) if same_value_ci(x.value.as_ref(), y.value.as_ref()) => {}
            _ => return false,
        }
    }
    // Any other parameter is compared only when both URIs carry it (a
    // repeated name matches when one of its values does).
    other_params_match(a, b) && other_params_match(b, a)
}

fn other_params_match(a: &Params, b: &Params) -> bool {
    let same_name = |p: &Param, q: &Param| same_text_ci(&p.name, &q.name);
    a.iter()
        .filter(|p| !ALWAYS_COMPARED.iter().any(|n| same_text_ci(&p.name, n)))
        .all(|p| {
            !b.iter().any(|q| same_name(p, q))
                || b.iter()
                    .any(|q| same_name(p, q) && same_value_ci(p.value.as_ref(), q.value.as_ref()))
        })
}

/// URI headers are never ignored: every one must be present in both, in any
/// order; names case-insensitive, values exact after unescaping.
fn same_headers(a: &Params, b: &Params) -> bool {
    let matches = |h: &Param, k: &Param| {
        same_text_ci(&h.name, &k.name)
            && match (&h.value, &k.value) {
                (Some(x), Some(y)) => unescape_bytes(x) == unescape_bytes(y),
                (x, y) => x.is_none() && y.is_none(),
            }
    };
    a.len() == b.len()
        && a.iter().all(|h| b.iter().any(|k| matches(h, k)))
        && b.iter().all(|k| a.iter().any(|h| matches(h, k)))
}

fn is_visual_separator(c: u8) -> bool {
    matches!(c, b'-' | b'.' | b'(' | b')')
}

/// Numbers compared digit by digit, visual separators removed, case-insensitive.
fn same_number(a: &str, b: &str) -> bool {
    let digits = |s: &str| {
        unescape_bytes(s)
            .iter()
            .filter(|c| !is_visual_separator(**c))
            .map(u8::to_ascii_lowercase)
            .collect::<Vec<u8>>()
    };
    digits(a) == digits(b)
}

pub(crate) fn tel_uri_equivalent(a: &TelUri, b: &TelUri) -> bool {
    if a.is_global() != b.is_global() || !same_number(&a.number, &b.number) {
        return false;
    }
    // Every parameter must be present in both (any order) and match.
    let matches = |p: &Param, q: &Param| {
        if !same_text_ci(&p.name, &q.name) {
            return false;
        }
        match (&p.value, &q.value) {
            (Some(x), Some(y)) => {
                // ext and a global-number phone-context compare digit by digit.
                let numeric = same_text_ci(&p.name, "ext")
                    || (same_text_ci(&p.name, "phone-context")
                        && (x.starts_with('+') || y.starts_with('+')));
                if numeric {
                    same_number(x, y)
                } else {
                    same_text_ci(x, y)
                }
            }
            (x, y) => x.is_none() && y.is_none(),
        }
    };
    a.params.len() == b.params.len()
        && a.params
            .iter()
            .all(|p| b.params.iter().any(|q| matches(p, q)))
        && b.params
            .iter()
            .all(|q| a.params.iter().any(|p| matches(p, q)))
}

#[cfg(test)]
mod tests {
    use crate::bytestr::ByteStr;
    use crate::uri::Uri;

    fn uri(s: &str) -> Uri {
        Uri::parse(&ByteStr::from(s)).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn tel_comparison() {
        assert!(uri("tel:+1-201-555-0123").equivalent(&uri("tel:+1.201.555.0123")));
        assert!(
            uri("tel:7042;phone-context=Example.com")
                .equivalent(&uri("tel:7042;phone-context=example.com"))
        );
        assert!(
            uri("tel:863-1234;phone-context=+1-914-555")
                .equivalent(&uri("tel:8631234;phone-context=+1914555"))
        );
        assert!(!uri("tel:+12015550123").equivalent(&uri("tel:12015550123")));
        assert!(!uri("tel:+12015550123;ext=1").equivalent(&uri("tel:+12015550123")));
        assert!(!uri("tel:+12015550123").equivalent(&uri("sip:+12015550123@example.com")));
    }

    #[test]
    fn escaped_param_names_compare_unescaped() {
        assert!(uri("sip:a@example.com;%6C%72").equivalent(&uri("sip:a@example.com;lr")));
        assert!(
            uri("sip:a@example.com;%74ransport=TCP")
                .equivalent(&uri("sip:a@example.com;transport=tcp"))
        );
        assert!(!uri("sip:a@example.com;%74ransport=TCP").equivalent(&uri("sip:a@example.com")));
    }

    #[test]
    fn repeated_parameters() {
        // Found by fuzzing: a URI must be equivalent to itself.
        let u = uri("sip:example.com;x=1;x=2");
        assert!(u.equivalent(&u));
        assert!(!u.equivalent(&uri("sip:example.com;x=2")));
        assert!(!uri("sip:example.com;x=2").equivalent(&u));
        assert!(!u.equivalent(&uri("sip:example.com;x=3")));
    }
}
