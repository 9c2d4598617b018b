//! A new INVITE (RFC 3261 §13.3, §22.3): 100 Trying, the trunk ACL or digest
//! authentication with 407 (the From user must be the authenticated one),
//! the caller's call permissions from the directory (403), then routing
//! ([`super::plan`]) in the caller's start context. CANCEL of a call that has not been
//! answered (RFC 3261 §9.2).

use std::collections::VecDeque;
use std::time::Instant;

use sb_dialplan::{ContextName, GroupName, MediaMode};
use sb_sip_message::{
    ByteStr, Destination, HeaderName, NameAddr, Params, Peer, Request, RequestCore, StatusCode,
    Transport, Uri,
};
use sb_sip_transaction::{TxId, TxState};

use super::cdr::{CallDestination, CallSource, CdrRecord, Disposition, HangupBy};
use super::dialog::{Dialog, LocalAddr};
use super::plan::{Facts, Plan};
use super::{Call, CallState, LegId, TxRole, is_sdp};
use crate::auth::Verdict;
use crate::core::Switch;
use crate::events::SwitchEvent;
use crate::pending::{Waiter, Waiting};

/// Who sent an INVITE, once admitted.
struct Admitted {
    source: CallSource,
    /// The trunk (position in `Switch::trunks`, valid during this input) of
    /// a trunk call.
    trunk: Option<usize>,
    /// The user name as authenticated (as the directory keys it).
    account: Option<ByteStr>,
    caller: ByteStr,
    caller_domain: ByteStr,
}

