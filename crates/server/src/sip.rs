//! The SIP driver task: owns the [`Switch`], feeds it inbound messages, effect
//! results and timeouts, and after every input drains its outputs — transmits to
//! the transports, effects to the executor, events to the log.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use sb_sip_message::{Aor, Transport};
use sb_sip_transport::{TransportError, Transports};
use sb_switch::{
    BindingId, CallSnapshot, EffectResult, EffectToken, Switch, SwitchEvent, SwitchStats,
    TrunkConfig, TrunkSnapshot, UserDirectory,
};
use tokio::sync::{mpsc, oneshot};

use crate::effects::EffectExecutor;
use crate::inbound::SwitchInput;

/// Requests from the rest of the server to the switch task.
#[derive(Debug)]
pub(crate) enum Control {
    /// A new dialplan compiled; calls routed from now on use it.
    Dialplan(std::sync::Arc<sb_dialplan::Dialplan>),
    /// End every live call (BYE/CANCEL on their legs, call records written)
    /// and unregister from trunks; answered once that is done or
    /// `EndCalls::deadline` passed.
    EndCalls(EndCalls),
    /// Stop after draining; the switch is handed back.
    Stop(oneshot::Sender<Switch>),
    /// A question or command from the HTTP API.
    Api(ApiRequest),
    /// A call's media saw no RTP for the configured time: end the call.
    MediaTimeout(sb_switch::CallRef),
    /// The other live nodes of the cluster (name, SIP address).
    ClusterPeers(Vec<(sb_sip_message::ByteStr, std::net::SocketAddr)>),
    /// Other nodes' bindings of these AORs, as the shared store has them.
    RemoteBindings(Vec<(Aor, Vec<sb_switch::BindingRecord>)>),
    /// This node's binding deleted from the store elsewhere (the deleted
    /// row's last write, unix ms).
    ForgetBinding(Aor, BindingId, u64),
}

/// What the HTTP API asks of the switch task; each carries where to answer.
#[derive(Debug)]
pub(crate) enum ApiRequest {
    /// The registrations, optionally of one user name (any domain).
    Registrations(Option<String>, oneshot::Sender<Vec<RegistrationView>>),
    /// Remove one binding of an address of record.
    RemoveBinding(Aor, BindingId, oneshot::Sender<bool>),
    /// The live calls, with handles on their media.
    Calls(oneshot::Sender<LiveCalls>),
    /// Hang up the call with this Call-ID (of the caller's leg).
    HangUp(String, oneshot::Sender<bool>),
    /// The trunks and their registration state.
    Trunks(oneshot::Sender<Vec<TrunkSnapshot>>),
    /// Counters for `/metrics`.
    Stats(oneshot::Sender<StatsView>),
    /// Users or groups changed: the new directory and domains.
    Directory {
        directory: UserDirectory,
        domains: Vec<String>,
        done: oneshot::Sender<Result<(), String>>,
    },
    /// The trunk set changed: replace the trunks, and the outbound TLS settings of the TLS ones.
    SetTrunks(
        Vec<TrunkConfig>,
        Vec<(std::net::SocketAddr, sb_sip_transport::TlsPeer)>,
        oneshot::Sender<()>,
    ),
}

/// The live calls and handles on their media.
pub(crate) type LiveCalls = (
    Vec<CallSnapshot>,
    std::collections::HashMap<sb_switch::CallRef, crate::media::MediaHandle>,
);

/// One binding as the API shows it.
#[derive(Debug, Clone)]
pub(crate) struct RegistrationView {
    pub(crate) aor: String,
    pub(crate) binding_id: String,
    pub(crate) contact: String,
    pub(crate) transport: Transport,
    pub(crate) source: std::net::SocketAddr,
    pub(crate) user_agent: Option<String>,
    pub(crate) expires_in: u32,
    pub(crate) expires_unix_ms: u64,
    /// The cluster node holding the binding's flow (`None`: this node).
    pub(crate) node: Option<String>,
}

