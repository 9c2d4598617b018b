//! WebRTC legs inside a session: the leg's [`WebRtcTransport`] takes every datagram of the
//! leg's one socket and every RTP packet the session sends on it; what it decrypts comes back
//! into the same inbound path as a phone leg's plain RTP (relay, transcoding, DTMF).

use std::time::Instant;

use crate::error::EngineError;
use crate::plan::{LegId, LocalPorts};
use crate::session::{MediaEvent, MediaSession, SocketKind, Transmit};
use crate::webrtc::{
    IceCredentials, Inbound, WebRtcIdentity, WebRtcLocal, WebRtcRemote, WebRtcTransport,
};

impl MediaSession {
    /// Adds a WebRTC leg (a browser) on one bound UDP socket, `ports.rtp`, which carries
    /// STUN, DTLS, SRTP and SRTCP (RFC 5761, RFC 7983); `ports.rtcp` is not used. Answers
    /// what the SDP to the browser must announce: fresh ICE credentials from the session's
    /// seeded generator, the identity's fingerprint and the leg's SSRC.
    ///
    /// Adding a leg that exists replaces its transport (a new browser connection).
    pub fn add_webrtc_leg(
        &mut self,
        leg: LegId,
        ports: LocalPorts,
        identity: WebRtcIdentity,
    ) -> WebRtcLocal {
        self.add_leg(leg, ports);
        let ice = IceCredentials::random(&mut self.rng);
        let fingerprint = identity.fingerprint().clone();
        let i = self.index(leg).expect("the leg was added just above");
        let l = &mut self.legs[i];
        let ssrc = l.out.ssrc;
        l.webrtc = Some(Box::new(WebRtcTransport::new(
            ports.rtp,
            ice.clone(),
            identity.into_cert(),
            ssrc,
        )));
        l.webrtc_remote = None;
        WebRtcLocal {
            ice,
            fingerprint,
            ssrc,
            cname: String::from_utf8_lossy(&self.cname).into(),
        }
    }

    /// Gives a WebRTC leg what negotiation learnt of the browser. Together with
    /// [`MediaSession::configure`] (in either order) it starts the connection: binding
    /// requests are answered, and DTLS starts in `remote.role` once ICE connects.
    pub fn configure_webrtc(
        &mut self,
        now: Instant,
        leg: LegId,
        remote: WebRtcRemote,
    ) -> Result<(), EngineError> {
        let i = self.index_or_err(leg)?;
        if self.legs[i].webrtc.is_none() {
            return Err(EngineError::NotWebRtc { leg });
        }
        self.legs[i].webrtc_remote = Some(remote);
        self.start_webrtc(now, i)
    }

    /// Whether a WebRTC leg has ICE and DTLS up (`false` for any other leg).
    pub fn webrtc_connected(&self, leg: LegId) -> bool {
        self.index(leg)
            .and_then(|i| self.legs[i].webrtc.as_deref())
            .is_some_and(WebRtcTransport::is_connected)
    }

    /// Creates the leg's connection once both its plan and the browser's parameters are
    /// known.
    pub(super) fn start_webrtc(&mut self, now: Instant, i: usize) -> Result<(), EngineError> {
        let l = &mut self.legs[i];
        let (Some(transport), Some(plan), Some(remote)) =
            (l.webrtc.as_mut(), l.plan.as_ref(), l.webrtc_remote.as_ref())
        else {
            return Ok(());
        };
        let mut out = std::mem::take(&mut self.webrtc_out);
        let result = transport.configure(now, plan, remote, &mut out);
        self.webrtc_results(now, i, &mut out);
        self.webrtc_out = out;
        result.map_err(|e| EngineError::WebRtc {
            leg: self.legs[i].id,
            reason: e.to_string(),
        })
    }

    /// A datagram on a WebRTC leg's socket.
    pub(super) fn webrtc_datagram(
        &mut self,
        now: Instant,
        i: usize,
        from: std::net::SocketAddr,
        data: &[u8],
    ) {
        let Some(transport) = self.legs[i].webrtc.as_mut() else {
            return;
        };
        let mut out = std::mem::take(&mut self.webrtc_out);
        transport.handle_datagram(now, from, data, &mut out);
        self.webrtc_results(now, i, &mut out);
        self.webrtc_out = out;
    }

    /// A WebRTC leg's timer.
    pub(super) fn webrtc_timeout(&mut self, now: Instant, i: usize) {
        let Some(transport) = self.legs[i].webrtc.as_mut() else {
            return;
        };
        let mut out = std::mem::take(&mut self.webrtc_out);
        transport.handle_timeout(now, &mut out);
        self.webrtc_results(now, i, &mut out);
        self.webrtc_out = out;
    }

    /// Sends the stamped RTP packet in `buf` on WebRTC leg `t`; `false` when the leg is not
    /// connected.
    pub(super) fn webrtc_send(&mut self, now: Instant, t: usize, buf: &[u8]) -> bool {
        let Some(transport) = self.legs[t].webrtc.as_mut() else {
            return false;
        };
        let mut out = std::mem::take(&mut self.webrtc_out);
        let sent = transport.send_rtp(now, buf, &mut out);
        self.webrtc_results(now, t, &mut out);
        self.webrtc_out = out;
        sent
    }

    /// Acts on what leg `i`'s transport produced, leaving `out` empty.
    fn webrtc_results(&mut self, now: Instant, i: usize, out: &mut Vec<Inbound>) {
        let leg = self.legs[i].id;
        for result in out.drain(..) {
            match result {
                Inbound::Transmit { to, data } => self.transmits.push_back(Transmit {
                    leg,
                    socket: SocketKind::Rtp,
                    to,
                    data,
                }),
                Inbound::Rtp { from, data } => {
                    // Decrypted already: the phone-leg path without SRTP does the rest.
                    self.inbound_rtp(now, i, from, &data);
                    self.pool.put(data);
                }
                Inbound::Connected => self.events.push_back(MediaEvent::WebRtcConnected { leg }),
                Inbound::Closed => self.events.push_back(MediaEvent::WebRtcClosed { leg }),
            }
        }
    }
}
