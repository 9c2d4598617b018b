//! The REGISTER handler (RFC 3261 §10.3): target checks, digest
//! authentication, the registrar, the 200 listing every binding, and the
//! write-behind effects.

use std::time::Instant;

use sb_sip_message::{
    Aor, ByteStr, HeaderName, Peer, Request, RequestCore, StatusCode, Uri, push_u32,
};
use sb_sip_transaction::TxId;

use crate::auth::Verdict;
use crate::core::Switch;
use crate::effects::{BindingId, Effect};
use crate::events::{RemovalReason, SwitchEvent};
use crate::pending::{Waiter, Waiting};
use crate::registrar::{self, BindingChange, RegisterError, RegisterInput};

impl Switch {
    /// Removes binding `id` of `aor` as if it had expired, by an
    /// administrator's decision: [`Effect::RemoveBinding`] for the store and
    /// [`SwitchEvent::Unregistered`] with [`RemovalReason::Removed`]. The
    /// device is not told; it registers again at its next refresh. Returns
    /// `false` when there is no such binding.
    pub fn remove_binding(&mut self, _now: Instant, aor: &Aor, id: &BindingId) -> bool {
        let Some(binding) = self.location.remove(aor, id) else {
            return false;
        };
        self.binding_removed(aor, &binding, RemovalReason::Removed);
        self.sync_gauges();
        true
    }

    pub(crate) fn on_register(
        &mut self,
        now: Instant,
        unix_ms: u64,
        tx: TxId,
        request: Request,
        core: &RequestCore,
        peer: Peer,
    ) {
        let aor = match self.register_target(&request, core, &peer) {
            Ok(aor) => aor,
            Err((status, reason)) => {
                self.reply(now, tx, &request, status, Some(reason), |_| {});
                return;
            }
        };
        let realm = ByteStr::from(aor.domain());
        match self
            .auth
            .check(&request, &HeaderName::Authorization, &realm, now, unix_ms)
        {
            Verdict::Authenticated { username } => {
                if !username.eq_ignore_ascii_case(aor.user()) {
                    self.reply(
                        now,
                        tx,
                        &request,
                        StatusCode::FORBIDDEN,
                        Some("Not Allowed To Register This Address"),
                        |_| {},
                    );
                    return;
                }
                self.register_authenticated(now, unix_ms, tx, &request, core, peer, &aor);
            }
            Verdict::Fetch { username } => {
                let key = (username, realm);
                self.fetch_credentials(
                    now,
                    key,
                    Waiter::Request(Box::new(Waiting { tx, request, peer })),
                );
            }
            Verdict::Challenge { stale } => {
                self.challenge(
                    now,
                    unix_ms,
                    tx,
                    &request,
                    &HeaderName::Authorization,
                    &realm,
                    stale,
                );
            }
            Verdict::Rejected { username } => {
                self.stats.auth_failures += 1;
                self.events
                    .push_back(SwitchEvent::AuthFailed { peer, username });
                self.challenge(
                    now,
                    unix_ms,
                    tx,
                    &request,
                    &HeaderName::Authorization,
                    &realm,
                    false,
                );
            }
            Verdict::BadRequest(reason) => {
                self.reply(
                    now,
                    tx,
                    &request,
                    StatusCode::BAD_REQUEST,
                    Some(&reason),
                    |_| {},
                );
            }
        }
    }

    /// The AOR a REGISTER is about: the Request-URI must name a served domain
    /// or this server (RFC 3261 §10.3 step 1), the To URI a user of a served
    /// domain (step 5).
    fn register_target(
        &self,
        request: &Request,
        core: &RequestCore,
        peer: &Peer,
    ) -> Result<Aor, (StatusCode, &'static str)> {
        let Some(ruri) = request.uri.as_sip() else {
            return Err((StatusCode::UNSUPPORTED_URI_SCHEME, "Unsupported URI Scheme"));
        };
        if self.domains.resolve(&ruri.host, peer).is_none() {
            return Err((StatusCode::FORBIDDEN, "Domain Not Served Here"));
        }
        let Uri::Sip(to_uri) = &core.to.uri else {
            return Err((StatusCode::BAD_REQUEST, "To Must Be A SIP URI"));
        };
        let Some(user) = to_uri.user_unescaped() else {
            return Err((StatusCode::BAD_REQUEST, "To Must Name A User"));
        };
        let Some(domain) = self.domains.resolve(&to_uri.host, peer) else {
            return Err((StatusCode::FORBIDDEN, "Domain Not Served Here"));
        };
        Ok(Aor::new(&user, domain))
    }