/// The switch's and the transactions' counters at one moment.
#[derive(Debug, Clone)]
pub(crate) struct StatsView {
    pub(crate) switch: SwitchStats,
    pub(crate) responses: Vec<(u16, u64)>,
    pub(crate) transactions: u64,
}

/// A request to end every call before shutting down.
#[derive(Debug)]
pub(crate) struct EndCalls {
    /// Give up waiting for call records at this time.
    pub(crate) deadline: tokio::time::Instant,
    /// Told when done.
    pub(crate) done: oneshot::Sender<()>,
}

/// Inputs handled before outputs are drained again; bounds the latency of
/// timers and control messages under load.
const BATCH: usize = 64;

pub(crate) struct SwitchTask {
    pub(crate) switch: Switch,
    pub(crate) inbound: mpsc::Receiver<SwitchInput>,
    pub(crate) results: mpsc::Receiver<(EffectToken, EffectResult)>,
    pub(crate) control: mpsc::Receiver<Control>,
    pub(crate) transports: Transports,
    pub(crate) effects: EffectExecutor,
    /// Set while live calls are being ended for a shutdown.
    pub(crate) ending: Option<EndCalls>,
    /// Told about failed authentications (bans for password guessing).
    pub(crate) guard: std::sync::Arc<crate::guard::Guard>,
}

pub(crate) fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

impl SwitchTask {
    pub(crate) async fn run(mut self) {
        let far = tokio::time::Instant::now() + std::time::Duration::from_secs(86_400 * 365);
        let sleep = tokio::time::sleep_until(far);
        tokio::pin!(sleep);
        // Whatever the switch queued before the task ran (the first trunk
        // REGISTERs) goes out now, not with the first input or timer.
        self.flush();
        let mut inbound_open = true;
        loop {
            let deadline = self.switch.poll_timeout().map(|(at, _)| at);
            let target = deadline.map_or(far, tokio::time::Instant::from_std);
            // Re-arming the timer costs; only move it earlier. Waking up before
            // the switch's deadline is harmless (it then reports the next one).
            if target < sleep.deadline() {
                sleep.as_mut().reset(target);
            }
            let ending_deadline = self.ending.as_ref().map(|e| e.deadline);
            tokio::select! {
                biased;
                control = self.control.recv() => match control {
                    Some(Control::Dialplan(plan)) => self.switch.set_dialplan(plan),
                    Some(Control::EndCalls(end)) => {
                        self.switch.shutdown(Instant::now(), unix_ms());
                        self.ending = Some(end);
                    }
                    Some(Control::Api(request)) => self.answer(request),
                    Some(Control::MediaTimeout(call)) => {
                        self.switch.media_timeout(Instant::now(), unix_ms(), call);
                    }
                    Some(
                        c @ (Control::ClusterPeers(_)
                        | Control::ForgetBinding(..)
                        | Control::RemoteBindings(_)),
                    ) => self.cluster(c),
                    Some(Control::Stop(done)) => {
                        self.flush();
                        let _ = done.send(self.switch);
                        return;
                    }
                    None => return,
                },
                result = self.results.recv() => {
                    if let Some((token, result)) = result {
                        self.effects.settled(token);
                        self.switch.handle_effect_result(Instant::now(), unix_ms(), token, result);
                    }
                }
                input = self.inbound.recv(), if inbound_open => {
                    // The transports shut down (their handler, holding the
                    // sender, is gone): keep serving control messages until
                    // `Stop`, which hands the switch back.
                    let Some(input) = input else {
                        inbound_open = false;
                        continue;
                    };
                    self.handle(input);
                    self.flush();
                    for _ in 1..BATCH {
                        match self.inbound.try_recv() {
                            Ok(input) => {
                                self.handle(input);
                                self.flush();
                            }
                            Err(_) => break,
                        }
                    }
                }
                () = &mut sleep, if deadline.is_some() => {
                    sleep.as_mut().reset(far);
                    self.switch.handle_timeout(Instant::now(), unix_ms());
                }
                () = async {
                    // Built lazily: no timer exists unless a shutdown waits.
                    match ending_deadline {
                        Some(at) => tokio::time::sleep_until(at).await,
                        None => std::future::pending().await,
                    }
                }, if ending_deadline.is_some() => {
                    tracing::warn!(
                        records = self.effects.records_in_flight(),
                        complete = self.switch.shutdown_complete(),
                        "shutdown: stopped waiting for calls, records and trunk unregistrations"
                    );
                    if let Some(end) = self.ending.take() {
                        let _ = end.done.send(());
                    }
                }
            }
            self.flush();
            if self.effects.records_in_flight() == 0
                && self.switch.shutdown_complete()
                && let Some(end) = self.ending.take()
            {
                let _ = end.done.send(());
            }
        }
    }

