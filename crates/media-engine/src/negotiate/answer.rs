//! Completing an exchange: the answer of the leg we offered to becomes our answer to the
//! offerer (RFC 3264 §6, §7), relaying when the chosen codec is one the offerer listed and
//! transcoding otherwise.

use bytes::Bytes;
use sb_media_codec::CodecKind;
use sb_sdp::{MediaDirection, Sdp};

use super::compose::AudioSection;
use super::formats::Format;
use super::negotiator::{Negotiator, Pending, Sent, event, own_fmtp, plan_direction};
use super::remote::Remote;
use super::{Answered, NegotiateError};
use crate::plan::{Direction, LegId, LegPlan, MediaPath, SrtpKey, SrtpPair};

impl Negotiator {
    /// Completes the exchange of `pending` with the answer `sdp` from `pending.to`.
    pub(super) fn complete(
        &mut self,
        pending: &Pending,
        sdp: &[u8],
    ) -> Result<Answered, NegotiateError> {
        let parsed = Sdp::parse(sdp)?;
        let sent: Vec<Format> = pending.sent.iter().map(|s| s.format.clone()).collect();
        let b = pending.to;
        let b_webrtc = self.is_webrtc(b);
        let answer = Remote::read(&parsed, Some(pending.sent_index), &sent, b_webrtc)?;
        let mut browsers = Vec::new();
        if b_webrtc && answer.port != 0 {
            browsers.push((b, self.browser_answer(b, &answer)?));
        }
        self.state_mut(b).bindings.bind_all(&answer.formats);
        let srtp = if answer.port == 0 {
            None
        } else {
            let accepted = answer.cryptos.iter().find_map(|c| {
                pending
                    .sent_keys
                    .iter()
                    .find(|(tag, key)| *tag == c.tag && key.suite == c.key.suite)
                    .map(|(tag, key)| (*tag, key.clone(), c.key.clone()))
            });
            if accepted.is_none() && pending.srtp_required {
                return Err(NegotiateError::NoCommonCrypto);
            }
            accepted
        };
        // The first format of the answer that we offered (RFC 3264 §7).
        let chosen = answer
            .audio()
            .find_map(|f| matching(&pending.sent, f).map(|s| (f, s)))
            .filter(|_| answer.port != 0);
        if answer.port != 0 && chosen.is_none() {
            return Err(NegotiateError::NoCommonCodec);
        }
        let b_plan = LegPlan {
            remote_rtp: answer.rtp,
            remote_rtcp: answer.rtcp,
            rtcp_mux: answer.rtcp_mux,
            send: chosen.map(|(f, _)| f.payload()),
            receive: answer
                .audio()
                .filter_map(|f| matching(&pending.sent, f).map(|s| (f, s)))
                .flat_map(|(f, s)| {
                    let ours = (s.format.pt != f.pt).then(|| s.format.payload());
                    std::iter::once(f.payload()).chain(ours)
                })
                .collect(),
            telephone_event: chosen
                .and_then(|(f, _)| answer.event_for(f.codec.clock_rate()))
                .filter(|e| matching(&pending.sent, e).is_some())
                .map(event),
            srtp: srtp.as_ref().map(|(_, local, remote)| SrtpPair {
                local: local.clone(),
                remote: remote.clone(),
            }),
            direction: match chosen {
                Some(_) => plan_direction(answer.direction.reversed()),
                None => Direction::Inactive,
            },
            ptime_ms: self.ptime_for(chosen.map(|(f, _)| f), answer.ptime),
        };
        let state = self.state_mut(b);
        state.plan = b_plan.clone();
        state.srtp = srtp.map(|(tag, ..)| (tag, pending.srtp_required));
        state.established |= chosen.is_some();
        let Some(offer) = &pending.offer else {
            // Our own offer (delayed offer answered locally): nothing to forward.
            return Ok(Answered {
                sdp: Bytes::new(),
                plans: vec![(b, b_plan)],
                path: MediaPath::Relay,
                webrtc: browsers,
            });
        };
        let a = pending.from;
        let (a_format, path) = match chosen {
            None => (None, MediaPath::Relay),
            Some((answered, sent)) => match sent.source {
                Some(pt) => {
                    let listed = offer.formats.iter().find(|f| f.pt == pt);
                    let format = listed.map(|f| Format {
                        fmtp: answered.fmtp.clone(),
                        ..f.clone()
                    });
                    (format, MediaPath::Relay)
                }
                None => {
                    // The offerer hears what the answerer's codec carries.
                    let source_hz = answered.known().map(CodecKind::sample_rate);
                    let format = self.transcode_choice(offer).map(|f| Format {
                        fmtp: own_fmtp(&f.codec, source_hz),
                        ..f.clone()
                    });
                    (format, MediaPath::Transcode)
                }
            },
        };
        if chosen.is_some() && a_format.is_none() {
            return Err(NegotiateError::NoCommonCodec);
        }
        // Our answer to the offerer carries what the answering device agreed to (RFC 3264
        // §6.1), within what the offerer asked for.
        let direction = MediaDirection::from_flags(
            answer.direction.sends() && offer.direction.receives(),
            answer.direction.receives() && offer.direction.sends(),
        );
        let key = self.legs.iter().find(|l| l.id == a).and_then(|l| {
            let (tag, _) = l.srtp?;
            Some((tag, l.plan.srtp.clone()?))
        });
        let a_plan = self.answerer_plan(offer, a_format.as_ref(), direction, key.as_ref());
        let sdp = self.write_answer(a, offer, a_format.as_ref(), direction, key.as_ref());
        let state = self.state_mut(a);
        state.plan = a_plan.clone();
        state.established |= a_format.is_some();
        if let Some(remote) = state.webrtc_remote.clone() {
            browsers.insert(0, (a, remote));
        }
        Ok(Answered {
            sdp,
            plans: vec![(a, a_plan), (b, b_plan)],
            path,
            webrtc: browsers,
        })
    }

