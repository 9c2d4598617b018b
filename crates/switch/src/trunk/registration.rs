//! One trunk's registration to its gateway (RFC 3261 §10.2), the client side
//! of what the registrar does for phones: REGISTER with the trunk's address
//! of record and the switch's Contact; a 401/407 is answered once with digest
//! credentials (RFC 3261 §22.2; MD5 or SHA-256, `qop=auth` with a fresh
//! cnonce); a 423 raises the interval to the registrar's Min-Expires
//! (§10.2.8); a 200 is refreshed at 90 % of the interval it grants (the
//! Contact's `expires`, else the Expires header); failures are retried after
//! 30 s, doubling up to 5 min. Refreshes send the last challenge's
//! credentials again with the next nonce count, saving a round trip.
//!
//! Pure: the switch builds and sends what [`Registration::request`] returns
//! and feeds back what the gateway answers.

use std::time::Duration;

use sb_sip_auth::{Challenge, ClientSecret, respond};
use sb_sip_message::{
    Branch, ByteStr, CallId, HeaderName, Method, Request, Response, StatusCode, Tag, Uri,
};
use sb_sip_transaction::TxId;

use super::{push_escaped_user, registrar_uri};
use crate::call::dialog::{LocalAddr, number};
use crate::config::TrunkConfig;
use crate::timers::TimerHandle;

/// The first retry after a failure; doubled after each further failure.
const FIRST_RETRY: Duration = Duration::from_secs(30);
/// The longest wait between retries.
const MAX_RETRY: Duration = Duration::from_secs(300);

/// Where a registration is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Not started yet ([`crate::Switch::start`]).
    Idle,
    /// A REGISTER is in flight (`unregister`: with Expires 0).
    Sending { unregister: bool },
    /// Registered; a refresh is scheduled.
    Registered,
    /// Failed; a retry is scheduled.
    Backoff,
    /// Shut down.
    Stopped,
}

/// The registrar's last challenge, answered again on later requests.
#[derive(Debug)]
struct Auth {
    challenge: Challenge<'static>,
    /// From a 407 (Proxy-Authorization) rather than a 401 (Authorization).
    proxy: bool,
    /// Requests sent with its nonce so far.
    nc: u32,
}

/// What the switch does after a response or a failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Nothing (a provisional response).
    Wait,
    /// Send the request again at once (credentials added, interval raised).
    Resend,
    /// Registered for `expires` seconds; refresh after `refresh`.
    Registered { expires: u32, refresh: Duration },
    /// The Expires 0 request succeeded.
    Unregistered,
    /// The request failed; retry after `retry` (`None`: do not retry).
    Failed {
        status: Option<StatusCode>,
        reason: String,
        retry: Option<Duration>,
    },
}

/// The registration of one trunk.
#[derive(Debug)]
pub(crate) struct Registration {
    call_id: CallId,
    from_tag: Tag,
    cseq: u32,
    /// The interval asked for.
    expires: u32,
    pub(crate) phase: Phase,
    /// The transaction of the REGISTER in flight.
    pub(crate) tx: Option<TxId>,
    auth: Option<Auth>,
    /// Challenges answered for the current request.
    answered: u8,
    /// A 423 raised the interval for the current request.
    raised: bool,
    /// Failures in a row.
    failures: u32,
    /// The switch's address on the gateway's side (Via, Contact).
    local: LocalAddr,
    /// Whether the gateway holds the binding.
    pub(crate) registered: bool,
    /// The interval the gateway granted last.
    pub(crate) granted: Option<u32>,
    /// Why the last attempt failed.
    pub(crate) last_failure: Option<String>,
    /// The refresh or retry timer.
    pub(crate) timer: Option<TimerHandle>,
}

