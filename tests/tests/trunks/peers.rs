//! Helpers of the trunk tests: SIPp processes on chosen addresses, SIPp's
//! message logs, and digest answers recomputed independently of the server.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{ErrorKind, Write};
use std::net::{SocketAddr, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sb_e2e::{SippRun, free_port, scenario};
use tempfile::TempDir;

use super::{ACCOUNT, ACCOUNT_PASSWORD, WAIT};

// ---------------------------------------------------------------------------
// SIPp processes with a known address (gateways, phones on the port they
// registered from).
// ---------------------------------------------------------------------------

/// A SIPp process on a chosen local address.
pub(crate) struct Peer {
    pub(crate) child: Option<Child>,
    pub(crate) dir: TempDir,
    pub(crate) addr: SocketAddr,
}

/// How to start a [`Peer`].
pub(crate) struct PeerArgs {
    pub(crate) args: Vec<String>,
    pub(crate) addr: SocketAddr,
}

impl PeerArgs {
    /// SIPp playing `scenario_name` on `addr`, UDP, bounded to 20 s.
    pub(crate) fn new(scenario_name: &str, addr: SocketAddr) -> PeerArgs {
        let sf = scenario(scenario_name).display().to_string();
        let (ip, port, mp, cp) = (addr.ip(), addr.port(), free_port(), free_port());
        let mut args: Vec<String> = ["-sf", &sf, "-i", &ip.to_string(), "-p", &port.to_string()]
            .map(str::to_owned)
            .to_vec();
        args.extend(
            format!(
                "-t u1 -mp {mp} -cp {cp} -timeout 20s -timeout_error -nostdin -trace_msg \
                 -message_file messages.log -trace_err -error_file errors.log"
            )
            .split_whitespace()
            .map(str::to_owned),
        );
        PeerArgs { args, addr }
    }

    /// Sets a scenario variable (`[$name]`).
    pub(crate) fn set(self, name: &str, value: &str) -> PeerArgs {
        self.args(&["-set", name, value])
    }

    /// Raw SIPp arguments.
    pub(crate) fn args(mut self, extra: &[&str]) -> PeerArgs {
        self.args.extend(extra.iter().map(|a| (*a).to_owned()));
        self
    }

    /// Starts SIPp and returns once its SIP socket is bound.
    pub(crate) fn spawn(self) -> Peer {
        let mut peer = self.start();
        peer.wait_bound();
        peer
    }

    /// Runs SIPp as a client towards `target`, one call, until it ends.
    pub(crate) fn run(self, target: SocketAddr) -> SippRun {
        let target = target.to_string();
        self.args(&["-m", "1", &target]).start().finish()
    }

    pub(crate) fn start(self) -> Peer {
        let dir = tempfile::tempdir().expect("temp dir");
        let out = |name: &str| File::create(dir.path().join(name)).expect("output file");
        let child = Command::new("sipp")
            .args(&self.args)
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(out("stdout.log"))
            .stderr(out("stderr.log"))
            .spawn()
            .expect("run sipp (install the Debian package sip-tester)");
        Peer {
            child: Some(child),
            dir,
            addr: self.addr,
        }
    }
}

impl Peer {
    /// Waits until SIPp holds its UDP port (a bind of ours then fails).
    pub(crate) fn wait_bound(&mut self) {
        let deadline = Instant::now() + WAIT;
        loop {
            match UdpSocket::bind(self.addr) {
                Err(e) if e.kind() == ErrorKind::AddrInUse => return,
                Err(e) => panic!("probing {}: {e}", self.addr),
                Ok(probe) => drop(probe),
            }
            let child = self.child.as_mut().expect("running");
            if child.try_wait().expect("sipp status").is_some() {
                let run = self.wait();
                panic!(
                    "sipp ended before listening on {}:\n{}",
                    self.addr,
                    explain(&run)
                );
            }
            assert!(Instant::now() < deadline, "sipp never bound {}", self.addr);
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Asks SIPp for a soft exit (SIGUSR1: no new calls, calls in progress
    /// finish) and collects the run.
    pub(crate) fn stop(mut self) -> SippRun {
        let pid = self.child.as_ref().expect("running").id().to_string();
        let status = Command::new("kill").args(["-USR1", &pid]).status();
        assert!(status.is_ok_and(|s| s.success()), "kill -USR1 {pid} failed");
        self.wait()
    }

    /// Waits for SIPp to end by itself (bounded by its `-timeout`).
    pub(crate) fn finish(mut self) -> SippRun {
        self.wait()
    }

    pub(crate) fn wait(&mut self) -> SippRun {
        let status = self
            .child
            .take()
            .expect("running")
            .wait()
            .expect("wait for sipp");
        let read = |name: &str| std::fs::read_to_string(self.dir.path().join(name));
        SippRun {
            success: status.success(),
            status,
            output: read("stdout.log").unwrap_or_default()
                + &read("stderr.log").unwrap_or_default(),
            messages: read("messages.log").unwrap_or_default(),
            errors: read("errors.log").unwrap_or_default(),
        }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// What a failed SIPp run says about itself.
pub(crate) fn explain(run: &SippRun) -> String {
    format!(
        "sipp {}\n--- errors ---\n{}\n--- messages ---\n{}",
        run.status, run.errors, run.messages
    )
}

// ---------------------------------------------------------------------------
// SIP messages as SIPp logged them.
// ---------------------------------------------------------------------------

/// One message of a SIPp message log.
#[derive(Debug)]
pub(crate) struct Logged {
    pub(crate) received: bool,
    pub(crate) text: String,
}

impl Logged {
    pub(crate) fn start_line(&self) -> &str {
        self.text.lines().next().unwrap_or_default()
    }

    /// The first value of header `name` (case-insensitive).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.text
            .lines()
            .skip(1)
            .take_while(|l| !l.trim().is_empty())
            .find_map(|l| {
                let (n, v) = l.split_once(':')?;
                n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
            })
    }

    pub(crate) fn is_request(&self, method: &str) -> bool {
        self.start_line()
            .strip_prefix(method)
            .is_some_and(|rest| rest.starts_with(' '))
    }

    pub(crate) fn request_uri(&self) -> &str {
        self.start_line().split(' ').nth(1).unwrap_or_default()
    }

    pub(crate) fn branch(&self) -> Option<&str> {
        let via = self.header("Via")?;
        via.split(';')
            .find_map(|p| p.trim().strip_prefix("branch="))
    }
}

/// The messages of a SIPp `-trace_msg` log, in order.
pub(crate) fn logged_messages(log: &str) -> Vec<Logged> {
    let mut out = Vec::new();
    let mut current: Option<Logged> = None;
    let mut in_header = false;
    for line in log.lines() {
        if line.starts_with("-----------------------------------------------") {
            out.extend(current.take());
            in_header = true;
            continue;
        }
        if in_header {
            let received = line.contains("message received");
            if received || line.contains("message sent") {
                current = Some(Logged {
                    received,
                    text: String::new(),
                });
                in_header = false;
            }
            continue;
        }
        if let Some(m) = &mut current {
            if m.text.is_empty() && line.trim().is_empty() {
                continue;
            }
            m.text.push_str(line.trim_end_matches('\r'));
            m.text.push('\n');
        }
    }
    out.extend(current);
    out
}

/// The requests with `method` a peer received.
pub(crate) fn received<'a>(messages: &'a [Logged], method: &str) -> Vec<&'a Logged> {
    messages
        .iter()
        .filter(|m| m.received && m.is_request(method))
        .collect()
}

/// `requests` grouped by transaction (Via branch), in the order the
/// transactions began; retransmissions share a group.
pub(crate) fn by_transaction<'a>(requests: &[&'a Logged]) -> Vec<Vec<&'a Logged>> {
    let mut groups: Vec<Vec<&'a Logged>> = Vec::new();
    for &request in requests {
        match groups
            .iter_mut()
            .find(|g| g[0].branch() == request.branch())
        {
            Some(group) => group.push(request),
            None => groups.push(vec![request]),
        }
    }
    groups
}

