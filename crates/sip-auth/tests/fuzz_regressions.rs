//! Inputs found by the `digest_auth` fuzz target (crates/fuzz), replayed with the same check:
//! answering a challenge gives credentials that parse back to what was answered.

use sb_sip_auth::{AuthError, Challenge, ClientSecret, Credentials, respond};

/// A challenge whose `opaque` holds a control character as a quoted-pair (legal, RFC 3261
/// §25.1). The answer must echo it unchanged (RFC 7616 §3.4); writing it would drop the
/// character, so the answer is refused instead of sent with another opaque.
#[test]
fn an_opaque_that_cannot_be_echoed_is_refused() {
    let value = "Digest realm=\"example.com\", nonce=\"6a1f0c2e9b7d4a53\", \
                 opaque=\"5ccc069c403eb\\\0ab\", algorithm=MD5, qop=\"auth\"";
    let challenge = Challenge::parse(value).unwrap();
    assert_eq!(challenge.opaque.as_deref(), Some("5ccc069c403eb\0ab"));
    let answer = respond(
        &challenge,
        "REGISTER",
        "sip:example.com",
        "alice",
        ClientSecret::Password("correct horse"),
        "0a4f113b",
        1,
    );
    assert_eq!(
        answer,
        Err(AuthError::InvalidParam {
            name: "opaque",
            reason: "control character",
        })
    );

    // An opaque that can be echoed comes back unchanged.
    let value = value.replace("\\\0", "");
    let challenge = Challenge::parse(&value).unwrap();
    let answer = respond(
        &challenge,
        "REGISTER",
        "sip:example.com",
        "alice",
        ClientSecret::Password("correct horse"),
        "0a4f113b",
        1,
    )
    .unwrap();
    let creds = Credentials::parse(&answer).unwrap();
    assert_eq!(creds.opaque(), Some("5ccc069c403ebab"));
}
