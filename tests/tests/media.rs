//! Media through the server's gateway as people hear it: real phones
//! (baresip) each play their own pure tone (caller 700 Hz, callee 1300 Hz)
//! from a WAV file and record what they decode; a call passes when each
//! recording holds the other party's tone (Goertzel: ≥ 10× the own tone,
//! most of the energy, not silence). The gateway's own view of the call
//! (`/api/calls`, `/api/cdrs`, `/metrics`) is checked alongside.
//!
//! Covered: relay and transcoding (PCMU, PCMA, G.722, Opus), SRTP to plain
//! RTP, RFC 4733 digits and SIP INFO turned into RFC 4733, symmetric RTP
//! latching (the test is the RTP peer), the echo and tone lines, the media
//! timeout, and a dialplan rule that keeps media off the gateway.
//!
//! Every process a test starts (server, phones, SIPp) is stopped by it, by
//! pid, also when it fails. Sleeps only let audio accumulate ([`TALK`]);
//! everything else waits for an event with a bound. The measured tone
//! figures are printed for every recording, also when a check passes.

#![allow(clippy::print_stderr)]

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use sb_e2e::audio::ToneCheck;
use sb_e2e::baresip::{Baresip, BaresipConfig, Codec, EventKind};
use sb_e2e::http::Api;
use sb_e2e::media::{CallMedia, PASS_THROUGH_DIALPLAN, dialplan_dir, metric_value};
use sb_e2e::rtp::audio_address;
use sb_e2e::{Server, Sipp};

#[path = "media/support.rs"]
mod support;
use support::*;

/// alice (`a`) calls bob (`b`), both talk for [`TALK`]; each must hear the
/// other through the transcoder, and the gateway reports both legs'
/// codecs and frames decoded and encoded on both. Returns the server (not
/// stopped yet) and its API client.
fn transcoded_call(a: Codec, b: Codec) -> (Server, Api) {
    let (server, api) = server(&gateway());
    let mut alice = phone(&server, "alice", "secret", |c| {
        c.codecs(&[a]).tone(A_HZ).record()
    });
    let mut bob = phone(&server, "bob", "pw-bob", |c| {
        c.codecs(&[b]).tone(B_HZ).record()
    });
    let call_id = connect(&mut alice, &mut bob, "sip:bob@example.test");
    let talking = Instant::now();
    assert_anchored(&alice, &bob);
    let live = live_media(&api, &call_id, "both legs transcoding", |m| {
        ["caller", "callee"].iter().all(|l| {
            m.leg(l)
                .is_some_and(|l| l.frames_decoded > 0 && l.frames_encoded.is_some_and(|n| n > 0))
        })
    });
    assert_eq!(live.path, "transcode", "{live:?}");
    for (leg, codec) in [("caller", a), ("callee", b)] {
        let reported = live.leg(leg).and_then(|l| l.codec.as_deref());
        assert!(
            reported.is_some_and(|r| r.eq_ignore_ascii_case(codec.encoding_name())),
            "the {leg} leg uses {}: {live:?}",
            codec.encoding_name()
        );
    }
    talk_from(talking);
    hang_up(&mut alice, &mut bob);
    let (an, bn) = (a.encoding_name(), b.encoding_name());
    assert_hears(
        &mut alice,
        &format!("alice ({an}) hears bob ({bn})"),
        B_HZ,
        A_HZ,
    );
    assert_hears(
        &mut bob,
        &format!("bob ({bn}) hears alice ({an})"),
        A_HZ,
        B_HZ,
    );
    alice.stop();
    bob.stop();
    (server, api)
}

#[test]
fn pcmu_caller_and_opus_callee_hear_each_other_through_the_transcoder() {
    let (_server, api) = transcoded_call(Codec::Pcmu, Codec::Opus);
    let metrics = api.get("/metrics").text();
    let decoded = metric_value(&metrics, "switchboard_media_frames_decoded_total");
    assert!(
        decoded.is_some_and(|n| n > 0.0),
        "switchboard_media_frames_decoded_total after a transcoded call: {decoded:?}\n{metrics}"
    );
}

#[test]
fn pcmu_and_pcma_phones_are_transcoded() {
    transcoded_call(Codec::Pcmu, Codec::Pcma);
}

#[test]
fn g722_and_pcmu_phones_are_transcoded() {
    transcoded_call(Codec::G722, Codec::Pcmu);
}

