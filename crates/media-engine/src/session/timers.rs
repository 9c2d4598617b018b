//! Time-driven work: the 20 ms tick of transcoding and tones (only while one runs: a relayed
//! call wakes for packets and RTCP only), RTCP reports, generated DTMF packets and media
//! timeouts.

use std::time::Instant;

use crate::rtcp::{SenderInfo, write_bye, write_report};
use crate::rtp::{HEADER_LEN, write_header};
use crate::session::inbound::ntp_middle;
use crate::session::leg::Target;
use crate::session::{MediaEvent, MediaSession, SocketKind, TimeoutReason, Transmit};
use crate::transcode::{Frame, TICK};

/// Ticks run at most per wake-up when the driver was late; the rest are skipped.
const MAX_CATCH_UP: u32 = 5;

impl MediaSession {
    /// When to call [`MediaSession::handle_timeout`] next, and why.
    pub fn poll_timeout(&self) -> Option<(Instant, TimeoutReason)> {
        let mut best: Option<(Instant, TimeoutReason)> =
            self.next_tick.map(|t| (t, TimeoutReason::Tick));
        let mut offer = |at: Option<Instant>, reason: TimeoutReason| {
            if let Some(at) = at
                && best.is_none_or(|(b, _)| at < b)
            {
                best = Some((at, reason));
            }
        };
        for leg in &self.legs {
            offer(leg.next_rtcp, TimeoutReason::Rtcp { leg: leg.id });
            offer(leg.dtmf_tx.next_due(), TimeoutReason::Dtmf { leg: leg.id });
            offer(
                leg.media_deadline(self.config.media_timeout),
                TimeoutReason::MediaTimeout { leg: leg.id },
            );
            offer(
                leg.webrtc.as_ref().and_then(|w| w.timeout()),
                TimeoutReason::WebRtc { leg: leg.id },
            );
        }
        best
    }

