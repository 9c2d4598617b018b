//! Live transaction counts and drop counters.

use crate::types::{TxKind, TxState};

/// Live INVITE client transactions per state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClientInviteCounts {
    /// Calling.
    pub calling: usize,
    /// Proceeding.
    pub proceeding: usize,
    /// Accepted (RFC 6026).
    pub accepted: usize,
    /// Completed.
    pub completed: usize,
}

/// Live INVITE server transactions per state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServerInviteCounts {
    /// Proceeding.
    pub proceeding: usize,
    /// Completed.
    pub completed: usize,
    /// Accepted (RFC 6026).
    pub accepted: usize,
    /// Confirmed.
    pub confirmed: usize,
}

/// Live non-INVITE (client or server) transactions per state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NonInviteCounts {
    /// Trying.
    pub trying: usize,
    /// Proceeding.
    pub proceeding: usize,
    /// Completed.
    pub completed: usize,
}

/// A snapshot of the transaction layer: live transactions per machine and state,
/// and how many inbound messages were dropped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TxStats {
    /// INVITE client transactions.
    pub client_invite: ClientInviteCounts,
    /// Non-INVITE client transactions.
    pub client_non_invite: NonInviteCounts,
    /// INVITE server transactions.
    pub server_invite: ServerInviteCounts,
    /// Non-INVITE server transactions.
    pub server_non_invite: NonInviteCounts,
    /// Requests dropped because they could not be matched: no parseable top Via,
    /// or (RFC 2543 requests without a magic-cookie branch) a missing From, To,
    /// Call-ID or CSeq.
    pub dropped_requests: u64,
    /// Responses dropped: no parseable top Via or CSeq, or a Via count that
    /// differs from the request's (RFC 3261 §8.1.3.3, §18.1.2).
    pub dropped_responses: u64,
    /// Timer entries in the queue, cancelled ones not yet discarded included.
    pub queued_timers: usize,
}

impl TxStats {
    /// All live transactions.
    pub fn live(&self) -> usize {
        let ci = &self.client_invite;
        let si = &self.server_invite;
        let n = |c: &NonInviteCounts| c.trying + c.proceeding + c.completed;
        ci.calling
            + ci.proceeding
            + ci.accepted
            + ci.completed
            + si.proceeding
            + si.completed
            + si.accepted
            + si.confirmed
            + n(&self.client_non_invite)
            + n(&self.server_non_invite)
    }

    fn counter(&mut self, kind: TxKind, state: TxState) -> Option<&mut usize> {
        use TxState::*;
        Some(match (kind, state) {
            (_, Terminated) => return None,
            (TxKind::ClientInvite, Calling) => &mut self.client_invite.calling,
            (TxKind::ClientInvite, Proceeding) => &mut self.client_invite.proceeding,
            (TxKind::ClientInvite, Accepted) => &mut self.client_invite.accepted,
            (TxKind::ClientInvite, Completed) => &mut self.client_invite.completed,
            (TxKind::ServerInvite, Proceeding) => &mut self.server_invite.proceeding,
            (TxKind::ServerInvite, Completed) => &mut self.server_invite.completed,
            (TxKind::ServerInvite, Accepted) => &mut self.server_invite.accepted,
            (TxKind::ServerInvite, Confirmed) => &mut self.server_invite.confirmed,
            (TxKind::ClientNonInvite, Trying) => &mut self.client_non_invite.trying,
            (TxKind::ClientNonInvite, Proceeding) => &mut self.client_non_invite.proceeding,
            (TxKind::ClientNonInvite, Completed) => &mut self.client_non_invite.completed,
            (TxKind::ServerNonInvite, Trying) => &mut self.server_non_invite.trying,
            (TxKind::ServerNonInvite, Proceeding) => &mut self.server_non_invite.proceeding,
            (TxKind::ServerNonInvite, Completed) => &mut self.server_non_invite.completed,
            _ => unreachable!("{kind} transactions have no {state} state"),
        })
    }

    /// Records a transaction of `kind` moving from `from` (`None`: created) to `to`.
    pub(crate) fn transition(&mut self, kind: TxKind, from: Option<TxState>, to: TxState) {
        if from == Some(to) {
            return;
        }
        if let Some(c) = from.and_then(|f| self.counter(kind, f)) {
            *c -= 1;
        }
        if let Some(c) = self.counter(kind, to) {
            *c += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transitions_move_counts() {
        let mut s = TxStats::default();
        s.transition(TxKind::ServerNonInvite, None, TxState::Trying);
        s.transition(TxKind::ClientInvite, None, TxState::Calling);
        assert_eq!(s.live(), 2);
        s.transition(
            TxKind::ServerNonInvite,
            Some(TxState::Trying),
            TxState::Completed,
        );
        assert_eq!(s.server_non_invite.trying, 0);
        assert_eq!(s.server_non_invite.completed, 1);
        s.transition(
            TxKind::ServerNonInvite,
            Some(TxState::Completed),
            TxState::Terminated,
        );
        s.transition(
            TxKind::ClientInvite,
            Some(TxState::Calling),
            TxState::Terminated,
        );
        assert_eq!(s.live(), 0);
    }
}