impl Registration {
    pub(crate) fn new(
        config: &TrunkConfig,
        local: LocalAddr,
        call_id: CallId,
        from_tag: Tag,
    ) -> Registration {
        Registration {
            call_id,
            from_tag,
            cseq: 0,
            expires: config.register_expires,
            phase: Phase::Idle,
            tx: None,
            auth: None,
            answered: 0,
            raised: false,
            failures: 0,
            local,
            registered: false,
            granted: None,
            last_failure: None,
            timer: None,
        }
    }

    /// Starts a new request chain (a first registration, a refresh, a retry
    /// or the unregistration): no challenge answered yet.
    pub(crate) fn begin(&mut self) {
        self.answered = 0;
        self.raised = false;
    }

    /// The trunk's settings changed without changing who registers where
    /// (gateway, transport, local address, user name, domain): the same
    /// registration goes on with the new interval and credentials, and its
    /// failure count starts again.
    pub(crate) fn reconfigure(&mut self, config: &TrunkConfig) {
        self.expires = config.register_expires;
        self.failures = 0;
        self.last_failure = None;
        self.begin();
    }

    /// The next REGISTER: new CSeq, same Call-ID and From tag (RFC 3261
    /// §10.2.4), credentials for the last challenge when there is one.
    pub(crate) fn request(
        &mut self,
        config: &TrunkConfig,
        branch: &Branch,
        cnonce: &str,
        user_agent: Option<&str>,
        unregister: bool,
    ) -> Request {
        self.cseq += 1;
        let uri_text = registrar_uri(config);
        let uri = Uri::parse(&ByteStr::from(uri_text.as_str()))
            .expect("the registrar URI is built from an address or a checked domain");
        let user = config.username.as_deref().unwrap_or_default();
        let mut aor = String::with_capacity(64);
        aor.push_str("<sip:");
        push_escaped_user(&mut aor, user);
        aor.push('@');
        aor.push_str(uri_text.strip_prefix("sip:").unwrap_or(&uri_text));
        aor.push('>');
        let mut request = Request::new(Method::Register, uri);
        let h = &mut request.headers;
        h.push(HeaderName::Via, self.local.via(branch));
        h.push(HeaderName::MaxForwards, "70");
        let mut from = String::with_capacity(aor.len() + 22);
        from.push_str(&aor);
        from.push_str(";tag=");
        from.push_str(self.from_tag.as_str());
        h.push(HeaderName::From, from);
        h.push(HeaderName::To, aor);
        h.push(HeaderName::CallId, self.call_id.0.clone());
        let mut cseq = String::with_capacity(20);
        cseq.push_str(&number(self.cseq));
        cseq.push_str(" REGISTER");
        h.push(HeaderName::CSeq, cseq);
        h.push(HeaderName::Contact, self.local.contact_with_user(user));
        h.push(
            HeaderName::Expires,
            number(if unregister { 0 } else { self.expires }),
        );
        if let Some(ua) = user_agent {
            h.push(HeaderName::UserAgent, ua);
        }
        if let (Some(auth), Some(password)) = (&mut self.auth, config.password.as_deref()) {
            auth.nc += 1;
            match respond(
                &auth.challenge,
                "REGISTER",
                &uri_text,
                user,
                ClientSecret::Password(password),
                cnonce,
                auth.nc,
            ) {
                Ok(value) => {
                    let name = if auth.proxy {
                        HeaderName::ProxyAuthorization
                    } else {
                        HeaderName::Authorization
                    };
                    request.headers.push(name, value);
                }
                Err(e) => tracing::debug!(trunk = %config.name, error = %e, "no credentials"),
            }
        }
        request
    }

