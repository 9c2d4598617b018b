//! Calls between the phone and the browser: negotiation, ICE, DTLS in both roles, relayed
//! PCMU and transcoded Opus.

use std::time::Duration;

use sb_media_codec::{CodecKind, Decoder, Encoder, OpusConfig, ToneGenerator, tone_power};
use sb_media_engine::{DtlsRole, MediaEvent, MediaPath, is_webrtc_offer};
use str0m::IceConnectionState;
use str0m::format::Codec as RtcCodec;

use crate::harness::{Call, Packet, rtp};
use crate::{A, B, ports};

const PHONE_SSRC: u32 = 0x1234_5678;

/// A phone's answer choosing PCMU (and telephone-event when offered).
fn phone_answer() -> &'static str {
    "v=0\r\no=- 20 20 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\n\
     m=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n"
}

/// A phone's answer choosing PCMU and telephone-event 101.
fn phone_answer_with_events() -> &'static str {
    "v=0\r\no=- 21 21 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\n\
     m=audio 4000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n\
     a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=sendrecv\r\n"
}

/// A phone's offer: PCMU, G.729 and telephone-event.
fn phone_offer() -> &'static str {
    "v=0\r\no=- 30 30 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\n\
     m=audio 4000 RTP/AVP 0 18 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:18 G729/8000\r\n\
     a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=ptime:20\r\na=sendrecv\r\n"
}

/// Attribute and protocol names that belong to the browser profile only.
const WEBRTC_ONLY: [&str; 11] = [
    "a=ice-",
    "a=fingerprint",
    "a=setup",
    "a=candidate",
    "a=end-of-candidates",
    "a=mid",
    "a=group",
    "a=ssrc",
    "a=extmap",
    "a=msid",
    "UDP/TLS",
];

fn assert_phone_profile(sdp: &[u8]) {
    let text = std::str::from_utf8(sdp).expect("UTF-8");
    for name in WEBRTC_ONLY {
        assert!(!text.contains(name), "{name} leaked to the phone:\n{text}");
    }
    assert!(text.contains(" RTP/AVP "), "{text}");
}

fn assert_browser_profile(sdp: &[u8], setup: &str) {
    let text = std::str::from_utf8(sdp).expect("UTF-8");
    let has = |line: &str| text.lines().any(|l| l == line);
    let port = ports(B).rtp.port();
    assert!(
        text.contains(&format!("m=audio {port} UDP/TLS/RTP/SAVPF ")),
        "{text}"
    );
    assert!(has("a=ice-lite"), "{text}");
    assert!(has(&format!("a=setup:{setup}")), "{text}");
    assert!(has("a=rtcp-mux"), "{text}");
    assert!(
        has("a=group:BUNDLE 0") || text.contains("a=group:BUNDLE "),
        "{text}"
    );
    assert!(
        has(&format!(
            "a=candidate:1 1 udp 2130706431 192.0.2.1 {port} typ host"
        )),
        "{text}"
    );
    for phone_only in ["a=crypto", "a=rtcp:"] {
        assert!(
            !text.contains(phone_only),
            "{phone_only} sent to the browser:\n{text}"
        );
    }
}

/// The browser offers (edited by `edit_offer`); the phone answers PCMU; the gateway takes
/// DTLS `role`. Returns the call connected.
fn browser_calls(
    codecs: &[RtcCodec],
    edit_offer: impl Fn(String) -> String,
    role: DtlsRole,
) -> (Call, MediaPath) {
    let mut call = Call::new(codecs);
    let (offer, pending) = call.browser_offer();
    let offer = edit_offer(offer);
    assert!(is_webrtc_offer(offer.as_bytes()));
    let offered = call
        .negotiator
        .offer(B, A, offer.as_bytes(), ports(B), ports(A))
        .expect("the browser's offer");
    assert_phone_profile(&offered.sdp);
    assert_eq!(offered.webrtc.len(), 1);
    let answered = call
        .negotiator
        .answer(A, B, phone_answer().as_bytes())
        .expect("the phone's answer");
    assert_browser_profile(&answered.sdp, role.setup());
    call.apply(&answered);
    assert_eq!(call.remote.as_ref().map(|r| r.role), Some(role));
    call.browser_accepts_answer(pending, &answered.sdp);
    call.connect();
    (call, answered.path)
}

