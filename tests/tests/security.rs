//! The admission guard against real attack tools and a real flood:
//! `svcrack` (sipvicious) guessing a user's password is banned after twenty
//! guesses, listed in `/api/bans`, and let back in when an admin lifts the
//! ban (a banned source's TCP connection is closed unanswered); `svwar`
//! cannot tell existing users from unknown ones; a SIPp flood from one
//! address is banned while phones on other addresses register and call; an
//! exempt address is never banned.
//!
//! sipvicious 0.3.3 always sends from 127.0.0.1 (it ignores `-b`), so every
//! test starts its own server, and phones that must stay unaffected use
//! 127.0.0.2 and 127.0.0.3.

use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, TcpStream};
use std::process::Command;
use std::time::{Duration, Instant};

use sb_e2e::baresip::{Baresip, BaresipConfig, EventKind};
use sb_e2e::calls::{MD5_ONLY, add_user};
use sb_e2e::http::Api;
use sb_e2e::media::metric_value;
use sb_e2e::{Server, Sipp, SippRun, free_port};
use serde_json::Value;

/// Bound on every single wait.
const WAIT: Duration = Duration::from_secs(10);

/// A server with `[security]` set to `security` (plus MD5-only digest, for
/// baresip), a user `100` with password `4711`, and an administrator. Unless
/// `security` says otherwise, nothing is exempt: the test tools run on
/// loopback, which is exempt by default.
fn server(security: &str) -> (Server, Api) {
    let exempt = if security.contains("exempt") {
        ""
    } else {
        "exempt = []\n"
    };
    let server = Server::start("", &format!("{MD5_ONLY}[security]\n{exempt}{security}\n"));
    add_user(&server, "100", "4711");
    server.add_admin("root", "root-password");
    let base = server.http.clone().expect("the server serves HTTP");
    let api = Api::login(&base, "root", "root-password");
    (server, api)
}

