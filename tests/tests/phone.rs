//! The browser phone page (`/phone`) in headless Chromium against the real
//! binary, driven by `tests/browser/phone.mjs` the way a user would: sign in
//! and register over ws:// (the HTTP port's `/ws`, the page's default) and
//! wss:// (a SIP WSS listener, entered in the form), a wrong password and an
//! unreachable URL shown as errors; a call to an unknown user shown failed
//! with its status; a call to the default dialplan's echo test
//! (`*43`) with the echoed tone checked in the page's remote audio, mute,
//! DTMF from the dial pad and the keyboard (the server's log shows the
//! RFC 4733 digits it received) and hang-up; hold and resume of the echo
//! test; one page calling another page's user, which rings, answers and hears
//! the caller, hold and resume shown on both pages. Over HTTPS
//! the page offers and registers over `wss://` on the same port by default.
//!
//! Needs `node`, `npm` and `/usr/bin/chromium` (see `tests/browser/`); the
//! browser runs are serialised (each runs a server and Chromium with WebRTC
//! on a machine of two cores).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use sb_e2e::calls::MD5_ONLY;
use sb_e2e::{Server, browser, free_port, free_tcp_port};

/// Bound on one browser run.
const BROWSER_RUN: Duration = Duration::from_secs(150);
/// One browser run at a time.
static BROWSER: Mutex<()> = Mutex::new(());
const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

const ADMIN: &str = "root";
const ADMIN_PASSWORD: &str = "root-password";
const ALICE: &str = "alice@example.test";
const ALICE_PASSWORD: &str = "alice-secret";
const BOB: &str = "bob@example.test";
const BOB_PASSWORD: &str = "bob-secret";

/// A server with SIP over UDP/TCP and a WSS listener, the HTTP API (over TLS
/// when `https`) with `/ws`, an administrator and the users alice and bob.
struct PhoneServer {
    server: Server,
    wss: SocketAddr,
    base: String,
    _dir: tempfile::TempDir,
}

fn config(dir: &Path, https: bool, wss: u16) -> String {
    let port = free_port();
    let tls = if https {
        "tls_self_signed = true\n"
    } else {
        ""
    };
    format!(
        "[sip]\nlisten = [\"udp:127.0.0.1:{port}\", \"tcp:127.0.0.1:{port}\", \
         \"wss:127.0.0.1:{wss}\"]\n\
         domains = [\"example.test\"]\ntls_self_signed = true\n\
         [http]\nlisten = \"127.0.0.1:{}\"\n{tls}\
         [database]\nurl = \"sqlite://{}\"\nwrite_behind = \"100ms\"\n\
         [log]\nlevel = \"info,sb_server=debug,sb_sip_transport=debug\"\n{MD5_ONLY}",
        free_tcp_port(),
        dir.join("switchboard.db").display()
    )
}

impl PhoneServer {
    fn start(https: bool) -> PhoneServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let wss = free_tcp_port();
        std::fs::write(
            dir.path().join("switchboard.toml"),
            config(dir.path(), https, wss),
        )
        .expect("write config");
        let server = Server::start_in(dir.path());
        server.add_admin(ADMIN, ADMIN_PASSWORD);
        server.add_user(ALICE, "example.test", ALICE_PASSWORD);
        server.add_user(BOB, "example.test", BOB_PASSWORD);
        let base = server.http.clone().expect("the server serves HTTP");
        PhoneServer {
            server,
            wss: SocketAddr::new(LOOPBACK, wss),
            base,
            _dir: dir,
        }
    }

    /// The WebSocket URL the page offers: `/ws` on its own origin.
    fn default_ws_url(&self) -> String {
        let ws = self
            .base
            .replacen("https://", "wss://", 1)
            .replacen("http://", "ws://", 1);
        format!("{ws}/ws")
    }

    /// Runs `phone.mjs` with `steps` and the extra environment `env`;
    /// returns its output, failing the test when it failed.
    fn run(&self, steps: &str, env: &[(&str, String)]) -> String {
        let _one = BROWSER
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        browser::require_tools();
        browser::install_packages("playwright-core");
        let log_path = self.server.dir.join(format!("phone-{steps}.log"));
        let log = std::fs::File::create(&log_path).expect("log file");
        let mut command = Command::new("node");
        command
            .arg("phone.mjs")
            .current_dir(browser::dir())
            .env("SB_HTTP_URL", &self.base)
            .env("SB_ADMIN_NAME", ADMIN)
            .env("SB_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("SB_USER", ALICE)
            .env("SB_USER_PASSWORD", ALICE_PASSWORD)
            .env("SB_CALLEE", BOB)
            .env("SB_CALLEE_PASSWORD", BOB_PASSWORD)
            .env("SB_DEFAULT_WS_URL", self.default_ws_url())
            .env("SB_STEPS", steps)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log);
        if self.base.starts_with("https://") {
            // The script's own API requests meet the self-signed certificate.
            command.env("NODE_TLS_REJECT_UNAUTHORIZED", "0");
        }
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command.spawn().expect("run node");
        let status = browser::wait_or_stop(&mut child, BROWSER_RUN);
        let output = std::fs::read_to_string(&log_path).unwrap_or_default();
        assert!(
            status.is_some_and(|s| s.success()),
            "phone.mjs {steps} failed (or ran over {BROWSER_RUN:?}):\n{output}"
        );
        output
    }
}

