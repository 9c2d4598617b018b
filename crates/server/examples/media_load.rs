//! Media gateway load: N calls anchored by the gateway's real media worker on
//! loopback sockets, each carrying 50 packets per second each way, and the
//! gateway's CPU time, loss, relay latency and memory measured.
//!
//! ```text
//! cargo run --release -p sb-server --example media_load -- relay 1000 20
//! cargo run --release -p sb-server --example media_load -- transcode 200 20
//! OPUS_COMPLEXITY=0 cargo run --release -p sb-server --example media_load -- transcode 150 20
//! cargo run --release -p sb-server --example media_load -- floor 500
//! cargo run --release -p sb-server --example media_load -- codec
//! ```
//!
//! `codec` measures the codec work of one transcoded call on the same
//! speech-like audio: time per 20 ms frame of each step.
//!
//! `floor` measures what no user-space relay can go below on this machine:
//! the CPU of one bare `recvfrom` plus one `sendto` per packet (no readiness
//! wait, no RTP work), over N sockets with packets already queued.
//!
//! The gateway runs one media worker (`workers = 1`: the thread that owns
//! every call, the way one core would run them); its CPU time comes from the
//! kernel's per-thread accounting (`/proc/self/task/<tid>/schedstat`), so "calls per core" is
//! `calls × wall time / gateway CPU time`. The load comes from sockets
//! standing for the caller devices and the callee devices (two per side by
//! default, calls sharing them round robin; the gateway latches to them), on
//! other threads. Relay latency is measured end to end
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
/// Sockets standing for the devices on each side, calls sharing them round
/// robin (`DEVICE_SOCKETS=n` changes it). On loopback the delivery into the
/// receiving socket runs in the sender's system call, so the gateway pays
/// for the devices' side of every packet it sends, and more (colder)
/// receiving sockets make it pay more: 2 keeps that share small.
fn device_sockets() -> usize {
    std::env::var("DEVICE_SOCKETS")
        .ok()
        .and_then(|n| n.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(2)
}
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
        Some("codec") => {
            codec_cost();
            return;
        }
        Some("floor") => {
            kernel_floor(args.get(2).map_or(500, |a| a.parse().expect("sockets")));
            return;
        }
        Some(other) => panic!("mode {other}: relay, transcode, codec or floor"),
    };
    let calls: u64 = args.get(2).map_or(500, |a| a.parse().expect("calls"));
    let seconds: u64 = args.get(3).map_or(20, |a| a.parse().expect("seconds"));

    let bind_devices = || -> Vec<UdpSocket> {
        (0..device_sockets())
            .map(|_| UdpSocket::bind("127.0.0.1:0").expect("device socket"))
            .collect()
    };
    let (caller, callee) = (bind_devices(), bind_devices());
    for s in caller.iter().chain(&callee) {
        socket2::SockRef::from(s)
            .set_recv_buffer_size(16 << 20)
            .expect("buffer");
        socket2::SockRef::from(s)
            .set_send_buffer_size(16 << 20)
            .expect("buffer");
    }
    let caller_addr: Vec<SocketAddr> = caller.iter().map(|s| s.local_addr().unwrap()).collect();
    let callee_addr: Vec<SocketAddr> = callee.iter().map(|s| s.local_addr().unwrap()).collect();

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
    let (tid, legs, opus_max_hz) = setup_rx.recv().expect("the gateway set up its calls");
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
        (clone_all(&callee), callee_ports, 0),
        (clone_all(&caller), caller_ports, 1),
    ]
    .into_iter()
    .map(|(sockets, ports, dir)| {
        let received = received[dir].clone();
        let measuring = measuring.clone();
        let latencies = latencies.clone();
        let stop = stop.clone();
        std::thread::spawn(move || {
            // Polled, not blocking: a receiver asleep in recv() is woken by
            // the gateway's send, and on loopback that wake-up is charged to
            // the gateway's thread (with a network card it is not).
            for socket in &sockets {
                socket.set_nonblocking(true).unwrap();
            }
            let mut buf = [0u8; 2048];
            let mut local = Vec::with_capacity(1 << 20);
            let mut idle = 0;
            let mut turn = 0;
            while !stop.load(Ordering::Relaxed) {
                turn = (turn + 1) % sockets.len();
                let Ok((n, from)) = sockets[turn].recv_from(&mut buf) else {
                    idle += 1;
                    if idle == sockets.len() {
                        idle = 0;
                        std::thread::sleep(Duration::from_micros(100));
                    }
                    continue;
                };
                idle = 0;
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
    // Transcoding is measured on speech-like audio (codec cost depends on
    // the signal): one second of it, looped, from each side.
    let opus_frames = speech_frames(sb_media_codec::CodecKind::Opus, opus_max_hz);
    let pcmu_frames = speech_frames(sb_media_codec::CodecKind::Pcmu, None);
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
            // Caller → gateway: PCMU (in relay mode the payload carries the
            // send time, for the latency figure).
            rtp(&mut packet, 0, seq, ts, ssrc, now_ns, 160);
            if mode == Mode::Transcode {
                packet.truncate(12);
                packet.extend_from_slice(&pcmu_frames[usize::from(seq) % pcmu_frames.len()]);
            }
            let device = i % caller.len();
            if caller[device].send_to(&packet, *to_caller_leg).is_ok() && in_window {
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
                    packet.extend_from_slice(&opus_frames[usize::from(seq) % opus_frames.len()]);
                }
            }
            if callee[device].send_to(&packet, *to_callee_leg).is_ok() && in_window {
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

fn clone_all(sockets: &[UdpSocket]) -> Vec<UdpSocket> {
    sockets.iter().map(|s| s.try_clone().unwrap()).collect()
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

/// One second of speech-like audio in 20 ms frames of `kind`: a voiced
/// sound (harmonics of a gliding 100–160 Hz pitch, shaped by three vowel
/// formants) with syllable-rate loudness changes. Opus frames come from an
/// encoder that honours the `maxplaybackrate` the gateway announced
/// (RFC 7587 §6.1), as browsers do.
fn speech_frames(kind: sb_media_codec::CodecKind, max_hz: Option<u32>) -> Vec<Vec<u8>> {
    let mut enc =
        sb_media_codec::Encoder::new(kind, &sb_media_codec::OpusConfig::default()).unwrap();
    if let Some(hz) = max_hz {
        enc.set_source_rate(hz).unwrap();
    }
    let rate = enc.pcm_rate();
    let per_frame = rate as usize / 50;
    let formants = [(700.0, 130.0), (1220.0, 70.0), (2600.0, 160.0)];
    let mut phase = 0.0f64;
    let mut frames = Vec::new();
    for f in 0..50 {
        let mut pcm = vec![0i16; per_frame];
        for (i, sample) in pcm.iter_mut().enumerate() {
            let t = (f * per_frame + i) as f64 / f64::from(rate);
            let pitch = 130.0 + 30.0 * (std::f64::consts::TAU * 0.7 * t).sin();
            phase += std::f64::consts::TAU * pitch / f64::from(rate);
            let mut v = 0.0;
            let mut h = 1.0;
            while h * pitch < f64::from(rate) / 2.0 - 200.0 {
                let hz = h * pitch;
                let gain: f64 = formants
                    .iter()
                    .map(|(centre, width)| 1.0 / (1.0 + ((hz - centre) / width).powi(2)))
                    .sum();
                v += gain * (h * phase).sin() / h.sqrt();
                h += 1.0;
            }
            let loudness = 0.55 + 0.45 * (std::f64::consts::TAU * 4.0 * t).sin();
            *sample = (v * loudness * 3000.0).clamp(-32000.0, 32000.0) as i16;
        }
        let mut out = Vec::new();
        enc.encode(&pcm, &mut out).unwrap();
        frames.push(out);
    }
    frames
}

/// The worker's thread id, each call's gateway ports (facing the caller,
/// facing the callee), and the `maxplaybackrate` offered to Opus devices.
type SetUp = (u32, Vec<(SocketAddr, SocketAddr)>, Option<u32>);

fn run_gateway(
    mode: Mode,
    calls: u64,
    caller: Vec<SocketAddr>,
    callee: Vec<SocketAddr>,
    setup: std::sync::mpsc::Sender<SetUp>,
    stop: Arc<AtomicBool>,
) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async move {
        let mut config = MediaConfig {
            port_min: 20000,
            port_max: 60000,
            timeout: Duration::ZERO,
            // One media worker: one core's worth of gateway.
            workers: 1,
            ..MediaConfig::default()
        };
        // `OPUS_COMPLEXITY=0` measures the cheapest encoder setting.
        if let Some(c) = std::env::var("OPUS_COMPLEXITY")
            .ok()
            .and_then(|c| c.parse().ok())
        {
            config.opus.complexity = c;
        }
        // `OPUS_FEC=0` measures without in-band forward error correction.
        if std::env::var("OPUS_FEC").is_ok_and(|v| v == "0") {
            config.opus.fec = false;
        }
        let settings = Arc::new(MediaSettings::new(&config, "127.0.0.1".parse().unwrap(), 7));
        let (results_tx, mut results) = mpsc::channel(16);
        let (timeouts_tx, _timeouts) = mpsc::channel(16);
        let mut gateway = MediaGateway::new(settings, results_tx, timeouts_tx);
        let mut legs = Vec::new();
        let mut token = 0;
        let mut max_hz = None;
        let mut ask = async |gateway: &mut MediaGateway, call, from, to, sdp: String, answer| {
            token += 1;
            let (token, call, legs, sdp) = (
                EffectToken(token),
                CallRef(call),
                (LegId(from), LegId(to)),
                Bytes::from(sdp),
            );
            if answer {
                gateway.answer(token, call, legs, sdp, true);
            } else {
                gateway.offer(token, call, legs, false, sdp, true);
            }
            match results.recv().await {
                Some((_, EffectResult::Media(sdp))) => {
                    if max_hz.is_none() {
                        max_hz = max_playback_rate(&sdp);
                    }
                    audio_port(&sdp)
                }
                other => panic!("media effect failed: {other:?}"),
            }
        };
        for call in 0..calls {
            let device = usize::try_from(call).unwrap() % caller.len();
            let (caller, callee) = (caller[device], callee[device]);
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
        setup
            .send((worker_tid("media-worker-0"), legs, max_hz))
            .expect("main thread waits");
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

/// The `maxplaybackrate` of the gateway's Opus format, if it names one.
fn max_playback_rate(sdp: &[u8]) -> Option<u32> {
    let text = std::str::from_utf8(sdp).ok()?;
    let at = text.find("maxplaybackrate=")? + "maxplaybackrate=".len();
    text[at..]
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

fn audio_port(sdp: &[u8]) -> u16 {
    let text = std::str::from_utf8(sdp).expect("SDP is text");
    text.lines()
        .find_map(|l| l.strip_prefix("m=audio "))
        .and_then(|rest| rest.split(' ').next())
        .and_then(|p| p.parse().ok())
        .expect("an audio port in the gateway's SDP")
}

/// Time per 20 ms frame of the codec steps of a PCMU ↔ Opus call, on the
/// speech-like audio the transcoding load uses (Opus at 8 kHz, narrowband,
/// the gateway's default settings; `OPUS_COMPLEXITY`, `OPUS_FEC=0` apply).
fn codec_cost() {
    use sb_media_codec::{CodecKind, Decoder, Encoder, OpusConfig};
    let pcmu = speech_frames(CodecKind::Pcmu, None);
    let opus = speech_frames(CodecKind::Opus, Some(8000));
    let mut config = OpusConfig::default();
    if let Some(c) = std::env::var("OPUS_COMPLEXITY")
        .ok()
        .and_then(|c| c.parse().ok())
    {
        config.complexity = c;
    }
    if std::env::var("OPUS_FEC").is_ok_and(|v| v == "0") {
        config.fec = false;
    }
    let mut pcm = Vec::new();
    let mut decoder = Decoder::new(CodecKind::Pcmu).unwrap();
    let pcm_frames: Vec<Vec<i16>> = pcmu
        .iter()
        .map(|f| {
            pcm.clear();
            decoder.decode(f, &mut pcm).unwrap();
            pcm.clone()
        })
        .collect();
    // Five passes of 20 s of audio each; the best pass is reported (the
    // machine's other load only ever adds time).
    const FRAMES: usize = 1000;
    let time = |name: &str, f: &mut dyn FnMut(usize)| {
        let best = (0..5)
            .map(|_| {
                let start = Instant::now();
                for i in 0..FRAMES {
                    f(i % 50);
                }
                start.elapsed().as_nanos() as f64 / FRAMES as f64 / 1000.0
            })
            .fold(f64::INFINITY, f64::min);
        println!("{name}: {best:.2} us per 20 ms frame");
    };
    let mut out = Vec::new();
    let mut opus_enc = Encoder::new(CodecKind::Opus, &config).unwrap();
    opus_enc.set_source_rate(8000).unwrap();
    time(
        &format!(
            "Opus encode, 8 kHz narrowband, complexity {}, FEC {}",
            config.complexity, config.fec
        ),
        &mut |i| {
            out.clear();
            opus_enc.encode(&pcm_frames[i], &mut out).unwrap();
        },
    );
    let mut opus_dec = Decoder::with_rate(CodecKind::Opus, 8000).unwrap();
    time("Opus decode to 8 kHz", &mut |i| {
        pcm.clear();
        opus_dec.decode(&opus[i], &mut pcm).unwrap();
    });
    let mut pcmu_dec = Decoder::new(CodecKind::Pcmu).unwrap();
    time("PCMU decode", &mut |i| {
        pcm.clear();
        pcmu_dec.decode(&pcmu[i], &mut pcm).unwrap();
    });
    let mut pcmu_enc = Encoder::new(CodecKind::Pcmu, &config).unwrap();
    time("PCMU encode", &mut |i| {
        out.clear();
        pcmu_enc.encode(&pcm_frames[i], &mut out).unwrap();
    });
}

/// The kernel's cost of forwarding one packet with one receive and one send:
/// `sockets` relay sockets, each with 50 packets queued, drained by one
/// thread that sends each packet on to its own sink socket; only the drain
/// is timed (thread CPU time), less the one empty receive that ends each
/// socket's drain.
fn kernel_floor(sockets: usize) {
    const QUEUED: usize = 50;
    const ROUNDS: usize = 20;
    let bind = || {
        let s = UdpSocket::bind("127.0.0.1:0").expect("socket");
        s.set_nonblocking(true).expect("non-blocking");
        s
    };
    let relay: Vec<UdpSocket> = (0..sockets).map(|_| bind()).collect();
    let sinks: Vec<UdpSocket> = (0..sockets).map(|_| bind()).collect();
    let sink_addrs: Vec<SocketAddr> = sinks.iter().map(|s| s.local_addr().unwrap()).collect();
    let relay_addrs: Vec<SocketAddr> = relay.iter().map(|s| s.local_addr().unwrap()).collect();
    let source = UdpSocket::bind("127.0.0.1:0").expect("source socket");
    let packet = [0x80u8; 172];
    let mut buf = [0u8; 2048];
    let tid: u32 = std::fs::read_link("/proc/thread-self")
        .ok()
        .and_then(|p| p.file_name()?.to_str()?.parse().ok())
        .expect("a Linux thread id");
    let (mut drain_ns, mut empty_ns, mut forwarded) = (0u64, 0u64, 0u64);
    for _ in 0..ROUNDS {
        for addr in &relay_addrs {
            for _ in 0..QUEUED {
                source.send_to(&packet, addr).expect("queue a packet");
            }
        }
        let start = thread_cpu_ns(tid);
        for (socket, sink) in relay.iter().zip(&sink_addrs) {
            while let Ok((len, _)) = socket.recv_from(&mut buf) {
                let _ = socket.send_to(&buf[..len], sink);
                forwarded += 1;
            }
        }
        drain_ns += thread_cpu_ns(tid) - start;
        let start = thread_cpu_ns(tid);
        for socket in &relay {
            let _ = socket.recv_from(&mut buf);
        }
        empty_ns += thread_cpu_ns(tid) - start;
        for sink in &sinks {
            while sink.recv_from(&mut buf).is_ok() {}
        }
    }
    let per_packet = (drain_ns.saturating_sub(empty_ns)) as f64 / forwarded as f64;
    println!("mode: kernel floor, {sockets} sockets, {forwarded} packets forwarded");
    println!(
        "one recvfrom + one sendto per packet: {:.2} us CPU (empty recvfrom {:.2} us)",
        per_packet / 1000.0,
        empty_ns as f64 / (ROUNDS * sockets) as f64 / 1000.0
    );
    println!(
        "relayed calls per core if a relay did nothing else: {:.0}",
        1e9 / per_packet / 100.0
    );
}

/// The thread id of this process's thread called `name`.
fn worker_tid(name: &str) -> u32 {
    std::fs::read_dir("/proc/self/task")
        .expect("a Linux /proc")
        .filter_map(Result::ok)
        .find(|t| {
            std::fs::read_to_string(t.path().join("comm")).is_ok_and(|c| c.trim_end() == name)
        })
        .and_then(|t| t.file_name().to_str()?.parse().ok())
        .expect("the media worker runs")
}

fn thread_cpu_ns(tid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/self/task/{tid}/schedstat"))
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .expect("schedstat of the media worker")
}

fn rss_kib() -> i64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<i64>().ok())
        .map_or(0, |pages| pages * 4)
}
