//! Phones for call tests: a caller side (UAC of leg A) and callee side (UAS
//! of a B leg), built from and checked against the bytes the switch sends.

use std::net::SocketAddr;

use bytes::Bytes;
use sb_sip_auth::{Challenge, ClientSecret, respond};
use sb_sip_message::{
    Destination, HeaderName, Message, Method, Peer, Request, Response, StatusCode, Tag, Transport,
};
use sb_switch::{CdrRecord, Effect};

use super::Harness;

/// The caller's offer.
pub const SDP_A: &str = "v=0\r\no=alice 1 1 IN IP4 192.0.2.50\r\ns=-\r\nc=IN IP4 192.0.2.50\r\n\
                         t=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";
/// The callee's answer.
pub const SDP_B: &str = "v=0\r\no=bob 1 1 IN IP4 192.0.2.60\r\ns=-\r\nc=IN IP4 192.0.2.60\r\n\
                         t=0 0\r\nm=audio 50000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";

/// A device: where its packets come from, and the Contact it registers.
#[derive(Debug, Clone)]
pub struct Phone {
    pub user: String,
    pub password: String,
    pub peer: Peer,
    pub contact: String,
}

impl Phone {
    /// A UDP phone at `source` whose Contact names `contact_host`.
    pub fn new(user: &str, password: &str, source: &str, contact_host: &str) -> Phone {
        Phone {
            user: user.to_owned(),
            password: password.to_owned(),
            peer: Peer {
                transport: Transport::Udp,
                remote: source.parse().unwrap(),
                local: "192.0.2.10:5060".parse().unwrap(),
                flow: None,
            },
            contact: format!("<sip:{user}@{contact_host}>"),
        }
    }

    pub fn alice() -> Phone {
        Phone::new("alice", "secret", "192.0.2.50:5062", "192.0.2.50:5062")
    }

    pub fn bob() -> Phone {
        Phone::new("bob", "hunter2", "192.0.2.60:5060", "192.0.2.60:5060")
    }

    pub fn addr(&self) -> SocketAddr {
        self.peer.remote
    }
}

/// Parses SIP text with `\n` line ends and a body (Content-Length computed).
pub fn request_text(head: &str, body: &str) -> Request {
    let head = head.trim_end().replace('\n', "\r\n");
    let text = format!("{head}\r\nContent-Length: {}\r\n\r\n{body}", body.len());
    match Message::parse(Bytes::from(text)).expect("test request parses") {
        Message::Request(r) => r,
        Message::Response(_) => panic!("expected a request"),
    }
}

/// The caller's side of leg A.
#[derive(Debug, Clone)]
pub struct Caller {
    pub phone: Phone,
    pub invite: Request,
    pub call_id: String,
    pub cseq: u32,
    /// The switch's tag, from its responses.
    pub remote_tag: Option<String>,
    /// The switch's Contact URI, from its 2xx.
    pub remote_target: Option<String>,
    branch: u32,
}

impl Caller {
    fn next_branch(&mut self) -> String {
        self.branch += 1;
        format!("z9hG4bKa{}x{}", self.call_id.len(), self.branch)
    }

    fn via(&mut self) -> String {
        let b = self.next_branch();
        format!("SIP/2.0/UDP {};rport;branch={b}", self.phone.addr())
    }

    /// Learns the switch's tag and Contact from a response.
    pub fn learn(&mut self, r: &Response) {
        if let Some(tag) = r.headers.to_addr().unwrap().tag() {
            self.remote_tag = Some(tag.to_string());
        }
        if r.status.is_success()
            && let Some(Ok(c)) = r.headers.contacts().next()
        {
            self.remote_target = Some(c.addr().unwrap().uri.to_string());
        }
    }

    fn to(&self) -> String {
        let to = self
            .invite
            .headers
            .get(&HeaderName::To)
            .unwrap()
            .to_string();
        match &self.remote_tag {
            Some(t) => format!("{to};tag={t}"),
            None => to,
        }
    }

    /// The ACK for the 2xx (new branch, RFC 3261 §13.2.2.4).
    pub fn ack(&mut self, body: &str) -> Request {
        let cseq = self.invite.headers.cseq().unwrap().seq;
        self.ack_of(cseq, body)
    }

    /// The ACK for the 2xx to the INVITE with CSeq `cseq` (a re-INVITE's).
    pub fn ack_of(&mut self, cseq: u32, body: &str) -> Request {
        let via = self.via();
        let ct = if body.is_empty() {
            ""
        } else {
            "Content-Type: application/sdp\n"
        };
        request_text(
            &format!(
                "ACK {target} SIP/2.0\nVia: {via}\nMax-Forwards: 70\nFrom: {from}\nTo: {to}\n\
                 Call-ID: {cid}\nCSeq: {cseq} ACK\n{ct}",
                target = self.remote_target.clone().unwrap(),
                from = self.invite.headers.get(&HeaderName::From).unwrap(),
                to = self.to(),
                cid = self.call_id,
            ),
            body,
        )
    }

