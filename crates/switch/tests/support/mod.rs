//! A scripted SIP client around a [`Switch`] with virtual time: sends request
//! text, answers effects from an in-memory user table, collects responses.

#![allow(dead_code, unreachable_pub)]

pub mod calls;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use sb_dialplan::{CompileOptions, Dialplan, SourceFile, TrunkName};
use sb_sip_auth::{Algorithm, Challenge, ClientSecret, compute_ha1, respond};
use sb_sip_message::{Destination, HeaderName, Message, Peer, Response, StatusCode, Transport};
use sb_switch::{
    Effect, EffectResult, EffectToken, StoredCredentials, Switch, SwitchConfig, SwitchEvent,
};

pub const UNIX_START: u64 = 1_795_226_460_000;

/// Rewrites an SDP body (a stand-in media engine).
pub type SdpRewrite = fn(&[u8]) -> Vec<u8>;

#[derive(Debug)]
pub struct Harness {
    pub switch: Switch,
    pub start: Instant,
    pub now: Instant,
    pub users: HashMap<(String, String), (String, bool)>,
    /// Effects answered automatically (credential lookups) unless false.
    pub auto_effects: bool,
    /// Media effects answered automatically (pass-through, or through
    /// `media_rewrite`) unless false.
    pub auto_media: bool,
    /// Rewrites every SDP a media effect carries (none: pass-through).
    pub media_rewrite: Option<SdpRewrite>,
    /// CDR writes answered `Written` automatically unless false.
    pub auto_cdr: bool,
    pub effects: Vec<(EffectToken, Effect)>,
    pub events: Vec<SwitchEvent>,
    pub sent: Vec<(Destination, Bytes)>,
    pub cseq: u32,
    pub branch: u32,
}

pub fn peer(port: u16) -> Peer {
    Peer {
        transport: Transport::Udp,
        remote: format!("192.0.2.50:{port}").parse().unwrap(),
        local: "192.0.2.10:5060".parse().unwrap(),
        flow: None,
    }
}

impl Harness {
    pub fn new() -> Harness {
        Harness::with_config(SwitchConfig::for_tests())
    }

    pub fn with_config(config: SwitchConfig) -> Harness {
        let now = Instant::now();
        let mut users = HashMap::new();
        users.insert(
            ("alice".to_owned(), "example.test".to_owned()),
            ("secret".to_owned(), true),
        );
        users.insert(
            ("bob".to_owned(), "example.test".to_owned()),
            ("hunter2".to_owned(), true),
        );
        users.insert(
            ("carol".to_owned(), "example.test".to_owned()),
            ("pw".to_owned(), false),
        );
        Harness {
            switch: Switch::new(config),
            start: now,
            now,
            users,
            auto_effects: true,
            auto_media: true,
            media_rewrite: None,
            auto_cdr: true,
            effects: Vec::new(),
            events: Vec::new(),
            sent: Vec::new(),
            cseq: 0,
            branch: 0,
        }
    }

    pub fn unix_ms(&self) -> u64 {
        UNIX_START + u64::try_from((self.now - self.start).as_millis()).unwrap()
    }

    /// Advances virtual time, firing due timers in order.
    pub fn advance(&mut self, by: Duration) {
        let until = self.now + by;
        while let Some((at, _)) = self.switch.poll_timeout() {
            if at > until {
                break;
            }
            self.now = self.now.max(at);
            let unix = self.unix_ms();
            self.switch.handle_timeout(self.now, unix);
            self.drain();
        }
        self.now = until;
    }

    pub fn credentials_of(&self, user: &str, domain: &str) -> Option<StoredCredentials> {
        let (password, enabled) = self.users.get(&(user.to_owned(), domain.to_owned()))?;
        Some(StoredCredentials {
            ha1_md5: Some(compute_ha1(Algorithm::Md5, user, domain, password)),
            ha1_sha256: Some(compute_ha1(Algorithm::Sha256, user, domain, password)),
            enabled: *enabled,
        })
    }

    pub fn drain(&mut self) {
        loop {
            let mut any = false;
            while let Some(t) = self.switch.poll_transmit() {
                any = true;
                self.sent.push((t.dest, t.payload));
            }
            while let Some(e) = self.switch.poll_event() {
                any = true;
                self.events.push(e);
            }
            while let Some((token, effect)) = self.switch.poll_effect() {
                any = true;
                match (&effect, self.auto_effects) {
                    (Effect::FetchCredentials { username, domain }, true) => {
                        let found = self.credentials_of(username, domain);
                        self.effects.push((token, effect.clone()));
                        let unix = self.unix_ms();
                        self.switch.handle_effect_result(
                            self.now,
                            unix,
                            token,
                            EffectResult::Credentials(found),
                        );
                    }
                    (
                        Effect::MediaOffer { sdp, .. }
                        | Effect::MediaAnswer { sdp, .. }
                        | Effect::MediaLocal { sdp, .. },
                        _,
                    ) if self.auto_media => {
                        let out = match self.media_rewrite {
                            Some(rewrite) => Bytes::from(rewrite(sdp)),
                            None => sdp.clone(),
                        };
                        self.effects.push((token, effect.clone()));
                        let unix = self.unix_ms();
                        self.switch.handle_effect_result(
                            self.now,
                            unix,
                            token,
                            EffectResult::Media(out),
                        );
                    }
                    (Effect::WriteCdr(_), _) if self.auto_cdr => {
                        self.effects.push((token, effect));
                        let unix = self.unix_ms();
                        self.switch.handle_effect_result(
                            self.now,
                            unix,
                            token,
                            EffectResult::Written,
                        );
                    }
                    _ => self.effects.push((token, effect)),
                }
            }
            if !any {
                return;
            }
        }
    }

