//! [`WebRtcTransport`]: the wire side of one WebRTC leg, a str0m [`Rtc`] in ICE-lite and RTP
//! mode driven through its direct API. It turns datagrams into plain RTP packets and plain
//! RTP packets into datagrams; the session around it never sees STUN, DTLS or SRTP.
//!
//! States: created (certificate and ICE credentials known, no `Rtc` yet) → configured (the
//! `Rtc` exists with the negotiated payload types, remote credentials, fingerprint and DTLS
//! role; it answers binding requests) → connected (ICE nominated a pair and DTLS finished:
//! SRTP keys exist, media flows) → closed (DTLS closed or the fingerprint did not match).

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::time::Instant;

use sb_media_codec::CodecKind;
use str0m::config::DtlsCert;
use str0m::format::{Codec as RtcCodec, FormatParams};
use str0m::media::{Frequency, MediaKind, Mid};
use str0m::net::{DatagramRecv, Protocol, Receive};
use str0m::rtp::{Extension, RtpWrite, SeqNo, Ssrc};
use str0m::{Candidate, Event, IceConnectionState, IceCreds, Input, Output, Rtc, RtcError};

use crate::plan::{Codec, LegPlan};
use crate::rtp::{HEADER_LEN, RtpHeader, write_header};
use crate::webrtc::{IceCredentials, WebRtcRemote};

/// What the transport produced for the session.
#[derive(Debug)]
pub(crate) enum Inbound {
    /// A datagram to send from the leg's socket.
    Transmit {
        /// Destination.
        to: SocketAddr,
        /// The datagram.
        data: Vec<u8>,
    },
    /// A plain RTP packet the browser sent (12-byte header, payload), from `from`.
    Rtp {
        /// The browser's address.
        from: SocketAddr,
        /// The packet.
        data: Vec<u8>,
    },
    /// ICE and DTLS are up: media can flow.
    Connected,
    /// The connection ended (DTLS closed, ICE failed or the fingerprint did not match).
    Closed,
}

/// The wire side of one WebRTC leg. See the module docs.
#[derive(Debug)]
pub(crate) struct WebRtcTransport {
    local: SocketAddr,
    ice: IceCredentials,
    ssrc: u32,
    cert: Option<DtlsCert>,
    rtc: Option<Box<Rtc>>,
    remote: Option<WebRtcRemote>,
    /// Extended sequence number of the last packet sent (RFC 3711 §3.3.1).
    tx_seq: Option<u64>,
    peer: Option<SocketAddr>,
    /// DTLS finished (str0m's `Connected`).
    connected: bool,
    /// ICE has a nominated pair that is alive.
    ice_up: bool,
    closed: bool,
    timeout: Option<Instant>,
    /// Datagrams str0m rejected (not STUN/DTLS/RTP/RTCP, failed authentication).
    pub(crate) rejected: u64,
}

/// str0m's description of a codec the engine negotiated.
fn rtc_codec(codec: &Codec) -> Option<(RtcCodec, u32, Option<u8>)> {
    match codec {
        Codec::Known(CodecKind::Pcmu) => Some((RtcCodec::PCMU, 8000, None)),
        Codec::Known(CodecKind::Pcma) => Some((RtcCodec::PCMA, 8000, None)),
        Codec::Known(CodecKind::G722) => Some((RtcCodec::G722, 8000, None)),
        Codec::Known(CodecKind::Opus) => Some((RtcCodec::Opus, 48000, Some(2))),
        Codec::Other { .. } => None,
    }
}

fn frequency(hz: u32) -> Frequency {
    Frequency::from_nonzero(NonZeroU32::new(hz).unwrap_or(NonZeroU32::MIN))
}

impl WebRtcTransport {
    /// A transport on the leg's socket `local` (the address advertised in SDP).
    pub(crate) fn new(
        local: SocketAddr,
        ice: IceCredentials,
        cert: DtlsCert,
        ssrc: u32,
    ) -> WebRtcTransport {
        WebRtcTransport {
            local,
            ice,
            ssrc,
            cert: Some(cert),
            rtc: None,
            remote: None,
            tx_seq: None,
            peer: None,
            connected: false,
            ice_up: false,
            closed: false,
            timeout: None,
            rejected: 0,
        }
    }

    /// Whether ICE and DTLS are up.
    pub(crate) fn is_connected(&self) -> bool {
        self.connected && self.ice_up && !self.closed
    }

