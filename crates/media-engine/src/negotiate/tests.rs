//! Unit tests of the negotiator: refusals, SRTP policies and rekeying, versions, forks,
//! determinism. The SDP in → SDP out goldens are in `tests/negotiate.rs`.

use std::net::{IpAddr, SocketAddr};

use sb_media_codec::CodecKind;
use sb_sdp::Sdp;

use super::*;
use crate::plan::{Codec, LocalPorts, PayloadFormat, SrtpSuite};

const A: LegId = LegId(1);
const B: LegId = LegId(2);
const C: LegId = LegId(3);

fn ports(leg: LegId) -> LocalPorts {
    let ip: IpAddr = "192.0.2.1".parse().unwrap();
    let base = 40000 + 2 * u16::try_from(leg.0).unwrap();
    LocalPorts {
        rtp: SocketAddr::new(ip, base),
        rtcp: SocketAddr::new(ip, base + 1),
    }
}

fn config() -> NegotiatorConfig {
    NegotiatorConfig {
        seed: 11,
        ..NegotiatorConfig::new("192.0.2.1".parse().unwrap())
    }
}

/// A device's SDP: `m=audio <port> <proto> <formats>` and extra media-level lines.
fn device(version: u32, proto: &str, formats: &str, lines: &[&str]) -> Vec<u8> {
    let mut text = format!(
        "v=0\r\no=- 9 {version} IN IP4 192.0.2.9\r\ns=-\r\nc=IN IP4 192.0.2.9\r\nt=0 0\r\n\
         m=audio 5004 {proto} {formats}\r\n"
    );
    for line in lines {
        text.push_str(line);
        text.push_str("\r\n");
    }
    text.into_bytes()
}

fn parse(bytes: &[u8]) -> Sdp {
    Sdp::parse(bytes).unwrap()
}

const KEY_1: &str = "inline:QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNk";
const KEY_2: &str = "inline:YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXpBQkNE";

fn crypto_value(sdp: &Sdp) -> Vec<String> {
    sdp.media[0]
        .attributes
        .all("crypto")
        .map(|a| a.value_str().to_owned())
        .collect()
}

#[test]
fn refusals() {
    let mut n = Negotiator::new(&config(), 1);
    let video_only =
        b"v=0\r\no=- 1 1 IN IP4 192.0.2.9\r\ns=-\r\nt=0 0\r\nm=video 5000 RTP/AVP 31\r\n";
    let err = n.offer(A, B, video_only, ports(A), ports(B)).unwrap_err();
    assert!(matches!(err, NegotiateError::NoAudio));
    assert_eq!(err.sip_status(), 488);
    let err = n
        .offer(A, B, b"v=0\r\nbogus\r\n", ports(A), ports(B))
        .unwrap_err();
    assert!(matches!(err, NegotiateError::Sdp { .. }), "{err}");
    // Only a dynamic type without rtpmap: nothing can be offered.
    let err = n
        .offer(A, B, &device(1, "RTP/AVP", "96", &[]), ports(A), ports(B))
        .unwrap_err();
    assert!(matches!(err, NegotiateError::NoCommonCodec));
    // Answer without an offer.
    let err = n.answer(B, A, &device(1, "RTP/AVP", "0", &[])).unwrap_err();
    assert!(matches!(err, NegotiateError::NoPendingOffer { leg: B }));
    assert_eq!(err.sip_status(), 500);
    // SAVP with no suite we implement.
    let err = n
        .offer(
            A,
            B,
            &device(
                1,
                "RTP/SAVP",
                "0",
                &[&format!("a=crypto:1 AES_256_CM_HMAC_SHA1_80 {KEY_1}")],
            ),
            ports(A),
            ports(B),
        )
        .unwrap_err();
    assert!(matches!(err, NegotiateError::NoCommonCrypto));
}

