//! URI comparison examples of RFC 3261 §19.1.4 (host names moved to
//! example.com / .test domains, the address to 192.0.2.0/24).

use sb_sip_message::{ByteStr, Uri};

fn uri(s: &str) -> Uri {
    Uri::parse(&ByteStr::from(s)).unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn assert_equivalent(a: &str, b: &str) {
    assert!(uri(a).equivalent(&uri(b)), "{a} should equal {b}");
    assert!(uri(b).equivalent(&uri(a)), "{b} should equal {a}");
}

fn assert_different(a: &str, b: &str) {
    assert!(!uri(a).equivalent(&uri(b)), "{a} should differ from {b}");
    assert!(!uri(b).equivalent(&uri(a)), "{b} should differ from {a}");
}

#[test]
fn equivalent_examples() {
    assert_equivalent(
        "sip:%61lice@atlanta.example.com;transport=TCP",
        "sip:alice@AtLanTa.Example.CoM;Transport=tcp",
    );
    assert_equivalent(
        "sip:carol@chicago.example.com",
        "sip:carol@chicago.example.com;newparam=5",
    );
    assert_equivalent(
        "sip:carol@chicago.example.com",
        "sip:carol@chicago.example.com;security=on",
    );
    assert_equivalent(
        "sip:carol@chicago.example.com;newparam=5",
        "sip:carol@chicago.example.com;security=on",
    );
    assert_equivalent(
        "sip:biloxi.example.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.example.com",
        "sip:biloxi.example.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.example.com",
    );
    assert_equivalent(
        "sip:alice@atlanta.example.com?subject=project%20x&priority=urgent",
        "sip:alice@atlanta.example.com?priority=urgent&subject=project%20x",
    );
}

#[test]
fn different_examples() {
    // Different user names (user parts are case-sensitive).
    assert_different(
        "SIP:ALICE@AtLanTa.Example.CoM;Transport=udp",
        "sip:alice@AtLanTa.Example.CoM;Transport=UDP",
    );
    // Can resolve to different ports.
    assert_different(
        "sip:bob@biloxi.example.com",
        "sip:bob@biloxi.example.com:5060",
    );
    // Can resolve to different transports.
    assert_different(
        "sip:bob@biloxi.example.com",
        "sip:bob@biloxi.example.com;transport=udp",
    );
    // Can resolve to different ports and transports.
    assert_different(
        "sip:bob@biloxi.example.com",
        "sip:bob@biloxi.example.com:6000;transport=tcp",
    );
    // Different header component.
    assert_different(
        "sip:carol@chicago.example.com",
        "sip:carol@chicago.example.com?Subject=next%20meeting",
    );
    // Even when the name resolves to that address.
    assert_different(
        "sip:bob@phone21.boxesbybob.example.com",
        "sip:bob@192.0.2.4",
    );
    // Equivalence is not transitive: both equal the bare URI, not each other.
    assert_different(
        "sip:carol@chicago.example.com;security=on",
        "sip:carol@chicago.example.com;security=off",
    );
}

#[test]
fn further_rules() {
    // sip and sips never match.
    assert_different("sip:alice@example.com", "sips:alice@example.com");
    // Reserved characters escaped in the user part compare unescaped.
    assert_equivalent("sip:alice%3Bx@example.com", "sip:alice;x@example.com");
    // Passwords are compared like users.
    assert_different("sip:alice:a@example.com", "sip:alice:A@example.com");
    assert_different("sip:alice:a@example.com", "sip:alice@example.com");
    // user, ttl, method, maddr must match when either URI has them.
    for p in ["user=phone", "ttl=1", "method=INVITE", "maddr=192.0.2.1"] {
        assert_different(
            "sip:alice@example.com",
            &format!("sip:alice@example.com;{p}"),
        );
    }
    assert_equivalent(
        "sip:+1234@example.com;user=phone",
        "sip:+1234@example.com;USER=Phone",
    );
    // IPv6 hosts compare by address.
    assert_equivalent("sip:alice@[2001:db8::1]", "sip:alice@[2001:DB8:0:0::1]");
    // A URI header present in only one of them.
    assert_different("sip:a@example.com?x=1&y=2", "sip:a@example.com?x=1");
    assert_different("sip:a@example.com?x=1", "sip:a@example.com?x=2");
    // Different schemes of a different kind.
    assert_different("sip:alice@example.com", "tel:+12015550123");
    assert_equivalent("urn:service:sos", "urn:service:sos");
}
