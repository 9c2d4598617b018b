//! Server-side costs of digest authentication: parsing credentials, verifying
//! MD5 and SHA-256 responses, issuing and checking nonces, and the whole
//! authenticated-request path.

use std::hint::black_box;
use std::num::NonZeroUsize;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use sb_sip_auth::{
    Algorithm, Challenge, ClientSecret, Credentials, NonceCheck, NonceCounter, NonceIssuer,
    compute_ha1, respond, verify,
};

const REALM: &str = "example.test";
const T0: u64 = 1_700_000_000_000;
const LIFETIME: Duration = Duration::from_secs(300);

fn authorization(issuer: &NonceIssuer, algorithm: Algorithm) -> String {
    let nonce = issuer.issue(T0, REALM);
    let challenge = Challenge::new(REALM, nonce.as_str(), algorithm);
    respond(
        &challenge,
        "REGISTER",
        "sip:example.test",
        "alice",
        ClientSecret::Password("correct horse"),
        "0a4f113b",
        1,
    )
    .expect("valid inputs")
}

fn benches(c: &mut Criterion) {
    let issuer = NonceIssuer::new(&[7; 32], LIFETIME);
    for algorithm in [Algorithm::Md5, Algorithm::Sha256] {
        let value = authorization(&issuer, algorithm);
        let ha1 = compute_ha1(algorithm, "alice", REALM, "correct horse");
        let creds = Credentials::parse(&value).expect("valid credentials");
        c.bench_function(&format!("parse credentials {algorithm}"), |b| {
            b.iter(|| Credentials::parse(black_box(&value)).is_ok());
        });
        c.bench_function(&format!("verify {algorithm}"), |b| {
            b.iter(|| verify(black_box(&creds), black_box("REGISTER"), black_box(&ha1)).is_ok());
        });
        c.bench_function(&format!("full server path {algorithm}"), |b| {
            let mut counter =
                NonceCounter::new(NonZeroUsize::new(100_000).expect("non-zero"), LIFETIME);
            let mut nc = 0u32;
            b.iter(|| {
                let creds = Credentials::parse(black_box(&value)).expect("valid");
                let NonceCheck::Valid { id } = issuer.check(creds.nonce(), REALM, T0 + 10) else {
                    panic!("nonce rejected");
                };
                verify(&creds, "REGISTER", &ha1).expect("valid response");
                // The same credentials are replayed on purpose; a rising count
                // keeps the counter on its accepting path.
                nc = nc.wrapping_add(1).max(1);
                counter.check_and_record(id, nc, T0 + 10).is_ok()
            });
        });
    }
    c.bench_function("nonce issue", |b| {
        b.iter(|| issuer.issue(black_box(T0), black_box(REALM)));
    });
    let nonce = issuer.issue(T0, REALM);
    c.bench_function("nonce check", |b| {
        b.iter(|| issuer.check(black_box(&nonce), black_box(REALM), black_box(T0 + 10)));
    });
    c.bench_function("challenge pair", |b| {
        b.iter(|| {
            let nonce = issuer.issue(black_box(T0), REALM);
            Challenge::offer(REALM, &nonce, false).map(|c| c.to_string())
        });
    });
}

criterion_group!(digest, benches);
criterion_main!(digest);
