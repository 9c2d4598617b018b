//! WebRTC legs end to end, in process: a str0m peer in full ICE mode plays the browser, a
//! [`Negotiator`] and a [`MediaSession`] play the gateway, and a plain-RTP phone sits on the
//! other leg. Datagrams are shuttled between them on a simulated clock; nothing sleeps.

mod harness;
mod media;

use std::net::SocketAddr;

use sb_media_engine::{LegId, LocalPorts};

/// The phone's leg.
pub(crate) const A: LegId = LegId(1);
/// The browser's leg.
pub(crate) const B: LegId = LegId(2);

/// The phone's RTP address.
pub(crate) fn phone() -> SocketAddr {
    "192.0.2.10:4000".parse().expect("an address")
}

/// The browser's host address (what its binding requests come from).
pub(crate) fn browser() -> SocketAddr {
    "192.0.2.30:50000".parse().expect("an address")
}

/// The gateway's sockets of a leg.
pub(crate) fn ports(leg: LegId) -> LocalPorts {
    let base = if leg == A { 20000 } else { 20002 };
    LocalPorts {
        rtp: SocketAddr::new([192, 0, 2, 1].into(), base),
        rtcp: SocketAddr::new([192, 0, 2, 1].into(), base + 1),
    }
}