#[test]
fn pcmu_to_pcmu_is_relayed_without_decoding_and_recorded() {
    let (server, api) = server(&gateway());
    let mut alice = phone(&server, "alice", "secret", |c| c.tone(A_HZ).record());
    let mut bob = phone(&server, "bob", "pw-bob", |c| c.tone(B_HZ).record());
    let call_id = connect(&mut alice, &mut bob, "sip:bob@example.test");
    let talking = Instant::now();
    assert_anchored(&alice, &bob);
    let live = live_media(&api, &call_id, "packets both ways", both_legs_carry_packets);
    assert_eq!(live.path, "relay", "{live:?}");
    for leg in &live.legs {
        assert_eq!(leg.frames_decoded, 0, "a relay decodes nothing: {live:?}");
        assert_eq!(leg.codec.as_deref(), Some("PCMU"), "{live:?}");
    }
    talk_from(talking);
    hang_up(&mut alice, &mut bob);
    assert_hears(&mut alice, "alice hears bob", B_HZ, A_HZ);
    assert_hears(&mut bob, "bob hears alice", A_HZ, B_HZ);

    let record = api.only_cdr(WAIT);
    assert_eq!(record["call_id"], call_id.as_str(), "{record}");
    let media = CallMedia::from_json(&record["media"])
        .unwrap_or_else(|e| panic!("the record's media: {e}\n{record}"));
    assert_eq!(media.path, "relay", "{record}");
    assert!(both_legs_carry_packets(&media), "{record}");
    assert!(record["end_reason"].is_null(), "a hang-up: {record}");
}

#[test]
fn an_srtp_phone_talks_with_a_plain_rtp_phone() {
    let (server, api) = server(&gateway());
    let mut alice = phone(&server, "alice", "secret", |c| {
        c.srtp_mandatory().tone(A_HZ).record()
    });
    let mut bob = phone(&server, "bob", "pw-bob", |c| c.tone(B_HZ).record());
    let call_id = connect(&mut alice, &mut bob, "sip:bob@example.test");
    let talking = Instant::now();
    assert_anchored(&alice, &bob);
    let offer = bob.received_request_body("INVITE").expect("bob's offer");
    assert!(offer.contains("RTP/AVP"), "bob cannot do SRTP: {offer}");
    let live = live_media(&api, &call_id, "packets both ways", both_legs_carry_packets);
    assert_eq!(
        live.leg("caller").and_then(|l| l.srtp),
        Some(true),
        "{live:?}"
    );
    assert_eq!(
        live.leg("callee").and_then(|l| l.srtp),
        Some(false),
        "{live:?}"
    );
    talk_from(talking);
    hang_up(&mut alice, &mut bob);
    assert!(
        alice.log().contains("SRTP is Enabled"),
        "alice's media was not encrypted:\n{}",
        alice.log()
    );
    assert_hears(&mut alice, "alice (SRTP) hears bob (RTP)", B_HZ, A_HZ);
    assert_hears(&mut bob, "bob (RTP) hears alice (SRTP)", A_HZ, B_HZ);
}

#[test]
fn rfc4733_digits_reach_the_callee_in_order() {
    let (server, _api) = server(&gateway());
    let mut alice = phone(&server, "alice", "secret", |c| c);
    let mut bob = phone(&server, "bob", "pw-bob", |c| c);
    connect(&mut alice, &mut bob, "sip:bob@example.test");
    assert_anchored(&alice, &bob);
    alice.send_digits("159#");
    assert_eq!(bob.expect_digits(4, WAIT), "159#");
    hang_up(&mut alice, &mut bob);
}

#[test]
fn a_sip_info_digit_reaches_the_callee_as_rfc4733() {
    let (server, _api) = server(&gateway());
    let mut bob = phone(&server, "bob", "pw-bob", |c| c.tone(B_HZ));
    // The caller's RTP port: bound, silent.
    let idle = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let port = idle.local_addr().expect("address").port().to_string();
    let sipp = Sipp::new("media_info_dtmf.xml", server.sip, false)
        .set("caller", "alice")
        .set("callee", "bob")
        .set("domain", "example.test")
        .set("rtp_addr", "127.0.0.1")
        .set("rtp_port", &port)
        .set("digit", "5")
        .auth("alice", "secret")
        .args(&["-auth_uri", "bob@example.test"])
        .spawn();
    bob.expect_event(&EventKind::CallIncoming, WAIT);
    bob.answer();
    bob.expect_event(&EventKind::CallEstablished, WAIT);
    assert_eq!(bob.expect_digits(1, WAIT), "5");
    let traced = bob.sip_messages();
    assert!(
        traced.iter().any(|m| m.start_line.starts_with("INVITE ")),
        "bob's SIP trace holds no INVITE: {traced:?}"
    );
    let infos: Vec<_> = traced
        .iter()
        .filter(|m| m.start_line.starts_with("INFO "))
        .collect();
    assert!(
        infos.is_empty(),
        "the gateway answers the INFO and sends RFC 4733 instead: {infos:?}"
    );
    bob.hangup();
    bob.expect_event(&EventKind::CallClosed, WAIT);
    let run = sipp.wait(WAIT);
    assert!(run.success, "{}", run.errors);
}