#[test]
fn nothing_transcodable_and_no_common_codec() {
    let mut n = Negotiator::new(&config(), 1);
    let offered = n
        .offer(A, B, &device(1, "RTP/AVP", "18", &[]), ports(A), ports(B))
        .unwrap();
    // G.729 is relayed only: no codec added, telephone-event still offered.
    let sdp = parse(&offered.sdp);
    assert_eq!(sdp.media[0].formats, vec!["18", "101"]);
    let err = n.answer(B, A, &device(1, "RTP/AVP", "0", &[])).unwrap_err();
    assert!(matches!(err, NegotiateError::NoCommonCodec));
    // The offer is still pending: a usable answer completes it.
    let answered = n.answer(B, A, &device(1, "RTP/AVP", "18", &[])).unwrap();
    assert_eq!(answered.path, MediaPath::Relay);
}

#[test]
fn transcode_from_a_codec_outside_the_list() {
    let config = NegotiatorConfig {
        codecs: vec![CodecKind::Pcma],
        ..config()
    };
    let mut n = Negotiator::new(&config, 1);
    let offered = n
        .offer(A, B, &device(1, "RTP/AVP", "0", &[]), ports(A), ports(B))
        .unwrap();
    assert_eq!(parse(&offered.sdp).media[0].formats, vec!["0", "8", "101"]);
    let answered = n.answer(B, A, &device(1, "RTP/AVP", "8", &[])).unwrap();
    assert_eq!(answered.path, MediaPath::Transcode);
    let a = &answered.plans[0].1;
    assert_eq!(
        a.send,
        Some(PayloadFormat {
            pt: 0,
            codec: Codec::Known(CodecKind::Pcmu)
        })
    );
    // No telephone-event from either device: none in the plans.
    assert_eq!(a.telephone_event, None);
    assert_eq!(answered.plans[1].1.telephone_event, None);
}

#[test]
fn srtp_policies_for_offers_we_originate() {
    for (policy, proto, lines) in [
        (SrtpOffer::Never, "RTP/AVP", 0),
        (SrtpOffer::Optional, "RTP/AVP", 2),
        (SrtpOffer::Mandatory, "RTP/SAVP", 2),
    ] {
        let config = NegotiatorConfig {
            srtp_offer: policy,
            ..config()
        };
        let mut n = Negotiator::new(&config, 1);
        let offered = n
            .offer(A, B, &device(1, "RTP/AVP", "0", &[]), ports(A), ports(B))
            .unwrap();
        let sdp = parse(&offered.sdp);
        assert_eq!(sdp.media[0].proto, proto, "{policy:?}");
        assert_eq!(crypto_value(&sdp).len(), lines, "{policy:?}");
    }
}

#[test]
fn mandatory_srtp_needs_a_key_in_the_answer() {
    let config = NegotiatorConfig {
        srtp_offer: SrtpOffer::Mandatory,
        ..config()
    };
    let mut n = Negotiator::new(&config, 1);
    n.offer(A, B, &device(1, "RTP/AVP", "0", &[]), ports(A), ports(B))
        .unwrap();
    let err = n
        .answer(B, A, &device(1, "RTP/SAVP", "0", &[]))
        .unwrap_err();
    assert!(matches!(err, NegotiateError::NoCommonCrypto));
    // A tag we offered with another suite is no match either.
    let wrong_suite = format!("a=crypto:2 AES_CM_128_HMAC_SHA1_80 {KEY_1}");
    let err = n
        .answer(B, A, &device(1, "RTP/SAVP", "0", &[&wrong_suite]))
        .unwrap_err();
    assert!(matches!(err, NegotiateError::NoCommonCrypto));
    let accepted = format!("a=crypto:2 AES_CM_128_HMAC_SHA1_32 {KEY_1}");
    let answered = n
        .answer(B, A, &device(1, "RTP/SAVP", "0", &[&accepted]))
        .unwrap();
    let pair = answered.plans[1].1.srtp.as_ref().expect("SRTP on leg B");
    assert_eq!(pair.local.suite, SrtpSuite::AesCm128HmacSha1_32);
    assert_eq!(&pair.remote.key, b"ABCDEFGHIJKLMNOP");
    // Leg A offered plain RTP: it stays plain.
    assert!(answered.plans[0].1.srtp.is_none());
}