    /// Delivers raw request text from `peer`.
    pub fn deliver(&mut self, text: &str, from: Peer) {
        let bytes = Bytes::from(text.replace('\n', "\r\n"));
        let unix = self.unix_ms();
        match Message::parse(bytes.clone()) {
            Ok(m) => self.switch.handle_inbound(self.now, unix, m, from),
            Err(e) => self.switch.handle_malformed(self.now, &bytes, from, &e),
        }
        self.drain();
    }

    /// Delivers raw bytes exactly as given.
    pub fn deliver_bytes(&mut self, bytes: &[u8], from: Peer) {
        let bytes = Bytes::copy_from_slice(bytes);
        let unix = self.unix_ms();
        match Message::parse(bytes.clone()) {
            Ok(m) => self.switch.handle_inbound(self.now, unix, m, from),
            Err(e) => self.switch.handle_malformed(self.now, &bytes, from, &e),
        }
        self.drain();
    }

    /// The responses sent so far, parsed, taking them out of `sent`.
    pub fn take_responses(&mut self) -> Vec<(Destination, Response)> {
        self.sent
            .drain(..)
            .map(
                |(d, b)| match Message::parse(b).expect("switch output parses") {
                    Message::Response(r) => (d, r),
                    Message::Request(r) => panic!("unexpected request {}", r.method),
                },
            )
            .collect()
    }

    /// The single response to the last input.
    pub fn response(&mut self) -> Response {
        let mut all = self.take_responses();
        assert_eq!(all.len(), 1, "expected one response, got {all:?}");
        all.remove(0).1
    }

    pub fn next_branch(&mut self) -> String {
        self.branch += 1;
        format!("z9hG4bKtest{}", self.branch)
    }

    /// A REGISTER for `user`@example.test with the given extra header lines.
    pub fn register_text(
        &mut self,
        user: &str,
        call_id: &str,
        contact: Option<&str>,
        extra: &str,
    ) -> String {
        self.cseq += 1;
        let branch = self.next_branch();
        let contact = contact
            .map(|c| format!("Contact: {c}\n"))
            .unwrap_or_default();
        format!(
            "REGISTER sip:example.test SIP/2.0\n\
             Via: SIP/2.0/UDP 192.0.2.50:5062;rport;branch={branch}\n\
             Max-Forwards: 70\n\
             From: <sip:{user}@example.test>;tag=from{cseq}\n\
             To: <sip:{user}@example.test>\n\
             Call-ID: {call_id}\n\
             CSeq: {cseq} REGISTER\n\
             {contact}{extra}User-Agent: harness/1\n\
             Content-Length: 0\n\n",
            cseq = self.cseq
        )
    }

    /// An Authorization header line answering `challenge` (first WWW-Authenticate
    /// of `algorithm`).
    pub fn authorization(
        challenge_resp: &Response,
        algorithm: Algorithm,
        user: &str,
        password: &str,
        nc: u32,
    ) -> String {
        let challenge = challenge_resp
            .headers
            .get_all(&HeaderName::WwwAuthenticate)
            .map(|v| Challenge::parse(v).unwrap().into_owned())
            .find(|c| c.algorithm == algorithm)
            .expect("a challenge for the algorithm");
        let value = respond(
            &challenge,
            "REGISTER",
            "sip:example.test",
            user,
            ClientSecret::Password(password),
            "0a4f113b",
            nc,
        )
        .unwrap();
        format!("Authorization: {value}\n")
    }

    /// Full REGISTER exchange (challenge, then credentials); returns the final
    /// response.
    pub fn register(
        &mut self,
        user: &str,
        password: &str,
        call_id: &str,
        contact: Option<&str>,
        extra: &str,
    ) -> Response {
        self.register_from(peer(5062), user, password, call_id, contact, extra)
    }

    /// [`Harness::register`] arriving from `from` (a connection's flow).
    pub fn register_from(
        &mut self,
        from: Peer,
        user: &str,
        password: &str,
        call_id: &str,
        contact: Option<&str>,
        extra: &str,
    ) -> Response {
        let text = self.register_text(user, call_id, contact, extra);
        self.deliver(&text, from);
        let challenge = self.response();
        assert_eq!(challenge.status, StatusCode::UNAUTHORIZED);
        let auth = Harness::authorization(&challenge, Algorithm::Md5, user, password, 1);
        let text = self.register_text(user, call_id, contact, &format!("{extra}{auth}"));
        self.deliver(&text, from);
        self.response()
    }
}

/// Compiles dialplan TOML `text`, with `trunks` configured.
pub fn dialplan(text: &str, trunks: &[&str]) -> Arc<Dialplan> {
    let sources = [SourceFile {
        name: "test.toml".to_owned(),
        text: text.to_owned(),
    }];
    let options = CompileOptions {
        trunks: trunks.iter().map(|t| TrunkName::from(*t)).collect(),
    };
    match sb_dialplan::compile(&sources, &options) {
        Ok(plan) => Arc::new(plan),
        Err(diagnostics) => {
            let text: Vec<String> = diagnostics.iter().map(ToString::to_string).collect();
            panic!("dialplan does not compile:\n{}", text.join("\n"))
        }
    }
}

/// The Contact values of a response.
pub fn contacts(r: &Response) -> Vec<String> {
    r.headers
        .get_all(&HeaderName::Contact)
        .map(|v| v.to_string())
        .collect()
}
