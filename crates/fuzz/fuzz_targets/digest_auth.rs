//! Fuzz target for SIP digest authentication (RFC 3261 §22, RFC 7616, RFC 8760): the
//! `WWW-Authenticate` / `Proxy-Authenticate` parser ([`Challenge::parse`]), the
//! `Authorization` / `Proxy-Authorization` parser ([`Credentials::parse`]), the algorithm
//! token ([`Algorithm::parse`]) and the server's nonce and nonce-count checks.
//!
//! Input: up to three lines: a header value, then optionally a user name and a digest-uri for
//! answering it. For any input, nothing panics, and:
//! - an algorithm that parses prints a token that parses to it, in any letter case;
//! - a challenge that parses prints (the same through `Display` and `write_value`) a value
//!   that parses to the same challenge, when its values can be quoted at all (no control
//!   characters); answering it with [`respond`] gives credentials that parse to the same user,
//!   realm, nonce, uri, algorithm, opaque, qop, cnonce and nc, and that [`verify`] accepts for
//!   that method and password and refuses for another method;
//! - credentials that parse keep their invariants (`cnonce` and `nc` exactly with `qop`,
//!   `nc` ≥ 1, no empty user, nonce or uri), never show `response` in `Debug`, verify without
//!   panicking, and their nonce goes through [`NonceIssuer::check`] and
//!   [`NonceCounter::check_and_record`] without panicking.
//!
//! Run from the repository root (stable toolchain, no sanitizer):
//! `cargo fuzz run --sanitizer none --fuzz-dir crates/fuzz digest_auth -- -max_total_time=600`.
//! Seeds are in `corpus/digest_auth/seed-*`.

#![no_main]

use std::num::NonZeroUsize;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use sb_sip_auth::{
    Algorithm, AuthError, Challenge, ClientSecret, Credentials, NonceCheck, NonceCounter,
    NonceIssuer, VerifyFailure, compute_ha1, respond, verify,
};

/// A fixed moment (Unix milliseconds) for the nonce checks.
const NOW: u64 = 1_700_000_000_000;
const PASSWORD: &str = "correct horse";

fn quotable(s: &str) -> bool {
    !s.bytes().any(|b| b < 0x20 || b == 0x7f)
}

fn check_algorithm(text: &str) {
    let Ok(algorithm) = Algorithm::parse(text) else {
        return;
    };
    assert_eq!(Algorithm::parse(algorithm.as_str()), Ok(algorithm));
    assert_eq!(algorithm.to_string(), algorithm.as_str());
    assert_eq!(Algorithm::parse(&text.to_ascii_lowercase()), Ok(algorithm));
    assert_eq!(Algorithm::parse(&text.to_ascii_uppercase()), Ok(algorithm));
    assert_eq!(algorithm.hex_len(), 2 * algorithm.digest_len());
}

fn check_challenge(challenge: &Challenge<'_>, username: &str, uri: &str) {
    let printed = challenge.to_string();
    let mut written = String::new();
    challenge
        .write_value(&mut written)
        .expect("writing to a String cannot fail");
    assert_eq!(written, printed, "write_value and Display differ");
    let printable = [&challenge.realm, &challenge.nonce]
        .into_iter()
        .chain(&challenge.opaque)
        .all(|v| quotable(v));
    if printable {
        let again = Challenge::parse(&printed)
            .unwrap_or_else(|e| panic!("printed challenge {printed:?} does not parse: {e}"));
        assert_eq!(
            &again, challenge,
            "printed challenge {printed:?} parses differently"
        );
    }

    let value = respond(
        challenge,
        "REGISTER",
        uri,
        username,
        ClientSecret::Password(PASSWORD),
        "0a4f113b",
        1,
    );
    let value = match value {
        Ok(value) => value,
        Err(AuthError::InvalidParam { .. }) => {
            // Only values that cannot be quoted are refused.
            assert!(
                !(printable && quotable(username) && quotable(uri)),
                "respond refused quotable values: {value:?}"
            );
            return;
        }
        Err(e) => panic!("respond failed: {e}"),
    };
    if username.is_empty() || uri.is_empty() {
        // A client configured without them; the server refuses such credentials.
        return;
    }
    let creds = Credentials::parse(&value)
        .unwrap_or_else(|e| panic!("our credentials {value:?} do not parse: {e}"));
    assert_eq!(creds.username(), username);
    assert_eq!(creds.realm(), challenge.realm);
    assert_eq!(creds.nonce(), challenge.nonce);
    assert_eq!(creds.uri(), uri);
    assert_eq!(creds.algorithm(), challenge.algorithm);
    assert_eq!(creds.opaque(), challenge.opaque.as_deref());
    assert_eq!(creds.qop(), challenge.qop);
    assert_eq!(creds.nc(), challenge.qop.map(|_| 1));
    assert_eq!(creds.cnonce(), challenge.qop.map(|_| "0a4f113b"));
    let ha1 = compute_ha1(challenge.algorithm, username, &challenge.realm, PASSWORD);
    assert_eq!(verify(&creds, "REGISTER", &ha1), Ok(()), "{value:?}");
    assert_eq!(
        verify(&creds, "INVITE", &ha1),
        Err(VerifyFailure::WrongResponse)
    );
}