/// Distinct transactions (Via branches) among `requests`.
pub(crate) fn transactions(requests: &[&Logged]) -> usize {
    by_transaction(requests).len()
}

// ---------------------------------------------------------------------------
// Digest credentials, checked independently of the server's code.
// ---------------------------------------------------------------------------

pub(crate) fn md5_hex(text: &str) -> String {
    let mut child = Command::new("md5sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run md5sum");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write to md5sum");
    let out = child.wait_with_output().expect("md5sum output");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .expect("a digest")
        .to_owned()
}

/// The parameters of a `Digest …` credentials header.
pub(crate) fn digest_params(value: &str) -> BTreeMap<String, String> {
    let mut rest = value
        .trim()
        .strip_prefix("Digest")
        .unwrap_or_else(|| panic!("not digest credentials: {value}"));
    let mut params = BTreeMap::new();
    loop {
        rest = rest.trim_start_matches([' ', ',', '\t']);
        let Some((name, after)) = rest.split_once('=') else {
            break;
        };
        let after = after.trim_start();
        let (v, tail) = match after.strip_prefix('"') {
            Some(quoted) => quoted
                .split_once('"')
                .unwrap_or_else(|| panic!("unterminated quote in {value}")),
            None => after.split_once(',').unwrap_or((after, "")),
        };
        params.insert(name.trim().to_ascii_lowercase(), v.trim().to_owned());
        rest = tail;
    }
    params
}

/// Checks credentials against RFC 2617 §3.2.2 with `qop=auth` (MD5), and
/// that they answer the challenge this test's carrier sent.
pub(crate) fn check_digest(value: &str, method: &str, uri: &str, nonce: &str) {
    let p = digest_params(value);
    let get = |k: &str| {
        p.get(k)
            .map(String::as_str)
            .unwrap_or_else(|| panic!("no {k} in {value}"))
    };
    assert_eq!(get("username"), ACCOUNT, "{value}");
    assert_eq!(get("realm"), "carrier.test", "{value}");
    assert_eq!(get("nonce"), nonce, "{value}");
    assert_eq!(
        get("uri"),
        uri,
        "the digest URI is the Request-URI: {value}"
    );
    assert_eq!(get("qop"), "auth", "{value}");
    if let Some(alg) = p.get("algorithm") {
        assert!(alg.eq_ignore_ascii_case("MD5"), "{value}");
    }
    let ha1 = md5_hex(&format!("{ACCOUNT}:carrier.test:{ACCOUNT_PASSWORD}"));
    let ha2 = md5_hex(&format!("{method}:{uri}"));
    let expected = md5_hex(&format!(
        "{ha1}:{nonce}:{}:{}:auth:{ha2}",
        get("nc"),
        get("cnonce")
    ));
    assert_eq!(get("response"), expected, "wrong digest response: {value}");
}