    /// The ACK for a failure response `r` (same branch as the INVITE,
    /// RFC 3261 §17.1.1.3).
    pub fn ack_failure(&self, r: &Response) -> Request {
        request_text(
            &format!(
                "ACK {uri} SIP/2.0\nVia: {via}\nMax-Forwards: 70\nFrom: {from}\nTo: {to}\n\
                 Call-ID: {cid}\nCSeq: {cseq} ACK\n",
                uri = self.invite.uri,
                via = self.invite.headers.get(&HeaderName::Via).unwrap(),
                from = self.invite.headers.get(&HeaderName::From).unwrap(),
                to = r.headers.get(&HeaderName::To).unwrap(),
                cid = self.call_id,
                cseq = self.invite.headers.cseq().unwrap().seq,
            ),
            "",
        )
    }

    /// CANCEL of the INVITE (same branch and CSeq number).
    pub fn cancel(&self) -> Request {
        let via = self.invite.headers.get(&HeaderName::Via).unwrap();
        // The switch stamped nothing on our copy: it is the INVITE as sent.
        request_text(
            &format!(
                "CANCEL {uri} SIP/2.0\nVia: {via}\nMax-Forwards: 70\nFrom: {from}\nTo: {to}\n\
                 Call-ID: {cid}\nCSeq: {cseq} CANCEL\n",
                uri = self.invite.uri,
                from = self.invite.headers.get(&HeaderName::From).unwrap(),
                to = self.invite.headers.get(&HeaderName::To).unwrap(),
                cid = self.call_id,
                cseq = self.invite.headers.cseq().unwrap().seq,
            ),
            "",
        )
    }

    /// A new request in the dialog (BYE, re-INVITE, INFO…).
    pub fn request(&mut self, method: &str, extra: &str, body: &str) -> Request {
        self.cseq += 1;
        let via = self.via();
        let target = self
            .remote_target
            .clone()
            .unwrap_or_else(|| self.invite.uri.to_string());
        request_text(
            &format!(
                "{method} {target} SIP/2.0\nVia: {via}\nMax-Forwards: 70\nFrom: {from}\nTo: {to}\n\
                 Call-ID: {cid}\nCSeq: {cseq} {method}\nContact: {contact}\n{extra}",
                from = self.invite.headers.get(&HeaderName::From).unwrap(),
                to = self.to(),
                cid = self.call_id,
                cseq = self.cseq,
                contact = self.phone.contact,
            ),
            body,
        )
    }
}

/// The callee's side of one B leg, from the INVITE the switch sent it.
#[derive(Debug, Clone)]
pub struct Callee {
    pub phone: Phone,
    pub invite: Request,
    pub tag: String,
    pub cseq: u32,
    branch: u32,
}

impl Callee {
    pub fn new(phone: &Phone, invite: Request, tag: &str) -> Callee {
        Callee {
            phone: phone.clone(),
            invite,
            tag: tag.to_owned(),
            cseq: 100,
            branch: 0,
        }
    }

    /// A response to the INVITE (To tag on everything but 100).
    pub fn response(&self, status: u16, body: &str) -> Response {
        response_to(&self.invite, status, &self.tag, &self.phone.contact, body)
    }

    fn switch_target(&self) -> String {
        let c = self.invite.headers.contacts().next().unwrap().unwrap();
        c.addr().unwrap().uri.to_string()
    }

    /// A request from the callee in its dialog (From/To swapped).
    pub fn request(&mut self, method: &str, extra: &str, body: &str) -> Request {
        self.cseq += 1;
        self.branch += 1;
        let to = self.invite.headers.get(&HeaderName::From).unwrap();
        let from = format!(
            "{};tag={}",
            self.invite.headers.get(&HeaderName::To).unwrap(),
            self.tag
        );
        request_text(
            &format!(
                "{method} {target} SIP/2.0\nVia: SIP/2.0/UDP {addr};rport;branch=z9hG4bKb{tag}{n}\n\
                 Max-Forwards: 70\nFrom: {from}\nTo: {to}\nCall-ID: {cid}\nCSeq: {cseq} {method}\n\
                 Contact: {contact}\n{extra}",
                target = self.switch_target(),
                addr = self.phone.addr(),
                tag = self.tag,
                n = self.branch,
                cid = self.invite.headers.call_id().unwrap(),
                cseq = self.cseq,
                contact = self.phone.contact,
            ),
            body,
        )
    }
}

