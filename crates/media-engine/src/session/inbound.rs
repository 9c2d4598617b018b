//! Datagrams from devices: RTP (validated, unprotected, latched, then relayed, transcoded or
//! turned into DTMF) and RTCP (terminated per leg: reports go into statistics).

use std::net::SocketAddr;
use std::time::Instant;

use crate::dtmf::{Detected, EventPayload, units_to_duration};
use crate::plan::LegId;
use crate::rtcp::parse_compound;
use crate::rtp::{self, HEADER_LEN, RtpHeader, payload_end, write_header};
use crate::session::leg::{InKind, Target};
use crate::session::{MediaEvent, MediaSession, SocketKind, Transmit};
use crate::stats::RemoteReport;
use crate::stream::Source;

/// The middle 32 bits of a 32.32 NTP timestamp (RFC 3550 §6.4.1 LSR).
pub(super) fn ntp_middle(ntp: u64) -> u32 {
    (ntp >> 16) as u32
}

impl MediaSession {
    /// A datagram arrived on one of `leg`'s sockets from `from`. On a WebRTC leg that is every
    /// datagram of its one socket: STUN, DTLS, SRTP and SRTCP.
    pub fn handle_packet(
        &mut self,
        now: Instant,
        leg: LegId,
        socket: SocketKind,
        from: SocketAddr,
        data: &[u8],
    ) {
        let Some(i) = self.index(leg) else {
            return;
        };
        if self.legs[i].webrtc.is_some() {
            // One socket for everything (RFC 7983); the transport sorts it out.
            return self.webrtc_datagram(now, i, from, data);
        }
        if socket == SocketKind::Rtcp || rtp::is_rtcp(data) {
            self.inbound_rtcp(now, i, socket, from, data);
        } else {
            self.inbound_rtp(now, i, from, data);
        }
    }

    /// The session's NTP-format clock: time since the session started (RFC 3550 §6.4.1
    /// allows elapsed time when the sender has no wallclock; LSR/DLSR round trips only need
    /// it to be steady).
    pub(super) fn ntp(&self, now: Instant) -> u64 {
        let d = now.saturating_duration_since(self.start);
        (d.as_secs() << 32) | ((u64::from(d.subsec_nanos()) << 32) / 1_000_000_000)
    }

    fn drop_packet(&mut self, i: usize, buf: Vec<u8>) {
        self.legs[i].counters.packets_dropped += 1;
        self.pool.put(buf);
    }

    pub(super) fn inbound_rtp(&mut self, now: Instant, i: usize, from: SocketAddr, data: &[u8]) {
        let Ok(header) = RtpHeader::parse(data) else {
            self.legs[i].counters.packets_dropped += 1;
            return;
        };
        let kind = self.legs[i].routes[usize::from(header.pt)];
        if kind == InKind::Unknown {
            self.legs[i].counters.packets_dropped += 1;
            return;
        }
        let mut buf = self.pool.take();
        buf.extend_from_slice(data);
        let leg = &mut self.legs[i];
        if let Some(ctx) = leg.srtp_in.as_mut()
            && ctx.unprotect_rtp(&mut buf).is_err()
        {
            leg.counters.srtp_auth_failures += 1;
            self.pool.put(buf);
            return;
        }
        let Ok(end) = payload_end(&header, &buf) else {
            return self.drop_packet(i, buf);
        };
        if !leg.rtp_latch.on_valid(now, from) {
            return self.drop_packet(i, buf);
        }
        leg.counters.packets_received += 1;
        leg.counters.bytes_received += (end - header.header_len) as u64;
        leg.last_rx = now;
        leg.timeout_fired = false;
        match kind {
            InKind::Audio { clock, .. } => {
                leg.rx
                    .on_packet(now, header.ssrc, header.seq, header.ts, clock, true);
            }
            InKind::Event { clock } => {
                leg.rx
                    .on_packet(now, header.ssrc, header.seq, header.ts, clock, false);
            }
            InKind::Unknown => {}
        }
        buf.truncate(end);
        let target = match leg.target {
            Target::None => None,
            Target::Echo => Some(i),
            Target::Peer(p) => self.index(p),
        };
        match kind {
            InKind::Event { clock } => {
                self.detect_dtmf(i, &header, clock, &buf);
                match target {
                    Some(t) => self.forward_event(now, i, t, &header, clock, buf),
                    None => self.drop_packet(i, buf),
                }
            }
            InKind::Audio {
                codec, relay_pt, ..
            } => {
                let Some(t) = target.filter(|&t| self.legs[t].tone.is_none()) else {
                    return self.drop_packet(i, buf);
                };
                if let Some(pt) = relay_pt {
                    let source = Source::Relay {
                        leg: self.legs[i].id,
                        ssrc: header.ssrc,
                    };
                    self.relay(now, t, &header, source, pt, buf);
                } else if let (Some(codec), Some(tc)) = (codec, self.legs[i].transcoder.as_mut()) {
                    let h = (header.seq, header.ts);
                    let pushed = tc.push(now, codec, header.ssrc, h, &buf[header.header_len..]);
                    self.pool.put(buf);
                    if pushed.is_err() {
                        self.legs[i].counters.packets_dropped += 1;
                    }
                    self.ensure_tick(now);
                } else {
                    self.drop_packet(i, buf);
                }
            }
            InKind::Unknown => self.drop_packet(i, buf),
        }
    }

