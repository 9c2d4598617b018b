//! Crash safety: the server is killed with SIGKILL while SIPp keeps calls
//! going through it. Every call whose hang-up SIPp saw confirmed (its 200 to
//! BYE) has its record after the restart, and the registration made before
//! the crash is restored.

#![allow(
    clippy::print_stderr,
    reason = "the run's figures, shown with --nocapture"
)]

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sb_e2e::calls::{add_user, bindings, cdrs};
use sb_e2e::{Server, free_port, sipp_messages};

/// Calls SIPp places at most; the crash comes long before the last.
const CALLS: usize = 2_000;
/// Calls whose hang-up must have been confirmed before the crash.
const CONFIRMED_BEFORE_CRASH: usize = 40;

fn load_scenario(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("load")
        .join(name)
        .display()
        .to_string()
}

/// Runs SIPp in `dir` with `args`; its screen output goes to `screen`.
fn sipp(dir: &Path, screen: &str, args: &[String]) -> Child {
    let out = std::fs::File::create(dir.join(screen)).expect("screen file");
    Command::new("sipp")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(out.try_clone().expect("clone file handle"))
        .stderr(out)
        .spawn()
        .expect("run sipp (install the Debian package sip-tester)")
}

/// Call-IDs of the BYEs whose 200 SIPp received, from its message trace.
fn confirmed_hang_ups(trace: &str) -> Vec<String> {
    sipp_messages(trace)
        .into_iter()
        .filter(|m| m.received && m.start_line.starts_with("SIP/2.0 200"))
        .filter(|m| {
            m.text
                .lines()
                .any(|l| l.starts_with("CSeq:") && l.trim_end().ends_with("BYE"))
        })
        .filter_map(|m| {
            m.text
                .lines()
                .find_map(|l| l.strip_prefix("Call-ID:"))
                .map(|c| c.trim().to_owned())
        })
        .collect()
}

fn stop(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn records_of_confirmed_hang_ups_and_registrations_survive_kill_9_under_load() {
    // SIPp's one address places every call at a rate over the flood limit.
    let mut server = Server::start(
        "",
        "[auth]\nalgorithms = [\"MD5\"]\n\
         [calls]\nmax_calls_per_user = 0\n\
         [security]\nexempt = [\"127.0.0.1\"]\n",
    );
    let keep = server.take_dir();
    add_user(&server, "caller", "pw-caller");
    add_user(&server, "callee", "pw-callee");
    let work = tempfile::tempdir().expect("temp dir");
    let dir = work.path();
    std::fs::write(
        dir.join("calls.csv"),
        "SEQUENTIAL\ncaller;example.test;[authentication username=caller password=pw-caller];callee\n",
    )
    .expect("calls.csv");
    std::fs::write(
        dir.join("callee.csv"),
        "SEQUENTIAL\ncallee;example.test;[authentication username=callee password=pw-callee]\n",
    )
    .expect("callee.csv");
    let target = server.sip.to_string();
    let uas_port = free_port().to_string();

    // The callee registers from the port its answering SIPp then takes.
    let registered = Command::new("sipp")
        .args([
            "-sf",
            &load_scenario("register.xml"),
            "-inf",
            "callee.csv",
            "-t",
            "u1",
            "-i",
            "127.0.0.1",
            "-p",
            &uas_port,
            "-mp",
            &free_port().to_string(),
            "-m",
            "1",
            "-timeout",
            "15s",
            "-timeout_error",
            "-nostdin",
            &target,
        ])
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("run sipp");
    assert!(
        registered.status.success(),
        "the callee could not register: {}",
        String::from_utf8_lossy(&registered.stdout)
    );
    let s = |v: &str| v.to_owned();
    let mut uas = sipp(
        dir,
        "uas.log",
        &[
            s("-sf"),
            load_scenario("calls_uas.xml"),
            s("-t"),
            s("u1"),
            s("-i"),
            s("127.0.0.1"),
            s("-p"),
            uas_port.clone(),
            s("-mp"),
            free_port().to_string(),
            s("-timeout"),
            s("120s"),
            s("-nostdin"),
        ],
    );
    let trace = dir.join("uac-messages.log");
    let mut uac = sipp(
        dir,
        "uac.log",
        &[
            s("-sf"),
            load_scenario("calls_uac.xml"),
            s("-inf"),
            s("calls.csv"),
            s("-auth_uri"),
            s("callee@example.test"),
            s("-t"),
            s("u1"),
            s("-i"),
            s("127.0.0.1"),
            s("-p"),
            free_port().to_string(),
            s("-mp"),
            free_port().to_string(),
            s("-r"),
            s("40"),
            s("-m"),
            CALLS.to_string(),
            s("-d"),
            s("200"),
            s("-l"),
            s("100"),
            s("-timeout"),
            s("120s"),
            s("-nostdin"),
            s("-trace_msg"),
            s("-message_file"),
            trace.display().to_string(),
            target,
        ],
    );

    // Under load: calls ringing, talking and hanging up at the moment of
    // the crash.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let text = std::fs::read_to_string(&trace).unwrap_or_default();
        if confirmed_hang_ups(&text).len() >= CONFIRMED_BEFORE_CRASH {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{CONFIRMED_BEFORE_CRASH} calls not completed within a minute; SIPp said:\n{}",
            std::fs::read_to_string(dir.join("uac.log")).unwrap_or_default()
        );
        assert!(
            uac.try_wait().expect("SIPp status").is_none(),
            "SIPp ended early:\n{}",
            std::fs::read_to_string(dir.join("uac.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let server_dir = server.kill9();
    // What SIPp saw confirmed up to the crash (nothing can be confirmed
    // after it).
    stop(&mut uac);
    stop(&mut uas);
    let confirmed = confirmed_hang_ups(&std::fs::read_to_string(&trace).unwrap_or_default());
    assert!(confirmed.len() >= CONFIRMED_BEFORE_CRASH);

    let restarted = Server::start_in(&server_dir);
    let records = cdrs(&restarted);
    let missing: Vec<&String> = confirmed
        .iter()
        .filter(|id| {
            !records
                .iter()
                .any(|r| &r.call_id == *id && r.disposition == "ANSWERED")
        })
        .collect();
    eprintln!(
        "{} hang-ups confirmed before the crash, {} records after it",
        confirmed.len(),
        records.len()
    );
    assert!(
        missing.is_empty(),
        "confirmed hang-ups without a record: {missing:?}"
    );
    // The callee's registration was older than the write-behind interval.
    let listed = bindings(&restarted, "callee", "pw-callee");
    assert!(
        listed.contains(&format!("127.0.0.1:{uas_port}")),
        "the callee's binding was not restored:\n{listed}"
    );
    restarted.stop();
    drop(keep);
}
