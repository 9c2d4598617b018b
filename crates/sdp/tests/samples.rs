//! Descriptions in the shape real devices send them: each parses, is written back byte for
//! byte (with CRLF line ends), and exposes the fields the gateway reads.

use std::net::IpAddr;

use sb_sdp::{Crypto, MediaDirection, Sdp, Setup};

fn sample(name: &str) -> (Sdp, String) {
    let path = format!("{}/tests/samples/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let sdp = Sdp::parse(text.as_bytes()).unwrap_or_else(|e| panic!("{name}: {e}"));
    let crlf = text.replace('\n', "\r\n");
    let written = String::from_utf8(sdp.to_bytes()).unwrap();
    assert_eq!(written, crlf, "{name} is not written back as it came");
    assert_eq!(Sdp::parse(written.as_bytes()).unwrap(), sdp);
    // CRLF input reads the same as LF input.
    assert_eq!(Sdp::parse(crlf.as_bytes()).unwrap(), sdp);
    (sdp, text)
}

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

#[test]
fn baresip_srtp_offer() {
    let (sdp, _) = sample("baresip-savp.sdp");
    assert_eq!(sdp.attributes.value("tool"), Some("baresip 1.0.0"));
    let (index, audio) = sdp.first_audio().unwrap();
    assert_eq!(index, 0);
    assert!(audio.is_srtp() && !audio.is_dtls());
    assert_eq!(
        audio.payload_types().collect::<Vec<_>>(),
        vec![96, 9, 0, 8, 101]
    );
    assert_eq!(audio.bandwidths[0].value, 96);
    assert_eq!(audio.attributes.rtpmap(96).unwrap().channels, Some(2));
    assert_eq!(audio.attributes.fmtp("101"), Some("0-15"));
    assert_eq!(audio.attributes.ptime(), Some(20));
    assert_eq!(audio.attributes.ssrcs().next().unwrap().id, 3_394_867_841);
    let cryptos: Vec<Crypto<'_>> = audio.attributes.cryptos().collect();
    assert_eq!(cryptos.len(), 2);
    assert_eq!(
        (cryptos[0].tag, cryptos[0].suite),
        (1, "AES_CM_128_HMAC_SHA1_32")
    );
    assert_eq!(cryptos[1].keys[0].decode_key_salt().unwrap().len(), 30);
    assert_eq!(
        sdp.connection_for(audio).and_then(|c| c.ip()),
        Some(ip("192.0.2.20"))
    );
}

#[test]
fn linphone_offer_with_video() {
    let (sdp, _) = sample("linphone.sdp");
    assert_eq!(sdp.origin.username, "alice");
    assert_eq!(sdp.session_name, "Talk");
    assert_eq!(sdp.media.len(), 2);
    let audio = &sdp.media[0];
    assert_eq!(audio.attributes.rtcp().unwrap().port, 7079);
    // Three telephone-event clock rates, and G.729 without an rtpmap (static type 18).
    let events: Vec<u32> = audio
        .attributes
        .rtpmaps()
        .filter(|r| r.encoding == "telephone-event")
        .map(|r| r.clock_rate)
        .collect();
    assert_eq!(events, vec![48000, 16000, 8000]);
    assert_eq!(audio.attributes.rtpmap(18), None);
    assert_eq!(audio.attributes.fmtp("18"), Some("annexb=yes"));
    assert_eq!(sdp.direction_for(audio), MediaDirection::SendRecv);
    let video = &sdp.media[1];
    assert_eq!((video.media.as_str(), video.port), ("video", 9078));
    assert_eq!(video.attributes.all("rtcp-fb").count(), 8);
}

#[test]
fn zoiper_offer() {
    let (sdp, _) = sample("zoiper.sdp");
    assert_eq!(sdp.origin.session_id, "0");
    let audio = &sdp.media[0];
    assert!(audio.attributes.rtcp_mux());
    let fmtp = sb_sdp::Fmtp::parse(audio.attributes.get("fmtp").unwrap().value_str()).unwrap();
    assert_eq!(
        fmtp.pairs().collect::<Vec<_>>(),
        vec![
            ("sprop-maxcapturerate", Some("16000")),
            ("minptime", Some("20")),
            ("useinbandfec", Some("1"))
        ]
    );
    // Static type 3 (GSM) has no rtpmap.
    assert_eq!(audio.payload_types().last(), Some(3));
    assert_eq!(audio.attributes.rtpmap(3), None);
}

#[test]
fn yealink_offer() {
    let (sdp, _) = sample("yealink.sdp");
    assert_eq!(sdp.session_name, "SDP data");
    let audio = &sdp.media[0];
    // The fmtp comes before its rtpmap.
    assert_eq!(audio.attributes.fmtp("101"), Some("0-15"));
    assert_eq!(
        audio.attributes.rtpmap(101).unwrap().encoding,
        "telephone-event"
    );
    assert_eq!(audio.attributes.direction(), Some(MediaDirection::SendRecv));
}

#[test]
fn polycom_srtp_with_session_level_direction() {
    let (sdp, _) = sample("polycom-srtp.sdp");
    let audio = &sdp.media[0];
    assert_eq!(audio.attributes.direction(), None);
    assert_eq!(sdp.attributes.direction(), Some(MediaDirection::SendRecv));
    assert_eq!(sdp.direction_for(audio), MediaDirection::SendRecv);
    let crypto = audio.attributes.cryptos().next().unwrap();
    assert_eq!(crypto.keys[0].lifetime, Some(1 << 31));
    assert_eq!(crypto.keys[0].mki, None);
    assert_eq!(audio.attributes.rtpmap(102).unwrap().clock_rate, 16000);
}

#[test]
fn chromium_offer_with_bundle_ice_and_dtls() {
    // Chromium writes the literal 127.0.0.1 in o= and 0.0.0.0 in c= for every offer.
    let (sdp, _) = sample("chromium-offer.sdp");
    assert_eq!(sdp.origin.session_id, "4611731400430051336");
    assert_eq!(sdp.connection, None);
    let bundle = sdp.attributes.groups().next().unwrap();
    assert_eq!(bundle.semantics, "BUNDLE");
    assert_eq!(bundle.mids().collect::<Vec<_>>(), vec!["0", "1"]);
    assert_eq!(
        sdp.attributes.value("msid-semantic"),
        Some(" WMS 3b6c6f6e-2f0c-4a4e-9d55-7ad7d2a0a1b1")
    );
    let audio = &sdp.media[0];
    assert!(audio.is_dtls() && audio.is_srtp());
    assert_eq!(audio.port, 9);
    assert_eq!(
        sdp.connection_for(audio).and_then(|c| c.ip()),
        Some(ip("0.0.0.0"))
    );
    assert_eq!(audio.attributes.mid(), Some("0"));
    assert_eq!(audio.attributes.ice_ufrag(), Some("Fg2M"));
    assert_eq!(audio.attributes.ice_pwd(), Some("9oa3Gd1w6X2e1ZxC2wWuA0bE"));
    let candidates: Vec<_> = audio.attributes.candidates().collect();
    assert_eq!(candidates.len(), 4);
    assert!(candidates[1].address.ends_with(".local"));
    assert_eq!(candidates[2].transport, "tcp");
    assert_eq!(candidates[3].related_port, Some(46243));
    let fingerprint = audio.attributes.fingerprint().unwrap();
    assert_eq!(fingerprint.hash_function, "sha-256");
    assert_eq!(fingerprint.bytes().len(), 32);
    assert_eq!(audio.attributes.setup(), Some(Setup::ActPass));
    assert!(audio.attributes.rtcp_mux());
    assert_eq!(
        audio.attributes.rtcp().and_then(|r| r.ip()),
        Some(ip("0.0.0.0"))
    );
    assert_eq!(audio.attributes.ssrcs().count(), 2);
    assert_eq!(audio.attributes.fmtp("63"), Some("111/111"));
    let video = &sdp.media[1];
    let fid = video.attributes.ssrc_groups().next().unwrap();
    assert_eq!(
        fid.ssrcs().collect::<Vec<_>>(),
        vec![2_002_345_678, 3_003_456_789]
    );
}