/// A response to `request` as a UA sends it.
pub fn response_to(
    request: &Request,
    status: u16,
    tag: &str,
    contact: &str,
    body: &str,
) -> Response {
    let status = StatusCode::new(status).unwrap();
    let mut r = Response::from_request(request, status);
    if status != StatusCode::TRYING {
        r.set_to_tag(&Tag::from(tag));
    }
    if status.is_success() || (status.is_provisional() && status != StatusCode::TRYING) {
        r.headers.push(HeaderName::Contact, contact.to_owned());
    }
    if !body.is_empty() {
        r.headers.push(HeaderName::ContentType, "application/sdp");
        r.body = Bytes::from(body.to_owned());
    }
    r
}

impl Harness {
    /// Everything sent since the last call, parsed.
    pub fn take_sent(&mut self) -> Vec<(Destination, Message)> {
        self.sent
            .drain(..)
            .map(|(d, b)| (d, Message::parse(b).expect("switch output parses")))
            .collect()
    }

    /// Sends `message` as bytes from `from`.
    pub fn deliver_msg(&mut self, message: &Message, from: Peer) {
        let bytes = message.to_bytes();
        let parsed = Message::parse(bytes).expect("test message parses");
        let unix = self.unix_ms();
        self.switch.handle_inbound(self.now, unix, parsed, from);
        self.drain();
    }

    pub fn send_request(&mut self, request: &Request, from: Peer) {
        self.deliver_msg(&Message::Request(request.clone()), from);
    }

    pub fn send_response(&mut self, response: &Response, from: Peer) {
        self.deliver_msg(&Message::Response(response.clone()), from);
    }

    /// Registers `phone` (challenge, then credentials) from its address.
    pub fn register_phone(&mut self, phone: &Phone) -> Response {
        let call_id = format!("reg-{}-{}", phone.user, phone.addr());
        let mut last = None;
        for round in 0..2 {
            self.cseq += 1;
            let auth = match &last {
                Some(challenge) => Harness::authorization(
                    challenge,
                    sb_sip_auth::Algorithm::Md5,
                    &phone.user,
                    &phone.password,
                    1,
                ),
                None => String::new(),
            };
            let text = format!(
                "REGISTER sip:example.test SIP/2.0\n\
                 Via: SIP/2.0/UDP {addr};rport;branch=z9hG4bKreg{n}\n\
                 Max-Forwards: 70\n\
                 From: <sip:{user}@example.test>;tag=r{n}\n\
                 To: <sip:{user}@example.test>\n\
                 Call-ID: {call_id}\n\
                 CSeq: {n} REGISTER\n\
                 Contact: {contact}\n{auth}",
                addr = phone.addr(),
                n = self.cseq,
                user = phone.user,
                contact = phone.contact,
            );
            self.send_request(&request_text(&text, ""), phone.peer);
            let r = self.response();
            if round == 0 {
                assert_eq!(r.status, StatusCode::UNAUTHORIZED);
                last = Some(r);
            } else {
                return r;
            }
        }
        unreachable!("two rounds")
    }

    /// An INVITE from `phone` to `target` with `extra` headers and SDP `body`.
    pub fn invite_text(
        phone: &Phone,
        target: &str,
        call_id: &str,
        cseq: u32,
        extra: &str,
        body: &str,
    ) -> Request {
        let ct = if body.is_empty() {
            ""
        } else {
            "Content-Type: application/sdp\n"
        };
        request_text(
            &format!(
                "INVITE {target} SIP/2.0\n\
                 Via: SIP/2.0/UDP {addr};rport;branch=z9hG4bKinv{cid}{cseq}\n\
                 Max-Forwards: 70\n\
                 From: \"{user}\" <sip:{user}@example.test>;tag=ftag-{cid}\n\
                 To: <{target}>\n\
                 Call-ID: {cid}\n\
                 CSeq: {cseq} INVITE\n\
                 Contact: {contact}\n{extra}{ct}",
                addr = phone.addr(),
                user = phone.user,
                cid = call_id,
                contact = phone.contact,
            ),
            body,
        )
    }

    /// The Proxy-Authorization line answering a 407.
    pub fn proxy_authorization(challenge: &Response, phone: &Phone, uri: &str, nc: u32) -> String {
        let challenge = challenge
            .headers
            .get_all(&HeaderName::ProxyAuthenticate)
            .map(|v| Challenge::parse(v).unwrap().into_owned())
            .next()
            .expect("a Proxy-Authenticate challenge");
        let value = respond(
            &challenge,
            "INVITE",
            uri,
            &phone.user,
            ClientSecret::Password(&phone.password),
            "c0ffee42",
            nc,
        )
        .unwrap();
        format!("Proxy-Authorization: {value}\n")
    }

