//! The per-call offer/answer state: each leg's ports, `o=` version, payload type bindings and
//! SDES keys, and the offers waiting for their answer (one per answering leg: forks).

use std::net::IpAddr;

use bytes::Bytes;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sb_media_codec::CodecKind;
use sb_sdp::{MediaDirection, Origin, Sdp};

use super::browser::browser_formats;
use super::compose::{AudioSection, compose};
use super::formats::{Bindings, EVENTS_FMTP, Format, Numbering, OPUS_FMTP, Role, telephone_event};
use super::remote::{Remote, Section};
use super::{Answered, NegotiateError, NegotiatorConfig, Offered, SrtpOffer};
use crate::plan::{
    Codec, Direction, LegId, LegPlan, LocalPorts, MediaPath, SrtpKey, TelephoneEvent,
};
use crate::webrtc::{PROTO, WebRtcLocal, WebRtcRemote};

/// Offer/answer for one call. See the module documentation.
#[derive(Debug)]
pub struct Negotiator {
    pub(super) advertised: IpAddr,
    pub(super) codecs: Vec<CodecKind>,
    pub(super) srtp_offer: SrtpOffer,
    pub(super) ptime_ms: u16,
    pub(super) session_id: u64,
    pub(super) rng: StdRng,
    pub(super) legs: Vec<LegState>,
    pub(super) pending: Vec<Pending>,
}

/// What the negotiator remembers of one leg.
#[derive(Debug)]
pub(super) struct LegState {
    pub(super) id: LegId,
    pub(super) ports: LocalPorts,
    /// `o=` version of the last SDP sent on the leg (0: none yet).
    pub(super) version: u64,
    pub(super) last_sent: Option<Sdp>,
    pub(super) bindings: Bindings,
    /// Our keys on the leg by tag, reused while the device keeps its own.
    pub(super) local_keys: Vec<(u32, SrtpKey)>,
    /// The SRTP profile negotiated on the leg: the tag in use and whether it is RTP/SAVP.
    pub(super) srtp: Option<(u32, bool)>,
    /// An exchange on the leg has completed with media: re-offers keep its security.
    pub(super) established: bool,
    pub(super) plan: LegPlan,
    /// The gateway's end of a WebRTC leg (`None`: a phone leg).
    pub(super) webrtc: Option<WebRtcLocal>,
    /// The browser's end of a WebRTC leg, once an exchange settled it.
    pub(super) webrtc_remote: Option<WebRtcRemote>,
}

/// An offer we sent on `to`, waiting for its answer.
#[derive(Debug)]
pub(super) struct Pending {
    /// The offerer (`to` itself for an offer of our own).
    pub(super) from: LegId,
    pub(super) to: LegId,
    /// The offerer's offer; `None` when the offer is our own.
    pub(super) offer: Option<Remote>,
    pub(super) sent: Vec<Sent>,
    pub(super) sent_index: usize,
    pub(super) sent_keys: Vec<(u32, SrtpKey)>,
    pub(super) srtp_required: bool,
}

/// A format of an offer we sent, and the offerer's payload type it came from (`None`: a codec
/// we added to transcode to).
#[derive(Debug)]
pub(super) struct Sent {
    pub(super) format: Format,
    pub(super) source: Option<u8>,
}

impl Negotiator {
    /// A negotiator for one call. `session_id` is the `o=` session id of every SDP we write on
    /// the call; 0 draws one from the seeded generator.
    pub fn new(config: &NegotiatorConfig, session_id: u64) -> Negotiator {
        let mut seed = [0u8; 32];
        seed[..8].copy_from_slice(&config.seed.to_le_bytes());
        seed[8..16].copy_from_slice(&session_id.to_le_bytes());
        seed[16..].copy_from_slice(b"sb-negotiate-sdp");
        let mut rng = StdRng::from_seed(seed);
        let session_id = match session_id {
            // Kept below 2^62: some parsers read the id as a signed 64-bit number.
            0 => (rng.next_u64() >> 2).max(1),
            id => id,
        };
        Negotiator {
            advertised: config.advertised,
            codecs: config.codecs.clone(),
            srtp_offer: config.srtp_offer,
            ptime_ms: config.ptime_ms,
            session_id,
            rng,
            legs: Vec::new(),
            pending: Vec::new(),
        }
    }