    /// Rewrites the packet in `buf` (header of `header`, payload up to its end) for leg `t`
    /// with payload type `pt`, and queues it.
    fn relay(
        &mut self,
        now: Instant,
        t: usize,
        header: &RtpHeader,
        source: Source,
        pt: u8,
        mut buf: Vec<u8>,
    ) {
        if self.legs[t].rtp_destination().is_none() {
            // On hold or not reachable yet: nothing to do with it.
            return self.pool.put(buf);
        }
        let to = &mut self.legs[t];
        // Relayed formats share the clock of the leg's send format.
        let clock = to.send_clock();
        let stamp = to
            .out
            .relay(now, source, header.seq, header.ts, header.marker, clock);
        if header.header_len != HEADER_LEN {
            buf.copy_within(header.header_len.., HEADER_LEN);
            buf.truncate(buf.len() - (header.header_len - HEADER_LEN));
        }
        write_header(&mut buf, stamp.marker, pt, stamp.seq, stamp.ts, to.out.ssrc);
        self.send_rtp(now, t, buf);
    }

    /// Protects (when SRTP) and queues an RTP packet of leg `t`, counting it.
    pub(super) fn send_rtp(&mut self, now: Instant, t: usize, mut buf: Vec<u8>) {
        let leg = &mut self.legs[t];
        let Some(to) = leg.rtp_destination() else {
            return self.pool.put(buf);
        };
        let payload = buf.len() - HEADER_LEN;
        if leg.webrtc.is_some() {
            // str0m protects and sends it; the stream's counters are the session's.
            if self.webrtc_send(now, t, &buf) {
                let leg = &mut self.legs[t];
                leg.out.count(payload);
                leg.counters.packets_sent += 1;
                leg.counters.bytes_sent += payload as u64;
            }
            return self.pool.put(buf);
        }
        if let Some(ctx) = leg.srtp_out.as_mut()
            && ctx.protect_rtp(&mut buf).is_err()
        {
            return self.pool.put(buf);
        }
        leg.out.count(payload);
        leg.counters.packets_sent += 1;
        leg.counters.bytes_sent += payload as u64;
        self.transmits.push_back(Transmit {
            leg: leg.id,
            socket: SocketKind::Rtp,
            to,
            data: buf,
        });
    }

    fn detect_dtmf(&mut self, i: usize, header: &RtpHeader, clock: u32, buf: &[u8]) {
        let Ok(event) = EventPayload::parse(&buf[header.header_len..]) else {
            return;
        };
        let leg = &mut self.legs[i];
        let (earlier, now) = leg.dtmf_rx.on_packet(header.ts, event);
        for Detected { digit, units } in earlier.into_iter().chain(now) {
            leg.counters.dtmf_events += 1;
            self.events.push_back(MediaEvent::DtmfReceived {
                leg: leg.id,
                digit,
                duration: units_to_duration(u32::from(units), clock),
            });
        }
    }

