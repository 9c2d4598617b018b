//! Client → server round trips through the documented server flow, and the ways
//! a request must fail.

use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::time::Duration;

use sb_sip_auth::{
    Algorithm, Challenge, ClientSecret, Credentials, Ha1, NonceCheck, NonceCounter, NonceIssuer,
    Replay, VerifyFailure, compute_ha1, respond, verify,
};

const REALM: &str = "example.test";
const T0: u64 = 1_700_000_000_000;
const LIFETIME: Duration = Duration::from_secs(300);
const URI: &str = "sip:example.test";

/// What the server decides for one request.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Accepted,
    /// 400: credentials do not parse.
    Malformed,
    /// Challenge again, `stale` as given.
    Challenge {
        stale: bool,
    },
    /// Wrong credentials.
    Refused(VerifyFailure),
}

struct Server {
    issuer: NonceIssuer,
    counter: NonceCounter,
    ha1s: HashMap<(String, Algorithm), Ha1>,
}

impl Server {
    fn new() -> Server {
        let mut ha1s = HashMap::new();
        for algorithm in Algorithm::PREFERENCE {
            ha1s.insert(
                ("alice".to_owned(), algorithm),
                compute_ha1(algorithm, "alice", REALM, "s3cret"),
            );
        }
        Server {
            issuer: NonceIssuer::new(&[0x42; 32], LIFETIME),
            counter: NonceCounter::new(NonZeroUsize::new(1024).unwrap(), LIFETIME),
            ha1s,
        }
    }

