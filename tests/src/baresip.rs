//! baresip 1.0 as a phone: one process per phone, with its own configuration
//! directory, driven over its `ctrl_tcp` interface (netstring-framed JSON
//! commands, responses and events).
//!
//! Set-up, and why:
//! - modules `g711 g722 opus srtp ausine aufile aubridge account menu
//!   ctrl_tcp` (+ `sndfile` when recording): the account's `audio_codecs`
//!   chooses the codecs ([`Codec`]; PCMU only by default). baresip 1.0 knows
//!   a codec by name, rate and channels (`opus/48000/2`, `G722/16000/1`); a
//!   name it does not know is dropped with "audio codec not found" and an
//!   account left with none offers every codec, so a phone that logs it is
//!   refused at start.
//! - The microphone is `ausine` (440 Hz, 48 kHz stereo) or, with
//!   [`BaresipConfig::tone`], `aufile` playing a WAV of a pure tone written
//!   into the phone's directory (48 kHz mono; baresip resamples to the
//!   codec). `aufile` ends the call at the end of the file ("end of file"),
//!   so the file lasts longer than any test call.
//! - `aubridge` is the player (no sound card). `menu` provides the commands
//!   (`dial`, `accept`, `hangup`, `reginfo`, `audio_debug`, `sndcode` for
//!   DTMF). `stdio` is left out: it cannot poll a null stdin and would only
//!   log an error.
//! - Recording ([`BaresipConfig::record`]): `sndfile` is an audio filter
//!   that writes, per call, `dump-YYYY-MM-DD-hh-mm-ss-dec.wav` (what was
//!   decoded, at the codec's rate: 8 kHz mono for G.711, 16 kHz for G.722,
//!   48 kHz stereo for Opus) and `…-enc.wav` (what was sent) into
//!   `snd_path`. The header is final when the call's audio stops.
//! - DTMF: `sndcode DIGITS` sends RFC 4733 events (the account's default
//!   `dtmfmode`); received digits (RFC 4733, or SIP INFO) are the events
//!   `CALL_DTMF_START` (param: the digit) and `CALL_DTMF_END`.
//! - SDES-SRTP with [`BaresipConfig::srtp_mandatory`] (`mediaenc=srtp-mand`).
//! - `baresip -s` ([`BaresipConfig::sip_trace`]) prints every SIP message,
//!   read back with [`Baresip::sip_messages`] (the SDP a phone received).
//! - `net_interface 127.0.0.1` (an address, not `lo`), SIP on a free loopback
//!   port, `ctrl_tcp` on another free port (never SIP port + 1, where baresip
//!   puts SIP/TLS), `dns_server` on loopback so no real resolver is asked,
//!   RTP in [`RTP_PORTS`].
//! - A registered phone sends everything through `outbound` = the server, so
//!   its domain (`example.test`) never needs DNS.
//! - baresip 1.0 (libre) aborts a digest challenge when any challenge header
//!   names an algorithm it does not know ("Function not implemented"), so a
//!   server it registers to must offer MD5 only (`[auth] algorithms = ["MD5"]`).
//!
//! RTP counters: baresip 1.0 has two sources that count real RTP packets,
//! used here, and two that do not, not used:
//! - live, for the current call: the `audio_debug` command prints the RTCP
//!   session of the audio stream: `TX: packets=N` (RTP sent) and, per remote
//!   member, `rcvd=N` (RTP received from it) — [`Baresip::rtp_counters`];
//! - at the end of a call, with `rtp_stats yes`, a block on stdout
//!   (`audio Transmit: Receive:` / `packets: TX RX`) — [`Baresip::wait_rtp_summary`].
//! - Not used: the `CALL_RTCP` events and the `rtcpsummary` module report what
//!   RTCP sender reports said, which needs ~5 s of call first
//!   ("No RTCP stats collected" on short calls).
//!
//! Every wait has a timeout; events and output are read as they arrive (only
//! the live RTP counters are polled).
//! The process is killed by its own pid when the [`Baresip`] is dropped.

use std::collections::VecDeque;
use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::audio::Wav;
use crate::free_port;

mod config;
mod protocol;

pub use config::{BaresipConfig, Codec, RTP_PORTS};
use config::{
    MICROPHONE_AMPLITUDE, MICROPHONE_FILE, MICROPHONE_RATE, MICROPHONE_SECONDS, RECORDINGS_DIR,
};
use protocol::{
    CtrlMessage, parse_audio_debug, read_control, spawn_output_reader, strip_ansi, traced_sip,
};
pub use protocol::{Event, EventKind, RtpCounters, TracedSip};

/// How long a ctrl_tcp command may take to be answered.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);
/// How long baresip may take to start.
const START_TIMEOUT: Duration = Duration::from_secs(15);

