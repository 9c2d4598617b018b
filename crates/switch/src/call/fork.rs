//! The B legs of a call: one INVITE per registered device of the callee
//! (parallel forking), sent to where the device registered from (NAT), or to
//! a trunk's gateway ([`super::trunk`]); the first 2xx wins and the others
//! are cancelled (a late second 2xx is acknowledged and hung up);
//! provisional responses are relayed; when every leg of a step failed the
//! next step of the plan runs, and after the last the caller gets the best
//! failure (RFC 3261 §16.7 step 6).
//! CANCEL is only sent once the leg has sent a provisional response
//! (RFC 3261 §9.1); a leg that never answers its CANCEL is given up 64·T1
//! later.

use std::time::Instant;

use bytes::Bytes;
use sb_sip_message::{
    Aor, ByteStr, CallId, Destination, HeaderName, Message, Method, Response, StatusCode,
    Transport, Uri,
};
use sb_sip_transaction::TxId;

use super::best::better;
use super::cdr::Disposition;
use super::dialog::{Dialog, LocalAddr};
use super::media::MediaStep;
use super::{
    Call, CallRef, CallState, CallTimer, Cancel, Failure, Fork, ForkState, ForkTarget, LegId,
    TxRole, is_sdp,
};
use crate::core::{ALLOW, Switch};
use crate::events::SwitchEvent;
use crate::timers::TimerHandle;

/// A device to ring, from the location table.
struct Device {
    uri: Uri,
    dest: Destination,
    path: Option<ByteStr>,
    instance: Option<ByteStr>,
    updated_unix_ms: u64,
}

/// A new B leg: where its INVITE goes and what it says.
#[derive(Debug)]
pub(crate) struct NewLeg {
    /// Request-URI (the remote target).
    pub(crate) uri: Uri,
    /// To, without tag.
    pub(crate) to: ByteStr,
    /// From, without tag.
    pub(crate) from: ByteStr,
    /// Where requests of the leg are sent.
    pub(crate) dest: Destination,
    /// Route (a registration's Path).
    pub(crate) route: Option<ByteStr>,
    pub(crate) target: ForkTarget,
}

impl Switch {
    pub(crate) fn call_timer(&mut self, at: Instant, id: CallRef, timer: CallTimer) -> TimerHandle {
        self.calls.timers.insert(at, (id, timer))
    }

    /// Rings every device of `members` (a ring group's member, or the
    /// routed users). When nobody can be rung, the next sequential member
    /// rings, or the step fails (480).
    pub(crate) fn ring(
        &mut self,
        now: Instant,
        unix_ms: u64,
        mut call: Box<Call>,
        members: &[Aor],
    ) {
        call.state = CallState::Ringing;
        let mut rung = false;
        for aor in members {
            for device in self.devices(aor, call.hop_contact.as_ref()) {
                rung = true;
                let mut to = String::with_capacity(aor.as_str().len() + 2);
                to.push('<');
                to.push_str(aor.as_str());
                to.push('>');
                let leg = NewLeg {
                    uri: device.uri,
                    to: ByteStr::from(to),
                    from: call.b_from.clone(),
                    dest: device.dest,
                    route: device.path,
                    target: ForkTarget::User(ByteStr::from(aor.user())),
                };
                self.add_fork(now, &mut call, leg);
            }
        }
        if !rung {
            note_failure_as(
                &mut call,
                StatusCode::TEMPORARILY_UNAVAILABLE,
                None,
                Disposition::Failed,
            );
        }
        if let Some(t) = call.group_timer.take() {
            self.calls.timers.cancel(t);
        }
        if let Some(timeout) = call.group_timeout
            && call.forks.iter().any(|f| f.state != ForkState::Done)
        {
            call.group_timer = Some(self.call_timer(now + timeout, call.id, CallTimer::NextGroup));
        }
        self.check_forks(now, unix_ms, call);
    }

