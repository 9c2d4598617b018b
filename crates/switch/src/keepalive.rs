//! Keep-alives towards devices registered over UDP from behind NAT, so that
//! the NAT keeps the mapping that INVITEs to them travel through (in the
//! spirit of RFC 5626 §4.4, with the CRLF keep-alive of §3.5.1 sent as a
//! datagram). Off unless [`crate::CallPolicy::keepalive_interval`] is set;
//! then every interval one `CRLF CRLF` datagram goes to each distinct source
//! address of the UDP bindings that asked for it — `;ob` in their Contact URI
//! or a `reg-id` (RFC 5626 §4.2, §5.4) — or of every UDP binding with
//! [`crate::CallPolicy::keepalive_all_udp`].

use std::time::Instant;

use sb_sip_message::{Destination, Transport, Uri};

use crate::core::Switch;

impl Switch {
    /// Schedules the first round once a clock reading is known.
    pub(crate) fn arm_keepalives(&mut self, now: Instant) {
        if self.keepalive_at.is_none()
            && let Some(interval) = self.config.calls.keepalive_interval
        {
            self.keepalive_at = Some(now + interval);
        }
    }

    /// Sends a round of keep-alives when it is due.
    pub(crate) fn keepalives(&mut self, now: Instant) {
        let Some(interval) = self.config.calls.keepalive_interval else {
            return;
        };
        match self.keepalive_at {
            Some(at) if at <= now => {}
            Some(_) => return,
            None => {
                self.keepalive_at = Some(now + interval);
                return;
            }
        }
        let all = self.config.calls.keepalive_all_udp;
        let mut dests: Vec<Destination> = self
            .location
            .iter()
            .filter(|(_, b)| {
                b.peer.transport == Transport::Udp
                    && b.node.is_none()
                    && (all || b.reg_id.is_some() || asks_outbound(&b.uri))
            })
            .map(|(_, b)| Destination {
                transport: Transport::Udp,
                remote: b.peer.remote,
                flow: None,
                local: Some(b.peer.local),
            })
            .collect();
        dests.sort_unstable_by_key(|d| (d.remote, d.local));
        dests.dedup();
        for dest in dests {
            self.tx.send_keepalive(dest);
            self.stats.keepalives += 1;
        }
        self.keepalive_at = Some(now + interval);
    }
}

/// Whether a Contact URI carries `;ob` (RFC 5626 §5.4).
fn asks_outbound(uri: &Uri) -> bool {
    uri.as_sip().is_some_and(|u| u.params.contains("ob"))
}
