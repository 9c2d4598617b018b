//! SDP offer/answer goldens: SDP in → SDP out for the call flows the gateway meets, with the
//! plans each exchange hands to the data plane.
//!
//! Each `tests/golden/<case>.sdp` is a script of sections:
//! `=== offer <from> <to>` (a device's offer), `=== answer <from> <to>` (a device's answer),
//! `=== local <leg>` (an offer the gateway answers itself; an empty body is no offer),
//! `=== expect` (the SDP the previous step sends), `=== webrtc <leg>` (the leg is a browser: the
//! gateway's end has fixed ICE credentials, fingerprint and SSRC). Legs are `A` and `B`. In expected SDP,
//! `{A_RTP}`, `{A_RTCP}`, `{B_RTP}`, `{B_RTCP}` stand for the legs' local ports and `{KEY1}`,
//! `{KEY2}`, … for our SDES keys in order of first appearance (a key that comes again keeps its
//! name). Lines starting with `#` before the first section describe the case.
//!
//! `SB_BLESS=1 cargo test -p sb-media-engine --test negotiate` rewrites the expected sections
//! from the current output (review the diff before keeping it).

use std::net::{IpAddr, SocketAddr};

use sb_media_codec::CodecKind;
use sb_media_engine::{
    Answered, Codec, Direction, DtlsFingerprint, IceCredentials, LegId, LegPlan, LocalPorts,
    MediaPath, NegotiateError, Negotiator, NegotiatorConfig, Offered, PayloadFormat, SrtpSuite,
    TelephoneEvent, WebRtcLocal,
};

const A: LegId = LegId(1);
const B: LegId = LegId(2);
const SEED: u64 = 0x5eed;
const SESSION: u64 = 3_900_000_001;

fn gateway() -> IpAddr {
    "192.0.2.1".parse().unwrap()
}

fn ports(leg: LegId) -> LocalPorts {
    let base = if leg == A { 40000 } else { 42000 };
    LocalPorts {
        rtp: SocketAddr::new(gateway(), base),
        rtcp: SocketAddr::new(gateway(), base + 1),
    }
}

/// The gateway's end of a WebRTC leg in goldens: fixed credentials, fingerprint and SSRC.
fn webrtc_local() -> WebRtcLocal {
    WebRtcLocal {
        ice: IceCredentials::new("GwUfrag0GwUfrag0", "GwPassword0GwPassword0GwPassword")
            .expect("valid ICE credentials"),
        fingerprint: DtlsFingerprint {
            hash: "sha-256".into(),
            bytes: vec![0x5e; 32],
        },
        ssrc: 195_939_070,
        cname: "gatewaycname0001".into(),
    }
}

fn leg(name: &str) -> LegId {
    match name {
        "A" => A,
        "B" => B,
        other => panic!("unknown leg {other}"),
    }
}

/// The result of one step.
#[derive(Debug)]
enum Step {
    Offered(Offered),
    Answered(Answered),
}

impl Step {
    fn plan(&self, leg: LegId) -> &LegPlan {
        let plans = match self {
            Step::Offered(o) => &o.plans,
            Step::Answered(a) => &a.plans,
        };
        &plans
            .iter()
            .find(|(l, _)| *l == leg)
            .expect("plan of leg")
            .1
    }

    fn path(&self) -> MediaPath {
        match self {
            Step::Answered(a) => a.path,
            Step::Offered(_) => panic!("an offer decides no path"),
        }
    }
}

struct Section {
    header: String,
    body: String,
}

fn sections(text: &str) -> (String, Vec<Section>) {
    let mut preamble = String::new();
    let mut out: Vec<Section> = Vec::new();
    for line in text.lines() {
        if let Some(header) = line.strip_prefix("=== ") {
            out.push(Section {
                header: header.to_owned(),
                body: String::new(),
            });
        } else if let Some(section) = out.last_mut() {
            section.body.push_str(line);
            section.body.push('\n');
        } else {
            preamble.push_str(line);
            preamble.push('\n');
        }
    }
    (preamble, out)
}