    /// Answers with a fresh challenge per configured algorithm: 401 with
    /// WWW-Authenticate for a request that authenticates with
    /// `Authorization` (REGISTER), 407 with Proxy-Authenticate for one that
    /// uses `Proxy-Authorization` (INVITE), RFC 3261 §22.
    #[expect(
        clippy::too_many_arguments,
        reason = "the request and everything the challenge names"
    )]
    pub(crate) fn challenge(
        &mut self,
        now: Instant,
        unix_ms: u64,
        tx: TxId,
        request: &Request,
        credentials: &HeaderName,
        realm: &str,
        stale: bool,
    ) {
        let (status, header) = if *credentials == HeaderName::ProxyAuthorization {
            (
                StatusCode::PROXY_AUTHENTICATION_REQUIRED,
                HeaderName::ProxyAuthenticate,
            )
        } else {
            (StatusCode::UNAUTHORIZED, HeaderName::WwwAuthenticate)
        };
        self.stats.challenges += 1;
        let values = self.auth.challenges(realm, stale, unix_ms);
        self.reply(now, tx, request, status, None, |h| {
            for v in values {
                h.push(header.clone(), v);
            }
        });
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "the request dispatch hands over everything it parsed"
    )]
    fn register_authenticated(
        &mut self,
        now: Instant,
        unix_ms: u64,
        tx: TxId,
        request: &Request,
        core: &RequestCore,
        peer: Peer,
        aor: &Aor,
    ) {
        let input = RegisterInput {
            aor,
            request,
            core,
            peer,
            now,
            unix_ms,
        };
        let policy = self.config.registrar;
        let changes = match registrar::process(&mut self.location, &policy, &input) {
            Ok(changes) => changes,
            Err(e) => {
                let status = e.status();
                let min = match e {
                    RegisterError::IntervalTooBrief { min_expires } => Some(min_expires),
                    _ => None,
                };
                let reason = e.to_string();
                self.reply(now, tx, request, status, Some(&reason), |h| {
                    if let Some(min) = min {
                        h.push(HeaderName::MinExpires, min.to_string());
                    }
                });
                return;
            }
        };
        if !changes.is_empty() {
            self.stats.registrations += 1;
        }
        for change in changes {
            match change {
                BindingChange::Upserted(b) => {
                    self.events.push_back(SwitchEvent::Registered {
                        aor: aor.clone(),
                        contact: b.contact.clone(),
                        expires: b.remaining_secs(now),
                    });
                    self.push_effect(Effect::PersistBinding(Box::new(b.to_record(aor))));
                }
                BindingChange::Removed(b) => {
                    self.binding_removed(aor, &b, RemovalReason::Unregistered);
                }
            }
        }
        self.sync_gauges();
        let contacts: Vec<String> = self
            .location
            .bindings(aor)
            .map(|b| {
                let mut c = String::with_capacity(b.contact.len() + 16);
                c.push_str(&b.contact);
                c.push_str(";expires=");
                push_u32(&mut c, b.remaining_secs(now));
                c
            })
            .collect();
        let echo_path = request
            .headers
            .get_all(&HeaderName::Supported)
            .any(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case("path")));
        let paths: Vec<ByteStr> = if echo_path {
            request
                .headers
                .get_all(&HeaderName::Path)
                .cloned()
                .collect()
        } else {
            Vec::new()
        };
        let date = self.date(unix_ms);
        self.reply(now, tx, request, StatusCode::OK, None, |h| {
            for c in contacts {
                h.push(HeaderName::Contact, c);
            }
            for p in paths {
                h.push(HeaderName::Path, p);
            }
            h.push(HeaderName::Date, date);
        });
    }
}
