//! The non-INVITE client transaction (RFC 3261 §17.1.2).
//!
//! ```text
//! Trying ──1xx──► Proceeding ──1xx──► (to TU)
//!   E: resend, E = min(2·E, T2)   E: resend, E = T2
//!   F or transport error (either state): Timeout/TransportError → Terminated
//!   └─200-699 (either state): to TU ──► Completed ──K──► Terminated
//! ```

use std::time::Duration;

use bytes::Bytes;
use sb_sip_message::{Request, Response};

use crate::ctx::Ctx;
use crate::timer::TimerKind;
use crate::types::{TxEvent, TxState};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Trying,
    Proceeding,
    Completed,
    Terminated,
}

/// One non-INVITE client transaction.
#[derive(Debug)]
pub(crate) struct ClientNonInvite {
    state: State,
    request: Box<Request>,
    /// The request as sent, for Timer E retransmissions.
    payload: Bytes,
    /// The current Timer E interval.
    interval: Duration,
    /// Via fields of the request: a matching response has as many.
    via_count: usize,
}

impl ClientNonInvite {
    /// Sends the request and enters Trying: Timer E (unreliable) and Timer F.
    pub(crate) fn start(
        ctx: &mut Ctx<'_>,
        request: Request,
        payload: Bytes,
        via_count: usize,
    ) -> Self {
        ctx.send(&payload);
        let interval = ctx.config.t1;
        if !ctx.reliable() {
            ctx.start(TimerKind::E, interval);
        }
        ctx.start(TimerKind::F, ctx.duration(TimerKind::F));
        ClientNonInvite {
            state: State::Trying,
            request: Box::new(request),
            payload,
            interval,
            via_count,
        }
    }

    pub(crate) fn state(&self) -> TxState {
        match self.state {
            State::Trying => TxState::Trying,
            State::Proceeding => TxState::Proceeding,
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
        match self.state {
            State::Trying | State::Proceeding if response.status.is_provisional() => {
                // The running Timer E keeps its deadline; from its next firing
                // on it is reset to T2 (RFC 3261 §17.1.2.2).
                self.state = State::Proceeding;
                ctx.emit(TxEvent::Response {
                    tx: ctx.id,
                    response,
                });
            }
            State::Trying | State::Proceeding => {
                ctx.stop_all();
                ctx.emit(TxEvent::Response {
                    tx: ctx.id,
                    response,
                });
                let k = ctx.duration(TimerKind::K);
                if k.is_zero() {
                    self.state = State::Terminated;
                } else {
                    ctx.start(TimerKind::K, k);
                    self.state = State::Completed;
                }
            }
            // Retransmitted responses are absorbed.
            State::Completed | State::Terminated => {}
        }
    }

    pub(crate) fn on_timer(&mut self, ctx: &mut Ctx<'_>, kind: TimerKind) {
        match (self.state, kind) {
            (State::Trying, TimerKind::E) => {
                ctx.send(&self.payload);
                self.interval = self.interval.saturating_mul(2).min(ctx.config.t2);
                ctx.start(TimerKind::E, self.interval);
            }
            (State::Proceeding, TimerKind::E) => {
                ctx.send(&self.payload);
                self.interval = ctx.config.t2;
                ctx.start(TimerKind::E, self.interval);
            }
            (State::Trying | State::Proceeding, TimerKind::F) => {
                ctx.stop_all();
                ctx.emit(TxEvent::Timeout { tx: ctx.id });
                self.state = State::Terminated;
            }
            (State::Completed, TimerKind::K) => {
                self.state = State::Terminated;
            }
            _ => {}
        }
    }

    /// RFC 3261 §17.1.2.2 (Figure 6): a transport error in Trying or Proceeding
    /// ends the transaction.
    pub(crate) fn on_transport_error(&mut self, ctx: &mut Ctx<'_>) {
        if matches!(self.state, State::Trying | State::Proceeding) {
            ctx.stop_all();
            ctx.emit(TxEvent::TransportError { tx: ctx.id });
            self.state = State::Terminated;
        }
    }
}
