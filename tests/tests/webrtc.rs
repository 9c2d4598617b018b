//! Browser calls: JsSIP in headless Chromium (`tests/browser/call.mjs`,
//! driven through [`sb_e2e::webrtc::BrowserPhone`]) and baresip phones call
//! each other through the real server and its default dialplan. The browser
//! registers over SIP over WebSocket (the `ws` and `wss` listeners and the
//! HTTP port's `/ws`); its media is WebRTC (ICE, DTLS-SRTP, BUNDLE, rtcp-mux)
//! and the phone's plain RTP with PCMU, so every call goes through the media
//! gateway.
//!
//! Each party plays its own tone (browser 1300 Hz, phones 700 Hz) and proves
//! it hears the other's: the browser with a WebAudio analyser on the remote
//! stream played by an unmuted `<audio>` element, a phone with the recording
//! of what it decoded. Covered: browser → phone over WS and WSS (the browser
//! offers `actpass`), phone → browser (the gateway offers, Chromium answers
//! `active`), a user registered from a phone and a browser at once (both
//! ring, the browser answers, the phone stops ringing), an ICE restart, hold
//! and unhold from the browser, RFC 4733 digits from the browser, and a
//! browser without the microphone permission offering mDNS candidates.
//! Chromium keeps a user's defaults: mDNS obfuscation is left on (with the
//! microphone allowed, Chromium shows its real host candidates, as it does
//! for a user who allowed it) and every interface is used (Chromium may
//! nominate a pair from a non-loopback address; the gateway answers where
//! the checks come from).
//!
//! Not covered: digits from the phone to the browser. WebRTC does not
//! expose received telephone-events and JsSIP reports only digits sent by
//! SIP INFO (`newDTMF`), so the page cannot observe the phone's RFC 4733
//! digits.
//!
//! Needs `node`, `npm`, `/usr/bin/chromium` and baresip. Every process is
//! stopped by its pid, also when a test fails.

#![allow(clippy::print_stderr)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use sb_e2e::audio::ToneCheck;
use sb_e2e::baresip::{Baresip, BaresipConfig, EventKind};
use sb_e2e::http::Api;
use sb_e2e::media::{CallMedia, MediaSection};
use sb_e2e::phone_audio;
use sb_e2e::webrtc::BrowserPhone;
use sb_e2e::{Server, free_port, free_tcp_port, ws_config_text};
use tempfile::TempDir;

/// Bound on every single wait for an event.
const WAIT: Duration = Duration::from_secs(15);
/// How long audio may take to be heard after a change (answer, unhold,
/// ICE restart): DTLS, jitter buffers.
const HEAR: Duration = Duration::from_secs(10);
/// The browser's tone.
const BROWSER_HZ: u32 = 1300;
/// The phones' tone.
const PHONE_HZ: u32 = 700;
/// The start of a phone's recording left out of tone checks.
const SKIP: Duration = Duration::from_millis(500);
/// How much audio a phone records (after [`SKIP`]) before a call ends.
const RECORDED: Duration = Duration::from_secs(2);
/// The gateway's ports in these tests: apart from the phones'
/// (`RTP_PORTS`), from the other media tests' (20000–29999) and from the
/// ports the system hands out for port 0 (32768 and up).
const GATEWAY_PORTS: std::ops::RangeInclusive<u16> = 30000..=32000;
const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// A server with UDP/TCP, WS and WSS listeners and HTTP, the users alice,
/// bob and carol, and an administrator's API client.
struct WebrtcServer {
    server: Server,
    ws: SocketAddr,
    wss: SocketAddr,
    api: Api,
    _dir: TempDir,
}

