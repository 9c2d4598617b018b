//! baresip 1.0 as a phone: one process per phone, with its own configuration
//! directory, driven over its `ctrl_tcp` interface (netstring-framed JSON
//! commands, responses and events).
//!
//! Set-up, and why:
//! - modules `g711 ausine aufile aubridge account menu ctrl_tcp`: PCMU only,
//!   a 440 Hz tone from `ausine` (48 kHz stereo, resampled by baresip) as the
//!   microphone, `aubridge` as the player (no sound card). `menu` provides the
//!   commands (`dial`, `accept`, `hangup`, `reginfo`, `audio_debug`). `stdio`
//!   is left out: it cannot poll a null stdin and would only log an error.
//! - `net_interface 127.0.0.1` (an address, not `lo`), SIP on a free loopback
//!   port, `ctrl_tcp` on another free port (never SIP port + 1, where baresip
//!   puts SIP/TLS), `dns_server` on loopback so no real resolver is asked.
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
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::free_port;

mod config;
mod protocol;

pub use config::BaresipConfig;
use protocol::{CtrlMessage, parse_audio_debug, read_control, spawn_output_reader, strip_ansi};
pub use protocol::{Event, EventKind, RtpCounters};

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
    _dir: TempDir,
}

impl Baresip {
    /// Starts baresip on free loopback ports (retrying with other ports if
    /// one was taken meanwhile) and connects to its control socket.
    pub fn start(config: &BaresipConfig) -> Baresip {
        let mut last_log = String::new();
        for _ in 0..5 {
            match Baresip::try_start(config) {
                Ok(b) => return b,
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
        std::fs::write(dir.path().join("config"), config.config_text(sip, ctrl))
            .expect("write baresip config");
        std::fs::write(dir.path().join("accounts"), config.account_line(sip))
            .expect("write baresip accounts");
        let mut child = Command::new("baresip")
            .arg("-v")
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
            sip: SocketAddr::from(([127, 0, 0, 1], sip)),
            ctrl: stream,
            messages,
            pending: VecDeque::new(),
            history: Vec::new(),
            summaries,
            log,
            next_token: 0,
            _dir: dir,
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