/// A running baresip process.
#[derive(Debug)]
pub struct Baresip {
    child: Option<Child>,
    name: String,
    sip: SocketAddr,
    ctrl: TcpStream,
    messages: mpsc::Receiver<CtrlMessage>,
    pending: VecDeque<Event>,
    history: Vec<Event>,
    summaries: mpsc::Receiver<RtpCounters>,
    log: Arc<Mutex<String>>,
    next_token: u64,
    dir: TempDir,
}

impl Baresip {
    /// Starts baresip on free loopback ports (retrying with other ports if
    /// one was taken meanwhile) and connects to its control socket.
    pub fn start(config: &BaresipConfig) -> Baresip {
        let mut last_log = String::new();
        for _ in 0..5 {
            match Baresip::try_start(config) {
                Ok(b) => {
                    let log = b.log();
                    assert!(
                        !log.contains("audio codec not found"),
                        "baresip {}: a codec of the account is unknown (it would offer every \
                         codec instead):\n{log}",
                        config.name
                    );
                    return b;
                }
                Err(log) => last_log = log,
            }
        }
        panic!(
            "baresip {} did not start (install the Debian package baresip-core):\n{last_log}",
            config.name
        );
    }

    fn try_start(config: &BaresipConfig) -> Result<Baresip, String> {
        let sip = free_port();
        let ctrl = loop {
            let p = free_port();
            if p != sip && p != sip.wrapping_add(1) {
                break p;
            }
        };
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(
            dir.path().join("config"),
            config.config_text(dir.path(), sip, ctrl),
        )
        .expect("write baresip config");
        std::fs::write(dir.path().join("accounts"), config.account_line(sip))
            .expect("write baresip accounts");
        if let Some(hz) = config.tone_hz() {
            Wav::tone(
                hz,
                MICROPHONE_RATE,
                MICROPHONE_AMPLITUDE,
                Duration::from_secs(MICROPHONE_SECONDS),
            )
            .write(&dir.path().join(MICROPHONE_FILE))
            .expect("write the microphone file");
        }
        if config.record {
            std::fs::create_dir(dir.path().join(RECORDINGS_DIR))
                .expect("create the recordings directory");
        }
        let mut child = Command::new("baresip")
            .arg("-v")
            .args(config.sip_trace.then_some("-s"))
            .arg("-f")
            .arg(dir.path())
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run baresip: {e}"))?;
        let log = Arc::new(Mutex::new(String::new()));
        let (ready_tx, ready_rx) = mpsc::channel();
        let (summary_tx, summaries) = mpsc::channel();
        let out = child.stdout.take().expect("stdout is piped");
        let err = child.stderr.take().expect("stderr is piped");
        spawn_output_reader(out, Arc::clone(&log), Some(ready_tx), Some(summary_tx));
        spawn_output_reader(err, Arc::clone(&log), None, None);
        let listening = format!("ctrl_tcp: TCP socket listening on 127.0.0.1:{ctrl}");
        let started = matches!(ready_rx.recv_timeout(START_TIMEOUT), Ok(true))
            && log.lock().expect("log lock").contains(&listening);
        let fail = |mut child: Child, log: &Mutex<String>| {
            let _ = child.kill();
            let _ = child.wait();
            Err(log.lock().expect("log lock").clone())
        };
        if !started {
            return fail(child, &log);
        }
        let Ok(stream) = TcpStream::connect(("127.0.0.1", ctrl)) else {
            return fail(child, &log);
        };
        let (tx, messages) = mpsc::channel();
        let reader = stream.try_clone().expect("clone control socket");
        std::thread::spawn(move || read_control(reader, &tx));
        Ok(Baresip {
            child: Some(child),
            name: config.name.clone(),
            sip: SocketAddr::from((config.address, sip)),
            ctrl: stream,
            messages,
            pending: VecDeque::new(),
            history: Vec::new(),
            summaries,
            log,
            next_token: 0,
            dir,
        })
    }

    /// The SIP address baresip listens on.
    pub fn sip_addr(&self) -> SocketAddr {
        self.sip
    }

    /// The URI that reaches this phone directly, without a server.
    pub fn direct_uri(&self) -> String {
        format!("sip:{}@{}", self.name, self.sip)
    }

    /// Everything baresip printed so far.
    pub fn log(&self) -> String {
        self.log.lock().expect("log lock").clone()
    }

    /// Every event read so far (consumed or not), oldest first.
    pub fn history(&self) -> &[Event] {
        &self.history
    }

    /// Whether an event of `kind` has been read (by any wait).
    pub fn has_seen(&mut self, kind: &EventKind) -> bool {
        self.drain();
        self.history.iter().any(|e| &e.kind == kind)
    }

