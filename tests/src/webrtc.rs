//! A browser phone: JsSIP in headless Chromium (`tests/browser/call.mjs`),
//! driven one command at a time so a test interleaves its steps with a desk
//! phone's.
//!
//! The browser's microphone is a WAV file of a pure tone (Chromium's fake
//! capture device loops it); what the browser hears is measured in the page
//! by a WebAudio `AnalyserNode` fed by the remote stream, which an unmuted
//! `<audio>` element plays ([`BrowserPhone::tone`]): decoded audio, not
//! packet counters.
//!
//! The protocol (see the script's header): a command per line on the
//! script's stdin, answered by one JSON line `{"reply": …, "ok": …}` on its
//! stdout; events (`{"event": …, "t": ms}`) arrive meanwhile and are queued
//! for [`BrowserPhone::wait_event`]. Every wait has a timeout. Node is
//! asked to stop (SIGTERM: it closes Chromium) and then killed, by its pid,
//! when the [`BrowserPhone`] is dropped; the profile directory is removed.

use std::collections::VecDeque;
use std::fmt;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

use crate::audio::Wav;
use crate::browser;

/// How long a command may take to be answered (the script's own limit is
/// 15 s per step; this bounds a script that stopped answering at all).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(25);
/// How long Chromium may take to start and load JsSIP.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// Length of the microphone file. Chromium loops it, with a jump in phase
/// at the loop that would split a recording's tone in two (and halve what
/// a Goertzel filter over the whole recording measures): longer than any
/// test call.
const MICROPHONE_SECONDS: u64 = 60;
/// Amplitude of the microphone tone (about -12 dBFS).
const MICROPHONE_AMPLITUDE: i16 = 8000;
/// The expected tone's spectral peak must be this far (dB) above the other
/// party's tone.
pub const MIN_DB_OVER_OTHER: f64 = 20.0;
/// The remote audio's level must reach this (dBFS RMS): far above the idle
/// noise of a decoder, far below any test tone.
pub const MIN_RMS_DB: f64 = -40.0;
/// The spectral peak must be this close to the expected tone (Hz): two
/// analyser bins at 48 kHz.
pub const MAX_PEAK_OFFSET_HZ: f64 = 12.0;

/// A running browser phone.
#[derive(Debug)]
pub struct BrowserPhone {
    child: Option<Child>,
    stdin: ChildStdin,
    lines: mpsc::Receiver<Value>,
    pending: VecDeque<Value>,
    history: Vec<Value>,
    log: Arc<Mutex<String>>,
    // Removed on drop, after Node has stopped.
    _profile: TempDir,
    _dir: TempDir,
}

/// What the browser heard over half a second, from the page's analyser.
#[derive(Debug, Clone, PartialEq)]
pub struct HeardTone {
    /// The tone that should be heard.
    pub expected_hz: u32,
    /// The tone that should not (the browser's own).
    pub other_hz: u32,
    /// The strongest frequency above 100 Hz.
    pub peak_hz: f64,
    /// Its power (dBFS, analyser scale).
    pub peak_db: f64,
    /// Power around the expected tone (dBFS).
    pub expected_db: f64,
    /// Power around the other tone (dBFS).
    pub other_db: f64,
    /// The level of the remote audio (dBFS RMS).
    pub rms_db: f64,
}

impl HeardTone {
    /// Whether the expected tone is the peak, dominates the other tone by
    /// [`MIN_DB_OVER_OTHER`] and the audio is louder than [`MIN_RMS_DB`].
    pub fn heard(&self) -> bool {
        (self.peak_hz - f64::from(self.expected_hz)).abs() <= MAX_PEAK_OFFSET_HZ
            && self.expected_db - self.other_db >= MIN_DB_OVER_OTHER
            && self.rms_db >= MIN_RMS_DB
    }
}