/// 20 ms of PCMU: `n` distinct payloads.
fn pcmu_payload(i: usize) -> Vec<u8> {
    (0..160).map(|j| (i * 7 + j) as u8).collect()
}

fn assert_sequential(packets: &[Packet]) {
    for w in packets.windows(2) {
        assert_eq!(w[1].seq, w[0].seq.wrapping_add(1), "{packets:?}");
        assert_eq!(w[1].ssrc, w[0].ssrc);
    }
}

/// PCMU both ways, bit-exact, 20 packets each.
fn relay_pcmu_both_ways(call: &mut Call) {
    for i in 0..20u16 {
        let packet = rtp(
            0,
            100 + i,
            8000 + 160 * u32::from(i),
            PHONE_SSRC,
            &pcmu_payload(i.into()),
        );
        call.phone_sends(&packet);
        let step = call.now + Duration::from_millis(20);
        call.run_until(step);
    }
    let got: Vec<&Packet> = call.at_browser.iter().filter(|p| p.pt == 0).collect();
    assert_eq!(got.len(), 20, "PCMU at the browser: {:?}", call.at_browser);
    for (i, p) in got.iter().enumerate() {
        assert_eq!(p.payload, pcmu_payload(i), "packet {i} bit-exact");
        assert_eq!(p.ssrc, call.local.ssrc, "the SSRC our SDP announced");
    }
    let got: Vec<Packet> = got.into_iter().cloned().collect();
    assert_sequential(&got);

    let pcmu = call.browser_pt(RtcCodec::PCMU);
    assert_eq!(pcmu, 0);
    for i in 0..20u64 {
        call.browser_sends(
            pcmu,
            500 + i,
            160 * i as u32,
            &pcmu_payload(100 + i as usize),
        );
        let step = call.now + Duration::from_millis(20);
        call.run_until(step);
    }
    let got: Vec<Packet> = call
        .at_phone
        .iter()
        .filter(|p| p.pt == 0)
        .cloned()
        .collect();
    assert_eq!(got.len(), 20, "PCMU at the phone");
    for (i, p) in got.iter().enumerate() {
        assert_eq!(p.payload, pcmu_payload(100 + i), "packet {i} bit-exact");
    }
    assert_sequential(&got);
    assert_ne!(got[0].ssrc, call.local.ssrc, "each leg has its own SSRC");
}

#[test]
fn browser_offer_answered_active_relays_pcmu() {
    let (mut call, path) =
        browser_calls(&[RtcCodec::PCMU, RtcCodec::Opus], |o| o, DtlsRole::Client);
    assert_eq!(path, MediaPath::Relay);
    relay_pcmu_both_ways(&mut call);
    let stats = call.session.stats();
    let browser = stats.legs.iter().find(|l| l.leg == B).expect("leg B");
    assert!(browser.srtp);
    assert_eq!(browser.packets_sent, 20);
    assert_eq!(browser.packets_received, 20);
}

#[test]
fn browser_offer_with_setup_active_makes_the_gateway_dtls_server() {
    // The browser insists on being the DTLS client: the gateway answers passive and waits
    // for its ClientHello.
    let active = |offer: String| {
        let edited = offer.replace("a=setup:actpass", "a=setup:active");
        assert_ne!(edited, offer);
        edited
    };
    let (mut call, path) = browser_calls(&[RtcCodec::PCMU], active, DtlsRole::Server);
    assert_eq!(path, MediaPath::Relay);
    relay_pcmu_both_ways(&mut call);
}