#[test]
fn optional_srtp_answered_with_an_unknown_tag_is_plain() {
    let mut n = Negotiator::new(&config(), 1);
    n.offer(A, B, &device(1, "RTP/AVP", "0", &[]), ports(A), ports(B))
        .unwrap();
    let other_tag = format!("a=crypto:7 AES_CM_128_HMAC_SHA1_80 {KEY_1}");
    let answered = n
        .answer(B, A, &device(1, "RTP/AVP", "0", &[&other_tag]))
        .unwrap();
    assert!(answered.plans[1].1.srtp.is_none());
}

#[test]
fn rekeying_follows_the_device() {
    let mut n = Negotiator::new(&config(), 1);
    let line = |key: &str| format!("a=crypto:1 AES_CM_128_HMAC_SHA1_80 {key}");
    let offer = |version, key: &str| device(version, "RTP/SAVP", "0", &[&line(key)]);
    let answer_b = device(1, "RTP/AVP", "0", &[]);
    n.offer(A, B, &offer(1, KEY_1), ports(A), ports(B)).unwrap();
    let first = n.answer(B, A, &answer_b).unwrap();
    let first_key = first.plans[0].1.srtp.clone().unwrap().local;
    // A session refresh with the same SDP: the same answer (same version, same key). The
    // offer to B changes once: B settled on plain RTP, so the unused keys go.
    let refresh = n.offer(A, B, &offer(1, KEY_1), ports(A), ports(B)).unwrap();
    assert_eq!(n.answer(B, A, &answer_b).unwrap().sdp, first.sdp);
    let to_b = parse(&refresh.sdp);
    assert_eq!(to_b.origin.session_version, "2");
    assert!(crypto_value(&to_b).is_empty());
    let again = n.offer(A, B, &offer(1, KEY_1), ports(A), ports(B)).unwrap();
    assert_eq!(again.sdp, refresh.sdp);
    assert_eq!(n.answer(B, A, &answer_b).unwrap().sdp, first.sdp);
    // The device changes its key: a new key of ours, a new version.
    n.offer(A, B, &offer(2, KEY_2), ports(A), ports(B)).unwrap();
    let rekeyed = n.answer(B, A, &answer_b).unwrap();
    let pair = rekeyed.plans[0].1.srtp.clone().unwrap();
    assert_ne!(pair.local, first_key);
    assert_eq!(&pair.remote.key, b"abcdefghijklmnop");
    assert_eq!(parse(&rekeyed.sdp).origin.session_version, "2");
    assert_eq!(
        crypto_value(&parse(&rekeyed.sdp)).len(),
        1,
        "one line in an answer"
    );
}

#[test]
fn repeated_answer_keeps_the_version_and_a_changed_one_bumps_it() {
    let mut n = Negotiator::new(&config(), 1);
    n.offer(A, B, &device(1, "RTP/AVP", "0 8", &[]), ports(A), ports(B))
        .unwrap();
    let early = n.answer(B, A, &device(1, "RTP/AVP", "0", &[])).unwrap();
    let ok = n.answer(B, A, &device(1, "RTP/AVP", "0", &[])).unwrap();
    assert_eq!(early.sdp, ok.sdp);
    let changed = n.answer(B, A, &device(2, "RTP/AVP", "8", &[])).unwrap();
    assert_eq!(parse(&changed.sdp).origin.session_version, "2");
    assert_eq!(parse(&changed.sdp).media[0].formats, vec!["8"]);
}