    /// The gateway's answer to the REGISTER in flight.
    pub(crate) fn on_response(&mut self, config: &TrunkConfig, response: &Response) -> Outcome {
        let Phase::Sending { unregister, .. } = self.phase else {
            return Outcome::Wait;
        };
        let status = response.status;
        if status.is_provisional() {
            return Outcome::Wait;
        }
        if status.is_success() {
            if unregister {
                self.registered = false;
                self.granted = None;
                return Outcome::Unregistered;
            }
            let granted = self.granted_expires(config, response);
            if granted == 0 {
                return self.failed(Some(status), "the registrar granted no time".to_owned());
            }
            self.registered = true;
            self.granted = Some(granted);
            self.failures = 0;
            self.last_failure = None;
            let refresh = Duration::from_millis(u64::from(granted) * 900);
            return Outcome::Registered {
                expires: granted,
                refresh,
            };
        }
        match status.as_u16() {
            401 | 407 => self.challenged(config, response),
            423 => {
                let min = response
                    .headers
                    .get(&HeaderName::MinExpires)
                    .and_then(|v| v.trim().parse::<u32>().ok());
                match min {
                    Some(min) if min > self.expires && !self.raised => {
                        self.expires = min;
                        self.raised = true;
                        Outcome::Resend
                    }
                    _ => self.failed(Some(status), reason_of(response)),
                }
            }
            _ => self.failed(Some(status), reason_of(response)),
        }
    }

    /// The REGISTER in flight got no answer (Timer F) or could not be sent.
    pub(crate) fn on_failure(&mut self, reason: &str) -> Outcome {
        self.failed(None, reason.to_owned())
    }

    fn challenged(&mut self, config: &TrunkConfig, response: &Response) -> Outcome {
        let status = response.status;
        let proxy = status == StatusCode::PROXY_AUTHENTICATION_REQUIRED;
        let name = if proxy {
            HeaderName::ProxyAuthenticate
        } else {
            HeaderName::WwwAuthenticate
        };
        let values = response.headers.get_all(&name).map(|v| v.as_str());
        let Some(challenge) = Challenge::choose(values).map(Challenge::into_owned) else {
            return self.failed(Some(status), "no usable digest challenge".to_owned());
        };
        if config.password.is_none() || config.username.is_none() {
            return self.failed(Some(status), "challenged, and no credentials".to_owned());
        }
        // One answer per request; a stale nonce may be answered once more.
        let allowed = self.answered == 0 || (challenge.stale && self.answered == 1);
        if !allowed {
            return self.failed(Some(status), "credentials refused".to_owned());
        }
        self.answered += 1;
        self.auth = Some(Auth {
            challenge,
            proxy,
            nc: 0,
        });
        Outcome::Resend
    }

    fn failed(&mut self, status: Option<StatusCode>, reason: String) -> Outcome {
        let unregister = matches!(self.phase, Phase::Sending { unregister: true });
        self.registered = false;
        self.granted = None;
        self.last_failure = Some(reason.clone());
        if unregister {
            return Outcome::Failed {
                status,
                reason,
                retry: None,
            };
        }
        self.failures += 1;
        let doublings = self.failures.saturating_sub(1).min(8);
        let retry = FIRST_RETRY.saturating_mul(1 << doublings).min(MAX_RETRY);
        Outcome::Failed {
            status,
            reason,
            retry: Some(retry),
        }
    }

    /// The interval granted to the switch's Contact: its `expires` parameter,
    /// else the Expires header, else what was asked for.
    fn granted_expires(&self, config: &TrunkConfig, response: &Response) -> u32 {
        let user = config.username.as_deref().unwrap_or_default();
        let mut only = None;
        let mut count = 0;
        for contact in response.headers.contacts().filter_map(Result::ok) {
            let Some(addr) = contact.addr() else {
                continue;
            };
            count += 1;
            only = addr.expires();
            if let Uri::Sip(uri) = &addr.uri
                && uri.host.ip() == Some(self.local.addr.ip())
                && uri.port.unwrap_or(self.local.transport.default_port()) == self.local.addr.port()
                && uri.user_unescaped().as_deref() == Some(user)
                && let Some(expires) = addr.expires()
            {
                return expires;
            }
        }
        if count == 1
            && let Some(expires) = only
        {
            return expires;
        }
        response
            .headers
            .get(&HeaderName::Expires)
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(self.expires)
    }
}