impl fmt::Display for HeardTone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "peak {:.0} Hz at {:.1} dB (expected {} Hz ± {MAX_PEAK_OFFSET_HZ}); {} Hz at {:.1} dB, \
             {} Hz at {:.1} dB (need ≥ {MIN_DB_OVER_OTHER} dB apart); level {:.1} dBFS (need \
             ≥ {MIN_RMS_DB})",
            self.peak_hz,
            self.peak_db,
            self.expected_hz,
            self.expected_hz,
            self.expected_db,
            self.other_hz,
            self.other_db,
            self.rms_db
        )
    }
}

impl BrowserPhone {
    /// Starts Chromium with a microphone playing `tone_hz` for the SIP user
    /// `user` (`name@domain`) with `password`; not registered yet
    /// ([`BrowserPhone::register`]).
    ///
    /// The page is loaded from `origin` (an `http://` URL on loopback, the
    /// server's HTTP port): a secure context whose address space lets it
    /// reach the server's loopback WebSocket listeners.
    pub fn start(origin: &str, user: &str, password: &str, tone_hz: u32) -> BrowserPhone {
        BrowserPhone::launch(origin, user, password, tone_hz, true)
    }

    /// [`BrowserPhone::start`] without the microphone permission: Chromium
    /// then hides its host candidates behind mDNS names, as for any page a
    /// user has not allowed the microphone; only receive-only calls
    /// (`listen URI`) work.
    pub fn start_without_permission(origin: &str, user: &str, password: &str) -> BrowserPhone {
        BrowserPhone::launch(origin, user, password, 1000, false)
    }