    /// The `o=` session id of the SDP we write.
    pub fn session_id(&self) -> u64 {
        self.session_id
    }

    /// An offer arrived on `from` and goes to `to`. `ports` gives the local ports of both legs.
    /// Returns the SDP to send on `to` and the plan for `from` as far as the offer tells it
    /// (remote address, what it accepts) — plans are final only after the answer.
    pub fn offer(
        &mut self,
        from: LegId,
        to: LegId,
        sdp: &[u8],
        from_ports: LocalPorts,
        to_ports: LocalPorts,
    ) -> Result<Offered, NegotiateError> {
        let parsed = Sdp::parse(sdp)?;
        let from_webrtc = self.is_webrtc(from);
        let remote = Remote::read(&parsed, None, &[], from_webrtc)?;
        self.ensure_leg(from, from_ports);
        self.ensure_leg(to, to_ports);
        let (answer_key, browser) = if from_webrtc {
            (None, vec![(from, self.browser_offer(from, &remote)?)])
        } else {
            (self.answer_key(from, &remote)?, Vec::new())
        };
        self.state_mut(from).bindings.bind_all(&remote.formats);
        let mut sent = self.formats_for(to, &remote);
        let lines = self.webrtc_lines(to);
        if lines.is_some() {
            browser_formats(&mut sent);
        }
        if remote.port != 0 && !sent.iter().any(|s| s.format.role() == Role::Audio) {
            return Err(NegotiateError::NoCommonCodec);
        }
        let (proto, sent_keys, srtp_required) = match lines {
            Some(_) => (PROTO, Vec::new(), false),
            None => self.offer_keys(to),
        };
        let formats: Vec<Format> = sent.iter().map(|s| s.format.clone()).collect();
        let port = if remote.port == 0 {
            0
        } else {
            to_ports.rtp.port()
        };
        let sdp = self.write(
            to,
            &remote.layout,
            remote.index,
            &AudioSection {
                port,
                rtcp_port: to_ports.rtcp.port(),
                rtcp_attribute: lines.is_none(),
                rtcp_mux: true,
                proto,
                formats: &formats,
                ptime: self.ptime_ms,
                direction: remote.direction,
                cryptos: &sent_keys,
                webrtc: lines.as_ref().map(|l| l.borrow()),
            },
        );
        self.state_mut(to).bindings.bind_all(&formats);
        let plan = LegPlan {
            remote_rtp: remote.rtp,
            remote_rtcp: remote.rtcp,
            rtcp_mux: remote.rtcp_mux,
            send: None,
            receive: remote.audio().map(Format::payload).collect(),
            telephone_event: remote.event_for(8000).map(event),
            srtp: answer_key.as_ref().map(|(_, pair)| pair.clone()),
            direction: plan_direction(remote.direction.reversed()),
            ptime_ms: self.ptime_for(remote.audio().next(), remote.ptime),
        };
        let state = self.state_mut(from);
        state.plan = plan.clone();
        state.srtp = answer_key.map(|(tag, _)| (tag, remote.requires_srtp()));
        self.pending.retain(|p| p.to != to && p.to != from);
        self.pending.push(Pending {
            from,
            to,
            sent_index: remote.index,
            offer: Some(remote),
            sent,
            sent_keys,
            srtp_required,
        });
        Ok(Offered {
            sdp,
            plans: vec![(from, plan)],
            webrtc: browser,
        })
    }

