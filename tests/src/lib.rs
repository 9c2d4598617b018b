//! End-to-end test support: starts the real `switchboard` binary on loopback
//! with a throwaway configuration and database, and runs real SIP tools
//! (SIPp, and baresip as a phone: [`baresip`]) against it.
//!
//! Owns: process management for the server and the tools (every process a
//! test starts is stopped by the test, by its own pid, also when the test
//! fails), free-port selection on 127.0.0.1, scenario paths.
//!
//! Must not: link the server's crates — tests see the binary exactly as a user
//! does.
//!
//! The binary is found through `SWITCHBOARD_BIN`, or next to the test
//! executable in the cargo target directory; build it first
//! (`cargo build --bins`, which the test command does).
//!
//! Media tests add: WAV files, tones and their detection ([`audio`]), RTP
//! packets and G.711 µ-law for a test that is its own RTP peer ([`rtp`]),
//! and the server's `[media]` table and dialplan files ([`media`]). Browser
//! calls add JsSIP in headless Chromium as a phone ([`webrtc`]) and read
//! what a baresip phone heard while the call runs ([`phone_audio`]).

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use tempfile::TempDir;

pub mod audio;
pub mod baresip;
pub mod browser;
pub mod calls;
pub mod http;
pub mod media;
pub mod phone_audio;
pub mod rtp;
mod sipp;
pub mod webrtc;

pub use sipp::{Sipp, SippChild, SippMessage, SippRun, sipp_messages, sipp_transport};

/// Why a file or a packet the harness reads cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A WAV file is not 16-bit PCM RIFF/WAVE.
    #[error("not a 16-bit PCM WAV file: {reason}")]
    Wav {
        /// What is wrong.
        reason: &'static str,
    },
    /// A datagram is not an RTP packet.
    #[error("not an RTP packet: {reason}")]
    Rtp {
        /// What is wrong.
        reason: &'static str,
    },
}

/// The `switchboard` binary under test.
pub fn switchboard_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("SWITCHBOARD_BIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("test executable path");
    // target/<profile>/deps/<test> → target/<profile>/switchboard
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test executable lives in target/<profile>/deps");
    let bin = profile_dir.join("switchboard");
    assert!(
        bin.exists(),
        "{} not found: build it first with `cargo build --bins` (the test command .ci/test does)",
        bin.display()
    );
    bin
}

/// Directory of the SIPp scenarios.
pub fn scenario(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(name)
}

