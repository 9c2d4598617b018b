//! SIPp runs: one scenario, one call, from 127.0.0.1 on free ports, either
//! to completion ([`Sipp::run`]) or in the background while the test acts
//! during the call ([`Sipp::spawn`]); and the messages SIPp traced.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::{free_port, scenario};

/// One SIPp run.
#[derive(Debug)]
pub struct Sipp {
    args: Vec<String>,
    dir: TempDir,
}

/// The result of a SIPp run.
#[derive(Debug)]
pub struct SippRun {
    /// Whether SIPp exited 0 (every call succeeded).
    pub success: bool,
    /// The exit status.
    pub status: std::process::ExitStatus,
    /// Everything SIPp printed.
    pub output: String,
    /// The messages SIPp sent and received (`-trace_msg`).
    pub messages: String,
    /// The errors SIPp logged (`-trace_err`).
    pub errors: String,
}

/// `u1` for UDP, `t1` for TCP (one connection).
pub fn sipp_transport(tcp: bool) -> &'static str {
    if tcp { "t1" } else { "u1" }
}

impl Sipp {
    /// SIPp with `scenario` against `target`, one call, from 127.0.0.1 on a
    /// free port.
    pub fn new(scenario_name: &str, target: SocketAddr, tcp: bool) -> Sipp {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let args = vec![
            "-sf".into(),
            scenario(scenario_name).display().to_string(),
            "-t".into(),
            sipp_transport(tcp).into(),
            "-i".into(),
            "127.0.0.1".into(),
            "-p".into(),
            port.to_string(),
            "-mp".into(),
            free_port().to_string(),
            "-cp".into(),
            free_port().to_string(),
            "-m".into(),
            "1".into(),
            "-timeout".into(),
            "20s".into(),
            "-timeout_error".into(),
            "-nostdin".into(),
            "-trace_msg".into(),
            "-message_file".into(),
            dir.path().join("messages.log").display().to_string(),
            "-trace_err".into(),
            "-error_file".into(),
            dir.path().join("errors.log").display().to_string(),
            target.to_string(),
        ];
        Sipp { args, dir }
    }

    /// Sets a scenario variable (`[$name]`).
    pub fn set(self, name: &str, value: &str) -> Sipp {
        self.prepend(&["-set", name, value])
    }

    /// Digest credentials for `[authentication]`.
    pub fn auth(self, user: &str, password: &str) -> Sipp {
        self.prepend(&["-au", user, "-ap", password])
    }

    fn prepend(mut self, args: &[&str]) -> Sipp {
        self.args.splice(0..0, args.iter().map(|a| (*a).to_owned()));
        self
    }

    /// Adds raw SIPp arguments (before the target).
    pub fn args(mut self, extra: &[&str]) -> Sipp {
        let at = self.args.len() - 1;
        for (i, a) in extra.iter().enumerate() {
            self.args.insert(at + i, (*a).into());
        }
        self
    }

    /// Runs SIPp to completion (bounded by its `-timeout`).
    pub fn run(self) -> SippRun {
        let out = Command::new("sipp")
            .args(&self.args)
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .output()
            .expect("run sipp (install the Debian package sip-tester)");
        let output = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        finish(&self.args, &self.dir, out.status, output)
    }

    /// Starts SIPp and returns at once; the test acts during the call and
    /// then waits for SIPp with [`SippChild::wait`]. Its screen output goes
    /// to a file (a pipe nobody reads would fill up and stall it).
    pub fn spawn(self) -> SippChild {
        let screen = std::fs::File::create(self.dir.path().join("screen.log"))
            .expect("create SIPp's screen log");
        let child = Command::new("sipp")
            .args(&self.args)
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(screen.try_clone().expect("clone file handle"))
            .stderr(screen)
            .spawn()
            .expect("run sipp (install the Debian package sip-tester)");
        SippChild {
            child: Some(child),
            args: self.args,
            dir: self.dir,
        }
    }
}

fn read_in(dir: &TempDir, name: &str) -> String {
    std::fs::read_to_string(dir.path().join(name)).unwrap_or_default()
}

fn finish(
    args: &[String],
    dir: &TempDir,
    status: std::process::ExitStatus,
    output: String,
) -> SippRun {
    let run = SippRun {
        success: status.success(),
        status,
        output,
        messages: read_in(dir, "messages.log"),
        errors: read_in(dir, "errors.log"),
    };
    if !run.success {
        eprintln!(
            "sipp {args:?} failed: {}\n--- errors ---\n{}\n--- messages ---\n{}",
            run.status, run.errors, run.messages
        );
    }
    run
}

