//! The non-INVITE server transaction (RFC 3261 §17.2.2).
//!
//! ```text
//! Trying ──request retransmission: absorb
//!   ├─1xx from TU: send ──► Proceeding ──1xx from TU: send; retransmission: resend last 1xx
//!   └─200-699 from TU (either state): send ──► Completed ──retransmission: resend final;
//!                                               J ──► Terminated
//! Proceeding/Completed ──transport error: TransportError ──► Terminated
//! ```

use bytes::Bytes;
use sb_sip_message::Response;

use crate::ctx::Ctx;
use crate::error::TxError;
use crate::timer::TimerKind;
use crate::types::{TxEvent, TxState};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Trying,
    Proceeding,
    Completed,
    Terminated,
}

/// One non-INVITE server transaction. It keeps no copy of the request (the TU
/// has it; matching uses the key): only the serialized last response, which
/// retransmissions get.
#[derive(Debug)]
pub(crate) struct ServerNonInvite {
    state: State,
    /// The last response sent.
    last: Option<Bytes>,
}

impl ServerNonInvite {
    /// A new transaction in Trying; no timer runs until the TU answers.
    pub(crate) fn new() -> Self {
        ServerNonInvite {
            state: State::Trying,
            last: None,
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

    /// A retransmission of the request: absorbed in Trying, answered with the
    /// last response otherwise.
    pub(crate) fn on_retransmission(&mut self, ctx: &mut Ctx<'_>) {
        if let (State::Proceeding | State::Completed, Some(last)) = (self.state, &self.last) {
            ctx.send(last);
        }
    }

    /// The TU sends `response`.
    pub(crate) fn send_response(
        &mut self,
        ctx: &mut Ctx<'_>,
        response: &Response,
    ) -> Result<(), TxError> {
        if !matches!(self.state, State::Trying | State::Proceeding) {
            return Err(TxError::InvalidState {
                tx: ctx.id,
                state: self.state(),
                status: response.status,
            });
        }
        let bytes = response.to_bytes();
        ctx.send(&bytes);
        self.last = Some(bytes);
        if response.status.is_provisional() {
            self.state = State::Proceeding;
            return Ok(());
        }
        let j = ctx.duration(TimerKind::J);
        if j.is_zero() {
            self.state = State::Terminated;
        } else {
            ctx.start(TimerKind::J, j);
            self.state = State::Completed;
        }
        Ok(())
    }

    pub(crate) fn on_timer(&mut self, _ctx: &mut Ctx<'_>, kind: TimerKind) {
        if (self.state, kind) == (State::Completed, TimerKind::J) {
            self.state = State::Terminated;
        }
    }

    /// RFC 3261 §17.2.2 (Figure 8): a transport error in Proceeding or Completed
    /// ends the transaction.
    pub(crate) fn on_transport_error(&mut self, ctx: &mut Ctx<'_>) {
        if matches!(self.state, State::Proceeding | State::Completed) {
            ctx.stop_all();
            ctx.emit(TxEvent::TransportError { tx: ctx.id });
            self.state = State::Terminated;
        }
    }
}