impl WebrtcServer {
    fn start() -> WebrtcServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let (ws, wss) = (free_tcp_port(), free_tcp_port());
        std::fs::write(
            dir.path().join("switchboard.toml"),
            ws_config_text(
                dir.path(),
                free_port(),
                ws,
                wss,
                &MediaSection::new().ports(GATEWAY_PORTS).to_toml(),
            ),
        )
        .expect("write config");
        let server = Server::start_in(dir.path());
        server.add_admin("root", "root-password");
        for user in ["alice", "bob", "carol"] {
            add_user(&server, user);
        }
        let base = server.http.clone().expect("the server serves HTTP");
        let api = Api::login(&base, "root", "root-password");
        WebrtcServer {
            server,
            ws: SocketAddr::new(LOOPBACK, ws),
            wss: SocketAddr::new(LOOPBACK, wss),
            api,
            _dir: dir,
        }
    }

    fn ws_url(&self) -> String {
        format!("ws://{}", self.ws)
    }

    fn wss_url(&self) -> String {
        format!("wss://{}", self.wss)
    }

    fn http_ws_url(&self) -> String {
        let base = self.server.http.as_deref().expect("HTTP served");
        format!("{}/ws", base.replacen("http://", "ws://", 1))
    }

    /// A registered phone of `user` playing [`PHONE_HZ`] and recording.
    fn phone(&self, user: &str) -> Baresip {
        let config = BaresipConfig::registered(
            user,
            "example.test",
            &format!("{user}-secret"),
            self.server.sip,
        );
        let mut p = Baresip::start(&config.tone(PHONE_HZ).record().sip_trace());
        p.wait_registered(WAIT);
        p
    }

    /// A browser of `user` playing [`BROWSER_HZ`], registered over `url`.
    fn browser(&self, user: &str, url: &str) -> BrowserPhone {
        let origin = self.server.http.as_deref().expect("HTTP served");
        let mut b = BrowserPhone::start(
            origin,
            &format!("{user}@example.test"),
            &format!("{user}-secret"),
            BROWSER_HZ,
        );
        b.register(url);
        b
    }
}

/// Adds `user@example.test` with the password `USER-secret`.
fn add_user(server: &Server, user: &str) {
    server.add_user(user, "example.test", &format!("{user}-secret"));
}

/// Both directions carry each party's tone now.
fn both_hear(browser: &mut BrowserPhone, phone: &Baresip, when: &str) {
    let heard = browser.wait_hears(when, PHONE_HZ, BROWSER_HZ, HEAR);
    eprintln!("{when}: the browser heard {heard}");
    let check = phone_audio::hears_now(phone, when, BROWSER_HZ, PHONE_HZ, HEAR);
    eprintln!("{when}: the phone heard {check}");
}

/// Waits for the phone's call to be answered; panics with how it ended.
fn phone_established(phone: &mut Baresip) {
    let kinds = [EventKind::CallEstablished, EventKind::CallClosed];
    match phone.wait_event_any(&kinds, WAIT) {
        Some(e) if e.kind == EventKind::CallEstablished => {}
        Some(e) => panic!("the phone's call was not answered: {:?}", e.param),
        None => panic!("the phone's call was not answered within {WAIT:?}"),
    }
}

/// The browser calls bob's phone, which answers; both hear each other.
fn browser_calls_phone(browser: &mut BrowserPhone, phone: &mut Baresip) {
    browser.call("sip:bob@example.test", None);
    if phone.wait_event(&EventKind::CallIncoming, WAIT).is_none() {
        let ended = browser.wait_event_any(&["failed", "ended"], Duration::ZERO);
        panic!("the phone did not ring within {WAIT:?}; the browser's call: {ended:?}");
    }
    phone.answer();
    browser.expect_accepted(WAIT);
    phone_established(phone);
    both_hear(browser, phone, "browser → phone, answered");
    let stats = browser.stats();
    eprintln!("browser stats: {stats}");
    // Chromium offered actpass; the gateway answered active: Chromium is the DTLS server.
    assert_eq!(stats["dtls_role"], "server", "{stats}");
}

/// The browser hangs up; the phone sees the call end and its whole
/// recording holds the browser's tone; the record names the media path.
fn hang_up_and_check(server: &WebrtcServer, browser: &mut BrowserPhone, phone: &mut Baresip) {
    phone_audio::wait_recorded(phone, SKIP + RECORDED, HEAR);
    browser.hangup();
    phone.expect_event(&EventKind::CallClosed, WAIT);
    let check = ToneCheck::of_wav(&phone.decoded_audio(), SKIP, BROWSER_HZ, PHONE_HZ);
    eprintln!("the phone's whole recording: {check}");
    check.assert_heard("the phone's recording");
    let record = server.api.only_cdr(WAIT);
    let media = CallMedia::from_json(&record["media"]).expect("the record's media");
    eprintln!("call record media: {media:?}");
    assert!(
        media.path == "relay" || media.path == "transcode",
        "a browser call goes through the gateway: {media:?}"
    );
}

fn browser_calls_phone_over(url: impl Fn(&WebrtcServer) -> String) {
    let server = WebrtcServer::start();
    let mut bob = server.phone("bob");
    let mut alice = server.browser("alice", &url(&server));
    browser_calls_phone(&mut alice, &mut bob);
    hang_up_and_check(&server, &mut alice, &mut bob);
}

