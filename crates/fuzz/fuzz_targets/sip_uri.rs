//! Fuzz target for the URI grammar (`sip:`, `sips:`, `tel:`, others; RFC 3261 §19.1,
//! RFC 3966) and URI equivalence (RFC 3261 §19.1.4, RFC 3966 §4).
//!
//! Input: up to three URIs, one per line. For any input: parsing never panics; a URI that
//! parses prints (the same through `Display` and `WriteSip`) a form that parses to the same
//! URI; the SIP URI and host parsers agree with the URI parser; the accessors never panic;
//! equivalence is reflexive and symmetric, and the same for hosts. (It is not transitive:
//! RFC 3261 §19.1.4 ignores a parameter present in only one URI, so `sip:a;x=1` and
//! `sip:a;x=2` both match `sip:a` but not each other.)
//!
//! Run from the repository root (stable toolchain, no sanitizer):
//! `cargo fuzz run --sanitizer none --fuzz-dir crates/fuzz sip_uri -- -max_total_time=600`.
//! Seeds are in `corpus/sip_uri/seed-*` (RFC 3261 §19.1.4 pairs among them).

#![no_main]

use libfuzzer_sys::fuzz_target;
use sb_sip_message::{ByteStr, Host, SipUri, Uri, WriteSip};

fn reparse(uri: &Uri) {
    let printed = uri.to_string();
    assert_eq!(
        uri.to_byte_str(),
        printed.as_str(),
        "WriteSip and Display differ"
    );
    let again = Uri::parse(&printed.as_str().into())
        .unwrap_or_else(|e| panic!("printed URI {printed:?} does not parse: {e}"));
    assert_eq!(&again, uri, "printed URI {printed:?} parses differently");
    assert!(
        again.equivalent(uri),
        "printed URI {printed:?} not equivalent"
    );
}

fn check_one(text: &ByteStr) -> Option<Uri> {
    let sip = SipUri::parse(text);
    let Ok(uri) = Uri::parse(text) else {
        assert!(sip.is_err(), "SIP URI parses but URI does not: {text:?}");
        return None;
    };
    assert!(uri.equivalent(&uri), "URI not equivalent to itself: {uri}");
    reparse(&uri);
    match &uri {
        Uri::Sip(u) => {
            assert_eq!(sip.as_ref(), Ok(u), "SIP URI parser disagrees");
            let _ = (u.user_unescaped(), u.transport_param(), u.is_loose_router());
            let _ = u.aor();
            assert!(u.host.equivalent(&u.host), "host not equivalent to itself");
            let host = u.host.to_string();
            let again = Host::parse(&host.as_str().into())
                .unwrap_or_else(|e| panic!("printed host {host:?} does not parse: {e}"));
            assert_eq!(again, u.host, "printed host {host:?} parses differently");
            // Editing the URI keeps it printable and parseable.
            let mut edited = uri.clone();
            if let Some(s) = edited.as_sip_mut() {
                s.params.set("transport", Some(ByteStr::from_static("tcp")));
                s.params.set("lr", None);
            }
            reparse(&edited);
        }
        Uri::Tel(t) => {
            assert!(sip.is_err(), "a tel URI parsed as a SIP URI");
            let _ = (t.is_global(), t.digits());
        }
        _ => assert!(sip.is_err(), "an other URI parsed as a SIP URI"),
    }
    Some(uri)
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let uris: Vec<Option<Uri>> = text
        .splitn(3, '\n')
        .map(|line| check_one(&line.into()))
        .collect();
    let uris: Vec<&Uri> = uris.iter().flatten().collect();
    for a in &uris {
        for b in &uris {
            assert_eq!(
                a.equivalent(b),
                b.equivalent(a),
                "equivalence is not symmetric: {a} / {b}"
            );
            if let (Some(x), Some(y)) = (a.as_sip(), b.as_sip()) {
                assert_eq!(x.host.equivalent(&y.host), y.host.equivalent(&x.host));
            }
        }
    }
});