    fn launch(
        origin: &str,
        user: &str,
        password: &str,
        tone_hz: u32,
        permission: bool,
    ) -> BrowserPhone {
        browser::require_tools();
        browser::install_packages("jssip");
        let dir = tempfile::tempdir().expect("temp dir");
        let profile = tempfile::tempdir().expect("profile dir");
        let microphone = dir.path().join("microphone.wav");
        Wav::tone(
            tone_hz,
            48000,
            MICROPHONE_AMPLITUDE,
            Duration::from_secs(MICROPHONE_SECONDS),
        )
        .write(&microphone)
        .expect("write the microphone file");
        let mut child = Command::new("node")
            .arg("call.mjs")
            .current_dir(browser::dir())
            .env("SB_USER", user)
            .env("SB_USER_PASSWORD", password)
            .env("SB_MICROPHONE", &microphone)
            .env("SB_PROFILE", profile.path())
            .env("SB_ORIGIN", origin)
            .env(
                "SB_MEDIA_PERMISSION",
                if permission { "granted" } else { "none" },
            )
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run node");
        let stdin = child.stdin.take().expect("stdin is piped");
        let out = child.stdout.take().expect("stdout is piped");
        let err = child.stderr.take().expect("stderr is piped");
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, lines) = mpsc::channel();
        let out_log = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                push_log(&out_log, &line);
                // Lines that are not JSON objects (Node's own messages) are only logged.
                if let Ok(v) = serde_json::from_str::<Value>(&line)
                    && v.is_object()
                    && tx.send(v).is_err()
                {
                    break;
                }
            }
        });
        let err_log = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                push_log(&err_log, &line);
            }
        });
        let mut phone = BrowserPhone {
            child: Some(child),
            stdin,
            lines,
            pending: VecDeque::new(),
            history: Vec::new(),
            log,
            _profile: profile,
            _dir: dir,
        };
        phone.expect_event("ready", START_TIMEOUT);
        phone
    }

    /// Everything the script printed so far.
    pub fn log(&self) -> String {
        self.log.lock().expect("log lock").clone()
    }

    /// Every event read so far, oldest first.
    pub fn history(&self) -> &[Value] {
        &self.history
    }

    /// Runs a command line; `Err` carries the script's reason when it
    /// refused or failed.
    pub fn try_command(&mut self, line: &str) -> Result<Value, String> {
        let name = line
            .split_whitespace()
            .next()
            .expect("a command")
            .to_owned();
        if let Err(e) = writeln!(self.stdin, "{line}") {
            self.fail(&format!("send {line}: {e}"));
        }
        let deadline = Instant::now() + COMMAND_TIMEOUT;
        loop {
            match self.next_line(deadline) {
                Some(v) if v["reply"] == name.as_str() => {
                    return if v["ok"] == true {
                        Ok(v)
                    } else {
                        Err(v["error"].as_str().unwrap_or("no reason").to_owned())
                    };
                }
                Some(_) => {}
                None => self.fail(&format!("no answer to {line} within {COMMAND_TIMEOUT:?}")),
            }
        }
    }

    /// Runs a command line; panics, with the events and the log, when it fails.
    pub fn command(&mut self, line: &str) -> Value {
        match self.try_command(line) {
            Ok(v) => v,
            Err(e) => self.fail(&format!("{line}: {e}")),
        }
    }

    /// Waits for the first unconsumed event named `name` and consumes it.
    pub fn wait_event(&mut self, name: &str, timeout: Duration) -> Option<Value> {
        self.wait_event_any(&[name], timeout)
    }

    /// Waits for the first unconsumed event named any of `names`.
    pub fn wait_event_any(&mut self, names: &[&str], timeout: Duration) -> Option<Value> {
        let deadline = Instant::now() + timeout;
        loop {
            let found = self
                .pending
                .iter()
                .position(|e| names.iter().any(|n| e["event"] == *n));
            if let Some(i) = found {
                return self.pending.remove(i);
            }
            self.next_line(deadline)?;
        }
    }

    /// [`BrowserPhone::wait_event`] that panics when the event does not come.
    pub fn expect_event(&mut self, name: &str, timeout: Duration) -> Value {
        match self.wait_event(name, timeout) {
            Some(e) => e,
            None => self.fail(&format!("no {name} event within {timeout:?}")),
        }
    }

    /// Registers over the WebSocket `url` (`ws://…`, `wss://…`).
    pub fn register(&mut self, url: &str) {
        self.command(&format!("register {url}"));
    }

    /// Calls `uri`; with `only` (an SDP codec name: `PCMU`, `opus`) the
    /// offer carries that codec (and telephone-event) only, else all of
    /// Chromium's.
    pub fn call(&mut self, uri: &str, only: Option<&str>) {
        match only {
            Some(codec) => self.command(&format!("call {uri} {codec}")),
            None => self.command(&format!("call {uri}")),
        };
    }

    /// Waits for the call being placed to be answered (JsSIP's `accepted`:
    /// the 200 arrived); panics with how it ended when it failed.
    pub fn expect_accepted(&mut self, timeout: Duration) -> Value {
        match self.wait_event_any(&["accepted", "failed", "ended"], timeout) {
            Some(e) if e["event"] == "accepted" => e,
            Some(e) => self.fail(&format!("the call was not answered: {e}")),
            None => self.fail(&format!("the call was not answered within {timeout:?}")),
        }
    }

    /// Answers the ringing call.
    pub fn answer(&mut self) {
        self.command("answer");
    }

    /// Hangs up (BYE, or CANCEL while calling) and waits for the end.
    pub fn hangup(&mut self) {
        self.command("hangup");
    }

    /// What the browser hears now, judged for `expected_hz` against `other_hz`.
    pub fn tone(&mut self, expected_hz: u32, other_hz: u32) -> HeardTone {
        let v = self.command(&format!("tone {expected_hz} {other_hz}"));
        let number = |v: &Value| v.as_f64().unwrap_or(f64::NEG_INFINITY);
        HeardTone {
            expected_hz,
            other_hz,
            peak_hz: number(&v["peak_hz"]),
            peak_db: number(&v["peak_db"]),
            expected_db: number(&v["bins"][expected_hz.to_string()]),
            other_db: number(&v["bins"][other_hz.to_string()]),
            rms_db: number(&v["rms_db"]),
        }
    }

    /// Measures until the browser hears `expected_hz` (jitter buffers and
    /// ICE may take a moment after a change); panics after `timeout` with
    /// the last measurement.
    pub fn wait_hears(
        &mut self,
        what: &str,
        expected_hz: u32,
        other_hz: u32,
        timeout: Duration,
    ) -> HeardTone {
        let deadline = Instant::now() + timeout;
        loop {
            let t = self.tone(expected_hz, other_hz);
            if t.heard() {
                return t;
            }
            if Instant::now() >= deadline {
                let stats = self.try_command("stats");
                self.fail(&format!(
                    "{what}: the browser did not hear {expected_hz} Hz within {timeout:?}: \
                     {t}\nstats: {stats:?}"
                ));
            }
        }
    }

    /// The call's `getStats` view (codec, packets, DTLS role, candidates).
    pub fn stats(&mut self) -> Value {
        self.command("stats")
    }

    /// The call's event times in ms of the page clock (`sending`,
    /// `progress`, `accepted`, `answered`, `first_audio`, …).
    pub fn timing(&mut self) -> Value {
        self.command("timing")
    }

    /// The last local and remote SDP of the call.
    pub fn sdp(&mut self) -> Value {
        self.command("sdp")
    }

    /// Forgets the events not consumed yet (those of an earlier call).
    pub fn clear_events(&mut self) {
        while self.next_line(Instant::now()).is_some() {}
        self.pending.clear();
    }

    /// The time between two of the call's events ([`BrowserPhone::timing`]
    /// names), `None` when either was not seen.
    pub fn interval(&mut self, from: &str, to: &str) -> Option<Duration> {
        let t = self.timing();
        let ms = t[to].as_f64()? - t[from].as_f64()?;
        (ms >= 0.0).then(|| Duration::from_secs_f64(ms / 1000.0))
    }

    /// Reads one line (queueing events), or `None` at `deadline`.
    fn next_line(&mut self, deadline: Instant) -> Option<Value> {
        let left = deadline.saturating_duration_since(Instant::now());
        let v = self.lines.recv_timeout(left).ok()?;
        if v.get("event").is_some() {
            self.history.push(v.clone());
            self.pending.push_back(v.clone());
        }
        Some(v)
    }

    /// Panics with `what`, the events seen and the script's output.
    pub fn fail(&mut self, what: &str) -> ! {
        while self.next_line(Instant::now()).is_some() {}
        let events: Vec<String> = self.history.iter().map(Value::to_string).collect();
        panic!(
            "browser phone: {what}\n--- events ---\n{}\n--- output ---\n{}",
            events.join("\n"),
            self.log()
        );
    }
}