#[test]
fn a_browser_over_ws_calls_a_phone_and_they_hear_each_other() {
    browser_calls_phone_over(WebrtcServer::ws_url);
}

#[test]
fn a_browser_over_wss_calls_a_phone_and_they_hear_each_other() {
    browser_calls_phone_over(WebrtcServer::wss_url);
}

#[test]
fn a_browser_without_microphone_permission_offers_mdns_candidates_and_hears_the_phone() {
    // Without the microphone permission Chromium hides its host candidates
    // behind `.local` names; the gateway learns the browser's address from
    // its ICE checks instead.
    let server = WebrtcServer::start();
    let mut bob = server.phone("bob");
    let origin = server.server.http.as_deref().expect("HTTP served");
    let mut alice =
        BrowserPhone::start_without_permission(origin, "alice@example.test", "alice-secret");
    alice.register(&server.ws_url());
    alice.command("listen sip:bob@example.test");
    assert!(
        bob.wait_event(&EventKind::CallIncoming, WAIT).is_some(),
        "the phone did not ring"
    );
    bob.answer();
    alice.expect_accepted(WAIT);
    phone_established(&mut bob);
    let sdp = alice.sdp();
    let offer = sdp["local"].as_str().unwrap_or_default();
    let hosts: Vec<&str> = offer
        .lines()
        .filter(|l| l.starts_with("a=candidate:") && l.contains(" typ host"))
        .collect();
    assert!(
        !hosts.is_empty() && hosts.iter().all(|l| l.contains(".local ")),
        "host candidates behind mDNS names:\n{offer}"
    );
    eprintln!("the browser offered: {hosts:?}");
    let heard = alice.wait_hears("the phone's tone", PHONE_HZ, BROWSER_HZ, HEAR);
    eprintln!("the browser heard: {heard:?}");
    alice.hangup();
    bob.expect_event(&EventKind::CallClosed, WAIT);
}

#[test]
fn a_browser_offering_pcmu_is_relayed_and_one_offering_opus_is_transcoded() {
    // The paths the CPU figures of `webrtc_figures` are labelled with.
    for (only, path) in [("PCMU", "relay"), ("opus", "transcode")] {
        let server = WebrtcServer::start();
        let mut bob = server.phone("bob");
        let mut alice = server.browser("alice", &server.ws_url());
        alice.call("sip:bob@example.test", Some(only));
        bob.expect_event(&EventKind::CallIncoming, WAIT);
        bob.answer();
        alice.expect_accepted(WAIT);
        phone_established(&mut bob);
        both_hear(&mut alice, &bob, &format!("a browser offering {only} only"));
        alice.hangup();
        bob.expect_event(&EventKind::CallClosed, WAIT);
        let record = server.api.only_cdr(WAIT);
        let media = CallMedia::from_json(&record["media"]).expect("the record's media");
        assert_eq!(
            media.path, path,
            "the browser offered {only} only: {media:?}"
        );
    }
}

#[test]
fn a_phone_calls_a_browser_on_the_http_port_and_they_hear_each_other() {
    let server = WebrtcServer::start();
    let mut bob = server.phone("bob");
    let mut alice = server.browser("alice", &server.http_ws_url());
    bob.dial("alice");
    alice.expect_event("incoming", WAIT);
    alice.answer();
    phone_established(&mut bob);
    alice.expect_event("confirmed", WAIT);
    both_hear(&mut alice, &bob, "phone → browser, answered");
    let stats = alice.stats();
    eprintln!("browser stats: {stats}");
    // The gateway offered actpass; Chromium answered active: the DTLS client.
    assert_eq!(stats["dtls_role"], "client", "{stats}");
    hang_up_and_check(&server, &mut alice, &mut bob);
}