    /// The offerer's format to transcode from: the first configured codec it listed, else the
    /// first it listed that the gateway decodes.
    pub(super) fn transcode_choice<'r>(&self, offer: &'r Remote) -> Option<&'r Format> {
        self.codecs
            .iter()
            .find_map(|k| offer.audio().find(|f| f.known() == Some(*k)))
            .or_else(|| offer.audio().find(|f| f.known().is_some()))
    }

    /// The plan of a leg we answer: its offer, the format we answered, our direction.
    pub(super) fn answerer_plan(
        &self,
        offer: &Remote,
        format: Option<&Format>,
        direction: MediaDirection,
        key: Option<&(u32, SrtpPair)>,
    ) -> LegPlan {
        let event = format
            .and_then(|f| offer.event_for(f.codec.clock_rate()))
            .map(event);
        LegPlan {
            remote_rtp: offer.rtp,
            remote_rtcp: offer.rtcp,
            rtcp_mux: offer.rtcp_mux,
            send: format.map(Format::payload),
            receive: format.map(Format::payload).into_iter().collect(),
            telephone_event: event,
            srtp: format.and(key).map(|(_, pair)| pair.clone()),
            direction: if format.is_some() {
                plan_direction(direction)
            } else {
                Direction::Inactive
            },
            ptime_ms: self.ptime_for(format, offer.ptime),
        }
    }

    /// Our answer to `offer` on `leg` with `format` (`None`: the stream is declined).
    pub(super) fn write_answer(
        &mut self,
        leg: LegId,
        offer: &Remote,
        format: Option<&Format>,
        direction: MediaDirection,
        key: Option<&(u32, SrtpPair)>,
    ) -> Bytes {
        let ports = self.state_mut(leg).ports;
        let lines = self.webrtc_lines(leg);
        let mut formats = Vec::with_capacity(2);
        let cryptos: Vec<(u32, SrtpKey)> = key
            .map(|(tag, pair)| (*tag, pair.local.clone()))
            .into_iter()
            .collect();
        let port = match format {
            Some(f) => {
                formats.push(f.clone());
                formats.extend(offer.event_for(f.codec.clock_rate()).cloned());
                ports.rtp.port()
            }
            None => {
                formats.extend(offer.formats.iter().cloned());
                0
            }
        };
        self.write(
            leg,
            &offer.layout,
            offer.index,
            &AudioSection {
                port,
                rtcp_port: ports.rtcp.port(),
                rtcp_attribute: !offer.rtcp_mux && lines.is_none(),
                rtcp_mux: offer.rtcp_mux || lines.is_some(),
                proto: &offer.proto,
                formats: &formats,
                ptime: self.ptime_ms,
                direction,
                cryptos: &cryptos,
                webrtc: lines.as_ref().map(|l| l.borrow()),
            },
        )
    }
}

/// The sent format an answer's format refers to: the same number and codec, else the same
/// codec under another number (an answer that renumbers, RFC 3264 §6.1 "SHOULD").
fn matching<'s>(sent: &'s [Sent], f: &Format) -> Option<&'s Sent> {
    sent.iter()
        .find(|s| s.format.pt == f.pt && s.format.codec.relays_to(&f.codec))
        .or_else(|| sent.iter().find(|s| s.format.codec.relays_to(&f.codec)))
}