    /// Runs a ctrl_tcp command and returns its output. Panics when baresip
    /// refuses it or does not answer.
    pub fn command(&mut self, command: &str, params: &str) -> String {
        self.next_token += 1;
        let token = format!("t{}", self.next_token);
        let body =
            serde_json::json!({ "command": command, "params": params, "token": token }).to_string();
        let frame = format!("{}:{body},", body.len());
        self.ctrl
            .write_all(frame.as_bytes())
            .unwrap_or_else(|e| self.fail(&format!("send {command}: {e}")));
        let deadline = Instant::now() + COMMAND_TIMEOUT;
        loop {
            match self.next_message(deadline) {
                Some(CtrlMessage::Response { token: t, ok, data }) if t == token => {
                    if !ok {
                        self.fail(&format!("command {command} {params} refused: {data}"));
                    }
                    return data;
                }
                Some(_) => {}
                None => self.fail(&format!("no answer to command {command} {params}")),
            }
        }
    }

    /// The account's registration status word from `reginfo`: `OK` when
    /// registered, `ERR` after a failure (`None` without an account line).
    pub fn registration_status(&mut self) -> Option<String> {
        let info = strip_ansi(&self.command("reginfo", ""));
        info.lines()
            .find(|l| l.starts_with('>'))
            .and_then(|l| l.split_whitespace().nth(2))
            .map(str::to_owned)
    }

    /// Whether the account is registered now (`reginfo` shows it `OK`).
    pub fn is_registered(&mut self) -> bool {
        self.registration_status().as_deref() == Some("OK")
    }

    /// Polls `reginfo` until the account is registered; panics after `timeout`.
    pub fn wait_registered(&mut self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while !self.is_registered() {
            if Instant::now() >= deadline {
                let info = self.command("reginfo", "");
                self.fail(&format!("not registered after {timeout:?}: {info}"));
            }
            // Registration events arrive meanwhile; wait on them, briefly.
            let _ = self.wait_event(&EventKind::RegisterOk, Duration::from_millis(100));
        }
    }

    /// Calls `uri` (a full SIP URI, or a user name of the account's domain).
    pub fn dial(&mut self, uri: &str) {
        self.command("dial", uri);
    }

    /// Answers the alerting call.
    pub fn answer(&mut self) {
        self.command("accept", "");
    }

    /// Hangs up the current call (BYE when answered, CANCEL when calling,
    /// 486 when it is an incoming call not answered yet).
    pub fn hangup(&mut self) {
        self.command("hangup", "");
    }

    /// Waits for the first unconsumed event of `kind` and consumes it.
    /// Events of other kinds stay available to later waits.
    pub fn wait_event(&mut self, kind: &EventKind, timeout: Duration) -> Option<Event> {
        self.wait_event_any(std::slice::from_ref(kind), timeout)
    }