#[test]
fn a_user_on_a_phone_and_a_browser_rings_both_and_the_browser_answers() {
    let server = WebrtcServer::start();
    let mut carol = server.phone("carol");
    let mut bob_phone = server.phone("bob");
    let mut bob_browser = server.browser("bob", &server.ws_url());
    carol.dial("bob");
    bob_phone.expect_event(&EventKind::CallIncoming, WAIT);
    bob_browser.expect_event("incoming", WAIT);
    bob_browser.answer();
    phone_established(&mut carol);
    // The phone that rang stops ringing (CANCEL).
    let closed = bob_phone.expect_event(&EventKind::CallClosed, WAIT);
    eprintln!("bob's phone stopped ringing: {}", closed.param);
    let me = bob_phone.sip_addr();
    assert!(
        bob_phone
            .sip_messages()
            .iter()
            .any(|m| m.destination == me && m.start_line.starts_with("CANCEL ")),
        "bob's phone got no CANCEL"
    );
    assert!(!bob_phone.has_seen(&EventKind::CallEstablished));
    both_hear(
        &mut bob_browser,
        &carol,
        "forked call answered by the browser",
    );
    hang_up_and_check(&server, &mut bob_browser, &mut carol);
}

#[test]
fn an_ice_restart_hold_and_unhold_from_the_browser_keep_the_audio() {
    let server = WebrtcServer::start();
    let mut bob = server.phone("bob");
    let mut alice = server.browser("alice", &server.ws_url());
    browser_calls_phone(&mut alice, &mut bob);
    let before = alice.stats();
    alice.command("ice-restart");
    both_hear(&mut alice, &bob, "after an ICE restart");
    let after = alice.stats();
    eprintln!("before the ICE restart: {before}\nafter: {after}");
    // New ICE credentials: Chromium gathered new candidates and nominated a new pair.
    assert_ne!(
        before["local_candidate"], after["local_candidate"],
        "{before}\n{after}"
    );
    alice.command("hold");
    alice.command("unhold");
    // baresip 1.0 stops decoding (and recording) after a re-INVITE that
    // changes the direction, also between two phones with no server: the
    // phone's ear is checked by its RTP counters from here on.
    let heard = alice.wait_hears("after unhold", PHONE_HZ, BROWSER_HZ, HEAR);
    eprintln!("after unhold: the browser heard {heard}");
    let (sent_before, _) = callee_packets_sent(&server);
    let first = bob.rtp_counters().expect("the phone's call has audio");
    // 50 packets: a second of audio.
    let deadline = Instant::now() + HEAR;
    let later = loop {
        let now = bob.rtp_counters().expect("the phone's call has audio");
        if now.received >= first.received + 50 {
            break now;
        }
        assert!(
            Instant::now() < deadline,
            "the phone's RTP stopped: {first:?} → {now:?}"
        );
        // The counters grow by a packet every 20 ms.
        std::thread::sleep(Duration::from_millis(100));
    };
    let (sent_after, srtp) = callee_packets_sent(&server);
    eprintln!(
        "after unhold: the phone received {first:?} → {later:?}, gateway sent {sent_before} → {sent_after}"
    );
    // What the phone received the gateway sent (a packet may be in flight).
    assert!(
        sent_after >= sent_before + 40 && srtp == Some(false),
        "{sent_before} → {sent_after}"
    );
    hang_up_and_check(&server, &mut alice, &mut bob);
}

/// The packets the gateway sent to the live call's callee leg, and whether that leg uses SRTP.
fn callee_packets_sent(server: &WebrtcServer) -> (u64, Option<bool>) {
    let calls = server.api.get("/api/calls").json();
    let media = CallMedia::from_json(&calls[0]["media"]).expect("a live call's media");
    let callee = media.leg("callee").expect("the callee's leg");
    (callee.packets_sent, callee.srtp)
}

#[test]
fn rfc4733_digits_from_the_browser_reach_the_phone() {
    let server = WebrtcServer::start();
    let mut bob = server.phone("bob");
    let mut alice = server.browser("alice", &server.wss_url());
    browser_calls_phone(&mut alice, &mut bob);
    alice.command("dtmf 159#");
    assert_eq!(bob.expect_digits(4, WAIT), "159#");
    hang_up_and_check(&server, &mut alice, &mut bob);
}

// ---- Figures for docs/benchmarks.md ("WebRTC") ---------------------------------------------

/// Calls measured each way.
const MEASURED_CALLS: usize = 5;
/// Concurrent calls while the server's CPU time is measured.
const CONCURRENT_CALLS: usize = 4;
/// How long the concurrent calls are measured.
const CPU_WINDOW: Duration = Duration::from_secs(10);

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