    /// Calls `target` from `phone`: INVITE, 407, INVITE with credentials,
    /// 100 Trying. Returns the caller side; the switch's other output stays
    /// in `sent`.
    pub fn call(&mut self, phone: &Phone, target: &str, call_id: &str, body: &str) -> Caller {
        let first = Harness::invite_text(phone, target, call_id, 1, "", body);
        self.send_request(&first, phone.peer);
        let challenge = self.response();
        assert_eq!(challenge.status, StatusCode::PROXY_AUTHENTICATION_REQUIRED);
        let ack = request_text(
            &format!(
                "ACK {target} SIP/2.0\nVia: {via}\nMax-Forwards: 70\nFrom: {from}\nTo: {to}\n\
                 Call-ID: {call_id}\nCSeq: 1 ACK\n",
                via = first.headers.get(&HeaderName::Via).unwrap(),
                from = first.headers.get(&HeaderName::From).unwrap(),
                to = challenge.headers.get(&HeaderName::To).unwrap(),
            ),
            "",
        );
        self.send_request(&ack, phone.peer);
        assert!(self.sent.is_empty(), "the ACK for the 407 is absorbed");
        let auth = Harness::proxy_authorization(&challenge, phone, target, 1);
        let invite = Harness::invite_text(phone, target, call_id, 2, &auth, body);
        self.send_request(&invite, phone.peer);
        Caller {
            phone: phone.clone(),
            invite,
            call_id: call_id.to_owned(),
            cseq: 2,
            remote_tag: None,
            remote_target: None,
            branch: 0,
        }
    }

    /// Forgets cached credentials, so the next authentication looks them up.
    pub fn invalidate_for_test(&mut self) {
        self.switch.invalidate_credentials();
    }

    /// Like [`Harness::call`], for a switch that does not answer credential
    /// lookups by itself: the authenticated INVITE stays parked (100 sent).
    pub fn call_unanswered_lookup(&mut self, phone: &Phone, target: &str, call_id: &str) -> Caller {
        assert!(!self.auto_effects);
        let first = Harness::invite_text(phone, target, call_id, 1, "", SDP_A);
        self.send_request(&first, phone.peer);
        let challenge = self.response();
        let auth = Harness::proxy_authorization(&challenge, phone, target, 1);
        let invite = Harness::invite_text(phone, target, call_id, 2, &auth, SDP_A);
        self.send_request(&invite, phone.peer);
        assert_eq!(self.response().status, StatusCode::TRYING);
        Caller {
            phone: phone.clone(),
            invite,
            call_id: call_id.to_owned(),
            cseq: 2,
            remote_tag: None,
            remote_target: None,
            branch: 0,
        }
    }

    /// Answers every credential lookup seen so far (answered ones are
    /// ignored by the switch).
    pub fn answer_pending_lookups(&mut self) {
        let lookups: Vec<_> = self
            .effects
            .iter()
            .filter_map(|(t, e)| match e {
                Effect::FetchCredentials { username, domain } => {
                    Some((*t, username.to_string(), domain.to_string()))
                }
                _ => None,
            })
            .collect();
        for (token, user, domain) in lookups {
            let found = self.credentials_of(&user, &domain);
            let unix = self.unix_ms();
            self.switch.handle_effect_result(
                self.now,
                unix,
                token,
                sb_switch::EffectResult::Credentials(found),
            );
            self.drain();
        }
    }

    /// The CDRs written so far.
    pub fn cdrs(&self) -> Vec<CdrRecord> {
        self.effects
            .iter()
            .filter_map(|(_, e)| match e {
                Effect::WriteCdr(r) => Some((**r).clone()),
                _ => None,
            })
            .collect()
    }
}

/// Splits messages into requests sent to `addr` and responses sent to `addr`.
pub fn to_addr(sent: &[(Destination, Message)], addr: SocketAddr) -> (Vec<Request>, Vec<Response>) {
    let mut requests = Vec::new();
    let mut responses = Vec::new();
    for (d, m) in sent {
        if d.remote != addr {
            continue;
        }
        match m {
            Message::Request(r) => requests.push(r.clone()),
            Message::Response(r) => responses.push(r.clone()),
        }
    }
    (requests, responses)
}

/// The status codes of `responses`.
pub fn codes(responses: &[Response]) -> Vec<u16> {
    responses.iter().map(|r| r.status.as_u16()).collect()
}

/// The methods of `requests`.
pub fn methods(requests: &[Request]) -> Vec<Method> {
    requests.iter().map(|r| r.method.clone()).collect()
}