    /// The browser's address once connected.
    pub(crate) fn peer(&self) -> Option<SocketAddr> {
        self.peer.filter(|_| self.is_connected())
    }

    /// When [`WebRtcTransport::handle_timeout`] is due.
    pub(crate) fn timeout(&self) -> Option<Instant> {
        self.timeout.filter(|_| !self.closed)
    }

    /// Applies negotiation. The first call creates the `Rtc` with the plan's payload types
    /// and starts DTLS in the negotiated role; later calls (re-offers) keep the connection:
    /// str0m cannot change payload types or the DTLS role of a running connection, so those
    /// stay as first negotiated. ICE credentials do change (an ICE restart): the browser's
    /// checks then carry the new ones, and the running DTLS association carries on over
    /// whichever pair the browser nominates next.
    pub(crate) fn configure(
        &mut self,
        now: Instant,
        plan: &LegPlan,
        remote: &WebRtcRemote,
        out: &mut Vec<Inbound>,
    ) -> Result<(), RtcError> {
        if let Some(rtc) = self.rtc.as_mut() {
            let mut api = rtc.direct_api();
            if remote.local_ice != self.ice {
                api.set_local_ice_credentials(IceCreds {
                    ufrag: remote.local_ice.ufrag().to_string(),
                    pass: remote.local_ice.pwd().to_string(),
                });
                self.ice = remote.local_ice.clone();
            }
            if self.remote.as_ref().is_none_or(|r| r.ice != remote.ice) {
                api.set_remote_ice_credentials(IceCreds {
                    ufrag: remote.ice.ufrag().to_string(),
                    pass: remote.ice.pwd().to_string(),
                });
            }
            self.remote = Some(remote.clone());
            return Ok(());
        }
        self.ice = remote.local_ice.clone();
        let Some(cert) = self.cert.take() else {
            return Ok(());
        };
        let mut config = Rtc::builder()
            .set_ice_lite(true)
            .set_rtp_mode(true)
            .set_stats_interval(None)
            .set_dtls_cert(cert)
            .set_local_ice_credentials(IceCreds {
                ufrag: self.ice.ufrag().to_string(),
                pass: self.ice.pwd().to_string(),
            })
            .clear_codecs()
            .clear_extension_map();
        if let Some(id) = remote.mid_extension {
            config = config.set_extension(id, Extension::RtpMid);
        }
        let codecs = config.codec_config();
        let send_only = plan
            .send
            .iter()
            .filter(|s| plan.receive.iter().all(|r| r.pt != s.pt));
        for f in plan.receive.iter().chain(send_only) {
            if let Some((codec, clock, channels)) = rtc_codec(&f.codec) {
                let format = FormatParams {
                    use_inband_fec: (codec == RtcCodec::Opus).then_some(true),
                    ..FormatParams::default()
                };
                codecs.add_config(f.pt.into(), None, codec, frequency(clock), channels, format);
            }
        }
        if let Some(te) = plan.telephone_event {
            let format = FormatParams::default();
            codecs.add_config(
                te.pt.into(),
                None,
                RtcCodec::Tele,
                frequency(te.clock_rate),
                None,
                format,
            );
        }
        let mut rtc = Box::new(config.build(now));
        if let Ok(host) = Candidate::host(self.local, "udp") {
            rtc.add_local_candidate(host);
        }
        let mid: Mid = remote.mid.as_str().into();
        let mut api = rtc.direct_api();
        api.set_ice_controlling(false);
        api.set_remote_ice_credentials(IceCreds {
            ufrag: remote.ice.ufrag().to_string(),
            pass: remote.ice.pwd().to_string(),
        });
        api.set_remote_fingerprint(str0m::config::Fingerprint {
            hash_func: remote.fingerprint.hash.to_string(),
            bytes: remote.fingerprint.bytes.clone(),
        });
        api.declare_media(mid, MediaKind::Audio);
        api.declare_stream_tx(Ssrc::from(self.ssrc), None, mid, None);
        for &ssrc in &remote.ssrcs {
            api.expect_stream_rx(Ssrc::from(ssrc), None, mid, None);
        }
        api.start_dtls(remote.role == crate::webrtc::DtlsRole::Client)?;
        self.rtc = Some(rtc);
        self.remote = Some(remote.clone());
        self.drain(now, None, out);
        Ok(())
    }

