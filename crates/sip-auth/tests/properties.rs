//! Property tests: parsers never panic on arbitrary input, and what the client
//! writes the server reads back and verifies.

use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};
use sb_sip_auth::{
    Algorithm, Challenge, ClientSecret, Credentials, Ha1, NonceIssuer, compute_ha1, respond, verify,
};

fn config() -> Config {
    Config {
        cases: 2048,
        rng_seed: RngSeed::Fixed(0x5b5b_a17e),
        failure_persistence: None,
        ..Config::default()
    }
}

/// Fragments of Digest headers: names, separators, quotes and escapes.
fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("Digest ".to_owned()),
        Just("digest".to_owned()),
        Just(", ".to_owned()),
        Just(",".to_owned()),
        Just("=".to_owned()),
        Just("\"".to_owned()),
        Just("\\".to_owned()),
        Just(" ".to_owned()),
        Just("\t".to_owned()),
        Just("\r\n".to_owned()),
        Just("username".to_owned()),
        Just("realm".to_owned()),
        Just("nonce".to_owned()),
        Just("uri".to_owned()),
        Just("response".to_owned()),
        Just("algorithm".to_owned()),
        Just("cnonce".to_owned()),
        Just("nc".to_owned()),
        Just("qop".to_owned()),
        Just("opaque".to_owned()),
        Just("stale".to_owned()),
        Just("auth".to_owned()),
        Just("MD5".to_owned()),
        Just("SHA-256".to_owned()),
        Just("-sess".to_owned()),
        Just("00000001".to_owned()),
        Just("6629fae49393a05397450978507c4ef1".to_owned()),
        "[a-zA-Z0-9:@./é]{0,8}",
    ]
}

/// Header-shaped strings: fragments in random order, to reach the deeper
/// parser states that random text misses.
fn header_like() -> impl Strategy<Value = String> {
    prop::collection::vec(piece(), 0..24).prop_map(|v| v.concat())
}

/// `base` with up to four random edits (a byte range replaced by a fragment):
/// many results still parse, so the checks after a successful parse run.
fn mutated(base: String) -> impl Strategy<Value = String> {
    let edit = (any::<prop::sample::Index>(), 0usize..6, piece());
    prop::collection::vec(edit, 0..4).prop_map(move |edits| {
        let mut s = base.clone();
        for (at, len, insert) in edits {
            let mut start = at.index(s.len() + 1);
            while !s.is_char_boundary(start) {
                start -= 1;
            }
            let mut end = (start + len).min(s.len());
            while !s.is_char_boundary(end) {
                end += 1;
            }
            s.replace_range(start..end, &insert);
        }
        s
    })
}

/// The `response` value of a header this crate wrote.
fn response_of(value: &str) -> &str {
    let start = value.find("response=\"").expect("response present") + 10;
    let len = value[start..].find('"').expect("closing quote");
    &value[start..start + len]
}

const USER: &str = "alice";
const REALM: &str = "example.test";

fn valid_authorization(algorithm: Algorithm) -> String {
    let challenge = Challenge::new(REALM, "6e6f6e6365", algorithm);
    respond(
        &challenge,
        "REGISTER",
        "sip:example.test",
        USER,
        ClientSecret::Password("pw"),
        "0a4f113b",
        1,
    )
    .expect("valid inputs")
}

/// Printable text including the characters that need escaping.
fn field() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 \"\\\\,=;:@.é-]{1,24}"
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn parsers_never_panic_on_random_text(s in "\\PC*") {
        let _ = Credentials::parse(&s);
        let _ = Challenge::parse(&s);
        let _ = Algorithm::parse(&s);
        let _ = Ha1::from_hex(Algorithm::Md5, &s);
        let _ = Ha1::from_hex(Algorithm::Sha256, &s);
        let _ = NonceIssuer::new(&[9; 32], std::time::Duration::from_secs(60))
            .check(&s, "example.test", 1_700_000_000_000);
    }

    #[test]
    fn parsers_never_panic_on_header_like_text(s in header_like()) {
        if let Ok(creds) = Credentials::parse(&s) {
            // Whatever parses can be verified without panicking.
            let ha1 = compute_ha1(creds.algorithm(), "u", "r", "p");
            let _ = verify(&creds, "REGISTER", &ha1);
            let _ = format!("{creds:?}");
        }
        if let Ok(challenge) = Challenge::parse(&s) {
            let again = challenge.to_string();
            prop_assert!(Challenge::parse(&again).is_ok(), "{again}");
        }
    }

    #[test]
    fn edited_credentials_verify_only_if_signed_fields_survive(
        (sha, value) in any::<bool>().prop_flat_map(|sha| {
            let algorithm = if sha { Algorithm::Sha256 } else { Algorithm::Md5 };
            (Just(sha), mutated(valid_authorization(algorithm)))
        }),
    ) {
        let algorithm = if sha { Algorithm::Sha256 } else { Algorithm::Md5 };
        let original_text = valid_authorization(algorithm);
        let original = Credentials::parse(&original_text).unwrap();
        if let Ok(creds) = Credentials::parse(&value) {
            let debug = format!("{creds:?}");
            prop_assert!(!debug.contains(response_of(&original_text)));
            let ha1 = compute_ha1(algorithm, USER, REALM, "pw");
            if verify(&creds, "REGISTER", &ha1).is_ok() {
                prop_assert_eq!(creds.nonce(), original.nonce());
                prop_assert_eq!(creds.uri(), original.uri());
                prop_assert_eq!(creds.cnonce(), original.cnonce());
                prop_assert_eq!(creds.nc(), original.nc());
                prop_assert_eq!(creds.algorithm(), original.algorithm());
            }
        }
    }

    #[test]
    fn client_output_verifies_on_the_server(
        username in field(),
        realm in field(),
        uri in field(),
        cnonce in field(),
        nonce in "[a-zA-Z0-9+/=]{1,48}",
        nc in 1u32..,
        sha in any::<bool>(),
    ) {
        let algorithm = if sha { Algorithm::Sha256 } else { Algorithm::Md5 };
        let challenge = Challenge::new(realm.as_str(), nonce.as_str(), algorithm);
        let ha1 = compute_ha1(algorithm, &username, &realm, "pw");
        let value = respond(
            &challenge, "INVITE", &uri, &username, ClientSecret::Ha1(&ha1), &cnonce, nc,
        ).unwrap();
        let creds = Credentials::parse(&value).unwrap();
        prop_assert_eq!(creds.username(), username.as_str());
        prop_assert_eq!(creds.realm(), realm.as_str());
        prop_assert_eq!(creds.uri(), uri.as_str());
        prop_assert_eq!(creds.cnonce(), Some(cnonce.as_str()));
        prop_assert_eq!(creds.nc(), Some(nc));
        prop_assert_eq!(verify(&creds, "INVITE", &ha1), Ok(()));
        prop_assert!(verify(&creds, "BYE", &ha1).is_err());
    }

    #[test]
    fn challenge_display_round_trips(
        realm in field(),
        opaque in proptest::option::of(field()),
        nonce in "[a-f0-9]{48}",
        stale in any::<bool>(),
        sha in any::<bool>(),
    ) {
        let algorithm = if sha { Algorithm::Sha256 } else { Algorithm::Md5 };
        let mut challenge = Challenge::new(realm, nonce, algorithm);
        challenge.opaque = opaque.map(Into::into);
        challenge.stale = stale;
        let text = challenge.to_string();
        prop_assert_eq!(Challenge::parse(&text).unwrap(), challenge);
    }
}