/// A SIPp process running in the background; killed (by its pid) when
/// dropped before it finished.
#[derive(Debug)]
pub struct SippChild {
    child: Option<Child>,
    args: Vec<String>,
    dir: TempDir,
}

impl SippChild {
    /// The messages SIPp sent and received so far (it writes its message
    /// trace as it goes).
    pub fn messages(&self) -> String {
        read_in(&self.dir, "messages.log")
    }

    /// Waits until SIPp has traced a message that `pred` accepts and returns
    /// it; `None` after `timeout` or when SIPp ended first.
    pub fn wait_message(
        &mut self,
        pred: impl Fn(&SippMessage) -> bool,
        timeout: Duration,
    ) -> Option<SippMessage> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(m) = sipp_messages(&self.messages())
                .into_iter()
                .find(|m| pred(m))
            {
                return Some(m);
            }
            let running = self
                .child
                .as_mut()
                .is_some_and(|c| matches!(c.try_wait(), Ok(None)));
            if !running || Instant::now() >= deadline {
                return None;
            }
            // The trace is a file: poll it at a signalling pace.
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for SIPp to end, at most `timeout` (then it is killed and the
    /// run counts as failed).
    pub fn wait(mut self, timeout: Duration) -> SippRun {
        let mut child = self.child.take().expect("running until waited for");
        let deadline = Instant::now() + timeout;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                _ => {
                    let _ = child.kill();
                    break child.wait().expect("wait for sipp");
                }
            }
        };
        let output = read_in(&self.dir, "screen.log");
        finish(&self.args, &self.dir, status, output)
    }
}

impl Drop for SippChild {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// One message of SIPp's message trace (`-trace_msg`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SippMessage {
    /// Whether SIPp received it (else it sent it).
    pub received: bool,
    /// The request or status line.
    pub start_line: String,
    /// The message body (SDP, say), empty when there is none.
    pub body: String,
    /// The whole message.
    pub text: String,
}

/// The messages of a SIPp message trace, in order.
pub fn sipp_messages(trace: &str) -> Vec<SippMessage> {
    const SEPARATOR: &str = "-----------------------------------------------";
    trace
        .split(SEPARATOR)
        .filter_map(|block| {
            // " <timestamp>\nUDP message received [N] bytes :\n\n<message>"
            let mut lines = block.splitn(3, '\n');
            let _timestamp = lines.next()?;
            let what = lines.next()?;
            let received = what.contains(" received ");
            if !received && !what.contains(" sent ") {
                return None;
            }
            let text = lines.next()?.trim_start_matches(['\r', '\n']).to_owned();
            let start_line = text.lines().next()?.trim_end().to_owned();
            let body = text
                .split_once("\r\n\r\n")
                .or_else(|| text.split_once("\n\n"))
                .map(|(_, b)| b.trim_end().to_owned())
                .unwrap_or_default();
            Some(SippMessage {
                received,
                start_line,
                body,
                text,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_trace_is_split_into_messages() {
        let trace = "----------------------------------------------- 2025-01-01 10:00:00.000001\n\
                     UDP message sent (30 bytes):\n\n\
                     INVITE sip:b@example.test SIP/2.0\r\nContent-Length: 0\r\n\r\n\n\
                     ----------------------------------------------- 2025-01-01 10:00:00.000002\n\
                     UDP message received [60] bytes :\n\n\
                     SIP/2.0 200 OK\r\nContent-Type: application/sdp\r\n\r\n\
                     v=0\r\nc=IN IP4 192.0.2.1\r\nm=audio 4000 RTP/AVP 0\r\n\n";
        let m = sipp_messages(trace);
        assert_eq!(m.len(), 2, "{m:?}");
        assert!(!m[0].received);
        assert_eq!(m[0].start_line, "INVITE sip:b@example.test SIP/2.0");
        assert_eq!(m[0].body, "");
        assert!(m[1].received);
        assert_eq!(m[1].start_line, "SIP/2.0 200 OK");
        assert_eq!(
            m[1].body,
            "v=0\r\nc=IN IP4 192.0.2.1\r\nm=audio 4000 RTP/AVP 0"
        );
        assert!(sipp_messages("").is_empty());
    }
}