    /// Does whatever is due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        let mut ran = 0;
        while let Some(at) = self.next_tick.filter(|&t| t <= now) {
            if ran == MAX_CATCH_UP {
                // Far behind: skip to the present rather than burst.
                self.next_tick = Some(now + TICK);
                break;
            }
            self.tick(at);
            ran += 1;
            self.next_tick = self.tick_needed().then_some(at + TICK);
        }
        for i in 0..self.legs.len() {
            if self.legs[i]
                .webrtc
                .as_ref()
                .and_then(|w| w.timeout())
                .is_some_and(|t| t <= now)
            {
                self.webrtc_timeout(now, i);
            }
            if self.legs[i].next_rtcp.is_some_and(|t| t <= now) {
                self.send_report(now, i);
                let interval = self.config.rtcp_interval;
                let next = self.legs[i]
                    .next_rtcp
                    .map(|t| (t + interval).max(now + interval / 2));
                self.legs[i].next_rtcp = next.filter(|_| !interval.is_zero());
            }
            if self.legs[i].dtmf_tx.next_due().is_some_and(|t| t <= now) {
                self.emit_dtmf(now, i);
            }
            let leg = &mut self.legs[i];
            if leg
                .media_deadline(self.config.media_timeout)
                .is_some_and(|t| t <= now)
            {
                leg.timeout_fired = true;
                self.events
                    .push_back(MediaEvent::MediaTimeout { leg: leg.id });
            }
        }
    }

    fn tick_needed(&self) -> bool {
        self.legs
            .iter()
            .any(|l| l.tone.is_some() || l.transcoder.as_ref().is_some_and(|t| t.is_active()))
    }

    /// One 20 ms step of every transcoder and tone.
    fn tick(&mut self, now: Instant) {
        for i in 0..self.legs.len() {
            let Some(mut tc) = self.legs[i].transcoder.take() else {
                continue;
            };
            let target = match self.legs[i].target {
                Target::Peer(p) => self.index(p),
                _ => None,
            };
            tc.tick(now);
            loop {
                let mut buf = self.pool.take();
                buf.resize(HEADER_LEN, 0);
                match tc.encode_next(&mut buf) {
                    Ok(Some(frame)) => match target.filter(|&t| self.legs[t].tone.is_none()) {
                        Some(t) => self.send_frame(now, t, frame, buf),
                        None => self.pool.put(buf),
                    },
                    Ok(None) => break self.pool.put(buf),
                    Err(_) => {
                        self.legs[i].counters.packets_dropped += 1;
                        break self.pool.put(buf);
                    }
                }
            }
            self.legs[i].transcoder = Some(tc);
        }
        for t in 0..self.legs.len() {
            let Some(mut tone) = self.legs[t].tone.take() else {
                continue;
            };
            if now >= tone.until {
                self.events.push_back(MediaEvent::ToneFinished {
                    leg: self.legs[t].id,
                });
                continue;
            }
            tone.tick();
            loop {
                let mut buf = self.pool.take();
                buf.resize(HEADER_LEN, 0);
                match tone.encode_next(&mut buf) {
                    Ok(Some(frame)) => self.send_frame(now, t, frame, buf),
                    Ok(None) => break self.pool.put(buf),
                    Err(_) => break self.pool.put(buf),
                }
            }
            self.legs[t].tone = Some(tone);
        }
    }

    /// Stamps an encoded frame (payload after `HEADER_LEN` in `buf`) with leg `t`'s local
    /// timeline and sends it.
    fn send_frame(&mut self, now: Instant, t: usize, frame: Frame, mut buf: Vec<u8>) {
        if self.legs[t].rtp_destination().is_none() {
            return self.pool.put(buf);
        }
        let leg = &mut self.legs[t];
        let clock = leg.send_clock();
        let stamp = leg.out.local(now, frame.units, frame.duration, clock);
        write_header(
            &mut buf,
            stamp.marker,
            frame.pt,
            stamp.seq,
            stamp.ts,
            leg.out.ssrc,
        );
        leg.counters.frames_encoded += 1;
        self.send_rtp(now, t, buf);
    }

    /// Sends the generated DTMF packets of leg `i` due at `now`.
    pub(super) fn emit_dtmf(&mut self, now: Instant, i: usize) {
        while let Some(packet) = self.legs[i].dtmf_tx.poll(now) {
            let leg = &mut self.legs[i];
            let Some(te) = leg.plan.as_ref().and_then(|p| p.telephone_event) else {
                continue;
            };
            if packet.first {
                leg.dtmf_ts = leg.out.position(now, te.clock_rate);
            }
            let seq = leg.out.take_seq();
            let mut buf = self.pool.take();
            buf.resize(HEADER_LEN, 0);
            write_header(
                &mut buf,
                packet.first,
                te.pt,
                seq,
                leg.dtmf_ts,
                leg.out.ssrc,
            );
            buf.extend_from_slice(&packet.payload.to_bytes());
            self.send_rtp(now, i, buf);
        }
    }

    /// Where leg `i` sends RTCP: the RTP socket and address when multiplexed, else its RTCP
    /// socket and latched RTCP address.
    fn rtcp_destination(&self, i: usize) -> Option<(SocketKind, std::net::SocketAddr)> {
        let leg = &self.legs[i];
        let plan = leg.plan.as_ref()?;
        if leg.webrtc.is_some() {
            // str0m sends the RTCP of a WebRTC leg (SR/RR over SRTCP).
            return None;
        }
        if plan.rtcp_mux {
            leg.rtp_latch.target().map(|a| (SocketKind::Rtp, a))
        } else {
            leg.rtcp_latch.target().map(|a| (SocketKind::Rtcp, a))
        }
    }

    /// Writes leg `i`'s SR (or RR when it has sent nothing) with a report block about what it
    /// receives, and SDES CNAME, into a new buffer.
    fn report(&mut self, now: Instant, i: usize) -> Vec<u8> {
        let ntp = self.ntp(now);
        let mut buf = self.pool.take();
        let leg = &mut self.legs[i];
        let clock = leg.send_clock();
        let sender = (leg.out.packet_count > 0).then(|| SenderInfo {
            ntp,
            rtp_ts: leg.out.position(now, clock),
            packets: leg.out.packet_count,
            octets: leg.out.octet_count,
        });
        let (lsr, dlsr) = leg.last_sr.map_or((0, 0), |(lsr, at)| {
            let d = now.saturating_duration_since(at);
            (
                lsr,
                ntp_middle(
                    (d.as_secs() << 32) | ((u64::from(d.subsec_nanos()) << 32) / 1_000_000_000),
                ),
            )
        });
        let block = leg.rx.report_block(lsr, dlsr);
        write_report(
            &mut buf,
            leg.out.ssrc,
            sender.as_ref(),
            block.as_ref(),
            &self.cname,
        );
        buf
    }

    fn queue_rtcp(&mut self, i: usize, mut buf: Vec<u8>) {
        let Some((socket, to)) = self.rtcp_destination(i) else {
            return self.pool.put(buf);
        };
        let leg = &mut self.legs[i];
        if let Some(ctx) = leg.srtp_out.as_mut()
            && ctx.protect_rtcp(&mut buf).is_err()
        {
            return self.pool.put(buf);
        }
        self.transmits.push_back(Transmit {
            leg: leg.id,
            socket,
            to,
            data: buf,
        });
    }

    fn send_report(&mut self, now: Instant, i: usize) {
        if self.rtcp_destination(i).is_none() {
            return;
        }
        let buf = self.report(now, i);
        self.queue_rtcp(i, buf);
    }

    /// Queues a BYE for leg `i` (RFC 3550 §6.3.7: in a compound packet after an empty RR and
    /// the SDES), if it has somewhere to send.
    pub(super) fn send_bye(&mut self, i: usize) {
        if self.rtcp_destination(i).is_none() {
            return;
        }
        let mut buf = self.pool.take();
        let ssrc = self.legs[i].out.ssrc;
        write_report(&mut buf, ssrc, None, None, &self.cname);
        write_bye(&mut buf, ssrc);
        self.queue_rtcp(i, buf);
    }
}