#[test]
fn gateway_offer_to_browser_takes_the_role_its_answer_leaves() {
    let mut call = Call::new(&[RtcCodec::PCMU]);
    let offered = call
        .negotiator
        .offer(A, B, phone_offer().as_bytes(), ports(A), ports(B))
        .expect("the phone's offer");
    assert!(offered.webrtc.is_empty());
    assert_browser_profile(&offered.sdp, "actpass");
    let text = String::from_utf8(offered.sdp.to_vec()).expect("UTF-8");
    assert!(
        text.contains("opus/48000/2"),
        "Opus offered to the browser:\n{text}"
    );
    assert!(!text.contains("G729"), "{text}");
    assert!(
        text.contains("PCMU/8000") && text.contains("PCMA/8000"),
        "{text}"
    );
    assert!(
        text.contains(&format!("a=ssrc:{} cname:", call.local.ssrc)),
        "{text}"
    );
    let answer = call.browser_answers(&offered.sdp);
    let answered = call
        .negotiator
        .answer(B, A, answer.as_bytes())
        .expect("the browser's answer");
    assert_phone_profile(&answered.sdp);
    assert_eq!(
        answered.path,
        MediaPath::Relay,
        "the browser took PCMU:\n{answer}"
    );
    call.apply(&answered);
    // str0m answers passive (Chromium answers active: see the negotiation goldens).
    assert!(answer.contains("a=setup:passive"), "{answer}");
    let role = call.remote.as_ref().map(|r| r.role);
    assert_eq!(
        role,
        Some(DtlsRole::Client),
        "the browser answered:\n{answer}"
    );
    call.connect();
    relay_pcmu_both_ways(&mut call);
}

/// 50 frames of a 1 kHz tone in `kind`, 20 ms each.
fn tone(kind: CodecKind, n: usize) -> Vec<Vec<u8>> {
    let mut generator = ToneGenerator::new(1000, kind.sample_rate(), 8000);
    let mut encoder = Encoder::new(kind, &OpusConfig::default()).expect("an encoder");
    (0..n)
        .map(|_| {
            let mut pcm = vec![0i16; kind.samples(20)];
            generator.fill(&mut pcm);
            let mut out = Vec::new();
            encoder.encode(&pcm, &mut out).expect("encode");
            out
        })
        .collect()
}

fn assert_tone(kind: CodecKind, packets: &[Packet]) {
    let mut decoder = Decoder::new(kind).expect("a decoder");
    let mut pcm = Vec::new();
    for p in packets {
        decoder.decode(&p.payload, &mut pcm).expect("decode");
    }
    assert!(pcm.len() >= kind.samples(20) * 20, "{} samples", pcm.len());
    let middle = &pcm[pcm.len() / 4..pcm.len() * 3 / 4];
    let rate = decoder.pcm_rate();
    let on = tone_power(middle, rate, 1000);
    let off = tone_power(middle, rate, 3000);
    assert!(on > 100.0 * off, "1 kHz: {on}, 3 kHz: {off}");
}

#[test]
fn browser_opus_transcoded_to_phone_pcmu_and_back() {
    let (mut call, path) = browser_calls(&[RtcCodec::Opus], |o| o, DtlsRole::Client);
    assert_eq!(path, MediaPath::Transcode);
    let opus = call.browser_pt(RtcCodec::Opus);
    for (i, frame) in tone(CodecKind::Opus, 50).iter().enumerate() {
        call.browser_sends(opus, 1000 + i as u64, 960 * i as u32, frame);
        let step = call.now + Duration::from_millis(20);
        call.run_until(step);
    }
    let step = call.now + Duration::from_millis(300);
    call.run_until(step);
    let at_phone: Vec<Packet> = call
        .at_phone
        .iter()
        .filter(|p| p.pt == 0)
        .cloned()
        .collect();
    assert!(
        at_phone.len() >= 40,
        "{} PCMU packets at the phone",
        at_phone.len()
    );
    assert_sequential(&at_phone);
    assert_tone(CodecKind::Pcmu, &at_phone);

    for (i, frame) in tone(CodecKind::Pcmu, 50).iter().enumerate() {
        let packet = rtp(0, 7 + i as u16, 160 * i as u32, PHONE_SSRC, frame);
        call.phone_sends(&packet);
        let step = call.now + Duration::from_millis(20);
        call.run_until(step);
    }
    let step = call.now + Duration::from_millis(300);
    call.run_until(step);
    let at_browser: Vec<Packet> = call
        .at_browser
        .iter()
        .filter(|p| p.pt == opus)
        .cloned()
        .collect();
    assert!(
        at_browser.len() >= 40,
        "{} Opus packets at the browser",
        at_browser.len()
    );
    assert!(at_browser.iter().all(|p| p.ssrc == call.local.ssrc));
    assert_tone(CodecKind::Opus, &at_browser);
}

