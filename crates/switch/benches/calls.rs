//! The call path's CPU cost without I/O: one complete call is an
//! authenticated INVITE (credentials cached), 100 and an INVITE to the
//! callee, 180 and 200 relayed, the caller's ACK relayed, BYE relayed and
//! answered — seven messages in, eight out, four media/CDR effects answered.
//! Only the switch's side is timed: parsing what arrives, handling it,
//! serializing what leaves, answering effects. The phones' side (digest,
//! building their messages from the switch's) is not.

use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{Criterion, criterion_group};
use sb_sip_auth::{Algorithm, Challenge, ClientSecret, compute_ha1, respond};
use sb_sip_message::{
    Aor, ByteStr, CallId, HeaderName, Message, Peer, Request, Response, StatusCode, Tag, Transport,
};
use sb_switch::{
    BindingId, BindingRecord, Effect, EffectResult, StoredCredentials, Switch, SwitchConfig,
};

const PAIRS: usize = 500;
const UNIX: u64 = 1_795_226_460_000;
const SDP: &str = "v=0\r\no=a 1 1 IN IP4 192.0.2.50\r\ns=-\r\nc=IN IP4 192.0.2.50\r\nt=0 0\r\n\
                   m=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";

fn peer(addr: &str) -> Peer {
    Peer {
        transport: Transport::Udp,
        remote: addr.parse().expect("address"),
        local: "192.0.2.10:5060".parse().expect("address"),
        flow: None,
    }
}

struct Bench {
    switch: Switch,
    now: Instant,
    /// Per caller: the nonce challenge text and the next nonce count.
    nonces: Vec<(String, u32)>,
    n: u64,
    caller: Peer,
    callee: Peer,
    /// Transmits of the last step.
    out: Vec<Bytes>,
}

fn parse(bytes: Bytes) -> Message {
    Message::parse(bytes).expect("valid SIP")
}

fn request(bytes: &Bytes) -> Request {
    match parse(bytes.clone()) {
        Message::Request(r) => r,
        Message::Response(_) => panic!("expected a request"),
    }
}

fn response(bytes: &Bytes) -> Response {
    match parse(bytes.clone()) {
        Message::Response(r) => r,
        Message::Request(_) => panic!("expected a response"),
    }
}

impl Bench {
    fn new() -> Bench {
        let mut switch = Switch::new(SwitchConfig::for_tests());
        let now = Instant::now();
        let records = (0..PAIRS)
            .map(|i| BindingRecord {
                aor: Aor::new(&format!("b{i}"), "example.test"),
                binding_id: BindingId(ByteStr::from(format!("uri:b{i}"))),
                contact: ByteStr::from(format!("<sip:b{i}@192.0.2.60:5060>")),
                instance: None,
                reg_id: None,
                q: None,
                call_id: CallId::from(format!("reg-b{i}")),
                cseq: 1,
                expires_unix_ms: UNIX + 86_400_000,
                transport: Transport::Udp,
                source: "192.0.2.60:5060".parse().expect("address"),
                local: "192.0.2.10:5060".parse().expect("address"),
                user_agent: None,
                path: None,
                updated_unix_ms: UNIX,
                node: None,
            })
            .collect();
        switch.restore_bindings(now, UNIX, records);
        let mut b = Bench {
            switch,
            now,
            nonces: Vec::new(),
            n: 0,
            caller: peer("192.0.2.50:5062"),
            callee: peer("192.0.2.60:5060"),
            out: Vec::new(),
        };
        // One challenge per caller; the first call of each fills the caches.
        for i in 0..PAIRS {
            let text = b.invite(i, "");
            b.step(text, b.caller);
            let challenge = b.out.pop().expect("a 407");
            let text = String::from_utf8(challenge.to_vec()).expect("utf-8");
            let value = text
                .lines()
                .find_map(|l| l.strip_prefix("Proxy-Authenticate: "))
                .filter(|v| v.contains("MD5"))
                .expect("an MD5 challenge")
                .to_owned();
            b.nonces.push((value, 1));
        }
        for i in 0..PAIRS {
            b.call(i);
        }
        b
    }

    fn invite(&mut self, i: usize, auth: &str) -> Bytes {
        self.n += 1;
        Bytes::from(format!(
            "INVITE sip:b{i}@example.test SIP/2.0\r\n\
             Via: SIP/2.0/UDP 192.0.2.50:5062;rport;branch=z9hG4bK-{n}\r\n\
             Max-Forwards: 70\r\n\
             From: <sip:a{i}@example.test>;tag=f{n}\r\n\
             To: <sip:b{i}@example.test>\r\n\
             Call-ID: {n}@192.0.2.50\r\n\
             CSeq: 1 INVITE\r\n\
             Contact: <sip:a{i}@192.0.2.50:5062>\r\n{auth}\
             Content-Type: application/sdp\r\n\
             Content-Length: {len}\r\n\r\n{SDP}",
            n = self.n,
            len = SDP.len(),
        ))
    }