#[test]
fn the_gateway_latches_onto_the_address_rtp_comes_from() {
    let (server, _api) = server(&gateway());
    let mut bob = phone(&server, "bob", "pw-bob", |c| c.tone(B_HZ).record());
    // The caller's SDP names an unreachable address; its RTP really comes
    // from this socket, on the port the SDP names.
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let port = socket.local_addr().expect("address").port().to_string();
    let mut sipp = Sipp::new("media_caller.xml", server.sip, false)
        .set("caller", "alice")
        .set("callee", "bob")
        .set("domain", "example.test")
        .set("rtp_addr", "192.0.2.1")
        .set("rtp_port", &port)
        .auth("alice", "secret")
        .args(&["-auth_uri", "bob@example.test"])
        .spawn();
    bob.expect_event(&EventKind::CallIncoming, WAIT);
    bob.answer();
    let ok = sipp
        .wait_message(
            |m| m.received && m.start_line.starts_with("SIP/2.0 200") && !m.body.is_empty(),
            WAIT,
        )
        .unwrap_or_else(|| panic!("no 200 OK with SDP:\n{}", sipp.messages()));
    let gateway_addr = audio_address(&ok.body).expect("an audio address in the answer");
    assert!(
        GATEWAY_PORTS.contains(&gateway_addr.port()),
        "the answer names {gateway_addr}"
    );
    bob.expect_event(&EventKind::CallEstablished, WAIT);

    let received = exchange_pcmu(&socket, gateway_addr, A_HZ, TALK);
    bob.hangup();
    bob.expect_event(&EventKind::CallClosed, WAIT);
    let run = sipp.wait(WAIT);
    assert!(run.success, "{}", run.errors);

    assert!(
        received.sources.iter().all(|s| *s == gateway_addr),
        "RTP from elsewhere than {gateway_addr}: {:?}",
        received.sources
    );
    assert_eq!(received.not_rtp, 0, "datagrams that are not RTP arrived");
    let check = ToneCheck::measure(&received.pcm, 8000, SKIP, B_HZ, A_HZ);
    eprintln!("the latched socket: {check}");
    check.assert_heard("the socket hears bob once the gateway latched onto it");
    assert_hears(&mut bob, "bob hears the latched socket", A_HZ, B_HZ);
}

#[test]
fn the_echo_line_returns_the_callers_own_audio() {
    let (server, api) = server(&gateway());
    let mut alice = phone(&server, "alice", "secret", |c| c.tone(A_HZ).record());
    alice.dial("sip:*43@example.test");
    let call_id = expect_established(&mut alice)
        .call_id
        .expect("the call's Call-ID");
    alice.wait_rtp_flowing(25, WAIT);
    let talking = Instant::now();
    let live = live_media(&api, &call_id, "the echo's leg", |m| {
        m.leg("caller").is_some_and(|l| l.packets_received > 0)
    });
    assert_eq!(live.path, "echo", "{live:?}");
    talk_from(talking);
    alice.hangup();
    alice.expect_event(&EventKind::CallClosed, WAIT);
    assert_hears(&mut alice, "alice hears herself", A_HZ, B_HZ);
}

#[test]
fn the_tone_line_plays_one_kilohertz_then_hangs_up() {
    let (server, _api) = server(&gateway());
    let mut alice = phone(&server, "alice", "secret", |c| c.tone(A_HZ).record());
    alice.dial("sip:*44@example.test");
    let answered = expect_established(&mut alice);
    // The shipped plan plays 5 s, then the server sends BYE.
    let closed = alice.expect_event(&EventKind::CallClosed, Duration::from_secs(5) + WAIT);
    let lasted = closed.at.duration_since(answered.at);
    assert!(
        lasted >= Duration::from_secs(4) && lasted <= Duration::from_secs(8),
        "the tone call lasted {lasted:?}, not about 5 s"
    );
    assert!(
        !closed.param.starts_with(|c: char| c.is_ascii_digit()),
        "a BYE ends the call, not an error: {closed:?}"
    );
    assert_hears(&mut alice, "alice hears the test tone", 1000, A_HZ);
}

