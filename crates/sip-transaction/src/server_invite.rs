//! The INVITE server transaction (RFC 3261 §17.2.1, with the Accepted state and
//! transport-error handling of RFC 6026 §7.1 and §8.5–§8.7).
//!
//! ```text
//! Proceeding ──1xx from TU: send; INVITE retransmission: resend last 1xx
//!   ├─2xx from TU: send ──► Accepted ──2xx from TU: send; INVITE: absorb;
//!   │                         ACK: to TU; L ──► Terminated
//!   └─300-699 from TU: send ──► Completed ──G: resend, G = min(2·G, T2);
//!                                 INVITE: resend final; H: Timeout ──► Terminated
//!                                 └─ACK──► Confirmed ──ACK: absorb; I ──► Terminated
//! ```
//!
//! The TU sends 100 Trying itself. A transport error is reported to the TU and
//! changes no state (RFC 6026 Figure 7).

use std::time::Duration;

use bytes::Bytes;
use sb_sip_message::{Request, Response};

use crate::ctx::Ctx;
use crate::error::TxError;
use crate::timer::TimerKind;
use crate::types::{TxEvent, TxState};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Proceeding,
    Completed,
    Accepted,
    Confirmed,
    Terminated,
}

/// What to do with an ACK that matched the transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AckDisposition {
    /// The ACK for our non-2xx, or a retransmission of it.
    Absorbed,
    /// Not ours to absorb (RFC 6026 §7.1: ACKs in Accepted go to the TU).
    ToTu,
}

/// One INVITE server transaction.
#[derive(Debug)]
pub(crate) struct ServerInvite {
    state: State,
    /// The INVITE, until a final response is sent.
    request: Option<Box<Request>>,
    /// Proceeding: the last provisional response; Completed: the final response.
    last: Option<Bytes>,
    /// The current Timer G interval.
    interval: Duration,
}

impl ServerInvite {
    /// A new transaction in Proceeding; no timer runs until the TU answers.
    pub(crate) fn new(request: Request) -> Self {
        ServerInvite {
            state: State::Proceeding,
            request: Some(Box::new(request)),
            last: None,
            interval: Duration::ZERO,
        }
    }

    pub(crate) fn state(&self) -> TxState {
        match self.state {
            State::Proceeding => TxState::Proceeding,
            State::Completed => TxState::Completed,
            State::Accepted => TxState::Accepted,
            State::Confirmed => TxState::Confirmed,
            State::Terminated => TxState::Terminated,
        }
    }

    pub(crate) fn request(&self) -> Option<&Request> {
        self.request.as_deref()
    }

    /// A retransmission of the INVITE.
    pub(crate) fn on_retransmission(&mut self, ctx: &mut Ctx<'_>) {
        match self.state {
            State::Proceeding | State::Completed => {
                if let Some(last) = &self.last {
                    ctx.send(last);
                }
            }
            // RFC 6026 §8.7: absorbed in Accepted; Confirmed absorbs too.
            State::Accepted | State::Confirmed | State::Terminated => {}
        }
    }

    pub(crate) fn on_ack(&mut self, ctx: &mut Ctx<'_>) -> AckDisposition {
        match self.state {
            State::Completed => {
                ctx.stop_all();
                let i = ctx.duration(TimerKind::I);
                if i.is_zero() {
                    self.state = State::Terminated;
                } else {
                    ctx.start(TimerKind::I, i);
                    self.state = State::Confirmed;
                }
                AckDisposition::Absorbed
            }
            State::Confirmed | State::Terminated => AckDisposition::Absorbed,
            // Accepted: the ACK for the 2xx belongs to the TU (RFC 6026 §7.1).
            // Proceeding: an ACK before any final response is not ours either.
            State::Accepted | State::Proceeding => AckDisposition::ToTu,
        }
    }

    /// The TU sends `response`.
    pub(crate) fn send_response(
        &mut self,
        ctx: &mut Ctx<'_>,
        response: &Response,
    ) -> Result<(), TxError> {
        let status = response.status;
        match self.state {
            State::Proceeding if status.is_provisional() => {
                let bytes = response.to_bytes();
                ctx.send(&bytes);
                self.last = Some(bytes);
            }
            State::Proceeding if status.is_success() => {
                ctx.send(&response.to_bytes());
                self.last = None;
                self.request = None;
                ctx.start(TimerKind::L, ctx.duration(TimerKind::L));
                self.state = State::Accepted;
            }
            State::Proceeding => {
                let bytes = response.to_bytes();
                ctx.send(&bytes);
                self.last = Some(bytes);
                self.request = None;
                self.interval = ctx.config.t1;
                if !ctx.reliable() {
                    ctx.start(TimerKind::G, self.interval);
                }
                ctx.start(TimerKind::H, ctx.duration(TimerKind::H));
                self.state = State::Completed;
            }
            // The TU retransmits its 2xx itself (RFC 3261 §13.3.1.4, RFC 6026 §8.7).
            State::Accepted if status.is_success() => ctx.send(&response.to_bytes()),
            _ => {
                return Err(TxError::InvalidState {
                    tx: ctx.id,
                    state: self.state(),
                    status,
                });
            }
        }
        Ok(())
    }

    pub(crate) fn on_timer(&mut self, ctx: &mut Ctx<'_>, kind: TimerKind) {
        match (self.state, kind) {
            (State::Completed, TimerKind::G) => {
                if let Some(last) = &self.last {
                    ctx.send(last);
                }
                self.interval = self.interval.saturating_mul(2).min(ctx.config.t2);
                ctx.start(TimerKind::G, self.interval);
            }
            (State::Completed, TimerKind::H) => {
                ctx.stop_all();
                ctx.emit(TxEvent::Timeout { tx: ctx.id });
                self.state = State::Terminated;
            }
            (State::Confirmed, TimerKind::I) | (State::Accepted, TimerKind::L) => {
                ctx.stop_all();
                self.state = State::Terminated;
            }
            _ => {}
        }
    }

    /// RFC 6026 Figure 7: the TU is told, the state does not change (the client
    /// retransmits, Timer H or L still ends the transaction).
    pub(crate) fn on_transport_error(&mut self, ctx: &mut Ctx<'_>) {
        if matches!(
            self.state,
            State::Proceeding | State::Completed | State::Accepted
        ) {
            ctx.emit(TxEvent::TransportError { tx: ctx.id });
        }
    }
}