    /// The answer to the pending offer arrived on `from` and goes to `to`: returns the SDP to
    /// send on `to` and the final plans of both legs, and whether media is relayed or
    /// transcoded. The same answer may come again (a 183 and then the 200): the SDP sent on
    /// `to` then keeps its version.
    pub fn answer(
        &mut self,
        from: LegId,
        to: LegId,
        sdp: &[u8],
    ) -> Result<Answered, NegotiateError> {
        let index = self
            .pending
            .iter()
            .position(|p| p.to == from && p.from == to)
            .ok_or(NegotiateError::NoPendingOffer { leg: from })?;
        let pending = self.pending.swap_remove(index);
        let result = self.complete(&pending, sdp);
        self.pending.push(pending);
        result
    }

    /// The switch answers the call itself (echo, tone): answers the offer of `leg` directly,
    /// choosing the first codec of the offer that is in the configured list (else the first
    /// the gateway decodes). An empty `sdp` (an INVITE without one: delayed offer) makes an
    /// offer of our own instead, returned in [`Answered::sdp`]; its answer (in the ACK) goes
    /// to [`Negotiator::answer`] with `from` and `to` both `leg`.
    pub fn answer_locally(
        &mut self,
        leg: LegId,
        sdp: &[u8],
        ports: LocalPorts,
    ) -> Result<Answered, NegotiateError> {
        if sdp.iter().all(u8::is_ascii_whitespace) {
            return Ok(self.local_offer(leg, ports));
        }
        let parsed = Sdp::parse(sdp)?;
        let webrtc = self.is_webrtc(leg);
        let remote = Remote::read(&parsed, None, &[], webrtc)?;
        self.ensure_leg(leg, ports);
        let (key, browser) = if webrtc {
            (None, vec![(leg, self.browser_offer(leg, &remote)?)])
        } else {
            (self.answer_key(leg, &remote)?, Vec::new())
        };
        self.state_mut(leg).bindings.bind_all(&remote.formats);
        let direction = remote.direction.reversed();
        let chosen = if remote.port == 0 {
            None
        } else {
            let first_listed = remote
                .audio()
                .find(|f| f.known().is_some_and(|k| self.codecs.contains(&k)));
            let chosen = first_listed
                .or_else(|| remote.audio().find(|f| f.known().is_some()))
                .ok_or(NegotiateError::NoCommonCodec)?;
            Some(Format {
                fmtp: own_fmtp(&chosen.codec, None),
                ..chosen.clone()
            })
        };
        let plan = self.answerer_plan(&remote, chosen.as_ref(), direction, key.as_ref());
        let sdp = self.write_answer(leg, &remote, chosen.as_ref(), direction, key.as_ref());
        let state = self.state_mut(leg);
        state.plan = plan.clone();
        state.srtp = key.map(|(tag, _)| (tag, remote.requires_srtp()));
        state.established |= chosen.is_some();
        self.pending.retain(|p| p.to != leg);
        Ok(Answered {
            sdp,
            plans: vec![(leg, plan)],
            path: MediaPath::Relay,
            webrtc: browser,
        })
    }

    /// Forget a leg (a losing fork).
    pub fn remove_leg(&mut self, leg: LegId) {
        self.legs.retain(|l| l.id != leg);
        self.pending.retain(|p| p.from != leg && p.to != leg);
    }

    /// The plan of a leg as last negotiated.
    pub fn plan(&self, leg: LegId) -> Option<&LegPlan> {
        self.legs.iter().find(|l| l.id == leg).map(|l| &l.plan)
    }