/// Replaces our keys by `{KEYn}` and the local ports by their names.
fn placeholders(sdp: &str, keys: &mut Vec<String>) -> String {
    let mut out = String::with_capacity(sdp.len());
    for line in sdp.split("\r\n").filter(|l| !l.is_empty()) {
        let mut line = line.to_owned();
        if let Some(at) = line.find("inline:") {
            let start = at + "inline:".len();
            let key = line[start..]
                .split([' ', '|', ';'])
                .next()
                .unwrap()
                .to_owned();
            let n = match keys.iter().position(|k| *k == key) {
                Some(n) => n + 1,
                None => {
                    keys.push(key.clone());
                    keys.len()
                }
            };
            line = format!("{}{{KEY{n}}}{}", &line[..start], &line[start + key.len()..]);
        }
        for (leg, name) in [(A, "A"), (B, "B")] {
            let p = ports(leg);
            line = line
                .replace(
                    &format!("m=audio {} ", p.rtp.port()),
                    &format!("m=audio {{{name}_RTP}} "),
                )
                .replace(
                    &format!("a=rtcp:{}", p.rtcp.port()),
                    &format!("a=rtcp:{{{name}_RTCP}}"),
                );
        }
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// Runs the script of `case` with `config`, compares every expected section, and returns
/// the steps for the plan checks.
fn run_with(case: &str, config: &NegotiatorConfig) -> Vec<Step> {
    let path = format!("{}/tests/golden/{case}.sdp", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let bless = std::env::var_os("SB_BLESS").is_some();
    let (preamble, script) = sections(&text);
    let mut negotiator = Negotiator::new(config, SESSION);
    let mut steps = Vec::new();
    let mut keys = Vec::new();
    let mut last_sdp: Option<String> = None;
    let mut blessed = preamble;
    let mut mismatches = Vec::new();
    for section in &script {
        let words: Vec<&str> = section.header.split_whitespace().collect();
        let input = section.body.as_bytes();
        if let ["webrtc", l] = words.as_slice() {
            negotiator.set_webrtc(leg(l), ports(leg(l)), webrtc_local());
            blessed.push_str(&format!("=== {}\n{}", section.header, section.body));
            continue;
        }
        let step = match words.as_slice() {
            ["offer", from, to] => {
                let (from, to) = (leg(from), leg(to));
                let offered = negotiator
                    .offer(from, to, input, ports(from), ports(to))
                    .unwrap_or_else(|e| panic!("{case}: {}: {e}", section.header));
                Some(Step::Offered(offered))
            }
            ["answer", from, to] => {
                let answered = negotiator
                    .answer(leg(from), leg(to), input)
                    .unwrap_or_else(|e| panic!("{case}: {}: {e}", section.header));
                Some(Step::Answered(answered))
            }
            ["local", l] => {
                let answered = negotiator
                    .answer_locally(leg(l), input, ports(leg(l)))
                    .unwrap_or_else(|e| panic!("{case}: {}: {e}", section.header));
                Some(Step::Answered(answered))
            }
            ["expect"] => None,
            _ => panic!("{case}: unknown section {}", section.header),
        };
        blessed.push_str(&format!("=== {}\n", section.header));
        match step {
            Some(step) => {
                let sdp = match &step {
                    Step::Offered(o) => &o.sdp,
                    Step::Answered(a) => &a.sdp,
                };
                let text = std::str::from_utf8(sdp).expect("SDP we write is UTF-8");
                last_sdp = Some(placeholders(text, &mut keys));
                steps.push(step);
                blessed.push_str(&section.body);
            }
            None => {
                let actual = last_sdp.take().expect("an expect section follows a step");
                if actual != section.body {
                    mismatches.push(format!(
                        "{case}, expect after step {}:\n--- expected\n{}--- actual\n{actual}",
                        steps.len(),
                        section.body
                    ));
                }
                blessed.push_str(&actual);
            }
        }
    }
    if bless {
        std::fs::write(&path, blessed).unwrap();
    } else {
        assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    }
    assert!(
        last_sdp.is_none(),
        "{case}: the last step has no expect section"
    );
    steps
}

fn config() -> NegotiatorConfig {
    NegotiatorConfig {
        seed: SEED,
        ..NegotiatorConfig::new(gateway())
    }
}

fn run(case: &str) -> Vec<Step> {
    run_with(case, &config())
}

fn known(pt: u8, kind: CodecKind) -> PayloadFormat {
    PayloadFormat {
        pt,
        codec: Codec::Known(kind),
    }
}

fn addr(text: &str) -> Option<SocketAddr> {
    Some(text.parse().unwrap())
}

fn te(pt: u8) -> Option<TelephoneEvent> {
    Some(TelephoneEvent {
        pt,
        clock_rate: 8000,
    })
}

#[test]
fn pcmu_offer_relayed_when_the_answer_keeps_pcmu() {
    let steps = run("relay-pcmu");
    let offer_plan = steps[0].plan(A);
    assert_eq!(offer_plan.remote_rtp, addr("192.0.2.20:10076"));
    assert_eq!(offer_plan.send, None);
    assert_eq!(offer_plan.receive, vec![known(0, CodecKind::Pcmu)]);
    let answered = &steps[1];
    assert_eq!(answered.path(), MediaPath::Relay);
    let a = answered.plan(A);
    assert_eq!(a.send, Some(known(0, CodecKind::Pcmu)));
    assert_eq!(a.receive, vec![known(0, CodecKind::Pcmu)]);
    assert_eq!(a.telephone_event, te(101));
    assert_eq!(
        (a.remote_rtp, a.remote_rtcp, a.rtcp_mux),
        (addr("192.0.2.20:10076"), addr("192.0.2.20:10077"), false)
    );
    assert_eq!(
        (a.direction, a.ptime_ms, a.srtp.is_none()),
        (Direction::SendRecv, 20, true)
    );
    let b = answered.plan(B);
    assert_eq!(b.send, Some(known(0, CodecKind::Pcmu)));
    assert_eq!(b.telephone_event, te(101));
    assert_eq!(
        (b.remote_rtp, b.remote_rtcp),
        (addr("192.0.2.50:11780"), addr("192.0.2.50:11781"))
    );
    assert!(b.srtp.is_none(), "the answer accepted no key");
}

#[test]
fn opus_offerer_answered_pcmu_hears_that_the_audio_is_narrowband() {
    let steps = run("opus-offer-transcoded");
    let answered = &steps[1];
    assert_eq!(answered.path(), MediaPath::Transcode);
    assert_eq!(answered.plan(A).send, Some(known(111, CodecKind::Opus)));
    assert_eq!(answered.plan(B).send, Some(known(0, CodecKind::Pcmu)));
}

#[test]
fn pcmu_offer_transcoded_when_the_answer_picks_opus() {
    let steps = run("transcode-opus");
    let answered = &steps[1];
    assert_eq!(answered.path(), MediaPath::Transcode);
    let a = answered.plan(A);
    assert_eq!(a.send, Some(known(0, CodecKind::Pcmu)));
    assert_eq!(a.telephone_event, te(101));
    let b = answered.plan(B);
    assert_eq!(b.send, Some(known(96, CodecKind::Opus)));
    assert_eq!(b.receive, vec![known(96, CodecKind::Opus)]);
    assert_eq!(
        b.telephone_event,
        Some(TelephoneEvent {
            pt: 97,
            clock_rate: 48000
        })
    );
    assert!(b.rtcp_mux);
    assert_eq!(b.remote_rtcp, b.remote_rtp);
}

#[test]
fn savp_offer_answered_with_one_key_of_ours() {
    let steps = run("srtp-savp");
    let offered = steps[0].plan(A);
    let pair = offered.srtp.as_ref().expect("keys from the offer");
    // The first line we support: tag 1, the 32-bit suite (baresip's order).
    assert_eq!(pair.remote.suite, SrtpSuite::AesCm128HmacSha1_32);
    assert_eq!(pair.local.suite, SrtpSuite::AesCm128HmacSha1_32);
    assert_ne!(pair.local, pair.remote);
    let answered = &steps[1];
    assert_eq!(answered.plan(A).srtp.as_ref(), Some(pair));
    // Leg B accepted tag 1 of our RTP/AVP offer: SRTP there too, with its own keys.
    let b = answered
        .plan(B)
        .srtp
        .as_ref()
        .expect("leg B accepted a key");
    assert_eq!(b.local.suite, SrtpSuite::AesCm128HmacSha1_80);
    assert_ne!(b.local, pair.local);
}

#[test]
fn hold_reinvite_mirrors_the_direction() {
    let steps = run("hold");
    let held = &steps[3];
    assert_eq!(held.plan(A).direction, Direction::RecvOnly);
    assert_eq!(held.plan(B).direction, Direction::SendOnly);
    assert_eq!(held.path(), MediaPath::Relay);
    let resumed = &steps[5];
    assert_eq!(resumed.plan(A).direction, Direction::SendRecv);
    assert_eq!(resumed.plan(B).direction, Direction::SendRecv);
}

#[test]
fn video_stream_declined_with_port_zero() {
    let steps = run("video-declined");
    assert_eq!(steps[1].path(), MediaPath::Relay);
    let a = steps[1].plan(A);
    assert_eq!(a.send, Some(known(0, CodecKind::Pcmu)));
    // Linphone's a=rtcp names the RTCP port.
    assert_eq!(a.remote_rtcp, addr("192.0.2.30:7079"));
    assert_eq!(a.telephone_event, te(100));
}

#[test]
fn rtcp_mux_offer_accepted() {
    let steps = run("rtcp-mux");
    let a = steps[1].plan(A);
    assert!(a.rtcp_mux);
    assert_eq!(a.remote_rtcp, addr("192.0.2.40:8000"));
    assert_eq!(steps[1].path(), MediaPath::Relay);
    assert_eq!(a.send.as_ref().map(|f| f.pt), Some(106));
    assert_eq!(
        a.telephone_event,
        Some(TelephoneEvent {
            pt: 98,
            clock_rate: 48000
        })
    );
}

#[test]
fn declined_answer_gives_plans_without_media() {
    let steps = run("declined-answer");
    for l in [A, B] {
        let plan = steps[1].plan(l);
        assert_eq!(plan.send, None);
        assert_eq!(plan.direction, Direction::Inactive);
        assert!(plan.srtp.is_none());
    }
    assert_eq!(steps[1].plan(B).remote_rtp, None);
}

#[test]
fn g722_relayed() {
    let steps = run("g722");
    assert_eq!(steps[1].path(), MediaPath::Relay);
    assert_eq!(steps[1].plan(A).send, Some(known(9, CodecKind::G722)));
    assert_eq!(steps[1].plan(B).send, Some(known(9, CodecKind::G722)));
    assert_eq!(steps[1].plan(A).ptime_ms, 30, "the offer's a=ptime");
}

#[test]
fn telephone_event_numbers_differ_per_leg() {
    let steps = run("telephone-event-pts");
    let answered = &steps[1];
    assert_eq!(answered.plan(A).telephone_event, te(96));
    assert_eq!(answered.plan(B).telephone_event, te(101));
    let b = answered.plan(B);
    assert_eq!(b.send, Some(known(8, CodecKind::Pcma)));
    assert_eq!(b.receive, vec![known(8, CodecKind::Pcma)]);
    assert_eq!(answered.path(), MediaPath::Relay);
}

#[test]
fn dynamic_payload_types_never_collide() {
    let steps = run("pt-collision");
    assert_eq!(steps[1].path(), MediaPath::Transcode);
    assert_eq!(steps[1].plan(B).send, Some(known(98, CodecKind::Opus)));
    assert_eq!(steps[1].plan(A).send, Some(known(0, CodecKind::Pcmu)));
    // B's re-offer binds Opus to 96, which is speex on leg A: the offer to A renumbers it.
    let reanswered = &steps[3];
    assert_eq!(reanswered.plan(B).send, Some(known(96, CodecKind::Opus)));
    assert_eq!(reanswered.plan(A).send, Some(known(98, CodecKind::Opus)));
    assert_eq!(reanswered.path(), MediaPath::Relay);
}

#[test]
fn echo_answered_locally() {
    let steps = run("local-echo");
    let plan = steps[0].plan(A);
    assert_eq!(steps[0].path(), MediaPath::Relay);
    assert_eq!(plan.send, Some(known(9, CodecKind::G722)));
    assert_eq!(plan.telephone_event, te(101));
    assert_eq!(plan.remote_rtp, addr("192.0.2.60:2222"));
}

#[test]
fn delayed_offer_answered_in_the_ack() {
    let steps = run("local-delayed-offer");
    let plan = steps[1].plan(A);
    assert_eq!(plan.send, Some(known(0, CodecKind::Pcmu)));
    assert_eq!(plan.remote_rtp, addr("192.0.2.50:11780"));
    assert!(plan.srtp.is_none());
}

#[test]
fn chromium_dtls_offer_is_refused() {
    let text = std::fs::read_to_string(format!(
        "{}/../sdp/tests/samples/chromium-offer.sdp",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let mut negotiator = Negotiator::new(&config(), SESSION);
    let err = negotiator
        .offer(A, B, text.as_bytes(), ports(A), ports(B))
        .unwrap_err();
    assert!(
        matches!(err, NegotiateError::UnsupportedTransport { .. }),
        "{err}"
    );
    assert_eq!(err.sip_status(), 488);
}

/// Device SDP with lines dropped, doubled or swapped never makes the negotiator panic, in
/// offers, answers and local answers; whatever it accepts, it answers with SDP that parses.
#[test]
fn mangled_device_sdp_never_panics() {
    let dir = format!("{}/../sdp/tests/samples", env!("CARGO_MANIFEST_DIR"));
    let mut originals = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        originals.push(std::fs::read_to_string(entry.unwrap().path()).unwrap());
    }
    originals.sort();
    let mut variants = Vec::new();
    for text in &originals {
        let lines: Vec<&str> = text.lines().collect();
        variants.push(text.clone());
        for i in 0..lines.len() {
            let mut dropped = lines.clone();
            dropped.remove(i);
            variants.push(dropped.join("\n"));
            let mut doubled = lines.clone();
            doubled.insert(i, lines[i]);
            variants.push(doubled.join("\n"));
            if i + 1 < lines.len() {
                let mut swapped = lines.clone();
                swapped.swap(i, i + 1);
                variants.push(swapped.join("\n"));
            }
        }
    }
    let mut accepted = 0;
    for (i, offer) in variants.iter().enumerate() {
        let answer = &variants[(i * 7 + 3) % variants.len()];
        let mut n = Negotiator::new(&config(), SESSION);
        if let Ok(offered) = n.offer(A, B, offer.as_bytes(), ports(A), ports(B)) {
            sb_sdp::Sdp::parse(&offered.sdp).expect("our offer parses");
            if let Ok(answered) = n.answer(B, A, answer.as_bytes()) {
                sb_sdp::Sdp::parse(&answered.sdp).expect("our answer parses");
                accepted += 1;
            }
        }
        let mut local = Negotiator::new(&config(), SESSION);
        if let Ok(answered) = local.answer_locally(A, offer.as_bytes(), ports(A)) {
            sb_sdp::Sdp::parse(&answered.sdp).expect("our local answer parses");
        }
    }
    assert!(accepted > 100, "only {accepted} exchanges completed");
}

/// The step's browser parameters of `leg`.
fn browser_of(step: &Step, leg: LegId) -> &sb_media_engine::WebRtcRemote {
    let all = match step {
        Step::Offered(o) => &o.webrtc,
        Step::Answered(a) => &a.webrtc,
    };
    &all.iter()
        .find(|(l, _)| *l == leg)
        .expect("browser parameters")
        .1
}

#[test]
fn chromium_offer_to_a_phone_is_relayed_with_the_gateway_as_dtls_client() {
    let steps = run("webrtc-chromium-offer");
    let browser = browser_of(&steps[0], B);
    assert_eq!(browser.role, sb_media_engine::DtlsRole::Client);
    assert_eq!(browser.mid.as_str(), "0");
    assert_eq!(browser.mid_extension, Some(4));
    assert_eq!(browser.ssrcs, vec![3_735_928_559]);
    assert_eq!(browser.ice.ufrag(), "Yx5T");
    assert_eq!(browser.fingerprint.hash.as_ref(), "sha-256");
    assert_eq!(browser.fingerprint.bytes.len(), 32);
    assert_eq!(browser.fingerprint.bytes[0], 0x6b);
    let offer_plan = steps[0].plan(B);
    assert_eq!(
        offer_plan.direction,
        Direction::SendRecv,
        "c=0.0.0.0 of ICE is no hold"
    );
    let answered = &steps[1];
    assert_eq!(answered.path(), MediaPath::Relay);
    assert_eq!(browser_of(answered, B), browser);
    let b = answered.plan(B);
    assert_eq!(b.send, Some(known(0, CodecKind::Pcmu)));
    assert_eq!(b.telephone_event, te(126));
    assert!(b.rtcp_mux && b.srtp.is_none(), "DTLS-SRTP, not SDES");
    assert_eq!(b.direction, Direction::SendRecv);
}

#[test]
fn phone_offer_to_a_browser_is_transcoded_with_the_gateway_as_dtls_server() {
    let steps = run("webrtc-offer-to-browser");
    let Step::Offered(offered) = &steps[0] else {
        panic!("an offer");
    };
    assert!(offered.webrtc.is_empty(), "the phone is no browser");
    let answered = &steps[1];
    assert_eq!(answered.path(), MediaPath::Transcode);
    let browser = browser_of(answered, B);
    assert_eq!(browser.role, sb_media_engine::DtlsRole::Server);
    assert_eq!(browser.mid.as_str(), "0");
    assert_eq!(browser.mid_extension, Some(1));
    assert_eq!(browser.ssrcs, vec![2_882_400_001]);
    assert_eq!(answered.plan(A).send, Some(known(0, CodecKind::Pcmu)));
    assert_eq!(
        answered.plan(B).send.as_ref().map(|f| &f.codec),
        Some(&Codec::Known(CodecKind::Opus))
    );
}

#[test]
fn a_browser_offer_on_a_phone_leg_is_refused() {
    let path = format!(
        "{}/tests/golden/webrtc-chromium-offer.sdp",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(path).unwrap();
    let (_, script) = sections(&text);
    let offer = &script
        .iter()
        .find(|s| s.header == "offer B A")
        .expect("the offer")
        .body;
    assert!(sb_media_engine::is_webrtc_offer(offer.as_bytes()));
    let mut negotiator = Negotiator::new(&config(), SESSION);
    let refused = negotiator.offer(B, A, offer.as_bytes(), ports(B), ports(A));
    assert!(matches!(
        refused,
        Err(NegotiateError::UnsupportedTransport { .. })
    ));
}
