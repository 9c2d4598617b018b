//! Known-answer tests from the RFC examples.

use sb_sip_auth::{
    Algorithm, Challenge, ClientSecret, Credentials, Ha1, Qop, compute_ha1, respond, verify,
};

/// RFC 2617 §3.5 (also the shape of RFC 3261 §22.4's example).
mod rfc2617 {
    use super::*;

    pub(super) const CHALLENGE: &str = "Digest\n realm=\"testrealm@host.com\",\n \
        qop=\"auth,auth-int\",\n nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\",\n \
        opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"";
    pub(super) const AUTHORIZATION: &str = "Digest username=\"Mufasa\",\n \
        realm=\"testrealm@host.com\",\n nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\",\n \
        uri=\"/dir/index.html\",\n qop=auth,\n nc=00000001,\n cnonce=\"0a4f113b\",\n \
        response=\"6629fae49393a05397450978507c4ef1\",\n \
        opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"";
    pub(super) const PASSWORD: &str = "Circle Of Life";

    pub(super) fn ha1() -> Ha1 {
        compute_ha1(Algorithm::Md5, "Mufasa", "testrealm@host.com", PASSWORD)
    }
}

/// RFC 7616 §3.9.1: the same request answered with MD5 and with SHA-256.
mod rfc7616 {
    pub(super) const REALM: &str = "http-auth@example.org";
    pub(super) const NONCE: &str = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v";
    pub(super) const OPAQUE: &str = "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS";
    pub(super) const CNONCE: &str = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";
    pub(super) const PASSWORD: &str = "Circle of Life";
    pub(super) const MD5_RESPONSE: &str = "8ca523f5e9506fed4657c9700eebdbec";
    pub(super) const SHA256_RESPONSE: &str =
        "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1";

    pub(super) fn challenge(algorithm: &str) -> String {
        format!(
            "Digest\n realm=\"{REALM}\",\n qop=\"auth, auth-int\",\n algorithm={algorithm},\n \
             nonce=\"{NONCE}\",\n opaque=\"{OPAQUE}\""
        )
    }

    pub(super) fn authorization(algorithm: &str, response: &str) -> String {
        format!(
            "Digest username=\"Mufasa\",\n realm=\"{REALM}\",\n uri=\"/dir/index.html\",\n \
             algorithm={algorithm},\n nonce=\"{NONCE}\",\n nc=00000001,\n cnonce=\"{CNONCE}\",\n \
             qop=auth,\n response=\"{response}\",\n opaque=\"{OPAQUE}\""
        )
    }
}

#[test]
fn rfc_2617_server_verifies_the_example() {
    let creds = Credentials::parse(rfc2617::AUTHORIZATION).unwrap();
    assert_eq!(creds.algorithm(), Algorithm::Md5);
    assert_eq!(verify(&creds, "GET", &rfc2617::ha1()), Ok(()));
    // The stored-hex path gives the same result.
    let stored = Ha1::from_hex(Algorithm::Md5, rfc2617::ha1().expose_hex()).unwrap();
    assert_eq!(verify(&creds, "GET", &stored), Ok(()));
    assert!(verify(&creds, "POST", &stored).is_err());
}

#[test]
fn rfc_2617_client_reproduces_the_example() {
    let challenge = Challenge::parse(rfc2617::CHALLENGE).unwrap();
    assert_eq!(challenge.qop, Some(Qop::Auth));
    let value = respond(
        &challenge,
        "GET",
        "/dir/index.html",
        "Mufasa",
        ClientSecret::Password(rfc2617::PASSWORD),
        "0a4f113b",
        1,
    )
    .unwrap();
    assert!(
        value.contains("response=\"6629fae49393a05397450978507c4ef1\""),
        "{value}"
    );
    let ours = Credentials::parse(&value).unwrap();
    let theirs = Credentials::parse(rfc2617::AUTHORIZATION).unwrap();
    assert_eq!(ours.opaque(), theirs.opaque());
    assert_eq!(ours.nc(), theirs.nc());
    assert_eq!(ours.cnonce(), theirs.cnonce());
}

#[test]
fn rfc_7616_vectors_both_algorithms() {
    for (token, algorithm, response) in [
        ("MD5", Algorithm::Md5, rfc7616::MD5_RESPONSE),
        ("SHA-256", Algorithm::Sha256, rfc7616::SHA256_RESPONSE),
    ] {
        let ha1 = compute_ha1(algorithm, "Mufasa", rfc7616::REALM, rfc7616::PASSWORD);

        // Server side.
        let header = rfc7616::authorization(token, response);
        let creds = Credentials::parse(&header).unwrap();
        assert_eq!(creds.algorithm(), algorithm);
        assert_eq!(verify(&creds, "GET", &ha1), Ok(()), "{token}");

        // Client side, from the RFC's challenge, with a password and with the HA1.
        let text = rfc7616::challenge(token);
        let challenge = Challenge::parse(&text).unwrap();
        for secret in [
            ClientSecret::Password(rfc7616::PASSWORD),
            ClientSecret::Ha1(&ha1),
        ] {
            let value = respond(
                &challenge,
                "GET",
                "/dir/index.html",
                "Mufasa",
                secret,
                rfc7616::CNONCE,
                1,
            )
            .unwrap();
            assert!(
                value.contains(&format!("response=\"{response}\"")),
                "{value}"
            );
            assert!(value.contains(&format!("algorithm={token}")), "{value}");
        }
    }
}

#[test]
fn rfc_7616_challenge_pair_prefers_sha256() {
    let values = [rfc7616::challenge("SHA-256"), rfc7616::challenge("MD5")];
    let chosen = Challenge::choose(values.iter().map(String::as_str)).unwrap();
    assert_eq!(chosen.algorithm, Algorithm::Sha256);
    let reversed = Challenge::choose(values.iter().rev().map(String::as_str)).unwrap();
    assert_eq!(reversed.algorithm, Algorithm::Sha256);
}