/// A port free for both UDP and TCP on 127.0.0.1 (at the time of the call).
pub fn free_port() -> u16 {
    for _ in 0..50 {
        let udp = UdpSocket::bind("127.0.0.1:0").expect("bind UDP");
        let port = udp.local_addr().expect("local addr").port();
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port on 127.0.0.1");
}

/// A running server with its own directory (config, database).
#[derive(Debug)]
pub struct Server {
    child: Option<Child>,
    /// The directory holding `switchboard.toml` and the database.
    pub dir: PathBuf,
    /// The configuration file.
    pub config: PathBuf,
    /// The SIP address (UDP and TCP share it).
    pub sip: SocketAddr,
    /// The HTTP API's base URL (`http://127.0.0.1:PORT`), when it is served.
    pub http: Option<String>,
    log: mpsc::Receiver<String>,
    /// Lines read while waiting for the ready line, not yet matched.
    earlier: std::sync::Mutex<Vec<String>>,
    _tmp: Option<TempDir>,
}

/// The configuration for a server on 127.0.0.1 with a SQLite file in `dir`.
/// `extra` is appended (TOML tables that the defaults do not set).
/// The HTTP listener is on a port of its own (`[http]` is written here, so
/// `extra` must not hold another `[http]` table; use [`config_text_with_http`]).
pub fn config_text(dir: &Path, port: u16, extra_sip: &str, extra: &str) -> String {
    config_text_with_http(dir, port, extra_sip, "", extra)
}

/// The configuration for a server on 127.0.0.1 that also serves SIP over
/// WebSocket: `ws` and `wss` listeners (a generated certificate) next to UDP
/// and TCP on `port`, the HTTP port (with `/ws`), MD5-only digest (for
/// baresip), a SQLite file in `dir`; `extra` is appended (e.g. `[media]`).
pub fn ws_config_text(dir: &Path, port: u16, ws: u16, wss: u16, extra: &str) -> String {
    format!(
        "[sip]\nlisten = [\"udp:127.0.0.1:{port}\", \"tcp:127.0.0.1:{port}\", \
         \"ws:127.0.0.1:{ws}\", \"wss:127.0.0.1:{wss}\"]\n\
         domains = [\"example.test\"]\ntls_self_signed = true\n\
         [http]\nlisten = \"127.0.0.1:{}\"\n\
         [database]\nurl = \"sqlite://{}\"\nwrite_behind = \"100ms\"\n\
         [log]\nlevel = \"info,sb_server=debug,sb_sip_transport=debug\"\n{}{extra}",
        free_tcp_port(),
        dir.join("switchboard.db").display(),
        calls::MD5_ONLY,
    )
}

/// [`config_text`] with more keys for `[http]`.
pub fn config_text_with_http(
    dir: &Path,
    port: u16,
    extra_sip: &str,
    extra_http: &str,
    extra: &str,
) -> String {
    let http_port = free_tcp_port();
    format!(
        "[sip]\nlisten = [\"udp:127.0.0.1:{port}\", \"tcp:127.0.0.1:{port}\"]\n\
         domains = [\"example.test\"]\n{extra_sip}\n\
         [http]\nlisten = \"127.0.0.1:{http_port}\"\n{extra_http}\n\
         [database]\nurl = \"sqlite://{}\"\nwrite_behind = \"100ms\"\n\
         [log]\nlevel = \"info,sb_server=debug\"\n{extra}",
        dir.join("switchboard.db").display()
    )
}

/// Polls `check` every 100 ms until it gives a value (state that announces
/// no event: an HTTP listing, a file); panics after `timeout` naming `what`.
pub fn eventually<T>(what: &str, timeout: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not within {timeout:?}: {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A TCP port free on 127.0.0.1 (at the time of the call).
pub fn free_tcp_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind TCP")
        .port()
}

impl Server {
    /// Writes a configuration into a new temporary directory and starts the
    /// server on a free port.
    pub fn start(extra_sip: &str, extra: &str) -> Server {
        let tmp = tempfile::tempdir().expect("temp dir");
        let dir = tmp.path().to_path_buf();
        let port = free_port();
        std::fs::write(
            dir.join("switchboard.toml"),
            config_text(&dir, port, extra_sip, extra),
        )
        .expect("write config");
        let mut s = Server::start_in(&dir);
        s._tmp = Some(tmp);
        s
    }

    /// [`Server::start`] with more files written into the server's directory
    /// first, each as (path relative to the directory, content): dialplan
    /// files, for instance. The server runs in that directory, so `extra`
    /// may name them by relative path (`[dialplan]\ndir = "plans"`).
    pub fn start_with_files(extra_sip: &str, extra: &str, files: &[(&str, &str)]) -> Server {
        let tmp = tempfile::tempdir().expect("temp dir");
        let dir = tmp.path().to_path_buf();
        for (name, text) in files {
            let path = dir.join(name);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).expect("create directory");
            }
            std::fs::write(&path, text).expect("write file");
        }
        let port = free_port();
        std::fs::write(
            dir.join("switchboard.toml"),
            config_text(&dir, port, extra_sip, extra),
        )
        .expect("write config");
        let mut s = Server::start_in(&dir);
        s._tmp = Some(tmp);
        s
    }

    /// Starts the server with the configuration already in `dir`.
    pub fn start_in(dir: &Path) -> Server {
        let config = dir.join("switchboard.toml");
        let mut child = Command::new(switchboard_bin())
            .arg("serve")
            .arg("--config")
            .arg(&config)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start switchboard");
        let (tx, rx) = mpsc::channel();
        let out = child.stdout.take().expect("stdout");
        let err = child.stderr.take().expect("stderr");
        let tx2 = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                eprintln!("[switchboard] {line}");
                let _ = tx2.send(line);
            }
        });
        let mut server = Server {
            child: Some(child),
            dir: dir.to_path_buf(),
            config,
            sip: "127.0.0.1:0".parse().expect("address"),
            http: None,
            log: rx,
            earlier: std::sync::Mutex::new(Vec::new()),
            _tmp: None,
        };
        // Lines before the ready line (a trunk registered already) stay
        // available to later waits.
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        let line = loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match server.log.recv_timeout(left) {
                Ok(l) if l.contains(" listening on ") => break l,
                Ok(l) => server.earlier.lock().expect("not poisoned").push(l),
                Err(_) => panic!("switchboard did not start (see its log above)"),
            }
        };
        let udp = line
            .split_whitespace()
            .find_map(|w| w.strip_prefix("udp:"))
            .expect("a UDP listener in the ready line");
        server.sip = udp.parse().expect("listener address");
        server.http = line
            .split_whitespace()
            .find(|w| w.starts_with("http://") || w.starts_with("https://"))
            .map(|u| u.trim_end_matches('/').to_owned());
        server
    }

    /// Waits for an output line (stdout or stderr) matching `pred`.
    pub fn wait_for_line(&self, pred: impl Fn(&str) -> bool, timeout: Duration) -> Option<String> {
        {
            let mut earlier = self.earlier.lock().expect("not poisoned");
            if let Some(i) = earlier.iter().position(|l| pred(l)) {
                let line = earlier.remove(i);
                earlier.drain(..i);
                return Some(line);
            }
            earlier.clear();
        }
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.log.recv_timeout(left) {
                Ok(line) if pred(&line) => return Some(line),
                Ok(_) => {}
                Err(_) => return None,
            }
        }
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// Runs a `switchboard` subcommand with this server's configuration.
    pub fn cli(&self, args: &[&str]) -> Output {
        run_cli(&self.config, args)
    }

    /// [`Server::cli`], failing the test unless the command succeeds.
    pub fn cli_ok(&self, args: &[&str]) -> Output {
        let out = self.cli(args);
        assert!(
            out.status.success(),
            "switchboard {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// Adds an administrator of the HTTP API.
    pub fn add_admin(&self, name: &str, password: &str) {
        self.cli_ok(&["admin", "add", name, "--password", password]);
    }

    /// Adds the SIP user `user@domain` (`user` may be written `user@domain`).
    pub fn add_user(&self, user: &str, domain: &str, password: &str) {
        let (user, domain) = user.split_once('@').unwrap_or((user, domain));
        self.cli_ok(&[
            "user",
            "add",
            user,
            "--domain",
            domain,
            "--password",
            password,
        ]);
    }

    /// Stops the server with SIGTERM (graceful) and waits for it.
    /// A shutdown step that overran (logged by the server), or a server still
    /// running 40 s later, fails the test; in the second case the state of
    /// each of its threads is printed and the process killed.
    pub fn stop(mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("running");
        signal(&child, "TERM");
        let pid = child.id();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(child.wait().expect("wait for switchboard"));
        });
        match rx.recv_timeout(Duration::from_secs(40)) {
            Ok(status) => {
                // The server goes on past a stuck shutdown step; the test
                // does not.
                // The readers end at the pipes' end of file.
                while let Ok(line) = self.log.recv_timeout(Duration::from_secs(5)) {
                    assert!(
                        !line.contains("shutdown: step"),
                        "switchboard's shutdown overran a step: {line}"
                    );
                }
                status
            }
            Err(_) => {
                let threads = thread_states(pid);
                let _ = Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .status();
                let _ = rx.recv();
                panic!("switchboard did not stop within 40 s of SIGTERM; its threads:\n{threads}");
            }
        }
    }

    /// Kills the server with SIGKILL (a crash) and waits for it. Returns the
    /// directory so a new server can start on the same database.
    pub fn kill9(mut self) -> PathBuf {
        let mut child = self.child.take().expect("running");
        signal(&child, "KILL");
        let _ = child.wait();
        self.dir.clone()
    }

    /// Keeps the temporary directory alive beyond this server (for restarts).
    pub fn take_dir(&mut self) -> Option<TempDir> {
        self._tmp.take()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// One line per thread of process `pid`: name, scheduler state (R running,
/// S sleeping…) and the kernel function it waits in.
fn thread_states(pid: u32) -> String {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return "(no /proc entry)".into();
    };
    let mut out = String::new();
    for task in tasks.flatten() {
        let path = task.path();
        let read = |f: &str| {
            std::fs::read_to_string(path.join(f))
                .unwrap_or_default()
                .trim()
                .to_owned()
        };
        let stat = read("stat");
        // `pid (comm) state …`: the state follows the last `)`.
        let state = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .unwrap_or("?")
            .to_owned();
        out.push_str(&format!(
            "  {} {:?} state {state} wchan {}\n",
            task.file_name().to_string_lossy(),
            read("comm"),
            read("wchan")
        ));
    }
    out
}

fn signal(child: &Child, sig: &str) {
    let status = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(child.id().to_string())
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -{sig} failed");
}

/// Runs `switchboard --config CONFIG ARGS…`.
pub fn run_cli(config: &Path, args: &[&str]) -> Output {
    Command::new(switchboard_bin())
        .arg("--config")
        .arg(config)
        .args(args)
        .output()
        .expect("run switchboard")
}