    /// Our offer to a leg that sent none: the configured codecs and telephone-event.
    fn local_offer(&mut self, leg: LegId, ports: LocalPorts) -> Answered {
        let numbering_bindings = self.ensure_leg(leg, ports).bindings.clone();
        let mut numbering = Numbering::new(&numbering_bindings);
        let mut sent = Vec::with_capacity(self.codecs.len() + 2);
        for kind in &self.codecs {
            add_codec(
                &mut sent,
                &mut numbering,
                Codec::Known(*kind),
                kind.static_payload_type(),
                None,
            );
        }
        add_events(&mut sent, &mut numbering);
        let lines = self.webrtc_lines(leg);
        if lines.is_some() {
            browser_formats(&mut sent);
        }
        let (proto, sent_keys, srtp_required) = match lines {
            Some(_) => (PROTO, Vec::new(), false),
            None => self.offer_keys(leg),
        };
        let formats: Vec<Format> = sent.iter().map(|s| s.format.clone()).collect();
        let sdp = self.write(
            leg,
            &[],
            0,
            &AudioSection {
                port: ports.rtp.port(),
                rtcp_port: ports.rtcp.port(),
                rtcp_attribute: lines.is_none(),
                rtcp_mux: true,
                proto,
                formats: &formats,
                ptime: self.ptime_ms,
                direction: MediaDirection::SendRecv,
                cryptos: &sent_keys,
                webrtc: lines.as_ref().map(|l| l.borrow()),
            },
        );
        let plan = LegPlan {
            receive: formats
                .iter()
                .filter(|f| f.role() == Role::Audio)
                .map(Format::payload)
                .collect(),
            ptime_ms: self.ptime_ms,
            ..LegPlan::default()
        };
        let state = self.state_mut(leg);
        state.bindings.bind_all(&formats);
        state.plan = plan.clone();
        self.pending.retain(|p| p.to != leg);
        self.pending.push(Pending {
            from: leg,
            to: leg,
            offer: None,
            sent,
            sent_index: 0,
            sent_keys,
            srtp_required,
        });
        Answered {
            sdp,
            plans: vec![(leg, plan)],
            path: MediaPath::Relay,
            webrtc: Vec::new(),
        }
    }

    /// The formats of our offer on `to` for an offer `remote` from the other leg: all of the
    /// offerer's, then the configured codecs it lacks (when it has one we decode), then
    /// telephone-event.
    fn formats_for(&self, to: LegId, remote: &Remote) -> Vec<Sent> {
        let bindings = self.legs.iter().find(|l| l.id == to).map(|l| &l.bindings);
        let empty = Bindings::default();
        let mut numbering = Numbering::new(bindings.unwrap_or(&empty));
        let mut sent = Vec::with_capacity(remote.formats.len() + self.codecs.len() + 2);
        for f in &remote.formats {
            if let Some(pt) = numbering.assign(&f.codec, Some(f.pt)) {
                sent.push(Sent {
                    format: Format { pt, ..f.clone() },
                    source: Some(f.pt),
                });
            }
        }
        // A codec we add is only ever transcoded from the offerer's codecs:
        // audio above their best rate does not exist (RFC 7587 §6.1 lets an
        // Opus encoder save the bits and the CPU).
        let source_hz = remote
            .audio()
            .filter_map(Format::known)
            .map(CodecKind::sample_rate)
            .max();
        if let Some(source_hz) = source_hz {
            for kind in &self.codecs {
                add_codec(
                    &mut sent,
                    &mut numbering,
                    Codec::Known(*kind),
                    kind.static_payload_type(),
                    Some(source_hz),
                );
            }
        }
        add_events(&mut sent, &mut numbering);
        sent
    }

    /// Writes an SDP on `leg`: the version goes up unless it is the same SDP as last time
    /// (RFC 3264 §8).
    pub(super) fn write(
        &mut self,
        leg: LegId,
        layout: &[Section],
        index: usize,
        audio: &AudioSection<'_>,
    ) -> Bytes {
        let (session_id, advertised) = (self.session_id, self.advertised);
        let state = self.state_mut(leg);
        let origin = Origin::new(session_id, state.version.max(1), advertised);
        let mut sdp = compose(origin, advertised, layout, index, audio);
        if state.last_sent.as_ref() != Some(&sdp) {
            state.version += 1;
            sdp.origin.session_version = state.version.to_string();
        }
        let bytes = Bytes::from(sdp.to_bytes());
        state.last_sent = Some(sdp);
        bytes
    }