    /// What the other nodes of a cluster changed.
    fn cluster(&mut self, control: Control) {
        match control {
            Control::ClusterPeers(peers) => {
                let forgotten = self.switch.set_cluster_peers(peers);
                if forgotten > 0 {
                    tracing::info!(forgotten, "stream registrations of a gone node forgotten");
                }
            }
            Control::ForgetBinding(aor, id, written)
                if self.switch.forget_binding(&aor, &id, written) =>
            {
                tracing::info!(%aor, binding = %id, "registration removed by another node");
            }
            Control::RemoteBindings(aors) => {
                let (now, unix) = (Instant::now(), unix_ms());
                for (aor, records) in &aors {
                    self.switch.apply_remote_bindings(now, unix, aor, records);
                }
            }
            _ => {}
        }
    }

    /// Answers the HTTP API (a receiver that went away is no error).
    fn answer(&mut self, request: ApiRequest) {
        let now = Instant::now();
        match request {
            ApiRequest::Registrations(user, reply) => {
                let views = self
                    .switch
                    .location()
                    .iter()
                    .filter(|(aor, _)| {
                        user.as_deref()
                            .is_none_or(|u| aor.user().eq_ignore_ascii_case(u))
                    })
                    .map(|(aor, b)| RegistrationView {
                        aor: aor.to_string(),
                        binding_id: b.id.to_string(),
                        contact: b.contact.to_string(),
                        transport: b.peer.transport,
                        source: b.peer.remote,
                        user_agent: b.user_agent.as_ref().map(ToString::to_string),
                        expires_in: b.remaining_secs(now),
                        expires_unix_ms: b.expires_unix_ms,
                        node: b.node.as_ref().map(ToString::to_string),
                    })
                    .collect();
                let _ = reply.send(views);
            }
            ApiRequest::RemoveBinding(aor, id, reply) => {
                let _ = reply.send(self.switch.remove_binding(now, &aor, &id));
            }
            ApiRequest::Calls(reply) => {
                let _ = reply.send((self.switch.calls().collect(), self.effects.media_handles()));
            }
            ApiRequest::HangUp(call_id, reply) => {
                let _ = reply.send(self.switch.hang_up(now, unix_ms(), &call_id));
            }
            ApiRequest::Trunks(reply) => {
                let _ = reply.send(self.switch.trunks());
            }
            ApiRequest::Stats(reply) => {
                let _ = reply.send(StatsView {
                    switch: self.switch.stats().clone(),
                    responses: self.switch.stats().responses_sent().collect(),
                    transactions: self.switch.transaction_stats().live() as u64,
                });
            }
            ApiRequest::Directory {
                directory,
                domains,
                done,
            } => {
                let result = self
                    .switch
                    .set_directory(directory)
                    .map_err(|e| e.to_string());
                self.switch.set_user_domains(domains);
                self.switch.invalidate_credentials();
                let _ = done.send(result);
            }
            ApiRequest::SetTrunks(trunks, tls_peers, done) => {
                self.transports.set_tls_peers(tls_peers);
                self.switch.set_trunks(now, unix_ms(), trunks);
                let _ = done.send(());
            }
        }
        self.flush();
    }