/// One browser → phone call: setup as the browser saw it (INVITE sent →
/// 200), first audio at the browser (after the 200) and at the phone
/// (after its answer).
fn measure_browser_to_phone(browser: &mut BrowserPhone, phone: &mut Baresip) -> [Duration; 3] {
    browser.clear_events();
    let known = phone.recordings().len();
    browser.call("sip:bob@example.test", None);
    phone.expect_event(&EventKind::CallIncoming, WAIT);
    let answered = Instant::now();
    phone.answer();
    browser.expect_accepted(WAIT);
    phone_established(phone);
    let at_phone = phone_audio::first_audio(phone, known, answered, HEAR);
    browser.expect_event("first-audio", HEAR);
    let setup = browser
        .interval("sending", "accepted")
        .expect("sending and accepted");
    let at_browser = browser
        .interval("accepted", "first_audio")
        .expect("first audio");
    browser.hangup();
    phone.expect_event(&EventKind::CallClosed, WAIT);
    phone_audio::forget_recordings(phone);
    [setup, at_browser, at_phone]
}

/// One phone → browser call (the browser answers at once): setup as the
/// phone saw it (dial → answered), first audio at the phone (after the
/// answer) and at the browser (after it answered).
fn measure_phone_to_browser(browser: &mut BrowserPhone, phone: &mut Baresip) -> [Duration; 3] {
    browser.clear_events();
    let known = phone.recordings().len();
    let dialed = Instant::now();
    phone.dial("alice");
    let established =
        match phone.wait_event_any(&[EventKind::CallEstablished, EventKind::CallClosed], WAIT) {
            Some(e) if e.kind == EventKind::CallEstablished => e.at,
            other => panic!("the call was not answered: {other:?}"),
        };
    let at_phone = phone_audio::first_audio(phone, known, established, HEAR);
    browser.expect_event("first-audio", HEAR);
    let at_browser = browser
        .interval("answered", "first_audio")
        .expect("first audio");
    // The browser's own part of the setup: from answering to its 200 going out.
    let answering = browser.interval("answered", "accepted").expect("accepted");
    eprintln!(
        "phone → browser: the browser took {} to answer",
        ms(answering)
    );
    phone.hangup();
    phone.expect_event(&EventKind::CallClosed, WAIT);
    browser.expect_event("ended", WAIT);
    phone_audio::forget_recordings(phone);
    [established - dialed, at_phone, at_browser]
}