    /// Packetization for sending `format`: what the device asked for when the codec can do
    /// it, else the configured one.
    pub(super) fn ptime_for(&self, format: Option<&Format>, asked: Option<u16>) -> u16 {
        let Some(ms) = asked else {
            return self.ptime_ms;
        };
        let usable = match format.map(|f| &f.codec) {
            Some(Codec::Known(CodecKind::Opus)) => matches!(ms, 10 | 20 | 40 | 60),
            Some(Codec::Known(_)) => ms % 10 == 0 && (10..=60).contains(&ms),
            _ => ms > 0,
        };
        if usable { ms } else { self.ptime_ms }
    }

    /// The state of `leg`, created when new; `ports` replace the known ones (a re-offer may
    /// move a stream, RFC 3264 §8.3.1).
    pub(super) fn ensure_leg(&mut self, leg: LegId, ports: LocalPorts) -> &mut LegState {
        let i = match self.legs.iter().position(|l| l.id == leg) {
            Some(i) => i,
            None => {
                self.legs.push(LegState {
                    id: leg,
                    ports,
                    version: 0,
                    last_sent: None,
                    bindings: Bindings::default(),
                    local_keys: Vec::new(),
                    srtp: None,
                    established: false,
                    plan: LegPlan::default(),
                    webrtc: None,
                    webrtc_remote: None,
                });
                self.legs.len() - 1
            }
        };
        let state = &mut self.legs[i];
        state.ports = ports;
        state
    }

    /// The state of a leg an offer created.
    pub(super) fn state_mut(&mut self, leg: LegId) -> &mut LegState {
        self.legs
            .iter_mut()
            .find(|l| l.id == leg)
            .expect("legs live from their first offer until remove_leg, which drops their offers")
    }
}

/// Adds `codec` to an offer unless it is there already.
fn add_codec(
    sent: &mut Vec<Sent>,
    numbering: &mut Numbering<'_>,
    codec: Codec,
    wanted: Option<u8>,
    source_hz: Option<u32>,
) {
    if sent.iter().any(|s| s.format.codec.relays_to(&codec)) {
        return;
    }
    if let Some(pt) = numbering.assign(&codec, wanted) {
        let fmtp = match &codec {
            Codec::Known(_) => own_fmtp(&codec, source_hz),
            Codec::Other { .. } => Some(EVENTS_FMTP.to_owned()),
        };
        sent.push(Sent {
            format: Format { pt, codec, fmtp },
            source: None,
        });
    }
}

/// Adds telephone-event/8000, and /48000 next to Opus.
fn add_events(sent: &mut Vec<Sent>, numbering: &mut Numbering<'_>) {
    add_codec(sent, numbering, telephone_event(8000), Some(101), None);
    if sent
        .iter()
        .any(|s| s.format.codec == Codec::Known(CodecKind::Opus))
    {
        add_codec(sent, numbering, telephone_event(48000), Some(101), None);
    }
}

/// The fmtp we write for a codec we terminate; `source_hz`: the highest
/// sample rate of the audio it will carry (transcoded from the other leg),
/// announced to an Opus peer as `maxplaybackrate`/`sprop-maxcapturerate`
/// (RFC 7587 §6.1) so that it codes no band that cannot be heard.
pub(super) fn own_fmtp(codec: &Codec, source_hz: Option<u32>) -> Option<String> {
    (*codec == Codec::Known(CodecKind::Opus)).then(|| match source_hz {
        Some(hz) if hz < 48_000 => {
            format!("{OPUS_FMTP};maxplaybackrate={hz};sprop-maxcapturerate={hz}")
        }
        _ => OPUS_FMTP.to_owned(),
    })
}

pub(super) fn event(f: &Format) -> TelephoneEvent {
    TelephoneEvent {
        pt: f.pt,
        clock_rate: f.codec.clock_rate(),
    }
}

/// Our declared direction towards a device as the plan states it.
pub(super) fn plan_direction(ours: MediaDirection) -> Direction {
    match ours {
        MediaDirection::SendRecv => Direction::SendRecv,
        MediaDirection::SendOnly => Direction::SendOnly,
        MediaDirection::RecvOnly => Direction::RecvOnly,
        MediaDirection::Inactive => Direction::Inactive,
    }
}