fn reason_of(response: &Response) -> String {
    let mut out = String::with_capacity(4 + response.reason.len());
    out.push_str(&number(u32::from(response.status.as_u16())));
    out.push(' ');
    out.push_str(&crate::respond::reason_phrase(&response.reason));
    out
}

#[cfg(test)]
mod tests {
    use sb_sip_message::{Destination, Transport};

    use super::*;

    fn config() -> TrunkConfig {
        TrunkConfig {
            name: "carrier".into(),
            gateway: "203.0.113.1:5060".parse().unwrap(),
            username: Some("acct".into()),
            password: Some("s3cret".into()),
            register: true,
            ..TrunkConfig::default()
        }
    }

    fn registration() -> Registration {
        let dest = Destination {
            transport: Transport::Udp,
            remote: "203.0.113.1:5060".parse().unwrap(),
            flow: None,
            local: None,
        };
        let local = LocalAddr::for_destination(&dest, &["192.0.2.10".parse().unwrap()]);
        Registration::new(&config(), local, CallId::from("reg-1"), Tag::from("ft"))
    }

    fn reply(request: &Request, status: u16, extra: &[(&str, &str)]) -> Response {
        let mut r = Response::from_request(request, StatusCode::new(status).unwrap());
        for (name, value) in extra {
            r.headers.push(HeaderName::parse(name), *value);
        }
        r
    }

    #[test]
    fn backoff_doubles_up_to_five_minutes() {
        let mut r = registration();
        let c = config();
        let mut retries = Vec::new();
        for _ in 0..6 {
            r.begin();
            let req = r.request(&c, &Branch::from("z9hG4bKx"), "cn", None, false);
            r.phase = Phase::Sending { unregister: false };
            match r.on_response(&c, &reply(&req, 503, &[])) {
                Outcome::Failed { retry, status, .. } => {
                    assert_eq!(status, Some(StatusCode::SERVICE_UNAVAILABLE));
                    retries.push(retry.unwrap().as_secs());
                }
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(retries, [30, 60, 120, 240, 300, 300]);
        assert_eq!(r.last_failure.as_deref(), Some("503 Service Unavailable"));
    }

    #[test]
    fn granted_interval_comes_from_our_contact_then_expires() {
        let mut r = registration();
        let c = config();
        let req = r.request(&c, &Branch::from("z9hG4bKx"), "cn", None, false);
        assert_eq!(
            req.headers.get(&HeaderName::Contact).unwrap(),
            "<sip:acct@192.0.2.10:5060>"
        );
        r.phase = Phase::Sending { unregister: false };
        let ok = reply(
            &req,
            200,
            &[
                ("Contact", "<sip:other@198.51.100.9>;expires=50"),
                ("Contact", "<sip:acct@192.0.2.10>;expires=120"),
                ("Expires", "999"),
            ],
        );
        assert_eq!(
            r.on_response(&c, &ok),
            Outcome::Registered {
                expires: 120,
                refresh: Duration::from_secs(108)
            }
        );
        let ok = reply(&req, 200, &[("Expires", "600")]);
        assert_eq!(
            r.on_response(&c, &ok),
            Outcome::Registered {
                expires: 600,
                refresh: Duration::from_secs(540)
            }
        );
    }

    #[test]
    fn interval_too_brief_raises_once() {
        let mut r = registration();
        let c = config();
        r.begin();
        let req = r.request(&c, &Branch::from("z9hG4bKx"), "cn", None, false);
        r.phase = Phase::Sending { unregister: false };
        let brief = reply(&req, 423, &[("Min-Expires", "7200")]);
        assert_eq!(r.on_response(&c, &brief), Outcome::Resend);
        let req = r.request(&c, &Branch::from("z9hG4bKy"), "cn", None, false);
        assert_eq!(req.headers.get(&HeaderName::Expires).unwrap(), "7200");
        assert!(matches!(
            r.on_response(&c, &reply(&req, 423, &[("Min-Expires", "9000")])),
            Outcome::Failed { .. }
        ));
    }
}