/// `CONCURRENT_CALLS` browser → phone calls up for [`CPU_WINDOW`]; returns
/// the server's CPU time per call per second of call, and checks each
/// call record's media path is `path`.
fn cpu_per_call(server: &WebrtcServer, only: &str, path: &str) -> f64 {
    let mut pairs = Vec::new();
    for i in 0..CONCURRENT_CALLS {
        let (b, p) = (format!("web{i}"), format!("desk{i}"));
        add_user(&server.server, &b);
        add_user(&server.server, &p);
        pairs.push((server.browser(&b, &server.ws_url()), server.phone(&p), p));
    }
    for (browser, phone, user) in &mut pairs {
        browser.call(&format!("sip:{user}@example.test"), Some(only));
        phone.expect_event(&EventKind::CallIncoming, WAIT);
        phone.answer();
        browser.expect_accepted(WAIT);
        phone_established(phone);
    }
    for (browser, _, _) in &mut pairs {
        browser.wait_hears("concurrent call", PHONE_HZ, BROWSER_HZ, HEAR);
    }
    let used = server_cpu_in_window(server);
    for (browser, phone, _) in &mut pairs {
        browser.hangup();
        phone.expect_event(&EventKind::CallClosed, WAIT);
    }
    let deadline = Instant::now() + WAIT;
    let records = loop {
        let page = server.api.get("/api/cdrs").json();
        let items = page["items"].as_array().cloned().unwrap_or_default();
        if items.len() >= CONCURRENT_CALLS {
            break items;
        }
        assert!(
            Instant::now() < deadline,
            "{CONCURRENT_CALLS} records expected: {page}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    for r in records.iter().take(CONCURRENT_CALLS) {
        let media = CallMedia::from_json(&r["media"]).expect("the record's media");
        assert_eq!(media.path, path, "{media:?}");
    }
    used.as_secs_f64() / CPU_WINDOW.as_secs_f64() / CONCURRENT_CALLS as f64
}

/// The server's CPU time over [`CPU_WINDOW`].
fn server_cpu_in_window(server: &WebrtcServer) -> Duration {
    let pid = server.server.pid();
    let start = phone_audio::cpu_time(pid);
    std::thread::sleep(CPU_WINDOW);
    let loaded = phone_audio::cpu_time(pid) - start;
    eprintln!("server CPU over {CPU_WINDOW:?} with {CONCURRENT_CALLS} calls: {loaded:?}");
    loaded
}

/// The same as [`cpu_per_call`] for phone → phone calls (plain RTP, PCMU,
/// relayed by the gateway): the comparison for the browser calls.
fn cpu_per_phone_call(server: &WebrtcServer) -> f64 {
    let mut pairs = Vec::new();
    for i in 0..CONCURRENT_CALLS {
        let (a, b) = (format!("caller{i}"), format!("callee{i}"));
        add_user(&server.server, &a);
        add_user(&server.server, &b);
        pairs.push((server.phone(&a), server.phone(&b), b));
    }
    for (caller, callee, user) in &mut pairs {
        caller.dial(user);
        callee.expect_event(&EventKind::CallIncoming, WAIT);
        callee.answer();
        phone_established(caller);
        callee.wait_rtp_flowing(25, WAIT);
    }
    let used = server_cpu_in_window(server);
    for (caller, callee, _) in &mut pairs {
        caller.hangup();
        callee.expect_event(&EventKind::CallClosed, WAIT);
    }
    used.as_secs_f64() / CPU_WINDOW.as_secs_f64() / CONCURRENT_CALLS as f64
}

/// Prints the WebRTC figures of docs/benchmarks.md:
/// `cargo test -p sb-e2e --test webrtc -- --ignored --nocapture webrtc_figures`.
#[test]
#[ignore = "a benchmark (release build, quiet machine, about 2 min): prints the figures of \
            docs/benchmarks.md; the call paths it labels them with are checked by \
            a_browser_offering_pcmu_is_relayed_and_one_offering_opus_is_transcoded"]
fn webrtc_figures() {
    let server = WebrtcServer::start();
    let mut bob = server.phone("bob");
    let mut alice = server.browser("alice", &server.ws_url());
    // Browser → phone: setup, first audio at the browser, at the phone.
    let mut b2p: [Vec<Duration>; 3] = Default::default();
    for _ in 0..MEASURED_CALLS {
        let call = measure_browser_to_phone(&mut alice, &mut bob);
        eprintln!("browser → phone: {:?}", call.map(ms));
        for (row, d) in b2p.iter_mut().zip(call) {
            row.push(d);
        }
    }
    // Phone → browser: setup, first audio at the phone, at the browser.
    alice.command("autoanswer on");
    let mut p2b: [Vec<Duration>; 3] = Default::default();
    for _ in 0..MEASURED_CALLS {
        let call = measure_phone_to_browser(&mut alice, &mut bob);
        eprintln!("phone → browser: {:?}", call.map(ms));
        for (row, d) in p2b.iter_mut().zip(call) {
            row.push(d);
        }
    }
    drop(alice);
    drop(bob);
    let [b2p_setup, b2p_browser, b2p_phone] = b2p.map(|r| ms(median(r)));
    let [p2b_setup, p2b_phone, p2b_browser] = p2b.map(|r| ms(median(r)));
    let relay_server = WebrtcServer::start();
    let relay = cpu_per_call(&relay_server, "PCMU", "relay");
    drop(relay_server);
    let transcode_server = WebrtcServer::start();
    let transcode = cpu_per_call(&transcode_server, "opus", "transcode");
    drop(transcode_server);
    let idle_server = WebrtcServer::start();
    let idle = phone_audio::cpu_time(idle_server.server.pid());
    std::thread::sleep(CPU_WINDOW);
    let idle = phone_audio::cpu_time(idle_server.server.pid()) - idle;
    drop(idle_server);
    let phones_server = WebrtcServer::start();
    let phones = cpu_per_phone_call(&phones_server);
    eprintln!(
        "\nmedians of {MEASURED_CALLS} calls\n\
         | | setup (caller) | first audio at the caller | first audio at the callee |\n\
         |---|---|---|---|\n\
         | browser → phone | {b2p_setup} | {b2p_browser} | {b2p_phone} |\n\
         | phone → browser | {p2b_setup} | {p2b_phone} | {p2b_browser} |\n\n\
         server CPU per call ({CONCURRENT_CALLS} concurrent, {CPU_WINDOW:?}): browser relay \
         {:.2} % of a core, browser transcode {:.2} %, phone ↔ phone relay {:.2} %; an idle \
         server used {idle:?} over {CPU_WINDOW:?}",
        relay * 100.0,
        transcode * 100.0,
        phones * 100.0
    );
}
