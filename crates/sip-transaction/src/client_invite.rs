//! The INVITE client transaction (RFC 3261 §17.1.1, with the Accepted state of
//! RFC 6026 §7.2 and §8.4).
//!
//! ```text
//! Calling ──1xx──► Proceeding ──1xx──► (to TU)
//!   │  A: resend, A = 2·A  │
//!   │  B or transport error: Timeout/TransportError → Terminated
//!   ├─2xx (either state)──► Accepted ──2xx: to TU; M ──► Terminated
//!   └─300-699 (either)──► Completed ──300-699: resend ACK; D or transport error ──► Terminated
//! ```

use std::time::Duration;

use bytes::Bytes;
use sb_sip_message::{Request, Response};

use crate::ack::ack_for_non_2xx;
use crate::ctx::Ctx;
use crate::timer::TimerKind;
use crate::types::{TxEvent, TxState};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Calling,
    Proceeding,
    Accepted,
    Completed,
    Terminated,
}

/// One INVITE client transaction.
#[derive(Debug)]
pub(crate) struct ClientInvite {
    state: State,
    request: Box<Request>,
    /// The INVITE as sent, for Timer A retransmissions.
    payload: Bytes,
    /// The ACK for the non-2xx final response, once there is one.
    ack: Option<Bytes>,
    /// The current Timer A interval.
    interval: Duration,
    /// CSeq number of the INVITE, for the ACK.
    cseq: u32,
    /// Via fields of the INVITE: a matching response has as many.
    via_count: usize,
}

impl ClientInvite {
    /// Sends the INVITE and enters Calling: Timer A (unreliable) and Timer B.
    pub(crate) fn start(
        ctx: &mut Ctx<'_>,
        request: Request,
        payload: Bytes,
        cseq: u32,
        via_count: usize,
    ) -> Self {
        ctx.send(&payload);
        let interval = ctx.config.t1;
        if !ctx.reliable() {
            ctx.start(TimerKind::A, interval);
        }
        ctx.start(TimerKind::B, ctx.duration(TimerKind::B));
        ClientInvite {
            state: State::Calling,
            request: Box::new(request),
            payload,
            ack: None,
            interval,
            cseq,
            via_count,
        }
    }

    pub(crate) fn state(&self) -> TxState {
        match self.state {
            State::Calling => TxState::Calling,
            State::Proceeding => TxState::Proceeding,
            State::Accepted => TxState::Accepted,
            State::Completed => TxState::Completed,
            State::Terminated => TxState::Terminated,
        }
    }

    pub(crate) fn request(&self) -> &Request {
        &self.request
    }

    pub(crate) fn via_count(&self) -> usize {
        self.via_count
    }

    pub(crate) fn on_response(&mut self, ctx: &mut Ctx<'_>, response: Response) {
        let status = response.status;
        match self.state {
            State::Calling | State::Proceeding if status.is_provisional() => {
                if self.state == State::Calling {
                    // No more retransmissions; Timer B only matters in Calling.
                    ctx.stop_all();
                    self.state = State::Proceeding;
                }
                ctx.emit(TxEvent::Response {
                    tx: ctx.id,
                    response,
                });
            }
            State::Calling | State::Proceeding if status.is_success() => {
                ctx.stop_all();
                ctx.start(TimerKind::M, ctx.duration(TimerKind::M));
                self.state = State::Accepted;
                ctx.emit(TxEvent::Response {
                    tx: ctx.id,
                    response,
                });
            }
            State::Calling | State::Proceeding => {
                let ack = ack_for_non_2xx(&self.request, self.cseq, &response).to_bytes();
                ctx.send(&ack);
                self.ack = Some(ack);
                ctx.stop_all();
                ctx.emit(TxEvent::Response {
                    tx: ctx.id,
                    response,
                });
                let d = ctx.duration(TimerKind::D);
                if d.is_zero() {
                    self.state = State::Terminated;
                } else {
                    ctx.start(TimerKind::D, d);
                    self.state = State::Completed;
                }
            }
            // RFC 6026 §8.4: 2xx retransmissions (and 2xx from other forks) go
            // to the TU, which sends the ACK; nothing else is of interest.
            State::Accepted if status.is_success() => {
                ctx.emit(TxEvent::Response {
                    tx: ctx.id,
                    response,
                });
            }
            // RFC 3261 §17.1.1.2: a retransmitted final response is answered
            // with the same ACK and not passed up.
            State::Completed if status.is_final() && !status.is_success() => {
                if let Some(ack) = &self.ack {
                    ctx.send(ack);
                }
            }
            State::Accepted | State::Completed | State::Terminated => {}
        }
    }

    pub(crate) fn on_timer(&mut self, ctx: &mut Ctx<'_>, kind: TimerKind) {
        match (self.state, kind) {
            (State::Calling, TimerKind::A) => {
                ctx.send(&self.payload);
                self.interval = self.interval.saturating_mul(2);
                ctx.start(TimerKind::A, self.interval);
            }
            (State::Calling, TimerKind::B) => {
                ctx.stop_all();
                ctx.emit(TxEvent::Timeout { tx: ctx.id });
                self.state = State::Terminated;
            }
            (State::Completed, TimerKind::D) | (State::Accepted, TimerKind::M) => {
                ctx.stop_all();
                self.state = State::Terminated;
            }
            _ => {}
        }
    }

    /// RFC 3261 §17.1.1.2 (Figure 5): a transport error in Calling or Completed
    /// ends the transaction.
    pub(crate) fn on_transport_error(&mut self, ctx: &mut Ctx<'_>) {
        if matches!(self.state, State::Calling | State::Completed) {
            ctx.stop_all();
            ctx.emit(TxEvent::TransportError { tx: ctx.id });
            self.state = State::Terminated;
        }
    }
}