    /// One input to the switch and everything it causes; returns the time
    /// spent in the switch.
    fn step(&mut self, bytes: Bytes, from: Peer) -> Duration {
        let start = Instant::now();
        let message = parse(bytes);
        self.switch.handle_inbound(self.now, UNIX, message, from);
        self.out.clear();
        loop {
            let mut any = false;
            while let Some(t) = self.switch.poll_transmit() {
                self.out.push(t.payload);
                any = true;
            }
            while self.switch.poll_event().is_some() {}
            while let Some((token, effect)) = self.switch.poll_effect() {
                any = true;
                let result = match effect {
                    Effect::FetchCredentials { username, domain } => {
                        let password = format!("pw-{username}");
                        EffectResult::Credentials(Some(StoredCredentials {
                            ha1_md5: Some(compute_ha1(
                                Algorithm::Md5,
                                &username,
                                &domain,
                                &password,
                            )),
                            ha1_sha256: None,
                            enabled: true,
                        }))
                    }
                    Effect::MediaOffer { sdp, .. } | Effect::MediaAnswer { sdp, .. } => {
                        EffectResult::Media(sdp)
                    }
                    Effect::WriteCdr(_) => EffectResult::Written,
                    _ => continue,
                };
                self.switch
                    .handle_effect_result(self.now, UNIX, token, result);
            }
            if !any {
                break;
            }
        }
        start.elapsed()
    }

    /// One call between caller `i` and callee `i`; the switch's time.
    fn call(&mut self, i: usize) -> Duration {
        self.now += Duration::from_millis(1);
        let mut spent = Duration::ZERO;
        if let Some((at, _)) = self.switch.poll_timeout()
            && at <= self.now
        {
            let start = Instant::now();
            self.switch.handle_timeout(self.now, UNIX);
            while self.switch.poll_transmit().is_some() {}
            while self.switch.poll_event().is_some() {}
            while self.switch.poll_effect().is_some() {}
            spent += start.elapsed();
        }
        let (challenge, nc) = &mut self.nonces[i];
        let challenge = Challenge::parse(challenge).expect("challenge");
        let value = respond(
            &challenge,
            "INVITE",
            &format!("sip:b{i}@example.test"),
            &format!("a{i}"),
            ClientSecret::Password(&format!("pw-a{i}")),
            "0a4f113b",
            *nc,
        )
        .expect("authorization");
        *nc += 1;
        let text = self.invite(i, &format!("Proxy-Authorization: {value}\r\n"));
        spent += self.step(text, self.caller);
        assert_eq!(self.out.len(), 2, "100 and the B INVITE");
        let b_invite = request(&self.out[1]);
        let reply = |status: u16, body: &str| {
            let mut r = Response::from_request(&b_invite, StatusCode::new(status).expect("status"));
            r.set_to_tag(&Tag::from("callee"));
            r.headers
                .push(HeaderName::Contact, "<sip:b@192.0.2.60:5060>");
            if !body.is_empty() {
                r.headers.push(HeaderName::ContentType, "application/sdp");
                r.body = Bytes::from(body.to_owned());
            }
            r.to_bytes()
        };
        let (ringing, ok) = (reply(180, ""), reply(200, SDP));
        spent += self.step(ringing, self.callee);
        spent += self.step(ok, self.callee);
        let ok = response(self.out.last().expect("200 to the caller"));
        let to = ok.headers.get(&HeaderName::To).expect("To").clone();
        let n = self.n;
        let in_dialog = |method: &str, cseq: u32| {
            Bytes::from(format!(
                "{method} sip:192.0.2.10:5060 SIP/2.0\r\n\
                 Via: SIP/2.0/UDP 192.0.2.50:5062;rport;branch=z9hG4bK-{method}-{n}\r\n\
                 Max-Forwards: 70\r\n\
                 From: <sip:a{i}@example.test>;tag=f{n}\r\n\
                 To: {to}\r\n\
                 Call-ID: {n}@192.0.2.50\r\n\
                 CSeq: {cseq} {method}\r\n\
                 Content-Length: 0\r\n\r\n"
            ))
        };
        let (ack, bye) = (in_dialog("ACK", 1), in_dialog("BYE", 2));
        spent += self.step(ack, self.caller);
        spent += self.step(bye, self.caller);
        let b_bye = request(self.out.last().expect("BYE to the callee"));
        let mut done = Response::from_request(&b_bye, StatusCode::OK);
        done.set_to_tag(&Tag::from("callee"));
        spent += self.step(done.to_bytes(), self.callee);
        spent
    }
}

fn bench(c: &mut Criterion) {
    let mut b = Bench::new();
    let mut i = 0;
    c.bench_function("complete call (INVITE to BYE, both legs)", |bencher| {
        bencher.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                i = (i + 1) % PAIRS;
                total += b.call(i);
            }
            total
        });
    });
}

criterion_group!(benches, bench);

/// `SB_BENCH_CALLS=N` runs exactly N calls after the set-up and exits, for
/// instruction counting (see `benches/register.rs`).
fn main() {
    if let Some(n) = std::env::var("SB_BENCH_CALLS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
    {
        let mut b = Bench::new();
        for i in 0..n {
            b.call(i % PAIRS);
        }
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