impl Switch {
    #[expect(
        clippy::too_many_arguments,
        reason = "the request dispatch hands over everything it parsed"
    )]
    pub(crate) fn on_invite(
        &mut self,
        now: Instant,
        unix_ms: u64,
        tx: TxId,
        request: Request,
        core: &RequestCore,
        peer: Peer,
        resumed: bool,
    ) {
        if resumed && self.tx.state_of(tx) != Some(TxState::Proceeding) {
            return; // Cancelled while its credentials were looked up.
        }
        if self.shutting_down || self.calls.len() >= self.config.calls.max_calls {
            self.service_unavailable(now, tx, &request);
            return;
        }
        if core.max_forwards == Some(0) {
            self.reply(now, tx, &request, StatusCode::TOO_MANY_HOPS, None, |_| {});
            return;
        }
        let Some(admitted) = self.admit(now, unix_ms, tx, &request, core, peer, resumed) else {
            return;
        };
        let per_user = self.config.calls.max_calls_per_user;
        if per_user != 0
            && let CallSource::User(user) = &admitted.source
            && self.calls.of_user(user) as usize >= per_user
        {
            tracing::debug!(%user, limit = per_user, "calls per user reached");
            self.service_unavailable(now, tx, &request);
            return;
        }
        if !resumed {
            self.reply(now, tx, &request, StatusCode::TRYING, None, |_| {});
        }
        self.start_call(now, unix_ms, tx, request, core, peer, admitted);
    }

    /// Trunk by source address, or a user proving who they are. `None` when
    /// the request was answered (challenge, 403, 400) or parked.
    #[expect(
        clippy::too_many_arguments,
        reason = "the request dispatch hands over everything it parsed"
    )]
    fn admit(
        &mut self,
        now: Instant,
        unix_ms: u64,
        tx: TxId,
        request: &Request,
        core: &RequestCore,
        peer: Peer,
        resumed: bool,
    ) -> Option<Admitted> {
        let from_uri = core.from.uri.as_sip();
        let from_user = from_uri
            .and_then(|u| u.user_unescaped())
            .map(|u| ByteStr::from(u.as_ref()))
            .unwrap_or_default();
        if peer.transport == Transport::Udp
            && let Some(node) = self.peers.node_at(peer.remote)
        {
            let host = from_uri.map(|u| u.host.to_string()).unwrap_or_default();
            return Some(Admitted {
                source: CallSource::Node(node.clone()),
                trunk: None,
                account: None,
                caller: from_user,
                caller_domain: ByteStr::from(host),
            });
        }
        if let Some(index) = self.trunk_of(peer.remote.ip()) {
            let host = from_uri.map(|u| u.host.to_string()).unwrap_or_default();
            return Some(Admitted {
                source: CallSource::Trunk(ByteStr::from(self.trunks[index].config.name.as_str())),
                trunk: Some(index),
                account: None,
                caller: from_user,
                caller_domain: ByteStr::from(host),
            });
        }
        // The realm is the caller's domain when it is served here, else the
        // default domain (the user then cannot match From: 403 after auth).
        let from_domain = from_uri.and_then(|u| self.domains.resolve(&u.host, &peer));
        let realm = ByteStr::from(from_domain.unwrap_or(self.domains.default_domain()));
        let from_ours = from_domain.is_some();
        match self.auth.check(
            request,
            &HeaderName::ProxyAuthorization,
            &realm,
            now,
            unix_ms,
        ) {
            Verdict::Authenticated { username } => {
                if !from_ours || !username.eq_ignore_ascii_case(&from_user) {
                    self.reply(
                        now,
                        tx,
                        request,
                        StatusCode::FORBIDDEN,
                        Some("From Does Not Match The Authenticated User"),
                        |_| {},
                    );
                    return None;
                }
                Some(Admitted {
                    source: CallSource::User(from_user.clone()),
                    trunk: None,
                    account: Some(username),
                    caller: from_user,
                    caller_domain: realm,
                })
            }
            Verdict::Fetch { username } => {
                if !resumed {
                    self.reply(now, tx, request, StatusCode::TRYING, None, |_| {});
                }
                let waiting = Waiting {
                    tx,
                    request: request.clone(),
                    peer,
                };
                self.fetch_credentials(now, (username, realm), Waiter::Request(Box::new(waiting)));
                None
            }
            Verdict::Challenge { stale } => {
                self.challenge(
                    now,
                    unix_ms,
                    tx,
                    request,
                    &HeaderName::ProxyAuthorization,
                    &realm,
                    stale,
                );
                None
            }
            Verdict::Rejected { username } => {
                self.stats.auth_failures += 1;
                self.events
                    .push_back(SwitchEvent::AuthFailed { peer, username });
                self.challenge(
                    now,
                    unix_ms,
                    tx,
                    request,
                    &HeaderName::ProxyAuthorization,
                    &realm,
                    false,
                );
                None
            }
            Verdict::BadRequest(reason) => {
                self.reply(
                    now,
                    tx,
                    request,
                    StatusCode::BAD_REQUEST,
                    Some(&reason),
                    |_| {},
                );
                None
            }
        }
    }

    /// Creates the call, routes it and acts on the route.
    #[expect(
        clippy::too_many_arguments,
        reason = "the request dispatch hands over everything it parsed"
    )]
    fn start_call(
        &mut self,
        now: Instant,
        unix_ms: u64,
        tx: TxId,
        request: Request,
        core: &RequestCore,
        peer: Peer,
        admitted: Admitted,
    ) {
        let (mut dialed, dialed_host, dialed_domain) = match &request.uri {
            Uri::Sip(u) => (
                u.user_unescaped()
                    .map(|d| ByteStr::from(d.as_ref()))
                    .unwrap_or_default(),
                u.host.to_string(),
                self.domains.resolve(&u.host, &peer).map(ByteStr::from),
            ),
            Uri::Tel(t) => (t.number.clone(), String::new(), None),
            Uri::Other(_) => (ByteStr::new(), String::new(), None),
        };
        if let Some(index) = admitted.trunk
            && self.trunks[index].config.username.as_deref() == Some(&*dialed)
        {
            // A registered trunk calls the Contact it registered (its user
            // name): the number dialed is in To.
            if let Some(to) = core.to.uri.as_sip().and_then(|u| u.user_unescaped()) {
                dialed = ByteStr::from(to.as_ref());
            }
        }
        let (context, groups, permitted) = self.caller_policy(&admitted, &dialed);
        let hop = matches!(admitted.source, CallSource::Node(_));
        let decided = if hop {
            self.hop_plan(core, &peer)
        } else if !permitted {
            // RFC 3261 §21.4.4: understood, and refused for this caller.
            Err(StatusCode::FORBIDDEN)
        } else {
            self.decide(&Facts {
                source: &admitted.source,
                context,
                groups,
                caller: &admitted.caller,
                caller_domain: &admitted.caller_domain,
                caller_display: core.from.display_name.as_ref(),
                dialed: &dialed,
                dialed_host: &dialed_host,
                dialed_domain: dialed_domain.as_deref(),
                tel: matches!(request.uri, Uri::Tel(_)),
                unix_ms,
            })
        };

        let id = self.calls.allocate();
        let dest = Destination::back_to(&peer);
        let local_addr = LocalAddr::for_destination(&dest, &self.config.local_ips);
        let local_tag = self.new_tag();
        let to_value = request
            .headers
            .get(&HeaderName::To)
            .map_or("", |v| v.as_str());
        let mut local = String::with_capacity(to_value.len() + 6 + local_tag.as_str().len());
        local.push_str(to_value);
        local.push_str(";tag=");
        local.push_str(local_tag.as_str());
        let remote_target = core
            .contacts
            .iter()
            .find_map(|c| c.addr())
            .map_or_else(|| core.from.uri.clone(), |a| a.uri.clone());
        let record_route: Vec<ByteStr> = request
            .headers
            .get_all(&HeaderName::RecordRoute)
            .cloned()
            .collect();
        let a = Dialog {
            call_id: core.call_id.clone(),
            local_tag,
            remote_tag: core.from.tag(),
            local: ByteStr::from(local),
            remote: request
                .headers
                .get(&HeaderName::From)
                .cloned()
                .unwrap_or_default(),
            remote_target,
            route_set: record_route.clone(),
            local_cseq: 0,
            remote_cseq: Some(core.cseq.seq),
            dest,
            contact: local_addr.contact(),
            local_addr,
            last_ack: None,
        };
        let plan = decided.as_ref().ok();
        let mut b_from_uri = core.from.uri.clone();
        if let Some(number) = plan.and_then(|p| p.caller_id.number.as_deref())
            && let Uri::Sip(uri) = &mut b_from_uri
        {
            let mut user = String::with_capacity(number.len());
            crate::trunk::push_escaped_user(&mut user, number);
            uri.user = Some(ByteStr::from(user));
        }
        let b_from = NameAddr {
            display_name: plan
                .map_or_else(|| core.from.display_name.clone(), |p| p.display.clone()),
            uri: b_from_uri,
            params: Params::default(),
        };
        let offer = is_sdp(&request.headers, &request.body).then(|| request.body.clone());
        let call = Call {
            id,
            state: CallState::Routing,
            a,
            a_tx: tx,
            a_invite: None,
            a_record_route: record_route,
            a_early: false,
            a_early_media: false,
            max_forwards: core.max_forwards.unwrap_or(70).saturating_sub(1).min(70),
            offer,
            b_from: ByteStr::from(b_from.to_string()),
            plan: Plan::default(),
            forks: Vec::new(),
            groups: VecDeque::new(),
            group_timeout: None,
            winner: None,
            early_leg: None,
            best: None,
            relays: Vec::new(),
            next_relay: 1,
            ack_wait: None,
            step_timer: None,
            group_timer: None,
            ring_lookup: None,
            trunk_step: None,
            media_used: false,
            anchor: self.config.calls.media_gateway
                && plan
                    .and_then(|p| p.media)
                    .map_or(self.config.calls.anchor_media, |m| m == MediaMode::Anchor),
            local: None,
            cdr: CdrRecord {
                call: id,
                call_id: core.call_id.clone(),
                caller: admitted.caller,
                caller_domain: admitted.caller_domain,
                callee: dialed.clone(),
                dialed,
                source: admitted.source,
                destination: CallDestination::None,
                start_unix_ms: unix_ms,
                answer_unix_ms: None,
                end_unix_ms: unix_ms,
                disposition: Disposition::Failed,
                sip_status: StatusCode::SERVER_INTERNAL_ERROR,
                hangup_by: HangupBy::System,
                end_reason: None,
                answered_leg: None,
                media: None,
            },
            hop_contact: hop.then(|| request.uri.clone()),
        };
        let mut call = Box::new(call);
        call.a_invite = Some(request);
        self.calls.add_dialog(&call.a, id, LegId::A);
        self.calls.by_tx.insert(tx, (id, TxRole::AInvite));
        self.stats.calls_attempted += 1;
        self.calls.source_started(&call.cdr.source);
        self.events.push_back(SwitchEvent::CallStarted {
            call: id,
            call_id: call.cdr.call_id.clone(),
            caller: call.cdr.caller.clone(),
            dialed: call.cdr.dialed.clone(),
            source: call.cdr.source.clone(),
        });
        match decided {
            Ok(plan) => {
                call.plan = plan;
                self.next_step(now, unix_ms, call);
            }
            Err(status) => self.reject_call(now, unix_ms, call, status, None),
        }
    }

    /// Where a call starts in the dialplan, the caller's groups, and
    /// whether the caller may call `dialed` (checked as dialed, before the
    /// dialplan). Trunk calls: the trunk's context, no groups, no limits.
    /// Users: the directory's context (the user's, else its first group's
    /// with one) or [`crate::CallPolicy::user_context`]; directory groups
    /// plus configured ones; the directory's permissions.
    fn caller_policy<'a>(
        &'a self,
        admitted: &Admitted,
        dialed: &str,
    ) -> (&'a ContextName, &'a [GroupName], bool) {
        if let Some(index) = admitted.trunk {
            return (&self.trunks[index].context, &[], true);
        }
        let entry = admitted
            .account
            .as_deref()
            .and_then(|user| self.directory.user(&admitted.caller_domain, user))
            .or_else(|| self.directory.configured_user(&admitted.caller));
        match entry {
            Some(user) => (
                user.context.as_ref().unwrap_or(&self.user_context),
                &user.groups,
                self.directory.permits(user, dialed),
            ),
            None => (&self.user_context, &[], true),
        }
    }

    /// CANCEL (RFC 3261 §9.2): 200 when it matches an INVITE transaction, 481
    /// otherwise; a call not yet answered ends with 487 to the caller and a
    /// CANCEL to every device.
    pub(crate) fn on_cancel(&mut self, now: Instant, unix_ms: u64, tx: TxId, request: &Request) {
        let Some(invite_tx) = self.tx.matching_invite(request) else {
            self.reply(
                now,
                tx,
                request,
                StatusCode::CALL_OR_TRANSACTION_DOES_NOT_EXIST,
                None,
                |_| {},
            );
            return;
        };
        self.reply(now, tx, request, StatusCode::OK, None, |_| {});
        match self.calls.by_tx.get(&invite_tx).copied() {
            Some((id, TxRole::AInvite)) => {
                let Some(call) = self.calls.map.remove(&id) else {
                    return;
                };
                self.caller_gave_up(now, unix_ms, call);
            }
            Some((id, TxRole::RelayServer(relay))) => self.cancel_relay(now, id, relay),
            _ => {
                // An INVITE parked while its credentials are looked up.
                if self.tx.state_of(invite_tx) == Some(TxState::Proceeding)
                    && let Some(invite) = self.tx.request_of(invite_tx).cloned()
                {
                    self.reply(
                        now,
                        invite_tx,
                        &invite,
                        StatusCode::REQUEST_TERMINATED,
                        None,
                        |_| {},
                    );
                }
            }
        }
    }

    /// The caller cancelled (or sent BYE on the early dialog): 487 to its
    /// INVITE, CANCEL to the devices, CDR CANCELLED. No effect once the
    /// caller has its final response.
    pub(crate) fn caller_gave_up(&mut self, now: Instant, unix_ms: u64, mut call: Box<Call>) {
        if call.a_invite.is_none() {
            let id = call.id;
            self.calls.map.insert(id, call);
            return;
        }
        if let Some(winner) = call.winner {
            // Answered, the caller's 200 still waits for the media answer.
            self.send_bye(now, &mut call, winner);
            call.cdr.answer_unix_ms = None;
        }
        self.fail_call(
            now,
            unix_ms,
            call,
            StatusCode::REQUEST_TERMINATED,
            None,
            &[],
            Disposition::Cancelled,
            HangupBy::Caller,
        );
    }
}