    /// Forwards a telephone-event packet from leg `i` to leg `t` on `t`'s telephone-event
    /// payload type. Relayed like audio when the clocks match and the audio is relayed;
    /// otherwise the event gets `t`'s timeline (its start timestamp taken from `t`'s stream
    /// position) and its duration converted between the clocks.
    fn forward_event(
        &mut self,
        now: Instant,
        i: usize,
        t: usize,
        header: &RtpHeader,
        clock: u32,
        mut buf: Vec<u8>,
    ) {
        let Some(te) = self.legs[t].plan.as_ref().and_then(|p| p.telephone_event) else {
            return self.drop_packet(i, buf);
        };
        if self.legs[t].tone.is_some() || buf.len() < header.header_len + 4 {
            return self.drop_packet(i, buf);
        }
        let transcoded = i != t
            && self.legs[i]
                .transcoder
                .as_ref()
                .is_some_and(|tc| tc.is_active());
        if te.clock_rate == clock && !transcoded {
            let source = Source::Relay {
                leg: self.legs[i].id,
                ssrc: header.ssrc,
            };
            return self.relay(now, t, header, source, te.pt, buf);
        }
        if self.legs[t].rtp_destination().is_none() {
            return self.pool.put(buf);
        }
        let to = &mut self.legs[t];
        let (ts, marker) = match to.event_map {
            Some((in_ts, out_ts)) if in_ts == header.ts => (out_ts, false),
            _ => {
                let out_ts = to.out.position(now, te.clock_rate);
                to.event_map = Some((header.ts, out_ts));
                (out_ts, true)
            }
        };
        let seq = to.out.take_seq();
        let d = header.header_len + 2;
        let duration = u64::from(u16::from_be_bytes([buf[d], buf[d + 1]]));
        let scaled = duration * u64::from(te.clock_rate) / u64::from(clock.max(1));
        let scaled = u16::try_from(scaled).unwrap_or(u16::MAX).to_be_bytes();
        buf[d..d + 2].copy_from_slice(&scaled);
        buf.copy_within(header.header_len..header.header_len + 4, HEADER_LEN);
        buf.truncate(HEADER_LEN + 4);
        write_header(&mut buf, marker, te.pt, seq, ts, to.out.ssrc);
        self.send_rtp(now, t, buf);
    }

    fn inbound_rtcp(
        &mut self,
        now: Instant,
        i: usize,
        socket: SocketKind,
        from: SocketAddr,
        data: &[u8],
    ) {
        let mut buf = self.pool.take();
        buf.extend_from_slice(data);
        let ntp_now = self.ntp(now);
        let leg = &mut self.legs[i];
        if let Some(ctx) = leg.srtp_in.as_mut()
            && ctx.unprotect_rtcp(&mut buf).is_err()
        {
            leg.counters.srtp_auth_failures += 1;
            return self.pool.put(buf);
        }
        let parsed = parse_compound(&buf, leg.out.ssrc);
        self.pool.put(buf);
        let leg = &mut self.legs[i];
        let Ok(summary) = parsed else {
            leg.counters.packets_dropped += 1;
            return;
        };
        // The RTCP socket latches on its own; multiplexed RTCP follows the RTP latch.
        if socket == SocketKind::Rtcp && !leg.rtcp_latch.on_valid(now, from) {
            leg.counters.packets_dropped += 1;
            return;
        }
        if let Some(info) = summary.sender_info {
            leg.last_sr = Some((ntp_middle(info.ntp), now));
        }
        if let Some(block) = summary.block {
            let clock = f64::from(leg.send_clock());
            let rtt_ms = (block.lsr != 0).then(|| {
                let units = ntp_middle(ntp_now)
                    .wrapping_sub(block.lsr)
                    .wrapping_sub(block.dlsr);
                f64::from(units) * 1000.0 / 65536.0
            });
            leg.remote_report = Some(RemoteReport {
                fraction_lost: f64::from(block.fraction_lost) / 256.0,
                packets_lost: i64::from(block.cumulative_lost),
                jitter_ms: f64::from(block.jitter) * 1000.0 / clock,
                rtt_ms,
            });
        }
    }
}
