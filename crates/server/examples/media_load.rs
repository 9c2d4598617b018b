//! Media gateway load: N calls anchored by the gateway's real call tasks on
//! loopback sockets, each carrying 50 packets per second each way, and the
//! gateway's CPU time, loss, relay latency and memory measured.
//!
//! ```text
//! cargo run --release -p sb-server --example media_load -- relay 1000 20
//! cargo run --release -p sb-server --example media_load -- transcode 200 20
//! OPUS_COMPLEXITY=0 cargo run --release -p sb-server --example media_load -- transcode 150 20
//! ```
//!
//! The gateway runs on one thread (a current-thread tokio runtime, the way
//! one core would run it); its CPU time comes from the kernel's per-thread
//! accounting (`/proc/self/task/<tid>/schedstat`), so "calls per core" is
//! `calls × wall time / gateway CPU time`. The load comes from two sockets
//! standing for every caller device and every callee device (the gateway
//! latches to them), on other threads. Relay latency is measured end to end
//! through the gateway: each packet carries its send time.

#![expect(clippy::print_stdout, reason = "a load tool reports on stdout")]

use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use sb_server::config::MediaConfig;
use sb_server::media::{MediaGateway, MediaSettings};
use sb_switch::{CallRef, EffectResult, EffectToken, LegId};
use tokio::sync::mpsc;

