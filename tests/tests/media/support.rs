//! What the media tests share: a server with two users and an API client,
//! phones with their own tone, placing and ending a call, checking what each
//! phone heard, and the gateway's view of the call.

use std::net::{SocketAddr, UdpSocket};
use std::ops::RangeInclusive;
use std::time::{Duration, Instant};

use sb_e2e::Server;
use sb_e2e::audio::{ToneCheck, tone_samples};
use sb_e2e::baresip::{Baresip, BaresipConfig, EventKind, RTP_PORTS};
use sb_e2e::calls::{MD5_ONLY, add_user};
use sb_e2e::http::Api;
use sb_e2e::media::{CallMedia, MediaSection};
use sb_e2e::rtp::{PCMU, RtpPacket, audio_address, ulaw_decode, ulaw_encode};

/// Bound on every single wait for an event.
pub(crate) const WAIT: Duration = Duration::from_secs(10);
/// How long a call carries audio before it is hung up.
pub(crate) const TALK: Duration = Duration::from_secs(3);
/// The start of a recording left out of tone checks (silence before the
/// first packets, jitter buffers filling).
pub(crate) const SKIP: Duration = Duration::from_millis(500);
/// The caller's tone.
pub(crate) const A_HZ: u32 = 700;
/// The callee's tone.
pub(crate) const B_HZ: u32 = 1300;
/// The gateway's RTP ports in these tests: apart from the phones'
/// ([`RTP_PORTS`]) and from the ports the system hands out for port 0, so a
/// port in an SDP tells whose it is.
pub(crate) const GATEWAY_PORTS: RangeInclusive<u16> = 20000..=29999;

/// The `[media]` table most tests use.
pub(crate) fn gateway() -> MediaSection {
    MediaSection::new().ports(GATEWAY_PORTS)
}

/// A server for phones (MD5 only) with `extra` configuration and `files`
/// in its directory, users alice (`secret`) and bob (`pw-bob`), and an
/// administrator's API client.
pub(crate) fn server_with_files(extra: &str, files: &[(&str, &str)]) -> (Server, Api) {
    let server = Server::start_with_files("", &format!("{MD5_ONLY}{extra}"), files);
    add_user(&server, "alice", "secret");
    add_user(&server, "bob", "pw-bob");
    server.add_admin("root", "root-password");
    let base = server.http.clone().expect("the server serves HTTP");
    let api = Api::login(&base, "root", "root-password");
    (server, api)
}

/// [`server_with_files`] with a `[media]` table and no files.
pub(crate) fn server(media: &MediaSection) -> (Server, Api) {
    server_with_files(&media.to_toml(), &[])
}

/// A registered phone of `user` set up by `setup` (its SIP messages are
/// traced: the tests read the SDP it got).
pub(crate) fn phone(
    server: &Server,
    user: &str,
    password: &str,
    setup: impl FnOnce(BaresipConfig) -> BaresipConfig,
) -> Baresip {
    let config = BaresipConfig::registered(user, "example.test", password, server.sip);
    let mut p = Baresip::start(&setup(config).sip_trace());
    p.wait_registered(WAIT);
    p
}

/// `caller` dials `uri`, `callee` answers; both see the call established
/// and RTP flowing. Returns the caller's Call-ID.
pub(crate) fn connect(caller: &mut Baresip, callee: &mut Baresip, uri: &str) -> String {
    caller.dial(uri);
    if callee.wait_event(&EventKind::CallIncoming, WAIT).is_none() {
        // Say how the caller's attempt ended (488: no common codec, say).
        let ended = caller.wait_event(&EventKind::CallClosed, Duration::ZERO);
        panic!(
            "the callee's phone did not ring within {WAIT:?}; the caller's call ended with \
             {:?}",
            ended.map(|e| e.param)
        );
    }
    callee.answer();
    let established = expect_established(caller);
    callee.expect_event(&EventKind::CallEstablished, WAIT);
    caller.wait_rtp_flowing(25, WAIT);
    callee.wait_rtp_flowing(25, WAIT);
    established.call_id.expect("the call's Call-ID")
}

/// Waits for the caller's call to be answered; a call that ends first
/// fails the test with how it ended.
pub(crate) fn expect_established(caller: &mut Baresip) -> sb_e2e::baresip::Event {
    let kinds = [EventKind::CallEstablished, EventKind::CallClosed];
    match caller.wait_event_any(&kinds, WAIT) {
        Some(e) if e.kind == EventKind::CallEstablished => e,
        Some(e) => panic!("the call was not answered: it ended with {:?}", e.param),
        None => panic!(
            "the call was not answered within {WAIT:?}; caller's events: {:?}",
            caller.history()
        ),
    }
}

/// `hanging` ends the call; both phones see it closed.
pub(crate) fn hang_up(hanging: &mut Baresip, other: &mut Baresip) {
    hanging.hangup();
    hanging.expect_event(&EventKind::CallClosed, WAIT);
    other.expect_event(&EventKind::CallClosed, WAIT);
}

/// Checks that `phone` recorded `expected_hz` (and not `other_hz`).
pub(crate) fn assert_hears(phone: &mut Baresip, who: &str, expected_hz: u32, other_hz: u32) {
    let wav = phone.decoded_audio();
    let check = ToneCheck::of_wav(&wav, SKIP, expected_hz, other_hz);
    eprintln!("{who}: {check}");
    check.assert_heard(who);
}

/// The audio address in the SDP of the first INVITE `phone` received.
pub(crate) fn offer_received(phone: &Baresip) -> SocketAddr {
    let sdp = phone
        .received_request_body("INVITE")
        .expect("the phone received an INVITE with SDP");
    audio_address(&sdp).unwrap_or_else(|| panic!("no audio address in {sdp}"))
}