/// `line` without the terminal colour sequences (`ESC [ … m`) of the log.
fn without_colours(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(start) = rest.find('\u{1b}') {
        out.push_str(&rest[..start]);
        rest = &rest[start..];
        rest = rest.find('m').map_or("", |end| &rest[end + 1..]);
    }
    out.push_str(rest);
    out
}

#[track_caller]
fn assert_reported(output: &str, lines: &[&str]) {
    for line in lines {
        assert!(
            output
                .lines()
                .any(|l| l.starts_with("ok: ") && l.contains(line)),
            "\"{line}\" not reported:\n{output}"
        );
    }
}

#[test]
fn the_phone_page_registers_over_ws_and_wss_and_shows_errors() {
    let server = PhoneServer::start(false);
    let wss = format!("wss://{}", server.wss);
    let output = server.run(
        "registration",
        &[
            ("SB_WS_URLS", format!("default,{wss}")),
            (
                "SB_UNREACHABLE_WS_URL",
                format!("ws://127.0.0.1:{}/ws", free_tcp_port()),
            ),
        ],
    );
    assert_reported(
        &output,
        &[
            &format!("the page offers {} by default", server.default_ws_url()),
            &format!("registered and signed out over {}", server.default_ws_url()),
            &format!("registered and signed out over {wss}"),
            "a wrong password shows \"Registration failed",
            "an unreachable WebSocket URL shows \"Cannot connect",
        ],
    );
}

#[test]
fn over_https_the_phone_page_registers_over_wss_on_its_own_port() {
    let server = PhoneServer::start(true);
    assert!(server.base.starts_with("https://"), "{}", server.base);
    let output = server.run(
        "registration",
        &[
            ("SB_WS_URLS", "default".to_owned()),
            (
                "SB_UNREACHABLE_WS_URL",
                format!("wss://127.0.0.1:{}/ws", free_tcp_port()),
            ),
        ],
    );
    let default = server.default_ws_url();
    assert!(default.starts_with("wss://"), "{default}");
    assert_reported(
        &output,
        &[&format!("registered and signed out over {default}")],
    );
}

#[test]
fn the_phone_page_calls_the_echo_test() {
    let server = PhoneServer::start(false);
    let output = server.run("echo", &[]);
    assert_reported(
        &output,
        &[
            "a call to an unknown user shows \"Call failed: 404 Not Found",
            "the echo call shows connected",
            "the remote audio carries the echoed tone",
            "mute silences the echo, unmute brings it back",
            "DTMF 123#5* sent as RFC 4733 events",
            "hang up shows",
        ],
    );
    // The gateway decoded each tone the page sent, in order.
    for digit in ['1', '2', '3', '#', '5', '*'] {
        let needle = format!("digit={digit}");
        assert!(
            server
                .server
                .wait_for_line(
                    |l| {
                        let l = without_colours(l);
                        l.contains("DTMF received") && l.ends_with(&needle)
                    },
                    Duration::from_secs(5)
                )
                .is_some(),
            "the server log shows no RFC 4733 digit {digit}"
        );
    }
}

#[test]
fn the_phone_page_holds_and_resumes_the_echo_test() {
    let server = PhoneServer::start(false);
    let output = server.run("echo-hold", &[]);
    assert_reported(
        &output,
        &[
            "resume shows connected and the audio again (the echo test)",
            "hang up shows",
        ],
    );
}

#[test]
fn one_phone_page_calls_another() {
    let server = PhoneServer::start(false);
    let output = server.run("browser-call", &[]);
    assert_reported(
        &output,
        &[
            "the callee rings",
            "both connected and hear each other",
            "resume shows connected and the audio again (the call to another browser)",
            "the caller hangs up; the callee shows",
        ],
    );
}