#[test]
fn forks_answer_independently_and_removed_legs_are_forgotten() {
    let mut n = Negotiator::new(&config(), 1);
    let offer = device(1, "RTP/AVP", "0 8", &[]);
    let to_b = n.offer(A, B, &offer, ports(A), ports(B)).unwrap();
    let to_c = n.offer(A, C, &offer, ports(A), ports(C)).unwrap();
    assert_eq!(parse(&to_b.sdp).media[0].port, ports(B).rtp.port());
    assert_eq!(parse(&to_c.sdp).media[0].port, ports(C).rtp.port());
    let from_c = n.answer(C, A, &device(1, "RTP/AVP", "8", &[])).unwrap();
    assert_eq!(from_c.plans[1].0, C);
    n.remove_leg(B);
    assert!(matches!(
        n.answer(B, A, &device(1, "RTP/AVP", "0", &[])),
        Err(NegotiateError::NoPendingOffer { leg: B })
    ));
    assert!(n.plan(B).is_none());
    assert_eq!(n.plan(C), Some(&from_c.plans[1].1));
}

#[test]
fn identical_inputs_give_identical_sdp() {
    let offer = device(
        1,
        "RTP/SAVP",
        "0",
        &[&format!("a=crypto:1 AES_CM_128_HMAC_SHA1_80 {KEY_1}")],
    );
    let run = |seed: u64, session: u64| {
        let config = NegotiatorConfig { seed, ..config() };
        let mut n = Negotiator::new(&config, session);
        let offered = n.offer(A, B, &offer, ports(A), ports(B)).unwrap();
        let answered = n.answer(B, A, &device(1, "RTP/AVP", "0", &[])).unwrap();
        (offered.sdp, answered.sdp, n.session_id())
    };
    assert_eq!(run(5, 77), run(5, 77));
    let (offer_5, answer_5, _) = run(5, 77);
    let (offer_6, answer_6, _) = run(6, 77);
    assert_ne!(
        crypto_value(&parse(&offer_5)),
        crypto_value(&parse(&offer_6))
    );
    assert_ne!(
        crypto_value(&parse(&answer_5)),
        crypto_value(&parse(&answer_6))
    );
    // Session id 0: drawn from the generator, the same for every SDP of the call.
    let (offered, answered, id) = run(5, 0);
    assert!(id > 0 && id < 1 << 62);
    assert_eq!(parse(&offered).origin.session_id, id.to_string());
    assert_eq!(parse(&answered).origin.session_id, id.to_string());
    assert_ne!(run(6, 0).2, id);
}

#[test]
fn ipv6_and_legacy_hold() {
    let config = NegotiatorConfig {
        advertised: "2001:db8::1".parse().unwrap(),
        ..config()
    };
    let mut n = Negotiator::new(&config, 1);
    let held = b"v=0\r\no=- 1 2 IN IP4 192.0.2.9\r\ns=-\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\n\
                 m=audio 5004 RTP/AVP 0\r\n";
    let offered = n.offer(A, B, held, ports(A), ports(B)).unwrap();
    let sdp = parse(&offered.sdp);
    assert_eq!(sdp.connection.as_ref().unwrap().addr_type, "IP6");
    assert_eq!(sdp.origin.address, "2001:db8::1");
    assert_eq!(
        sdp.direction_for(&sdp.media[0]),
        sb_sdp::MediaDirection::SendOnly
    );
    assert_eq!(offered.plans[0].1.remote_rtp, None);
    assert_eq!(offered.plans[0].1.direction, crate::Direction::RecvOnly);
}

#[test]
fn local_answer_refusals() {
    let mut n = Negotiator::new(&config(), 1);
    let err = n
        .answer_locally(A, &device(1, "RTP/AVP", "18", &[]), ports(A))
        .unwrap_err();
    assert!(matches!(err, NegotiateError::NoCommonCodec));
    // A declined stream is answered declined.
    let answered = n
        .answer_locally(A, &device(1, "RTP/AVP", "0", &[]).replace_port(0), ports(A))
        .unwrap();
    assert_eq!(parse(&answered.sdp).media[0].port, 0);
    assert_eq!(answered.plans[0].1.send, None);
}

trait ReplacePort {
    fn replace_port(self, port: u16) -> Vec<u8>;
}

impl ReplacePort for Vec<u8> {
    fn replace_port(self, port: u16) -> Vec<u8> {
        String::from_utf8(self)
            .unwrap()
            .replace("m=audio 5004", &format!("m=audio {port}"))
            .into_bytes()
    }
}