#[test]
fn mdns_candidate_in_the_offer_is_tolerated() {
    let to_mdns = |offer: String| {
        let replaced = offer.replace(
            "192.0.2.30 50000",
            "4f0d1b55-0b3c-4ac3-9c5e-1f2b3c4d5e6f.local 50000",
        );
        assert_ne!(replaced, offer, "the offer had a host candidate:\n{offer}");
        replaced
    };
    let (mut call, _) = browser_calls(&[RtcCodec::PCMU], to_mdns, DtlsRole::Client);
    // The address came from the binding requests (peer-reflexive), not from the SDP.
    relay_pcmu_both_ways(&mut call);
}

#[test]
fn wrong_fingerprint_closes_the_leg_without_media() {
    let mut call = Call::new(&[RtcCodec::PCMU]);
    let (offer, pending) = call.browser_offer();
    // Another certificate's fingerprint: the DTLS handshake must fail.
    let line = offer
        .lines()
        .find(|l| l.starts_with("a=fingerprint:sha-256 "))
        .expect("a fingerprint line")
        .to_owned();
    let forged = format!("a=fingerprint:sha-256 {}", ["AB"; 32].join(":"));
    let offer = offer.replace(&line, &forged);
    call.negotiator
        .offer(B, A, offer.as_bytes(), ports(B), ports(A))
        .expect("the offer");
    let answered = call
        .negotiator
        .answer(A, B, phone_answer().as_bytes())
        .expect("the answer");
    call.apply(&answered);
    call.browser_accepts_answer(pending, &answered.sdp);
    let until = call.now + Duration::from_secs(3);
    call.run_until(until);
    assert!(!call.session.webrtc_connected(B));
    assert!(
        !call
            .events
            .contains(&MediaEvent::WebRtcConnected { leg: B }),
        "{:?}",
        call.events
    );
    call.phone_sends(&rtp(0, 1, 0, PHONE_SSRC, &pcmu_payload(0)));
    assert!(call.at_browser.is_empty());
}

#[test]
fn dtmf_from_the_browser_reaches_the_phone_as_rfc_4733() {
    let mut call = Call::new(&[RtcCodec::PCMU, RtcCodec::Tele]);
    let (offer, pending) = call.browser_offer();
    assert!(offer.contains("telephone-event/8000"), "{offer}");
    call.negotiator
        .offer(B, A, offer.as_bytes(), ports(B), ports(A))
        .expect("the browser's offer");
    let answered = call
        .negotiator
        .answer(A, B, phone_answer_with_events().as_bytes())
        .expect("the phone's answer");
    let text = String::from_utf8(answered.sdp.to_vec()).expect("UTF-8");
    assert!(text.contains("a=rtpmap:126 telephone-event/8000"), "{text}");
    call.apply(&answered);
    call.browser_accepts_answer(pending, &answered.sdp);
    call.connect();
    // Digit 5: a start packet, two updates, three end packets (RFC 4733 §2.5.1).
    for (i, (end, duration)) in [
        (false, 160u16),
        (false, 320),
        (false, 480),
        (true, 640),
        (true, 640),
        (true, 640),
    ]
    .into_iter()
    .enumerate()
    {
        let flags = if end { 0x80 | 10 } else { 10 };
        let d = duration.to_be_bytes();
        call.browser_sends(126, 40 + i as u64, 3200, &[5, flags, d[0], d[1]]);
        let step = call.now + Duration::from_millis(20);
        call.run_until(step);
    }
    let events: Vec<&Packet> = call.at_phone.iter().filter(|p| p.pt == 101).collect();
    assert_eq!(events.len(), 6, "{:?}", call.at_phone);
    assert_eq!(events[0].payload, vec![5, 10, 0, 160]);
    assert!(events[0].marker, "the first packet of the event is marked");
    assert!(events.iter().all(|p| p.ts == events[0].ts));
    let digits: Vec<char> = call
        .events
        .iter()
        .filter_map(|e| match e {
            MediaEvent::DtmfReceived { leg, digit, .. } if *leg == B => Some(*digit),
            _ => None,
        })
        .collect();
    assert_eq!(digits, vec!['5']);
}