const PTIME: Duration = Duration::from_millis(20);
const WARMUP: Duration = Duration::from_secs(2);
/// Sending slots per packet time.
const SLICES: usize = 20;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Relay,
    Transcode,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mode = match args.get(1).map(String::as_str) {
        Some("relay") | None => Mode::Relay,
        Some("transcode") => Mode::Transcode,
        Some(other) => panic!("mode {other}: relay or transcode"),
    };
    let calls: u64 = args.get(2).map_or(500, |a| a.parse().expect("calls"));
    let seconds: u64 = args.get(3).map_or(20, |a| a.parse().expect("seconds"));

    let caller = UdpSocket::bind("127.0.0.1:0").expect("caller socket");
    let callee = UdpSocket::bind("127.0.0.1:0").expect("callee socket");
    for s in [&caller, &callee] {
        socket2::SockRef::from(s)
            .set_recv_buffer_size(16 << 20)
            .expect("buffer");
        socket2::SockRef::from(s)
            .set_send_buffer_size(16 << 20)
            .expect("buffer");
    }
    let caller_addr = caller.local_addr().unwrap();
    let callee_addr = callee.local_addr().unwrap();

    let rss_before = rss_kib();
    let (setup_tx, setup_rx) = std::sync::mpsc::channel();
    let stop = Arc::new(AtomicBool::new(false));
    let gateway_stop = stop.clone();
    let gateway = std::thread::Builder::new()
        .name("media-gateway".into())
        .spawn(move || {
            run_gateway(
                mode,
                calls,
                caller_addr,
                callee_addr,
                setup_tx,
                gateway_stop,
            );
        })
        .expect("gateway thread");
    let (tid, legs) = setup_rx.recv().expect("the gateway set up its calls");
    let rss_calls = rss_kib();

    // legs[i] = (gateway port facing the caller, gateway port facing the callee)
    let caller_ports: HashMap<u16, usize> = legs
        .iter()
        .enumerate()
        .map(|(i, l)| (l.0.port(), i))
        .collect();
    let callee_ports: HashMap<u16, usize> = legs
        .iter()
        .enumerate()
        .map(|(i, l)| (l.1.port(), i))
        .collect();
    let epoch = Instant::now();
    let measuring = Arc::new(AtomicBool::new(false));
    let received = [Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0))];
    let latencies = Arc::new(std::sync::Mutex::new(Vec::<u32>::new()));

    let receivers: Vec<_> = [
        (callee.try_clone().unwrap(), callee_ports, 0),
        (caller.try_clone().unwrap(), caller_ports, 1),
    ]
    .into_iter()
    .map(|(socket, ports, dir)| {
        let received = received[dir].clone();
        let measuring = measuring.clone();
        let latencies = latencies.clone();
        let stop = stop.clone();
        std::thread::spawn(move || {
            // Polled, not blocking: a receiver asleep in recv() is woken by
            // the gateway's send, and on loopback that wake-up is charged to
            // the gateway's thread (with a network card it is not).
            socket.set_nonblocking(true).unwrap();
            let mut buf = [0u8; 2048];
            let mut local = Vec::with_capacity(1 << 20);
            while !stop.load(Ordering::Relaxed) {
                let Ok((n, from)) = socket.recv_from(&mut buf) else {
                    std::thread::sleep(Duration::from_micros(100));
                    continue;
                };
                if n < 12 || !ports.contains_key(&from.port()) {
                    continue;
                }
                let pt = buf[1] & 0x7f;
                if (72..=79).contains(&pt) {
                    continue; // RTCP on a muxed port
                }
                if measuring.load(Ordering::Relaxed) {
                    received.fetch_add(1, Ordering::Relaxed);
                    if mode == Mode::Relay && n >= 20 {
                        let sent = u64::from_be_bytes(buf[12..20].try_into().unwrap());
                        let now = u64::try_from(epoch.elapsed().as_nanos()).unwrap();
                        local.push(
                            u32::try_from(now.saturating_sub(sent) / 1000).unwrap_or(u32::MAX),
                        );
                    }
                }
            }
            latencies.lock().unwrap().extend(local);
        })
    })
    .collect();

    // Sender: every 20 ms one packet from each caller and each callee.
    let opus_frame = opus_payload();
    let mut seq: u16 = 0;
    let mut ts: u32 = 0;
    let mut sent = [0u64; 2];
    let mut next = Instant::now();
    let start = Instant::now();
    let total = WARMUP + Duration::from_secs(seconds);
    let mut cpu_start = None;
    let mut window_start = None;
    let mut packet = Vec::with_capacity(256);
    while start.elapsed() < total {
        let in_window = start.elapsed() >= WARMUP;
        if in_window && cpu_start.is_none() {
            // Packets in flight at the boundary are the only slack.
            std::thread::sleep(Duration::from_millis(100));
            measuring.store(true, Ordering::Relaxed);
            cpu_start = Some(thread_cpu_ns(tid));
            window_start = Some(Instant::now());
        }
        // Each call's packets leave at its own offset within the 20 ms, the
        // way independent phones send, not all at once.
        let slice = legs.len().div_ceil(SLICES);
        for (i, (to_caller_leg, to_callee_leg)) in legs.iter().enumerate() {
            if i % slice == 0 && i > 0 {
                let step = u32::try_from(i / slice).unwrap();
                let at = next + PTIME * step / u32::try_from(SLICES).unwrap();
                if let Some(wait) = at.checked_duration_since(Instant::now()) {
                    std::thread::sleep(wait);
                }
            }
            let now_ns = u64::try_from(epoch.elapsed().as_nanos()).unwrap();
            let ssrc = u32::try_from(i).unwrap();
            // Caller → gateway: PCMU.
            rtp(&mut packet, 0, seq, ts, ssrc, now_ns, 160);
            if caller.send_to(&packet, *to_caller_leg).is_ok() && in_window {
                sent[0] += 1;
            }
            // Callee → gateway: PCMU (relay) or Opus (transcode).
            match mode {
                Mode::Relay => rtp(&mut packet, 0, seq, ts, ssrc | 1 << 31, now_ns, 160),
                Mode::Transcode => {
                    rtp(
                        &mut packet,
                        111,
                        seq,
                        ts.wrapping_mul(6),
                        ssrc | 1 << 31,
                        now_ns,
                        0,
                    );
                    packet.truncate(12);
                    packet.extend_from_slice(&opus_frame);
                }
            }
            if callee.send_to(&packet, *to_callee_leg).is_ok() && in_window {
                sent[1] += 1;
            }
        }
        seq = seq.wrapping_add(1);
        ts = ts.wrapping_add(160);
        next += PTIME;
        if let Some(wait) = next.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
    }
    let wall = window_start.map_or(Duration::ZERO, |w| w.elapsed());
    let cpu_ns = thread_cpu_ns(tid) - cpu_start.unwrap_or(0);
    std::thread::sleep(Duration::from_millis(300));
    measuring.store(false, Ordering::Relaxed);
    let rss_traffic = rss_kib();
    stop.store(true, Ordering::Relaxed);
    for r in receivers {
        r.join().unwrap();
    }
    gateway.join().unwrap();

    let got = [
        received[0].load(Ordering::Relaxed),
        received[1].load(Ordering::Relaxed),
    ];
    let utilisation = cpu_ns as f64 / wall.as_nanos() as f64;
    let packets = got[0] + got[1];
    println!(
        "mode: {}",
        if mode == Mode::Relay {
            "relay PCMU"
        } else {
            "transcode PCMU <-> Opus"
        }
    );
    println!("calls: {calls}, measured {:.1} s", wall.as_secs_f64());
    println!(
        "packets sent caller->callee {} received {} (loss {})",
        sent[0],
        got[0],
        sent[0].saturating_sub(got[0])
    );
    println!(
        "packets sent callee->caller {} received {} (loss {})",
        sent[1],
        got[1],
        sent[1].saturating_sub(got[1])
    );
    println!("gateway CPU: {:.1}% of one core", utilisation * 100.0);
    if utilisation > 0.0 {
        println!("calls per core: {:.0}", calls as f64 / utilisation);
        println!(
            "CPU per forwarded packet: {:.2} us",
            cpu_ns as f64 / 1000.0 / packets.max(1) as f64
        );
    }
    println!(
        "memory: {} KiB before, {} KiB with the calls set up ({:.1} KiB per call), {} KiB under traffic ({:.1} KiB per call)",
        rss_before,
        rss_calls,
        (rss_calls - rss_before) as f64 / calls as f64,
        rss_traffic,
        (rss_traffic - rss_before) as f64 / calls as f64
    );
    let mut l = std::mem::take(&mut *latencies.lock().unwrap());
    if !l.is_empty() {
        l.sort_unstable();
        let p = |q: f64| l[((l.len() - 1) as f64 * q) as usize];
        println!(
            "relay latency (send to receive through the gateway): p50 {} us, p99 {} us, p99.9 {} us, max {} us",
            p(0.5),
            p(0.99),
            p(0.999),
            l[l.len() - 1]
        );
    }
}