/// Runs a sipvicious tool against `server` from 127.0.0.1 (a free local port),
/// bounded in time; returns everything it printed.
fn sipvicious(tool: &str, server: &Server, args: &[&str]) -> String {
    let out = Command::new("timeout")
        .arg("60")
        .arg(tool)
        .args(["-p", &server.sip.port().to_string()])
        .args(["-P", &free_port().to_string()])
        .args(["--domain", "example.test"])
        .args(args)
        .arg("127.0.0.1")
        .output()
        .unwrap_or_else(|e| panic!("run {tool} (install the Debian package sipvicious): {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_ne!(out.status.code(), Some(124), "{tool} did not end:\n{text}");
    text
}

/// `svcrack` against user 100 with a dictionary that holds the right
/// password as its 31st guess (the default ban comes after 20 failures).
fn svcrack(server: &Server) -> String {
    let dir = tempfile::tempdir().expect("temp dir");
    let dictionary = dir.path().join("passwords.txt");
    let mut words: Vec<String> = (0..30).map(|i| format!("guess{i}")).collect();
    words.push("4711".to_owned());
    words.extend((30..40).map(|i| format!("guess{i}")));
    std::fs::write(&dictionary, words.join("\n") + "\n").expect("write dictionary");
    sipvicious(
        "svcrack",
        server,
        &[
            "-u",
            "100",
            "-d",
            &dictionary.display().to_string(),
            "--maximumtime",
            "3",
        ],
    )
}

/// `user` registers with digest authentication (SIPp from 127.0.0.1, at
/// most `timeout`).
fn register(server: &Server, user: &str, password: &str, timeout: &str) -> SippRun {
    Sipp::new("register_auth.xml", server.sip, false)
        .set("user", user)
        .set("domain", "example.test")
        .set("expires", "300")
        .auth(user, password)
        .args(&["-timeout", timeout])
        .run()
}

/// The bans `/api/bans` lists.
fn bans(api: &Api) -> Vec<Value> {
    let r = api.get("/api/bans");
    assert_eq!(r.status, 200, "{}", r.text());
    r.json().as_array().expect("a list").clone()
}

/// The ban on `kind`/`key`, waiting for it up to [`WAIT`].
fn wait_for_ban(api: &Api, kind: &str, key: &str) -> Value {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(b) = bans(api)
            .into_iter()
            .find(|b| b["kind"] == kind && b["key"] == key)
        {
            return b;
        }
        assert!(
            Instant::now() < deadline,
            "no ban on {kind} {key}: {:?}",
            bans(api)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn metric(api: &Api, name: &str) -> f64 {
    let text = api.get("/metrics").text();
    metric_value(&text, name).unwrap_or_else(|| panic!("no {name} in\n{text}"))
}

#[test]
fn svcrack_cracks_a_weak_password_when_auth_bans_are_off() {
    // The control for the next test: this dictionary does crack user 100.
    let (server, _api) = server("auth_failures = 0\nuser_auth_failures = 0");
    let out = svcrack(&server);
    assert_eq!(
        results(&out),
        vec![("100".to_owned(), "4711".to_owned())],
        "svcrack did not find the password:\n{out}"
    );
}

#[test]
fn svcrack_is_banned_after_twenty_guesses_and_lifting_the_ban_lets_the_source_back() {
    let (server, api) = server("");
    let out = svcrack(&server);
    assert!(
        results(&out).is_empty(),
        "svcrack found the password:\n{out}"
    );
    assert!(
        out.contains("since we last received a response"),
        "svcrack did not run out of answers:\n{out}"
    );
    let ban = wait_for_ban(&api, "source", "127.0.0.1");
    assert_eq!(ban["reason"], "auth", "{ban}");
    assert!(ban["drops"].as_u64().unwrap() >= 1, "{ban}");
    // Twenty wrong guesses ban; one more may race the ban.
    let failures = metric(&api, "switchboard_auth_failures_total");
    assert!((20.0..=21.0).contains(&failures), "{failures} failures");
    assert_eq!(metric(&api, "switchboard_bans_total{reason=\"auth\"}"), 1.0);
    // While banned, even the right password gets no answer.
    let refused = register(&server, "100", "4711", "3s");
    assert!(!refused.success, "registered while banned");
    assert!(
        !refused.messages.contains("SIP/2.0 "),
        "the server answered a banned source:\n{}",
        refused.messages
    );
    // Over TCP, the connection is closed at its first message, unanswered.
    let mut tcp = TcpStream::connect(server.sip).expect("connect over TCP");
    tcp.set_read_timeout(Some(WAIT)).expect("read timeout");
    tcp.write_all(
        b"OPTIONS sip:example.test SIP/2.0\r\n\
          Via: SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bK-banned\r\n\
          Max-Forwards: 70\r\n\
          From: <sip:probe@example.test>;tag=1\r\n\
          To: <sip:example.test>\r\n\
          Call-ID: banned-over-tcp\r\n\
          CSeq: 1 OPTIONS\r\n\
          Content-Length: 0\r\n\r\n",
    )
    .expect("send over TCP");
    let mut answer = Vec::new();
    match tcp.read_to_end(&mut answer) {
        Ok(_) => assert!(
            answer.is_empty(),
            "answered: {}",
            String::from_utf8_lossy(&answer)
        ),
        Err(e) => assert_eq!(e.kind(), ErrorKind::ConnectionReset, "{e}"),
    }
    let lifted = api.delete("/api/bans/source/127.0.0.1");
    assert_eq!(lifted.status, 204, "{}", lifted.text());
    assert!(bans(&api).is_empty(), "{:?}", bans(&api));
    let again = register(&server, "100", "4711", "10s");
    assert!(again.success, "no registration after the ban was lifted");
    assert_eq!(api.delete("/api/bans/source/127.0.0.1").status, 404);
}

/// The rows of the result table a sipvicious tool prints: extension and
/// what it found (`svwar`: whether it needs authentication; `svcrack`: the
/// password).
fn results(out: &str) -> Vec<(String, String)> {
    out.lines()
        .filter_map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            match cells.as_slice() {
                ["", extension, auth, ""] if extension.parse::<u32>().is_ok() => {
                    Some(((*extension).to_owned(), (*auth).to_owned()))
                }
                _ => None,
            }
        })
        .collect()
}

#[test]
fn svwar_cannot_tell_existing_users_from_unknown_ones() {
    // svwar sends as fast as it can; this test is about the answers, so
    // its requests stay far from the rate limit.
    let (server, _api) = server("rate_limit = 1000");
    add_user(&server, "101", "pw-101");
    add_user(&server, "105", "pw-105");
    // svwar first asks for a random extension to learn how an unknown one is
    // answered, then reports every extension answered differently. Existing
    // extensions here are 100, 101 and 105.
    for method in ["REGISTER", "INVITE", "OPTIONS"] {
        let out = sipvicious("svwar", &server, &["-e100-109", "-m", method]);
        let found = results(&out);
        assert!(
            found.is_empty(),
            "{method}: svwar reported {found:?}:\n{out}"
        );
        if method == "OPTIONS" {
            // Every extension, existing or not, gets the same 200.
            assert!(out.contains("found nothing"), "{method}: {out}");
        } else {
            // The random extension was challenged: svwar gives up.
            assert!(
                out.contains("authentication request for an unknown extension"),
                "{method}: {out}"
            );
        }
        // Forced on, it compares an existing extension's answer with the
        // random one's: the same, so nothing is reported.
        let out = sipvicious("svwar", &server, &["-e101", "-m", method, "--force"]);
        let found = results(&out);
        assert!(
            found.is_empty(),
            "{method}: svwar reported {found:?}:\n{out}"
        );
        assert!(out.contains("found nothing"), "{method}: {out}");
        if method != "OPTIONS" {
            // svwar logs the answer it could not tell from the random one's:
            // 101's challenge.
            let challenge = if method == "REGISTER" { "401" } else { "407" };
            assert!(
                out.lines().any(|l| l.contains("Response: 'SIP/2.0 ")
                    && l.contains(challenge)
                    && l.contains("<sip:101@example.test>")),
                "{method}: no challenge for 101 in\n{out}"
            );
        }
    }
}

/// SIPp sends `count` OPTIONS at `rate` per second from `source` without
/// waiting for answers.
fn flood(server: &Server, source: &str, rate: u32, count: u32) -> sb_e2e::SippChild {
    Sipp::new("flood_options.xml", server.sip, false)
        .args(&[
            "-i",
            source,
            "-r",
            &rate.to_string(),
            "-m",
            &count.to_string(),
            "-timeout",
            "60s",
        ])
        .spawn()
}

fn phone(server: &Server, user: &str, password: &str, address: [u8; 4]) -> Baresip {
    let mut p = Baresip::start(
        &BaresipConfig::registered(user, "example.test", password, server.sip)
            .address(Ipv4Addr::from(address)),
    );
    p.wait_registered(WAIT);
    p
}

#[test]
fn a_flooding_source_is_banned_while_phones_elsewhere_register_and_call() {
    let (server, api) = server("");
    add_user(&server, "alice", "alice-pw");
    add_user(&server, "bob", "bob-pw");
    // 10 000 requests at 1 000 per second: 10 s at twenty times the limit.
    let started = Instant::now();
    let flooding = flood(&server, "127.0.0.1", 1_000, 10_000);
    let ban = wait_for_ban(&api, "source", "127.0.0.1");
    assert_eq!(ban["reason"], "rate", "{ban}");

    // Meanwhile, phones on other addresses register and call.
    let mut alice = phone(&server, "alice", "alice-pw", [127, 0, 0, 2]);
    let mut bob = phone(&server, "bob", "bob-pw", [127, 0, 0, 3]);
    alice.dial("sip:bob@example.test");
    bob.expect_event(&EventKind::CallIncoming, WAIT);
    bob.answer();
    alice.expect_event(&EventKind::CallEstablished, WAIT);
    let connected = started.elapsed();
    assert!(
        connected < Duration::from_secs(9),
        "the call connected after the flood ({connected:?}): nothing was shown"
    );
    alice.hangup();
    bob.expect_event(&EventKind::CallClosed, WAIT);

    let run = flooding.wait(Duration::from_secs(60));
    assert!(run.success, "the flood did not run to its end");
    let dropped = metric(&api, "switchboard_sip_dropped_banned_total");
    assert!(dropped >= 9_000.0, "only {dropped} flood messages dropped");
    assert_eq!(metric(&api, "switchboard_bans_total{reason=\"rate\"}"), 1.0);
    assert_eq!(metric(&api, "switchboard_bans_active"), 1.0);
    // The switch saw the flood's first 100 requests and the phones', not the
    // 10 000.
    let requests = metric(&api, "switchboard_sip_requests_total");
    assert!(requests < 300.0, "{requests} requests reached the switch");
    let ban = wait_for_ban(&api, "source", "127.0.0.1");
    assert!(ban["drops"].as_f64().unwrap() >= 9_000.0, "{ban}");
    // The phones' addresses were never banned.
    assert_eq!(bans(&api).len(), 1, "{:?}", bans(&api));
}

#[test]
fn an_exempt_source_is_never_banned_under_the_same_flood() {
    let (server, api) = server("exempt = [\"127.0.0.1/32\"]");
    let run = flood(&server, "127.0.0.1", 1_000, 5_000).wait(Duration::from_secs(60));
    assert!(run.success, "the flood did not run to its end");
    // Every request reached the switch (some may still be queued).
    let deadline = Instant::now() + WAIT;
    while metric(&api, "switchboard_sip_requests_total") < 5_000.0 {
        assert!(
            Instant::now() < deadline,
            "the switch did not see the flood"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(bans(&api).is_empty(), "{:?}", bans(&api));
    assert_eq!(metric(&api, "switchboard_sip_dropped_banned_total"), 0.0);
    assert_eq!(metric(&api, "switchboard_bans_total{reason=\"rate\"}"), 0.0);
    // The same flood from an address outside the exemption is banned.
    let run = flood(&server, "127.0.0.2", 1_000, 500).wait(Duration::from_secs(60));
    assert!(run.success, "the second flood did not run to its end");
    let ban = wait_for_ban(&api, "source", "127.0.0.2");
    assert_eq!(ban["reason"], "rate", "{ban}");
    assert_eq!(bans(&api).len(), 1, "{:?}", bans(&api));
}