fn check_credentials(value: &str, creds: &Credentials<'_>, issuer: &NonceIssuer) {
    assert!(!creds.username().is_empty() && !creds.nonce().is_empty() && !creds.uri().is_empty());
    assert_eq!(creds.qop().is_some(), creds.cnonce().is_some());
    assert_eq!(creds.qop().is_some(), creds.nc().is_some());
    assert_ne!(creds.nc(), Some(0));
    assert!(creds.nonce_count() >= 1);
    let _ = creds.opaque();

    if let Some(response) = response_in(value) {
        let elsewhere = [creds.username(), creds.realm(), creds.nonce(), creds.uri()]
            .into_iter()
            .chain(creds.opaque())
            .chain(creds.cnonce())
            .any(|v| v.contains(&response));
        let debug = format!("{creds:?}");
        assert!(
            elsewhere || !debug.contains(&response),
            "Debug shows the response"
        );
    }

    for algorithm in Algorithm::PREFERENCE {
        let ha1 = compute_ha1(algorithm, creds.username(), creds.realm(), PASSWORD);
        match verify(creds, "REGISTER", &ha1) {
            Err(VerifyFailure::AlgorithmMismatch { .. }) => {
                assert_ne!(algorithm, creds.algorithm());
            }
            _ => assert_eq!(algorithm, creds.algorithm()),
        }
    }

    // The received nonce is checked; the count is then recorded once for a nonce we issued.
    let _ = issuer.check(creds.nonce(), creds.realm(), NOW);
    let nonce = issuer.issue(NOW, creds.realm());
    let NonceCheck::Valid { id } = issuer.check(&nonce, creds.realm(), NOW) else {
        panic!("a fresh nonce is not valid");
    };
    let mut counter = NonceCounter::new(NonZeroUsize::new(4).expect("not zero"), issuer.lifetime());
    let nc = creds.nonce_count();
    assert_eq!(counter.check_and_record(id, nc, NOW), Ok(()));
    assert!(
        counter.check_and_record(id, nc, NOW).is_err(),
        "nc {nc} accepted twice"
    );
    if let Some(next) = nc.checked_add(1) {
        assert_eq!(counter.check_and_record(id, next, NOW + 1), Ok(()));
    }
}

/// The text after `response=` in `value` (quotes stripped) when it is a hex run long enough
/// to be a digest: what `Debug` must not show.
fn response_in(value: &str) -> Option<String> {
    let at = value.to_ascii_lowercase().find("response=")?;
    let rest = value[at + "response=".len()..].trim_start_matches('"');
    let hex: String = rest.chars().take_while(char::is_ascii_hexdigit).collect();
    (hex.len() >= 32).then_some(hex)
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut lines = text.splitn(3, '\n');
    let value = lines.next().unwrap_or_default();
    let username = lines.next().unwrap_or("alice");
    let uri = lines.next().unwrap_or("sip:example.com");

    check_algorithm(value);
    let issuer = NonceIssuer::new(&[7; 32], Duration::from_secs(300));
    if let Ok(challenge) = Challenge::parse(value) {
        check_challenge(&challenge, username, uri);
        let owned = challenge.clone().into_owned();
        assert_eq!(owned, challenge);
    }
    if let Ok(creds) = Credentials::parse(value) {
        check_credentials(value, &creds, &issuer);
    }
    // A nonce we issued is valid for its realm, then stale once its lifetime has passed.
    let realm = username;
    let nonce = issuer.issue(NOW, realm);
    assert!(matches!(
        issuer.check(&nonce, realm, NOW),
        NonceCheck::Valid { .. }
    ));
    assert!(matches!(
        issuer.check(&nonce, realm, NOW + 301_000),
        NonceCheck::Stale { .. }
    ));
});