/// One RTP packet: 12-byte header, then the send time, then filler up to `len`.
fn rtp(out: &mut Vec<u8>, pt: u8, seq: u16, ts: u32, ssrc: u32, now_ns: u64, len: usize) {
    out.clear();
    out.extend_from_slice(&[0x80, pt]);
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(&ts.to_be_bytes());
    out.extend_from_slice(&ssrc.to_be_bytes());
    out.extend_from_slice(&now_ns.to_be_bytes());
    out.resize(12 + len.max(8), 0xff);
}

/// A 20 ms Opus frame of a 440 Hz tone.
fn opus_payload() -> Vec<u8> {
    let kind = sb_media_codec::CodecKind::Opus;
    let mut enc =
        sb_media_codec::Encoder::new(kind, &sb_media_codec::OpusConfig::default()).unwrap();
    let mut pcm = vec![0i16; kind.samples(20)];
    sb_media_codec::ToneGenerator::new(440, kind.sample_rate(), 8000).fill(&mut pcm);
    let mut out = Vec::new();
    enc.encode(&pcm, &mut out).unwrap();
    out
}

fn run_gateway(
    mode: Mode,
    calls: u64,
    caller: SocketAddr,
    callee: SocketAddr,
    setup: std::sync::mpsc::Sender<(u32, Vec<(SocketAddr, SocketAddr)>)>,
    stop: Arc<AtomicBool>,
) {
    let tid: u32 = std::fs::read_link("/proc/thread-self")
        .ok()
        .and_then(|p| p.file_name()?.to_str()?.parse().ok())
        .expect("a Linux thread id");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async move {
        let mut config = MediaConfig {
            port_min: 20000,
            port_max: 60000,
            timeout: Duration::ZERO,
            ..MediaConfig::default()
        };
        // `OPUS_COMPLEXITY=0` measures the cheapest encoder setting.
        if let Some(c) = std::env::var("OPUS_COMPLEXITY")
            .ok()
            .and_then(|c| c.parse().ok())
        {
            config.opus.complexity = c;
        }
        let settings = Arc::new(MediaSettings::new(&config, "127.0.0.1".parse().unwrap(), 7));
        let (results_tx, mut results) = mpsc::channel(16);
        let (timeouts_tx, _timeouts) = mpsc::channel(16);
        let mut gateway = MediaGateway::new(settings, results_tx, timeouts_tx);
        let mut legs = Vec::new();
        let mut token = 0;
        let mut ask = async |gateway: &mut MediaGateway, call, from, to, sdp: String, answer| {
            token += 1;
            gateway.sdp(
                EffectToken(token),
                CallRef(call),
                LegId(from),
                LegId(to),
                Bytes::from(sdp),
                true,
                answer,
            );
            match results.recv().await {
                Some((_, EffectResult::Media(sdp))) => audio_port(&sdp),
                other => panic!("media effect failed: {other:?}"),
            }
        };
        for call in 0..calls {
            let offer = sdp(caller, "0", "a=rtpmap:0 PCMU/8000\r\n");
            let to_callee = ask(&mut gateway, call, 0, 1, offer, false).await;
            let answer = match mode {
                Mode::Relay => sdp(callee, "0", "a=rtpmap:0 PCMU/8000\r\n"),
                Mode::Transcode => sdp(callee, "111", "a=rtpmap:111 opus/48000/2\r\n"),
            };
            let to_caller = ask(&mut gateway, call, 1, 0, answer, true).await;
            legs.push((
                SocketAddr::new(caller.ip(), to_caller),
                SocketAddr::new(callee.ip(), to_callee),
            ));
        }
        setup.send((tid, legs)).expect("main thread waits");
        while !stop.load(Ordering::Relaxed) {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        drop(gateway);
    });
}

fn sdp(addr: SocketAddr, formats: &str, attributes: &str) -> String {
    format!(
        "v=0\r\no=- 1 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\nm=audio {port} RTP/AVP {formats}\r\n{attributes}a=sendrecv\r\n",
        ip = addr.ip(),
        port = addr.port()
    )
}

fn audio_port(sdp: &[u8]) -> u16 {
    let text = std::str::from_utf8(sdp).expect("SDP is text");
    text.lines()
        .find_map(|l| l.strip_prefix("m=audio "))
        .and_then(|rest| rest.split(' ').next())
        .and_then(|p| p.parse().ok())
        .expect("an audio port in the gateway's SDP")
}

fn thread_cpu_ns(tid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/self/task/{tid}/schedstat"))
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .expect("schedstat of the gateway thread")
}

fn rss_kib() -> i64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<i64>().ok())
        .map_or(0, |pages| pages * 4)
}