    /// The devices of `aor`: one per RFC 5626 instance (its newest flow),
    /// every other contact as registered. A binding of another node is
    /// reached through that node while it lives, directly over UDP once it
    /// is gone, and not at all over a stream it held (see
    /// [`crate::cluster`]). `only`: this node's binding with that contact
    /// alone (a call handed over by another node).
    fn devices(&self, aor: &Aor, only: Option<&Uri>) -> Vec<Device> {
        let mut devices: Vec<Device> = Vec::new();
        for b in self.location.bindings(aor) {
            if let Some(contact) = only
                && (b.node.is_some() || &b.uri != contact)
            {
                continue;
            }
            let (dest, path) = match b.node.as_deref() {
                None => (
                    Destination {
                        transport: b.peer.transport,
                        remote: b.peer.remote,
                        flow: b.peer.flow,
                        local: Some(b.peer.local),
                    },
                    b.path.clone(),
                ),
                Some(node) => match self.peers.address_of(node) {
                    Some(addr) => (udp_to(addr), None),
                    None if b.peer.transport == Transport::Udp && b.path.is_none() => {
                        (udp_to(b.peer.remote), None)
                    }
                    None => continue,
                },
            };
            let device = Device {
                uri: b.uri.clone(),
                dest,
                path,
                instance: b.instance.clone(),
                updated_unix_ms: b.updated_unix_ms,
            };
            let same = device
                .instance
                .as_ref()
                .and_then(|i| devices.iter().position(|t| t.instance.as_ref() == Some(i)));
            match same {
                Some(i) if devices[i].updated_unix_ms < device.updated_unix_ms => {
                    devices[i] = device;
                }
                Some(_) => {}
                None => devices.push(device),
            }
        }
        devices
    }

    /// Adds B leg `new` to the call and sends its INVITE (after the media
    /// engine's offer when the caller sent one).
    pub(crate) fn add_fork(&mut self, now: Instant, call: &mut Call, new: NewLeg) {
        let leg = LegId(u32::try_from(call.forks.len() + 1).unwrap_or(u32::MAX));
        let local_addr = LocalAddr::for_destination(&new.dest, &self.config.local_ips);
        let tag = self.new_tag();
        let mut call_id = String::with_capacity(32);
        call_id.push_str(self.new_tag().as_str());
        call_id.push_str(self.new_tag().as_str());
        let mut local = String::with_capacity(new.from.len() + 22);
        local.push_str(&new.from);
        local.push_str(";tag=");
        local.push_str(tag.as_str());
        let dialog = Dialog {
            call_id: CallId::from(call_id),
            local_tag: tag,
            remote_tag: None,
            local: ByteStr::from(local),
            remote: new.to,
            remote_target: new.uri,
            route_set: new.route.into_iter().collect(),
            local_cseq: 0,
            remote_cseq: None,
            dest: new.dest,
            contact: local_addr.contact(),
            local_addr,
            last_ack: None,
        };
        self.calls.add_dialog(&dialog, call.id, leg);
        call.forks.push(Fork {
            leg,
            state: ForkState::Offering,
            tx: None,
            dialog,
            target: new.target,
            invite_cseq: 0,
            cancel: Cancel::No,
            sdp: None,
            auth_answered: false,
            rang: false,
        });
        match call.offer.clone() {
            Some(sdp) => {
                let to_transport = new.dest.transport;
                self.media_offer(
                    now,
                    call,
                    LegId::A,
                    leg,
                    to_transport,
                    sdp,
                    MediaStep::ForkOffer { leg },
                );
            }
            None => self.send_fork_invite(now, call, leg, None),
        }
    }

    /// Sends the INVITE of B leg `leg` (with `sdp`, the media engine's offer).
    pub(crate) fn send_fork_invite(
        &mut self,
        now: Instant,
        call: &mut Call,
        leg: LegId,
        sdp: Option<Bytes>,
    ) {
        let Some(fork) = call.fork_mut(leg) else {
            return;
        };
        if fork.state != ForkState::Offering {
            return; // Cancelled while its offer was made.
        }
        fork.sdp = sdp;
        self.dispatch_fork_invite(now, call, leg, None);
    }

