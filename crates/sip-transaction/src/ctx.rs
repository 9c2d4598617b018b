//! What a state machine may do while it handles one input: send, tell the TU,
//! start and stop its timers.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::Bytes;
use sb_sip_message::Destination;

use crate::timer::{TimerConfig, TimerKind, TimerQueue, TimerSlots};
use crate::types::{Transmit, TxEvent, TxId};

/// The context of one input to one transaction.
pub(crate) struct Ctx<'a> {
    /// The time of the input.
    pub(crate) now: Instant,
    /// The transaction.
    pub(crate) id: TxId,
    /// Where its messages go.
    pub(crate) dest: Destination,
    /// Timer base values.
    pub(crate) config: &'a TimerConfig,
    pub(crate) slots: &'a mut TimerSlots,
    pub(crate) timers: &'a mut TimerQueue,
    pub(crate) transmits: &'a mut VecDeque<Transmit>,
    pub(crate) events: &'a mut VecDeque<TxEvent>,
}

impl Ctx<'_> {
    /// Whether the transport retransmits for us (no timers A, E, G; zero D, I, J, K).
    pub(crate) fn reliable(&self) -> bool {
        self.dest.transport.is_reliable()
    }

    /// Passes `payload` to the transport.
    pub(crate) fn send(&mut self, payload: &Bytes) {
        self.transmits.push_back(Transmit {
            dest: self.dest,
            payload: payload.clone(),
        });
    }

    /// Tells the TU.
    pub(crate) fn emit(&mut self, event: TxEvent) {
        self.events.push_back(event);
    }

    /// Starts `kind` to fire `after` from now, replacing the timer running in its
    /// slot. A deadline beyond what `Instant` can represent (absurd timer
    /// values) is never reached: the slot is just cleared.
    pub(crate) fn start(&mut self, kind: TimerKind, after: Duration) {
        match self.now.checked_add(after) {
            Some(at) => {
                self.slots.set(kind, at);
                self.timers.push(at, self.id, kind);
            }
            None => self.slots.clear_kind(kind),
        }
    }

    /// The configured duration of `kind` on this transaction's transport.
    pub(crate) fn duration(&self, kind: TimerKind) -> Duration {
        self.config.duration(kind, self.reliable())
    }

    /// Stops every timer.
    pub(crate) fn stop_all(&mut self) {
        self.slots.clear();
    }
}