/// The audio address in the SDP of the first INVITE `phone` sent.
pub(crate) fn offer_sent(phone: &Baresip) -> SocketAddr {
    let sdp = phone
        .sent_request_body("INVITE")
        .expect("the phone sent an INVITE with SDP");
    audio_address(&sdp).unwrap_or_else(|| panic!("no audio address in {sdp}"))
}

/// The audio address in the SDP of the 200 OK `phone` received.
pub(crate) fn answer_received(phone: &Baresip) -> SocketAddr {
    let me = phone.sip_addr();
    let ok = phone
        .sip_messages()
        .into_iter()
        .find(|m| {
            m.destination == me && m.start_line.starts_with("SIP/2.0 200") && !m.body.is_empty()
        })
        .expect("the phone received a 200 OK with SDP");
    audio_address(&ok.body).unwrap_or_else(|| panic!("no audio address in {}", ok.body))
}

/// The SDP each phone got names a gateway port, not the other phone's.
pub(crate) fn assert_anchored(caller: &Baresip, callee: &Baresip) {
    for (who, addr) in [
        ("the callee's offer", offer_received(callee)),
        ("the caller's answer", answer_received(caller)),
    ] {
        assert!(
            GATEWAY_PORTS.contains(&addr.port()) && addr.ip().is_loopback(),
            "{who} names {addr}, not a gateway port in {GATEWAY_PORTS:?}"
        );
    }
    let own = offer_sent(caller);
    assert!(RTP_PORTS.contains(&own.port()), "the caller offered {own}");
}

/// Polls the live call `call_id` until its `media` object satisfies
/// `pred`; panics after [`WAIT`] with the last one seen.
pub(crate) fn live_media(
    api: &Api,
    call_id: &str,
    what: &str,
    pred: impl Fn(&CallMedia) -> bool,
) -> CallMedia {
    let deadline = Instant::now() + WAIT;
    let mut last = String::from("the call is not listed");
    loop {
        let calls = api.get("/api/calls").json();
        let call = calls
            .as_array()
            .and_then(|list| list.iter().find(|c| c["id"] == call_id));
        if let Some(call) = call {
            match CallMedia::from_json(&call["media"]) {
                Ok(m) if pred(&m) => return m,
                Ok(m) => last = format!("{m:?}"),
                Err(e) => last = e,
            }
        }
        assert!(
            Instant::now() < deadline,
            "{what}: not seen within {WAIT:?}; last: {last}"
        );
        // The statistics change with the packets: poll at a human pace.
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Whether both legs are listed, with packets received and sent.
pub(crate) fn both_legs_carry_packets(m: &CallMedia) -> bool {
    ["caller", "callee"].iter().all(|name| {
        m.leg(name)
            .is_some_and(|l| l.packets_received > 0 && l.packets_sent > 0)
    })
}

/// Sleeps until `TALK` has passed since `since` (audio accumulates).
pub(crate) fn talk_from(since: Instant) {
    std::thread::sleep(TALK.saturating_sub(since.elapsed()));
}

/// The only call record, once written (through the API).
/// What a test that is its own RTP peer received.
#[derive(Debug, Default)]
pub(crate) struct Received {
    /// PCMU payloads, decoded, in arrival order.
    pub(crate) pcm: Vec<i16>,
    /// Where the packets came from.
    pub(crate) sources: Vec<SocketAddr>,
    /// Datagrams that were not RTP.
    pub(crate) not_rtp: usize,
}

/// Sends `duration` of a `hz` tone as PCMU in 20 ms packets from `socket`
/// to `to`, paced in real time, and collects the PCMU that arrives
/// meanwhile.
pub(crate) fn exchange_pcmu(
    socket: &UdpSocket,
    to: SocketAddr,
    hz: u32,
    duration: Duration,
) -> Received {
    const FRAME: usize = 160;
    let samples = usize::try_from(duration.as_millis()).expect("short") * 8;
    let tone = tone_samples(hz, 8000, 8000, samples);
    let mut received = Received::default();
    let mut packet = Vec::with_capacity(12 + FRAME);
    let mut payload = Vec::with_capacity(FRAME);
    let mut buf = [0u8; 2048];
    let start = Instant::now();
    for (i, frame) in tone.chunks(FRAME).enumerate() {
        payload.clear();
        payload.extend(frame.iter().map(|&s| ulaw_encode(s)));
        let n = u16::try_from(i).expect("a short call");
        packet.clear();
        RtpPacket {
            marker: i == 0,
            payload_type: PCMU,
            sequence: 1000u16.wrapping_add(n),
            timestamp: 160 * u32::from(n),
            ssrc: 0x5eed_cafe,
            payload: &payload,
        }
        .write(&mut packet);
        socket.send_to(&packet, to).expect("send RTP");
        let due = start + Duration::from_millis(20) * (u32::from(n) + 1);
        loop {
            let left = due.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            socket
                .set_read_timeout(Some(left.max(Duration::from_millis(1))))
                .expect("read timeout");
            let Ok((len, from)) = socket.recv_from(&mut buf) else {
                continue;
            };
            match RtpPacket::parse(&buf[..len]) {
                Ok(p) if p.payload_type == PCMU => {
                    received
                        .pcm
                        .extend(p.payload.iter().map(|&b| ulaw_decode(b)));
                    received.sources.push(from);
                }
                Ok(_) => received.sources.push(from),
                Err(_) => received.not_rtp += 1,
            }
        }
    }
    received
}