    /// Builds and sends the INVITE of B leg `leg` with the next CSeq, its
    /// SDP, the dialplan's headers and `auth` (credentials for a
    /// challenge).
    pub(crate) fn dispatch_fork_invite(
        &mut self,
        now: Instant,
        call: &mut Call,
        leg: LegId,
        auth: Option<(HeaderName, ByteStr)>,
    ) {
        let max_forwards = call.max_forwards;
        let branch = self.tx.new_branch();
        let id = call.id;
        let Some(i) = leg.fork_index().filter(|&i| i < call.forks.len()) else {
            return;
        };
        let fork = &mut call.forks[i];
        let mut invite = fork
            .dialog
            .request(Method::Invite, &branch, max_forwards, None);
        fork.invite_cseq = fork.dialog.local_cseq;
        invite.headers.push(HeaderName::Allow, ALLOW);
        if let Some(ua) = &self.config.server_header {
            invite.headers.push(HeaderName::UserAgent, ua.as_str());
        }
        for (name, value) in &call.plan.headers {
            invite.headers.push(name.clone(), value.clone());
        }
        if let Some((name, value)) = auth {
            invite.headers.push(name, value);
        }
        if let Some(sdp) = &fork.sdp {
            invite
                .headers
                .push(HeaderName::ContentType, "application/sdp");
            invite.body = sdp.clone();
        }
        match self.tx.send_request(now, invite, fork.dialog.dest) {
            Ok(tx) => {
                fork.tx = Some(tx);
                fork.state = ForkState::Calling;
                self.calls.by_tx.insert(tx, (id, TxRole::Fork(leg)));
            }
            Err(e) => {
                tracing::warn!(call = %id, %leg, error = %e, "B leg INVITE not sent");
                fork.state = ForkState::Done;
                note_failure(call, StatusCode::SERVER_INTERNAL_ERROR, None, true);
            }
        }
    }

    /// When no B leg is left ringing: the next sequential member, the next
    /// trunk, or the next step of the plan. Otherwise the call goes back to
    /// the table.
    pub(crate) fn check_forks(&mut self, now: Instant, unix_ms: u64, mut call: Box<Call>) {
        if call.winner.is_some()
            || call.a_invite.is_none()
            || call.ring_lookup.is_some()
            || call.forks.iter().any(|f| f.state != ForkState::Done)
        {
            self.calls.map.insert(call.id, call);
            return;
        }
        if let Some(next) = call.groups.pop_front() {
            self.ring(now, unix_ms, call, &next);
            return;
        }
        if call
            .trunk_step
            .as_ref()
            .is_some_and(|t| t.failover && t.next < t.trunks.len())
        {
            self.next_trunk(now, unix_ms, call);
            return;
        }
        self.step_over(now, unix_ms, call);
    }

    /// A response to an INVITE, CANCEL, BYE or relayed request the switch sent.
    pub(crate) fn on_response(&mut self, now: Instant, unix_ms: u64, tx: TxId, response: Response) {
        let Some(&(id, role)) = self.calls.by_tx.get(&tx) else {
            return;
        };
        match role {
            TxRole::Fork(leg) => match self.calls.map.remove(&id) {
                Some(call) => self.fork_response(now, unix_ms, call, leg, tx, &response),
                None => self.orphan_response(now, tx, id, &response, false),
            },
            TxRole::Orphan { cancel_sent } => {
                self.orphan_response(now, tx, id, &response, cancel_sent);
            }
            TxRole::Relay(relay) => self.relay_response(now, unix_ms, id, relay, tx, response),
            TxRole::Fire | TxRole::AInvite | TxRole::RelayServer(_) => {}
        }
    }