    fn challenge(&self, now: u64, stale: bool) -> Vec<String> {
        let nonce = self.issuer.issue(now, REALM);
        Challenge::offer(REALM, &nonce, stale)
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    fn handle(&mut self, method: &str, authorization: &str, now: u64) -> Outcome {
        let Ok(creds) = Credentials::parse(authorization) else {
            return Outcome::Malformed;
        };
        if creds.realm() != REALM {
            return Outcome::Challenge { stale: false };
        }
        let id = match self.issuer.check(creds.nonce(), REALM, now) {
            NonceCheck::Valid { id } => id,
            NonceCheck::Stale { .. } => return Outcome::Challenge { stale: true },
            NonceCheck::Invalid => return Outcome::Challenge { stale: false },
        };
        let key = (creds.username().to_owned(), creds.algorithm());
        let Some(ha1) = self.ha1s.get(&key) else {
            return Outcome::Challenge { stale: false };
        };
        if let Err(failure) = verify(&creds, method, ha1) {
            return Outcome::Refused(failure);
        }
        match self.counter.check_and_record(id, creds.nonce_count(), now) {
            Ok(()) => Outcome::Accepted,
            Err(_) => Outcome::Challenge { stale: true },
        }
    }
}

fn answer(challenge: &str, method: &str, password: &str, nc: u32) -> String {
    let challenge = Challenge::parse(challenge).unwrap();
    respond(
        &challenge,
        method,
        URI,
        "alice",
        ClientSecret::Password(password),
        "c0ffee",
        nc,
    )
    .unwrap()
}

#[test]
fn both_algorithms_authenticate() {
    let mut server = Server::new();
    for (i, algorithm) in Algorithm::PREFERENCE.into_iter().enumerate() {
        let challenges = server.challenge(T0, false);
        assert_eq!(challenges.len(), 2);
        assert!(challenges[i].contains(&format!("algorithm={algorithm}")));
        let value = answer(&challenges[i], "REGISTER", "s3cret", 1);
        assert_eq!(Credentials::parse(&value).unwrap().algorithm(), algorithm);
        assert_eq!(
            server.handle("REGISTER", &value, T0 + 50),
            Outcome::Accepted
        );
    }
}

#[test]
fn challenge_headers_share_one_nonce_and_its_count() {
    let mut server = Server::new();
    let challenges = server.challenge(T0, false);
    let sha = answer(&challenges[0], "REGISTER", "s3cret", 1);
    assert_eq!(server.handle("REGISTER", &sha, T0), Outcome::Accepted);
    // Answering the MD5 header with nc=1 too reuses the count of the nonce.
    let md5 = answer(&challenges[1], "REGISTER", "s3cret", 1);
    assert_eq!(
        server.handle("REGISTER", &md5, T0),
        Outcome::Challenge { stale: true }
    );
    let md5 = answer(&challenges[1], "REGISTER", "s3cret", 2);
    assert_eq!(server.handle("REGISTER", &md5, T0), Outcome::Accepted);
}

#[test]
fn wrong_password_is_refused() {
    let mut server = Server::new();
    for c in server.challenge(T0, false) {
        let value = answer(&c, "REGISTER", "guess", 1);
        assert_eq!(
            server.handle("REGISTER", &value, T0),
            Outcome::Refused(VerifyFailure::WrongResponse)
        );
    }
}

#[test]
fn wrong_realm_is_refused() {
    let mut server = Server::new();
    let c = &server.challenge(T0, false)[0];
    // The client answers for another realm (HA1 over the wrong realm).
    let forged = c.replace("realm=\"example.test\"", "realm=\"other.test\"");
    let value = answer(&forged, "REGISTER", "s3cret", 1);
    assert_eq!(
        server.handle("REGISTER", &value, T0),
        Outcome::Challenge { stale: false }
    );
    // Relabelling the realm in the header does not help either.
    let relabelled = value.replace("realm=\"other.test\"", "realm=\"example.test\"");
    assert_eq!(
        server.handle("REGISTER", &relabelled, T0),
        Outcome::Refused(VerifyFailure::WrongResponse)
    );
}

#[test]
fn wrong_method_is_refused() {
    let mut server = Server::new();
    let value = answer(&server.challenge(T0, false)[0], "REGISTER", "s3cret", 1);
    assert_eq!(
        server.handle("INVITE", &value, T0),
        Outcome::Refused(VerifyFailure::WrongResponse)
    );
}

#[test]
fn wrong_uri_is_refused() {
    let mut server = Server::new();
    let value = answer(&server.challenge(T0, false)[0], "REGISTER", "s3cret", 1);
    let tampered = value.replace(
        "uri=\"sip:example.test\"",
        "uri=\"sip:premium@example.test\"",
    );
    assert_ne!(tampered, value);
    assert_eq!(
        server.handle("REGISTER", &tampered, T0),
        Outcome::Refused(VerifyFailure::WrongResponse)
    );
}

#[test]
fn tampered_or_foreign_nonce_is_rechallenged_not_stale() {
    let mut server = Server::new();
    let c = &server.challenge(T0, false)[0];
    let nonce = Challenge::parse(c).unwrap().nonce.into_owned();
    // Move the timestamp one millisecond: the MAC no longer matches.
    let mut bytes = nonce.clone().into_bytes();
    bytes[11] = if bytes[11] == b'0' { b'1' } else { b'0' };
    let tampered_nonce = String::from_utf8(bytes).unwrap();
    let value = answer(&c.replace(&nonce, &tampered_nonce), "REGISTER", "s3cret", 1);
    assert_eq!(
        server.handle("REGISTER", &value, T0),
        Outcome::Challenge { stale: false }
    );
    // A nonce issued by another server's secret.
    let other = NonceIssuer::new(&[0x43; 32], LIFETIME).issue(T0, REALM);
    let value = answer(&c.replace(&nonce, &other), "REGISTER", "s3cret", 1);
    assert_eq!(
        server.handle("REGISTER", &value, T0),
        Outcome::Challenge { stale: false }
    );
}

#[test]
fn stale_nonce_is_rechallenged_with_stale_then_succeeds() {
    let mut server = Server::new();
    let c = &server.challenge(T0, false)[0];
    let late = T0 + 300_001;
    let value = answer(c, "REGISTER", "s3cret", 1);
    assert_eq!(
        server.handle("REGISTER", &value, late),
        Outcome::Challenge { stale: true }
    );
    let fresh = server.challenge(late, true);
    assert!(fresh[0].ends_with("stale=true"));
    assert!(Challenge::parse(&fresh[0]).unwrap().stale);
    let value = answer(&fresh[0], "REGISTER", "s3cret", 1);
    assert_eq!(
        server.handle("REGISTER", &value, late + 10),
        Outcome::Accepted
    );
}

#[test]
fn replayed_and_out_of_order_counts_are_refused() {
    let mut server = Server::new();
    let c = &server.challenge(T0, false)[0];
    let first = answer(c, "REGISTER", "s3cret", 1);
    assert_eq!(server.handle("REGISTER", &first, T0), Outcome::Accepted);
    // The identical request again.
    assert_eq!(
        server.handle("REGISTER", &first, T0 + 1),
        Outcome::Challenge { stale: true }
    );
    // Counts go on increasing with the same nonce, skipping is fine.
    let third = answer(c, "INVITE", "s3cret", 3);
    assert_eq!(server.handle("INVITE", &third, T0 + 2), Outcome::Accepted);
    // A count below the highest seen arrives late.
    let second = answer(c, "INVITE", "s3cret", 2);
    assert_eq!(
        server.handle("INVITE", &second, T0 + 3),
        Outcome::Challenge { stale: true }
    );
}

#[test]
fn replay_detail_is_reported() {
    let issuer = NonceIssuer::new(&[1; 32], LIFETIME);
    let NonceCheck::Valid { id } = issuer.check(&issuer.issue(T0, REALM), REALM, T0) else {
        panic!("fresh nonce rejected");
    };
    let mut counter = NonceCounter::new(NonZeroUsize::new(4).unwrap(), LIFETIME);
    assert_eq!(counter.check_and_record(id, 7, T0), Ok(()));
    assert_eq!(
        counter.check_and_record(id, 7, T0),
        Err(Replay::NotIncreasing { nc: 7, last: 7 })
    );
}

#[test]
fn rfc_2069_nonce_serves_one_request() {
    let mut server = Server::new();
    let c = &server.challenge(T0, false)[1];
    let mut challenge = Challenge::parse(c).unwrap();
    challenge.qop = None;
    let value = respond(
        &challenge,
        "REGISTER",
        URI,
        "alice",
        ClientSecret::Password("s3cret"),
        "",
        0,
    )
    .unwrap();
    assert_eq!(server.handle("REGISTER", &value, T0), Outcome::Accepted);
    assert_eq!(
        server.handle("REGISTER", &value, T0 + 1),
        Outcome::Challenge { stale: true }
    );
}

#[test]
fn algorithm_must_match_the_stored_ha1() {
    let mut server = Server::new();
    // Only an MD5 HA1 on file.
    server.ha1s.remove(&("alice".to_owned(), Algorithm::Sha256));
    let c = &server.challenge(T0, false)[0];
    let value = answer(c, "REGISTER", "s3cret", 1);
    assert_eq!(
        server.handle("REGISTER", &value, T0),
        Outcome::Challenge { stale: false }
    );
    let creds = Credentials::parse(&value).unwrap();
    let md5 = &server.ha1s[&("alice".to_owned(), Algorithm::Md5)];
    assert_eq!(
        verify(&creds, "REGISTER", md5),
        Err(VerifyFailure::AlgorithmMismatch {
            credentials: Algorithm::Sha256,
            stored: Algorithm::Md5
        })
    );
}

#[test]
fn garbage_is_malformed_not_a_panic() {
    let mut server = Server::new();
    for value in [
        "",
        "Digest",
        "Digest username=",
        "Basic YWxpY2U6czNjcmV0",
        "\u{0}",
    ] {
        assert_eq!(
            server.handle("REGISTER", value, T0),
            Outcome::Malformed,
            "{value:?}"
        );
    }
}