#[test]
fn ice_restart_from_the_browser_renews_credentials_and_media_flows_on() {
    let (mut call, _) = browser_calls(&[RtcCodec::PCMU], |o| o, DtlsRole::Client);
    relay_pcmu_both_ways(&mut call);
    let before = call.local.ice.clone();
    let (offer, pending) = call.browser_restarts_ice();
    let offered = call
        .negotiator
        .offer(B, A, offer.as_bytes(), ports(B), ports(A))
        .expect("the browser's re-offer");
    assert_phone_profile(&offered.sdp);
    let answered = call
        .negotiator
        .answer(A, B, phone_answer().as_bytes())
        .expect("the phone's answer");
    let text = String::from_utf8(answered.sdp.to_vec()).expect("UTF-8");
    let renewed = answered.webrtc[0].1.local_ice.clone();
    assert_ne!(renewed, before, "RFC 8839 §4.4.1.1.2: new credentials");
    assert!(
        text.contains(&format!("a=ice-ufrag:{}", renewed.ufrag()))
            && !text.contains(before.ufrag()),
        "{text}"
    );
    assert!(
        text.contains("a=setup:active"),
        "the DTLS role is kept:\n{text}"
    );
    let states = call.browser_ice.len();
    call.apply(&answered);
    call.browser_accepts_answer(pending, &answered.sdp);
    let step = call.now + Duration::from_secs(3);
    call.run_until(step);
    let after = &call.browser_ice[states..];
    assert!(
        after.contains(&IceConnectionState::Checking)
            && after.last().is_some_and(|s| matches!(
                s,
                IceConnectionState::Connected | IceConnectionState::Completed
            )),
        "the browser's checks with the new credentials succeed: {after:?}"
    );
    // Media on over the restarted connection, both ways (new sequence numbers: SRTP
    // refuses a replayed index).
    call.at_browser.clear();
    call.at_phone.clear();
    for i in 0..10u16 {
        let packet = rtp(
            0,
            200 + i,
            16000 + 160 * u32::from(i),
            PHONE_SSRC,
            &pcmu_payload(i.into()),
        );
        call.phone_sends(&packet);
        call.browser_sends(
            0,
            600 + u64::from(i),
            8000 + 160 * u32::from(i),
            &pcmu_payload(50),
        );
        let step = call.now + Duration::from_millis(20);
        call.run_until(step);
    }
    assert_eq!(call.at_browser.iter().filter(|p| p.pt == 0).count(), 10);
    assert_eq!(call.at_phone.iter().filter(|p| p.pt == 0).count(), 10);
}

#[test]
fn hold_and_resume_from_the_browser_keep_the_connection() {
    let (mut call, _) = browser_calls(&[RtcCodec::PCMU], |o| o, DtlsRole::Client);
    relay_pcmu_both_ways(&mut call);
    let ice = call.local.ice.clone();
    for (direction, phone_direction) in [("sendonly", "recvonly"), ("sendrecv", "sendrecv")] {
        let (offer, pending) = call.browser_changes_direction(direction);
        let offered = call
            .negotiator
            .offer(B, A, offer.as_bytes(), ports(B), ports(A))
            .expect("the browser's re-offer");
        let text = String::from_utf8(offered.sdp.to_vec()).expect("UTF-8");
        assert!(text.contains(&format!("a={direction}")), "{text}");
        let answer = phone_answer().replace("a=sendrecv", &format!("a={phone_direction}"));
        let answered = call
            .negotiator
            .answer(A, B, answer.as_bytes())
            .expect("the phone's answer");
        let text = String::from_utf8(answered.sdp.to_vec()).expect("UTF-8");
        assert!(
            text.contains(&format!("a=ice-ufrag:{}", ice.ufrag())),
            "{text}"
        );
        call.apply(&answered);
        call.browser_accepts_answer(pending, &answered.sdp);
        let step = call.now + Duration::from_millis(200);
        call.run_until(step);
        assert!(call.session.webrtc_connected(B));
    }
}