    fn fork_response(
        &mut self,
        now: Instant,
        unix_ms: u64,
        mut call: Box<Call>,
        leg: LegId,
        tx: TxId,
        response: &Response,
    ) {
        let status = response.status;
        let (id, winner) = (call.id, call.winner);
        let Some(fork) = call.fork_mut(leg) else {
            self.calls.map.insert(id, call);
            return;
        };
        if fork.tx != Some(tx) {
            // The INVITE before a challenge was answered: nothing to do but
            // end a 2xx nobody wants.
            if status.is_success() {
                self.ack_2xx(now, id, tx, response, true);
            }
            self.calls.map.insert(id, call);
            return;
        }
        if status.is_provisional() {
            if fork.state == ForkState::Calling {
                fork.state = ForkState::Proceeding;
            }
            if status != StatusCode::TRYING {
                fork.rang = true;
            }
            if fork.cancel == Cancel::Wanted {
                fork.cancel = Cancel::Sent;
                self.send_cancel(now, id, tx);
            }
            if fork.state == ForkState::Proceeding && winner.is_none() {
                if status != StatusCode::TRYING {
                    fork.dialog.update_from_response(response, true);
                }
                self.relay_provisional(now, &mut call, leg, response);
            }
            self.calls.map.insert(id, call);
            return;
        }
        if status.is_success() {
            self.fork_answered(now, unix_ms, call, leg, tx, response);
            return;
        }
        let counted = fork.state == ForkState::Done || winner.is_some();
        let trunk = matches!(fork.target, ForkTarget::Trunk(_));
        let challenge = matches!(status.as_u16(), 401 | 407);
        if !counted && challenge && self.answer_trunk_challenge(now, &mut call, leg, response) {
            // The INVITE with credentials may have failed to go out.
            self.check_forks(now, unix_ms, call);
            return;
        }
        if let Some(fork) = call.fork_mut(leg) {
            fork.state = ForkState::Done;
        }
        if counted {
            self.calls.map.insert(id, call);
            return;
        }
        if trunk && challenge {
            // Credentials missing or refused: another trunk may take it.
            let reason = ByteStr::from_static("Trunk Authentication Failed");
            Self::trunk_leg_failed(&mut call, leg, StatusCode::SERVICE_UNAVAILABLE);
            note_failure(
                &mut call,
                StatusCode::SERVICE_UNAVAILABLE,
                Some(&reason),
                true,
            );
            self.check_forks(now, unix_ms, call);
            return;
        }
        Self::trunk_leg_failed(&mut call, leg, status);
        note_failure(&mut call, status, Some(&response.reason), false);
        if status.class() == 3
            && let Some(best) = &mut call.best
            && best.status == status
            && best.contacts.is_empty()
        {
            best.contacts = response
                .headers
                .get_all(&HeaderName::Contact)
                .cloned()
                .collect();
        }
        self.check_forks(now, unix_ms, call);
    }

    /// A provisional response of a ringing B leg, relayed to the caller: SDP
    /// (early media) through the media engine, from one B leg only; once the
    /// caller has early media, plain provisional responses are not relayed
    /// (they would make its phone switch to local ringback).
    fn relay_provisional(
        &mut self,
        now: Instant,
        call: &mut Call,
        leg: LegId,
        response: &Response,
    ) {
        let status = response.status;
        if status == StatusCode::TRYING || call.a_invite.is_none() {
            return;
        }
        if call.offer.is_some()
            && is_sdp(&response.headers, &response.body)
            && call.early_leg.is_none_or(|l| l == leg)
        {
            call.early_leg = Some(leg);
            let step = MediaStep::Early {
                leg,
                status,
                reason: response.reason.clone(),
            };
            self.media_answer(now, call, leg, LegId::A, response.body.clone(), step);
            return;
        }
        if call.a_early_media {
            return;
        }
        self.respond_a(now, call, status, Some(&response.reason), None, &[]);
    }

