//! The four machines behind one enum, so the layer can dispatch to any of them.

use sb_sip_message::Request;

use crate::client_invite::ClientInvite;
use crate::client_non_invite::ClientNonInvite;
use crate::ctx::Ctx;
use crate::server_invite::ServerInvite;
use crate::server_non_invite::ServerNonInvite;
use crate::timer::TimerKind;
use crate::types::{TxKind, TxState};

/// The four machines.
#[derive(Debug)]
#[expect(
    clippy::enum_variant_names,
    reason = "the RFC 3261 names of the machines all end in Invite"
)]
pub(crate) enum Machine {
    ClientInvite(ClientInvite),
    ClientNonInvite(ClientNonInvite),
    ServerInvite(ServerInvite),
    ServerNonInvite(ServerNonInvite),
}

impl Machine {
    pub(super) fn kind(&self) -> TxKind {
        match self {
            Machine::ClientInvite(_) => TxKind::ClientInvite,
            Machine::ClientNonInvite(_) => TxKind::ClientNonInvite,
            Machine::ServerInvite(_) => TxKind::ServerInvite,
            Machine::ServerNonInvite(_) => TxKind::ServerNonInvite,
        }
    }

    pub(super) fn state(&self) -> TxState {
        match self {
            Machine::ClientInvite(m) => m.state(),
            Machine::ClientNonInvite(m) => m.state(),
            Machine::ServerInvite(m) => m.state(),
            Machine::ServerNonInvite(m) => m.state(),
        }
    }

    pub(super) fn request(&self) -> Option<&Request> {
        match self {
            Machine::ClientInvite(m) => Some(m.request()),
            Machine::ClientNonInvite(m) => Some(m.request()),
            Machine::ServerInvite(m) => m.request(),
            Machine::ServerNonInvite(_) => None,
        }
    }

    pub(super) fn on_timer(&mut self, ctx: &mut Ctx<'_>, kind: TimerKind) {
        match self {
            Machine::ClientInvite(m) => m.on_timer(ctx, kind),
            Machine::ClientNonInvite(m) => m.on_timer(ctx, kind),
            Machine::ServerInvite(m) => m.on_timer(ctx, kind),
            Machine::ServerNonInvite(m) => m.on_timer(ctx, kind),
        }
    }

    pub(super) fn on_transport_error(&mut self, ctx: &mut Ctx<'_>) {
        match self {
            Machine::ClientInvite(m) => m.on_transport_error(ctx),
            Machine::ClientNonInvite(m) => m.on_transport_error(ctx),
            Machine::ServerInvite(m) => m.on_transport_error(ctx),
            Machine::ServerNonInvite(m) => m.on_transport_error(ctx),
        }
    }
}