    /// Waits for the first unconsumed event of any of `kinds` and consumes it
    /// (e.g. "ringing, or closed because the call failed").
    pub fn wait_event_any(&mut self, kinds: &[EventKind], timeout: Duration) -> Option<Event> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(i) = self.pending.iter().position(|e| kinds.contains(&e.kind)) {
                return self.pending.remove(i);
            }
            self.next_message(deadline)?;
        }
    }

    /// [`Baresip::wait_event`] that panics, with the events seen and the log,
    /// when the event does not come.
    pub fn expect_event(&mut self, kind: &EventKind, timeout: Duration) -> Event {
        match self.wait_event(kind, timeout) {
            Some(e) => e,
            None => self.fail(&format!("no {kind:?} within {timeout:?}")),
        }
    }

    /// Sends DTMF `digits` in the current call (`sndcode`: RFC 4733 events,
    /// one after the other).
    pub fn send_digits(&mut self, digits: &str) {
        self.command("sndcode", digits);
    }

    /// Waits until `count` DTMF digits have been received (one
    /// `CALL_DTMF_START` each) and returns them in order; panics after
    /// `timeout` with the digits so far.
    pub fn expect_digits(&mut self, count: usize, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        let mut digits = String::new();
        while digits.chars().count() < count {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.wait_event(&EventKind::DtmfStart, left) {
                Some(e) => digits.push_str(&e.param),
                None => self.fail(&format!(
                    "{count} DTMF digit(s) expected within {timeout:?}, got {digits:?}"
                )),
            }
        }
        digits
    }

    /// The recordings of decoded audio (one per call, oldest first); empty
    /// unless the phone was configured with [`BaresipConfig::record`].
    pub fn recordings(&self) -> Vec<PathBuf> {
        let Ok(entries) = std::fs::read_dir(self.dir.path().join(RECORDINGS_DIR)) else {
            return Vec::new();
        };
        let mut files: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.ends_with("-dec.wav"))
            })
            .collect();
        // The names carry the call's start time to the second.
        files.sort();
        files
    }

    /// The audio the phone decoded, read once its only call has ended (the
    /// WAV headers are final then): its recordings joined in order (a call
    /// whose media was set up again, early media then the answer, may
    /// have more than one). Panics when there is none, they differ in
    /// format, or one cannot be read.
    pub fn decoded_audio(&mut self) -> Wav {
        let files = self.recordings();
        let mut joined: Option<Wav> = None;
        for file in &files {
            let wav = match Wav::read(file) {
                Ok(wav) => wav,
                Err(e) => self.fail(&format!("recording {}: {e}", file.display())),
            };
            match joined.as_mut() {
                None => joined = Some(wav),
                Some(j) if (j.sample_rate, j.channels) == (wav.sample_rate, wav.channels) => {
                    j.samples.extend_from_slice(&wav.samples);
                }
                Some(j) => self.fail(&format!(
                    "recordings of different formats ({} Hz × {} and {} Hz × {}): {files:?}",
                    j.sample_rate, j.channels, wav.sample_rate, wav.channels
                )),
            }
        }
        match joined {
            Some(wav) => wav,
            None => self.fail("no recording of decoded audio (was the phone set to record?)"),
        }
    }

    /// The SIP messages the phone sent and received so far (only with
    /// [`BaresipConfig::sip_trace`]), oldest first. Over UDP a message the
    /// phone sent has its SIP address as source, one it received as
    /// destination (TCP connections use other ports).
    pub fn sip_messages(&self) -> Vec<TracedSip> {
        traced_sip(&self.log())
    }

    /// The body of the first request starting with `method` (`INVITE`,
    /// say) that the phone received; `None` when there is none (yet).
    pub fn received_request_body(&self, method: &str) -> Option<String> {
        self.sip_messages()
            .into_iter()
            .find(|m| m.destination == self.sip && m.start_line.starts_with(&format!("{method} ")))
            .map(|m| m.body)
    }

    /// The body of the first request starting with `method` that the phone
    /// sent with a body (an INVITE answered 407 is sent again; both carry
    /// the same SDP).
    pub fn sent_request_body(&self, method: &str) -> Option<String> {
        self.sip_messages()
            .into_iter()
            .find(|m| {
                m.source == self.sip
                    && m.start_line.starts_with(&format!("{method} "))
                    && !m.body.is_empty()
            })
            .map(|m| m.body)
    }

    /// The RTP packets sent and received so far in the current call, from
    /// `audio_debug`; `None` without a call with audio.
    pub fn rtp_counters(&mut self) -> Option<RtpCounters> {
        parse_audio_debug(&self.command("audio_debug", ""))
    }

    /// Polls [`Baresip::rtp_counters`] until at least `min` packets went
    /// each way; panics after `timeout`.
    pub fn wait_rtp_flowing(&mut self, min: u64, timeout: Duration) -> RtpCounters {
        let deadline = Instant::now() + timeout;
        loop {
            let c = self.rtp_counters();
            if let Some(c) = c
                && c.sent >= min
                && c.received >= min
            {
                return c;
            }
            if Instant::now() >= deadline {
                self.fail(&format!(
                    "RTP did not flow both ways within {timeout:?}: {c:?}"
                ));
            }
            // The counters grow with time only: poll at a packet-train pace.
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The RTP packets of the next call to end (printed by baresip when a
    /// call with audio is closed), waiting up to `timeout` for it.
    pub fn wait_rtp_summary(&mut self, timeout: Duration) -> Option<RtpCounters> {
        self.summaries.recv_timeout(timeout).ok()
    }

    /// Stops baresip with SIGTERM (it unregisters and hangs up first) and
    /// waits up to 5 s for it, then kills it.
    pub fn stop(mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Reads one control message (queueing events), or `None` at `deadline`.
    fn next_message(&mut self, deadline: Instant) -> Option<CtrlMessage> {
        let left = deadline.saturating_duration_since(Instant::now());
        let msg = self.messages.recv_timeout(left).ok()?;
        if let CtrlMessage::Event(e) = &msg {
            self.history.push(e.clone());
            self.pending.push_back(e.clone());
        }
        Some(msg)
    }

    fn drain(&mut self) {
        while self.next_message(Instant::now()).is_some() {}
    }

    fn fail(&mut self, what: &str) -> ! {
        self.drain();
        let events: Vec<String> = self
            .history
            .iter()
            .map(|e| format!("{:?} {} ({:?})", e.kind, e.param, e.call_id))
            .collect();
        panic!(
            "baresip {}: {what}\n--- events ---\n{}\n--- log ---\n{}",
            self.name,
            events.join("\n"),
            self.log()
        );
    }
}

impl Drop for Baresip {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