    fn fork_answered(
        &mut self,
        now: Instant,
        unix_ms: u64,
        mut call: Box<Call>,
        leg: LegId,
        tx: TxId,
        response: &Response,
    ) {
        if call.winner == Some(leg) {
            // A retransmission: repeat the ACK once it was sent.
            if let Some(fork) = call.fork(leg)
                && let Some(ack) = fork.dialog.last_ack.clone()
            {
                self.tx
                    .send_stateless(Message::Request(ack), fork.dialog.dest);
            }
            self.calls.map.insert(call.id, call);
            return;
        }
        if call.winner.is_some() || call.a_invite.is_none() {
            // Another device answered first.
            self.ack_2xx(now, call.id, tx, response, true);
            if let Some(fork) = call.fork_mut(leg) {
                fork.state = ForkState::Done;
            }
            self.calls.map.insert(call.id, call);
            return;
        }
        let fork = call.fork_mut(leg).expect("the caller checked the leg");
        fork.state = ForkState::Answered;
        fork.dialog.update_from_response(response, true);
        let destination = fork.target.destination();
        if let ForkTarget::User(user) = &fork.target {
            call.cdr.callee = user.clone();
        }
        call.winner = Some(leg);
        call.state = CallState::Answered;
        call.cdr.answer_unix_ms = Some(unix_ms);
        call.cdr.destination = destination;
        call.groups.clear();
        call.plan.steps.clear();
        call.trunk_step = None;
        for t in [call.step_timer.take(), call.group_timer.take()]
            .into_iter()
            .flatten()
        {
            self.calls.timers.cancel(t);
        }
        self.cancel_forks(now, &mut call, Some(leg), None);
        self.stats.calls_answered += 1;
        self.events
            .push_back(SwitchEvent::CallAnswered { call: call.id, leg });
        let sdp = is_sdp(&response.headers, &response.body).then(|| response.body.clone());
        match (sdp, call.offer.is_some()) {
            (Some(sdp), true) => {
                let step = MediaStep::Answer {
                    leg,
                    offer_in_2xx: false,
                };
                self.media_answer(now, &mut call, leg, LegId::A, sdp, step);
            }
            (Some(sdp), false) => {
                let step = MediaStep::Answer {
                    leg,
                    offer_in_2xx: true,
                };
                let to_transport = call.a.dest.transport;
                self.media_offer(now, &mut call, leg, LegId::A, to_transport, sdp, step);
            }
            (None, _) => self.answer_caller(now, &mut call, leg, None, false),
        }
        self.calls.map.insert(call.id, call);
    }
}

/// Over UDP from this node's own socket (another node's binding).
fn udp_to(remote: std::net::SocketAddr) -> Destination {
    Destination {
        transport: Transport::Udp,
        remote,
        flow: None,
        local: None,
    }
}

/// Counts a B leg's failure towards the caller's final response; the CDR
/// disposition follows from the status.
pub(crate) fn note_failure(
    call: &mut Call,
    status: StatusCode,
    reason: Option<&ByteStr>,
    system: bool,
) {
    record_failure(
        call,
        status,
        reason,
        system,
        Disposition::of_failure(status),
    );
}

/// Counts a failure the switch decided (no such user, nobody registered)
/// with the disposition the CDR gets if it ends the call.
pub(crate) fn note_failure_as(
    call: &mut Call,
    status: StatusCode,
    reason: Option<&ByteStr>,
    disposition: Disposition,
) {
    record_failure(call, status, reason, true, disposition);
}

fn record_failure(
    call: &mut Call,
    status: StatusCode,
    reason: Option<&ByteStr>,
    system: bool,
    disposition: Disposition,
) {
    if better(
        status,
        system,
        call.best.as_ref().map(|b| (b.status, b.system)),
    ) {
        call.best = Some(Failure {
            status,
            reason: reason
                .cloned()
                .unwrap_or_else(|| ByteStr::from_static(status.reason())),
            contacts: Vec::new(),
            system,
            disposition,
        });
    }
}