    /// A datagram arrived on the leg's socket from `from`.
    pub(crate) fn handle_datagram(
        &mut self,
        now: Instant,
        from: SocketAddr,
        data: &[u8],
        out: &mut Vec<Inbound>,
    ) {
        let Some(rtc) = self.rtc.as_mut() else {
            self.rejected += 1;
            return;
        };
        let Ok(contents) = DatagramRecv::try_from(data) else {
            self.rejected += 1;
            return;
        };
        let input = Input::Receive(
            now,
            Receive {
                proto: Protocol::Udp,
                source: from,
                destination: self.local,
                contents,
            },
        );
        if !rtc.accepts(&input) || rtc.handle_input(input).is_err() {
            self.rejected += 1;
        }
        self.drain(now, Some(from), out);
    }

    /// Time passed.
    pub(crate) fn handle_timeout(&mut self, now: Instant, out: &mut Vec<Inbound>) {
        if let Some(rtc) = self.rtc.as_mut()
            && rtc.handle_input(Input::Timeout(now)).is_err()
        {
            self.rejected += 1;
        }
        self.drain(now, None, out);
    }

    /// Sends a plain RTP packet the session stamped (12-byte header written by
    /// [`write_header`], payload after it): SRTP-protected by str0m. `false` when the leg is
    /// not connected yet (the packet is dropped, as on a leg with no address).
    pub(crate) fn send_rtp(&mut self, now: Instant, packet: &[u8], out: &mut Vec<Inbound>) -> bool {
        if !self.is_connected() {
            return false;
        }
        let Ok(header) = RtpHeader::parse(packet) else {
            return false;
        };
        let Some(rtc) = self.rtc.as_mut() else {
            return false;
        };
        let seq = match self.tx_seq {
            None => u64::from(header.seq),
            Some(prev) => {
                let delta = header.seq.wrapping_sub(prev as u16) as i16;
                prev.saturating_add_signed(i64::from(delta))
            }
        };
        self.tx_seq = Some(self.tx_seq.map_or(seq, |p| p.max(seq)));
        let mut api = rtc.direct_api();
        let Some(stream) = api.stream_tx(&Ssrc::from(self.ssrc)) else {
            return false;
        };
        let payload = &packet[header.header_len..];
        let write = RtpWrite::new(header.pt.into(), SeqNo::from(seq), header.ts, now, payload)
            .marker(header.marker);
        stream.write_rtp(write);
        self.drain(now, None, out);
        true
    }

    /// Collects what str0m has to say; `from` is the source of the datagram just handled.
    fn drain(&mut self, now: Instant, from: Option<SocketAddr>, out: &mut Vec<Inbound>) {
        let Some(rtc) = self.rtc.as_mut() else {
            return;
        };
        loop {
            match rtc.poll_output() {
                Ok(Output::Timeout(at)) => {
                    self.timeout = Some(at.max(now));
                    break;
                }
                Ok(Output::Transmit(t)) => {
                    // str0m sends on the selected pair: its destination is the browser.
                    self.peer = Some(t.destination);
                    out.push(Inbound::Transmit {
                        to: t.destination,
                        data: t.contents.into(),
                    });
                }
                Ok(Output::Event(event)) => match event {
                    Event::Connected => {
                        self.connected = true;
                        out.push(Inbound::Connected);
                    }
                    Event::IceConnectionStateChange(state) => {
                        self.ice_up = matches!(
                            state,
                            IceConnectionState::Connected | IceConnectionState::Completed
                        );
                    }
                    Event::Closed if !self.closed => {
                        self.closed = true;
                        out.push(Inbound::Closed);
                    }
                    Event::RtpPacket(p) => {
                        let mut data = Vec::with_capacity(HEADER_LEN + p.payload.len());
                        data.resize(HEADER_LEN, 0);
                        write_header(
                            &mut data,
                            p.header.marker,
                            *p.header.payload_type,
                            p.header.sequence_number,
                            p.header.timestamp,
                            *p.header.ssrc,
                        );
                        data.extend_from_slice(&p.payload);
                        let from = from.or(self.peer).unwrap_or(self.local);
                        out.push(Inbound::Rtp { from, data });
                    }
                    _ => {}
                },
                Err(_) => {
                    // A broken connection (fingerprint mismatch, DTLS failure).
                    if !self.closed {
                        self.closed = true;
                        out.push(Inbound::Closed);
                    }
                    self.timeout = None;
                    break;
                }
            }
            if !rtc.is_alive() && !self.closed {
                self.closed = true;
                out.push(Inbound::Closed);
            }
        }
    }
}