#[test]
fn a_call_whose_caller_sends_no_rtp_is_ended_by_the_media_timeout() {
    let (server, api) = server(&gateway().timeout(Duration::from_secs(2)));
    let mut bob = phone(&server, "bob", "pw-bob", |c| c.tone(B_HZ));
    let idle = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let port = idle.local_addr().expect("address").port().to_string();
    let sipp = Sipp::new("media_caller.xml", server.sip, false)
        .set("caller", "alice")
        .set("callee", "bob")
        .set("domain", "example.test")
        .set("rtp_addr", "127.0.0.1")
        .set("rtp_port", &port)
        .auth("alice", "secret")
        .args(&["-auth_uri", "bob@example.test"])
        .spawn();
    bob.expect_event(&EventKind::CallIncoming, WAIT);
    bob.answer();
    let established = bob.expect_event(&EventKind::CallEstablished, WAIT);
    // The server hangs up both sides: bob gets a BYE, and so does SIPp
    // (its scenario ends with the BYE it answers).
    let closed = bob.expect_event(&EventKind::CallClosed, WAIT);
    let lasted = closed.at.duration_since(established.at);
    assert!(
        lasted >= Duration::from_millis(1500) && lasted <= Duration::from_secs(6),
        "ended after {lasted:?}, not about 2 s of silence"
    );
    let run = sipp.wait(WAIT);
    assert!(run.success, "the caller got no BYE: {}", run.errors);

    let record = api.only_cdr(WAIT);
    assert_eq!(record["end_reason"], "media_timeout", "{record}");
    assert_eq!(record["hangup_by"], "system", "{record}");
    assert_eq!(record["disposition"], "ANSWERED", "{record}");
}

#[test]
fn a_pass_through_rule_lets_the_phones_exchange_rtp_directly() {
    let extra = format!("{}{}", gateway().to_toml(), dialplan_dir("plans"));
    let (server, api) = server_with_files(&extra, &[("plans/main.toml", PASS_THROUGH_DIALPLAN)]);
    let mut alice = phone(&server, "alice", "secret", |c| c.tone(A_HZ).record());
    let mut bob = phone(&server, "bob", "pw-bob", |c| c.tone(B_HZ).record());
    let call_id = connect(&mut alice, &mut bob, "sip:bob@example.test");
    let talking = Instant::now();
    assert_eq!(
        offer_received(&bob),
        offer_sent(&alice),
        "bob must get alice's own RTP address"
    );
    let answer = answer_received(&alice);
    assert!(
        !GATEWAY_PORTS.contains(&answer.port()),
        "alice's answer names a gateway port: {answer}"
    );
    let live = live_media(&api, &call_id, "the media path", |_| true);
    assert_eq!(live.path, "pass-through", "{live:?}");
    talk_from(talking);
    hang_up(&mut alice, &mut bob);
    assert_hears(&mut alice, "alice hears bob directly", B_HZ, A_HZ);
    assert_hears(&mut bob, "bob hears alice directly", A_HZ, B_HZ);
}

/// Two phones calling each other without a server: the recordings, tone
/// files, tone checks and DTMF work on their own (Opus: 48 kHz stereo
/// recordings; SRTP on both sides).
#[test]
fn phones_calling_directly_record_each_others_tone() {
    let setup = |name: &str, hz: u32| {
        BaresipConfig::peer(name)
            .codecs(&[Codec::Opus])
            .srtp_mandatory()
            .tone(hz)
            .record()
    };
    let mut a = Baresip::start(&setup("a", A_HZ));
    let mut b = Baresip::start(&setup("b", B_HZ));
    let uri = b.direct_uri();
    connect(&mut a, &mut b, &uri);
    let talking = Instant::now();
    a.send_digits("159#");
    assert_eq!(b.expect_digits(4, WAIT), "159#");
    talk_from(talking);
    hang_up(&mut a, &mut b);
    assert!(a.log().contains("SRTP is Enabled"), "{}", a.log());
    assert_hears(&mut a, "a hears b", B_HZ, A_HZ);
    assert_hears(&mut b, "b hears a", A_HZ, B_HZ);
    let wav = a.decoded_audio();
    assert_eq!((wav.sample_rate, wav.channels), (48000, 2));
    // The phones' own tones are not what the other one heard.
    let own = ToneCheck::of_wav(&wav, SKIP, A_HZ, B_HZ);
    assert!(!own.heard(), "a heard its own tone: {own}");
}