fn push_log(log: &Mutex<String>, line: &str) {
    let mut log = log.lock().expect("log lock");
    log.push_str(line);
    log.push('\n');
}

impl Drop for BrowserPhone {
    fn drop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        // The script closes Chromium and removes its profile on SIGTERM.
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
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
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measured(peak_hz: f64, expected_db: f64, other_db: f64, rms_db: f64) -> HeardTone {
        HeardTone {
            expected_hz: 700,
            other_hz: 1300,
            peak_hz,
            peak_db: expected_db,
            expected_db,
            other_db,
            rms_db,
        }
    }

    #[test]
    fn a_tone_is_heard_when_it_is_the_loud_dominant_peak() {
        assert!(measured(703.0, -28.0, -80.0, -17.0).heard());
        // The peak elsewhere (a wrong tone, or noise).
        assert!(!measured(1300.0, -28.0, -80.0, -17.0).heard());
        assert!(!measured(713.0, -28.0, -80.0, -17.0).heard());
        // The listener's own tone leaks back too loudly.
        assert!(!measured(700.0, -28.0, -40.0, -17.0).heard());
        // Silence with a faint tone.
        assert!(!measured(700.0, -90.0, -120.0, -60.0).heard());
        // Nothing measured at all.
        let nothing = measured(700.0, f64::NEG_INFINITY, f64::NEG_INFINITY, -999.0);
        assert!(!nothing.heard(), "{nothing}");
    }
}
