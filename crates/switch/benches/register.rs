//! The registrar's CPU cost without I/O: one authenticated registration is a
//! REGISTER answered 401 plus a REGISTER with credentials answered 200, each
//! parsed from bytes and serialized back, as the server does per datagram.
//! Only the server side is timed (the client's digest is computed outside).

use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{Criterion, criterion_group};
use sb_sip_auth::{Algorithm, Challenge, ClientSecret, compute_ha1, respond};
use sb_sip_message::{HeaderName, Message, Peer, Transport};
use sb_switch::{Effect, EffectResult, StoredCredentials, Switch, SwitchConfig};

const USERS: usize = 1_000;

/// Wall-clock time of the first registration, Unix ms.
const UNIX_START: u64 = 1_795_226_460_000;

struct Bench {
    switch: Switch,
    start: Instant,
    now: Instant,
    unix: u64,
    n: u64,
}

fn peer(port: u16) -> Peer {
    Peer {
        transport: Transport::Udp,
        remote: format!("192.0.2.50:{port}").parse().expect("address"),
        local: "192.0.2.10:5060".parse().expect("address"),
        flow: None,
    }
}

fn register(user: usize, n: u64, cseq: u32, auth: &str) -> Bytes {
    Bytes::from(format!(
        "REGISTER sip:example.test SIP/2.0\r\n\
         Via: SIP/2.0/UDP 192.0.2.50:5062;rport;branch=z9hG4bK-{n}-{cseq}\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:user{user}@example.test>;tag=t{n}\r\n\
         To: <sip:user{user}@example.test>\r\n\
         Call-ID: {n}@192.0.2.50\r\n\
         CSeq: {cseq} REGISTER\r\n\
         Contact: <sip:user{user}@192.0.2.50:5062>\r\n\
         Expires: 3600\r\n{auth}\
         User-Agent: bench\r\n\
         Content-Length: 0\r\n\r\n"
    ))
}

impl Bench {
    fn new() -> Bench {
        let mut config = SwitchConfig::for_tests();
        config.registrar.max_contacts = 100;
        // Credentials stay cached for the whole run: the timed path never
        // waits for a lookup nobody answers.
        config.auth.credential_cache = Duration::from_secs(86_400 * 365);
        let now = Instant::now();
        let mut b = Bench {
            switch: Switch::new(config),
            start: now,
            now,
            unix: UNIX_START,
            n: 0,
        };
        // Warm the credential cache for every user.
        for user in 0..USERS {
            let (challenge, _) = b.first(user);
            let (auth, _) = answer(&challenge, user, 1);
            let bytes = register(user, b.n, 2, &auth);
            b.deliver(bytes);
            while let Some((token, effect)) = b.switch.poll_effect() {
                if let Effect::FetchCredentials { username, domain } = effect {
                    let password = format!("pw-{username}");
                    let creds = StoredCredentials {
                        ha1_md5: Some(compute_ha1(Algorithm::Md5, &username, &domain, &password)),
                        ha1_sha256: None,
                        enabled: true,
                    };
                    b.switch.handle_effect_result(
                        b.now,
                        b.unix,
                        token,
                        EffectResult::Credentials(Some(creds)),
                    );
                }
            }
            b.drain();
        }
        b
    }

    fn deliver(&mut self, bytes: Bytes) {
        let message = Message::parse(bytes).expect("valid request");
        self.switch
            .handle_inbound(self.now, self.unix, message, peer(5062));
    }

    fn drain(&mut self) -> Option<Bytes> {
        let mut last = None;
        while let Some(t) = self.switch.poll_transmit() {
            last = Some(t.payload);
        }
        while self.switch.poll_effect().is_some() {}
        while self.switch.poll_event().is_some() {}
        last
    }

    /// Sends the unauthenticated REGISTER; returns the 401 text and the time spent.
    /// Virtual time moves 100 µs per registration, on both clocks: nonces
    /// count up to 65,536 per millisecond, so the wall clock must advance.
    fn first(&mut self, user: usize) -> (String, Duration) {
        self.n += 1;
        self.now += Duration::from_micros(100);
        let elapsed = u64::try_from((self.now - self.start).as_millis()).expect("a short run");
        self.unix = UNIX_START + elapsed;
        let bytes = register(user, self.n, 1, "");
        let start = Instant::now();
        self.deliver(bytes);
        let out = self.drain().expect("a 401");
        let spent = start.elapsed();
        (String::from_utf8(out.to_vec()).expect("utf-8"), spent)
    }

    fn tick(&mut self) {
        if let Some((at, _)) = self.switch.poll_timeout()
            && at <= self.now
        {
            self.switch.handle_timeout(self.now, self.unix);
            self.drain();
        }
    }
}

fn answer(response: &str, user: usize, nc: u32) -> (String, ()) {
    let value = response
        .lines()
        .find_map(|l| l.strip_prefix("WWW-Authenticate: "))
        .filter(|v| v.contains("MD5"))
        .expect("an MD5 challenge");
    let challenge = Challenge::parse(value).expect("challenge");
    let auth = respond(
        &challenge,
        "REGISTER",
        "sip:example.test",
        &format!("user{user}"),
        ClientSecret::Password(&format!("pw-user{user}")),
        "0a4f113b",
        nc,
    )
    .expect("authorization");
    (format!("{}: {auth}\r\n", HeaderName::Authorization), ())
}

impl Bench {
    /// One registration; returns the time spent in the server side.
    fn registration(&mut self, user: usize) -> Duration {
        self.tick();
        let (challenge, mut spent) = self.first(user);
        let (auth, ()) = answer(&challenge, user, 1);
        let bytes = register(user, self.n, 2, &auth);
        let start = Instant::now();
        self.deliver(bytes);
        let ok = self.drain().expect("a 200");
        spent += start.elapsed();
        assert!(ok.starts_with(b"SIP/2.0 200"));
        spent
    }
}

fn bench(c: &mut Criterion) {
    let mut b = Bench::new();
    let mut user = 0;
    c.bench_function("authenticated registration (401 + 200)", |bencher| {
        bencher.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                user = (user + 1) % USERS;
                total += b.registration(user);
            }
            total
        });
    });
}

criterion_group!(benches, bench);

/// `SB_BENCH_REGISTRATIONS=N` runs exactly N registrations after the set-up
/// and exits, for instruction counting: run it twice under
/// `valgrind --tool=callgrind` with N and 2·N; the difference divided by N is
/// the cost of one registration, free of set-up and timing noise.
fn main() {
    if let Some(n) = std::env::var("SB_BENCH_REGISTRATIONS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
    {
        let mut b = Bench::new();
        for i in 0..n {
            b.registration(i % USERS);
        }
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