    fn handle(&mut self, input: SwitchInput) {
        let now = Instant::now();
        match input {
            SwitchInput::Message { message, peer } => {
                self.switch.handle_inbound(now, unix_ms(), *message, peer);
            }
            SwitchInput::Malformed {
                payload,
                peer,
                error,
            } => self.switch.handle_malformed(now, &payload, peer, &error),
            SwitchInput::FlowClosed { flow } => self.switch.handle_flow_closed(now, flow),
            SwitchInput::SendFailed { dest } => self.switch.handle_transport_error(now, &dest),
        }
    }

    /// Drains every output of the switch. A transmit that fails at once is fed
    /// back as a transport error, which may produce more outputs.
    fn flush(&mut self) {
        loop {
            let mut progressed = false;
            while let Some(t) = self.switch.poll_transmit() {
                progressed = true;
                match self.transports.send(&t.dest, t.payload) {
                    Ok(()) => {}
                    // After shutdown no destination is reachable; telling the
                    // switch would only fail what it sends next in turn.
                    Err(TransportError::ShutDown) => {}
                    Err(e) => {
                        tracing::debug!(dest = ?t.dest, error = %e, "send failed");
                        self.switch.handle_transport_error(Instant::now(), &t.dest);
                    }
                }
            }
            while let Some((token, effect)) = self.switch.poll_effect() {
                progressed = true;
                self.effects.run(token, effect);
            }
            while let Some(event) = self.switch.poll_event() {
                progressed = true;
                log_event(&event, &self.guard);
            }
            if !progressed {
                return;
            }
        }
    }
}

fn log_event(event: &SwitchEvent, guard: &crate::guard::Guard) {
    match event {
        SwitchEvent::Registered {
            aor,
            contact,
            expires,
        } => {
            tracing::debug!(%aor, %contact, expires, "registered");
        }
        SwitchEvent::Unregistered {
            aor,
            contact,
            reason,
        } => {
            tracing::debug!(%aor, %contact, ?reason, "binding removed");
        }
        SwitchEvent::AuthFailed { peer, username } => {
            tracing::info!(source = %peer.remote, transport = %peer.transport, username = %username, "authentication failed");
            guard.auth_failed(Instant::now(), peer.remote.ip(), username.as_str());
        }
        SwitchEvent::Malformed {
            peer,
            reason,
            answered,
        } => {
            tracing::debug!(source = %peer.remote, %reason, answered, "malformed message");
        }
        SwitchEvent::EffectFailed { reason } => {
            tracing::warn!(%reason, "database lookup failed");
        }
        SwitchEvent::CallStarted { .. } | SwitchEvent::CallAnswered { .. } => {
            tracing::debug!(?event, "call");
        }
        SwitchEvent::CallEnded {
            call_id,
            disposition,
            status,
            hangup_by,
            billable_ms,
            ..
        } => {
            tracing::info!(
                %call_id,
                %disposition,
                status = status.as_u16(),
                %hangup_by,
                billable_ms,
                "call ended"
            );
        }
        SwitchEvent::TrunkRegistered { trunk, expires } => {
            tracing::info!(%trunk, expires, "registered to trunk");
        }
        SwitchEvent::TrunkRegistrationFailed {
            trunk,
            status,
            reason,
        } => {
            tracing::warn!(%trunk, status = status.map(|s| s.as_u16()), %reason, "trunk registration failed");
        }
        SwitchEvent::TrunkUnregistered { trunk } => {
            tracing::info!(%trunk, "unregistered from trunk");
        }
        SwitchEvent::CdrWriteFailed { record, reason } => {
            tracing::error!(%reason, ?record, "call record lost");
        }
    }
}
