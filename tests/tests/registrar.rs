//! The registrar as a user meets it: the real binary, users added with the
//! CLI, SIPp registering over UDP and TCP.

use std::net::UdpSocket;
use std::time::Duration;

use sb_e2e::calls::add_user;
use sb_e2e::{Server, Sipp};

fn register(server: &Server, user: &str, password: &str, tcp: bool) -> sb_e2e::SippRun {
    Sipp::new("register_auth.xml", server.sip, tcp)
        .set("user", user)
        .set("domain", "example.test")
        .set("expires", "3600")
        .auth(user, password)
        .run()
}

/// The last message SIPp received that starts with `SIP/2.0 <code>`.
fn last_response(messages: &str, code: u16) -> String {
    let marker = format!("SIP/2.0 {code} ");
    let start = messages
        .rfind(&marker)
        .unwrap_or_else(|| panic!("no {code} in:\n{messages}"));
    let rest = &messages[start..];
    let end = rest
        .find("\n\n")
        .or_else(|| rest.find("\r\n\r\n"))
        .unwrap_or(rest.len());
    rest[..end].to_owned()
}

fn header_names(response: &str) -> Vec<String> {
    response
        .lines()
        .skip(1)
        .filter_map(|l| {
            l.split_once(':')
                .map(|(n, _)| n.trim().to_ascii_lowercase())
        })
        .collect()
}

#[test]
fn digest_registration_over_udp_and_tcp() {
    let server = Server::start("", "");
    add_user(&server, "alice", "secret");
    let udp = register(&server, "alice", "secret", false);
    assert!(udp.success, "UDP registration failed:\n{}", udp.errors);
    let tcp = register(&server, "alice", "secret", true);
    assert!(tcp.success, "TCP registration failed:\n{}", tcp.errors);
    // The TCP 200 lists both bindings: the UDP one and its own.
    let ok = last_response(&tcp.messages, 200);
    let contacts = ok.lines().filter(|l| l.starts_with("Contact:")).count();
    assert_eq!(contacts, 2, "{ok}");
    assert!(ok.contains("transport=TCP"), "{ok}");
    assert!(ok.contains("transport=UDP"), "{ok}");
}

#[test]
fn wrong_password_and_unknown_user_get_the_same_answer() {
    let server = Server::start("", "");
    add_user(&server, "alice", "secret");
    let wrong = Sipp::new("register_rejected.xml", server.sip, false)
        .set("user", "alice")
        .set("domain", "example.test")
        .auth("alice", "not-the-password")
        .run();
    assert!(
        wrong.success,
        "a wrong password must get 401:\n{}",
        wrong.errors
    );
    let unknown = Sipp::new("register_rejected.xml", server.sip, false)
        .set("user", "mallory")
        .set("domain", "example.test")
        .auth("mallory", "whatever")
        .run();
    assert!(
        unknown.success,
        "an unknown user must get 401:\n{}",
        unknown.errors
    );
    let a = last_response(&wrong.messages, 401);
    let b = last_response(&unknown.messages, 401);
    assert_eq!(a.lines().next(), b.lines().next());
    assert_eq!(header_names(&a), header_names(&b));
    // The challenges differ only in their nonces.
    let strip = |r: &str| -> Vec<String> {
        r.lines()
            .filter(|l| l.starts_with("WWW-Authenticate"))
            .map(|l| {
                let (head, tail) = l.split_once("nonce=\"").unwrap();
                let (_, after) = tail.split_once('"').unwrap();
                format!("{head}{after}")
            })
            .collect()
    };
    assert_eq!(strip(&a), strip(&b));
    // And the right password still works.
    assert!(register(&server, "alice", "secret", false).success);
}

#[test]
fn expires_zero_removes_a_binding_and_star_removes_all() {
    let server = Server::start("", "");
    add_user(&server, "alice", "secret");
    assert!(register(&server, "alice", "secret", false).success);
    assert!(register(&server, "alice", "secret", true).success);
    let second = register(&server, "alice", "secret", false);
    assert!(second.success);
    let ok = last_response(&second.messages, 200);
    assert_eq!(
        ok.lines().filter(|l| l.starts_with("Contact:")).count(),
        3,
        "{ok}"
    );
    // Remove one binding by its URI with Expires: 0.
    let one = ok
        .lines()
        .find(|l| l.starts_with("Contact:") && l.contains("transport=TCP"))
        .unwrap();
    let uri = one
        .trim_start_matches("Contact:")
        .trim()
        .split(";expires=")
        .next()
        .unwrap();
    let removal = Sipp::new("unregister.xml", server.sip, false)
        .set("user", "alice")
        .set("domain", "example.test")
        .set("contact", uri)
        .auth("alice", "secret")
        .run();
    // The 200 still lists the two UDP bindings, so the scenario's "no Contact"
    // check must fail here; what matters is the 200 and the remaining list.
    let ok = last_response(&removal.messages, 200);
    assert_eq!(
        ok.lines().filter(|l| l.starts_with("Contact:")).count(),
        2,
        "{ok}"
    );
    assert!(!ok.contains("transport=TCP"), "{ok}");
    // Contact: * with Expires: 0 removes the rest.
    let all = Sipp::new("unregister.xml", server.sip, false)
        .set("user", "alice")
        .set("domain", "example.test")
        .set("contact", "*")
        .auth("alice", "secret")
        .run();
    assert!(all.success, "Contact: * removal failed:\n{}", all.errors);
    let query = Sipp::new("query.xml", server.sip, false)
        .set("user", "alice")
        .set("domain", "example.test")
        .auth("alice", "secret")
        .run();
    assert!(!query.success, "no binding may be left");
    assert!(
        last_response(&query.messages, 200)
            .lines()
            .all(|l| !l.starts_with("Contact:"))
    );
}

#[test]
fn too_brief_expiry_gets_423() {
    let server = Server::start("", "");
    add_user(&server, "alice", "secret");
    let run = Sipp::new("register_too_brief.xml", server.sip, true)
        .set("user", "alice")
        .set("domain", "example.test")
        .auth("alice", "secret")
        .run();
    assert!(
        run.success,
        "expected 423 with Min-Expires:\n{}",
        run.errors
    );
    assert!(last_response(&run.messages, 423).contains("Min-Expires: 60"));
}

#[test]
fn bindings_survive_a_restart_and_a_crash() {
    let mut server = Server::start("", "");
    let _dir = server.take_dir();
    add_user(&server, "alice", "secret");
    assert!(register(&server, "alice", "secret", false).success);
    // Graceful stop: pending registrations are flushed.
    let status = server.stop();
    assert!(status.success(), "switchboard exited with {status}");
    let dir = _dir.as_ref().unwrap().path();
    let server = Server::start_in(dir);
    let query = Sipp::new("query.xml", server.sip, false)
        .set("user", "alice")
        .set("domain", "example.test")
        .auth("alice", "secret")
        .run();
    assert!(
        query.success,
        "binding lost over a restart:\n{}",
        query.messages
    );

    // A crash after the write-behind interval loses nothing either.
    add_user(&server, "bob", "pw");
    let run = register(&server, "bob", "pw", true);
    assert!(run.success);
    server
        .wait_for_line(|l| l.contains("bindings written"), Duration::from_secs(10))
        .expect("the write-behind flush is logged");
    server.kill9();
    let server = Server::start_in(dir);
    let query = Sipp::new("query.xml", server.sip, false)
        .set("user", "bob")
        .set("domain", "example.test")
        .auth("bob", "pw")
        .run();
    assert!(
        query.success,
        "binding lost in a crash:\n{}",
        query.messages
    );
    assert!(last_response(&query.messages, 200).contains("transport=TCP"));
}

#[test]
fn malformed_input_gets_400_or_is_dropped_and_the_server_keeps_serving() {
    let server = Server::start("", "");
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let port = sock.local_addr().unwrap().port();
    let mut buf = [0u8; 4096];
    // Garbage: dropped (no answer). Then a request with a readable Via and a
    // broken CSeq: 400. Then OPTIONS: 200 (still alive).
    sock.send_to(b"\x16\x03\x01 this is not SIP\r\n\r\n", server.sip)
        .unwrap();
    let bad = format!(
        "OPTIONS sip:example.test SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{port};rport;branch=z9hG4bKbad\r\n\
         Max-Forwards: 70\r\nFrom: <sip:t@example.test>;tag=1\r\nTo: <sip:example.test>\r\n\
         Call-ID: bad-cseq\r\nCSeq: one OPTIONS\r\nContent-Length: 0\r\n\r\n"
    );
    sock.send_to(bad.as_bytes(), server.sip).unwrap();
    let (n, _) = sock
        .recv_from(&mut buf)
        .expect("an answer to the malformed request");
    let text = String::from_utf8_lossy(&buf[..n]).to_string();
    assert!(text.starts_with("SIP/2.0 400 "), "{text}");
    assert!(text.contains("Call-ID: bad-cseq"), "{text}");
    let ok = format!(
        "OPTIONS sip:example.test SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{port};rport;branch=z9hG4bKok\r\n\
         Max-Forwards: 70\r\nFrom: <sip:t@example.test>;tag=1\r\nTo: <sip:example.test>\r\n\
         Call-ID: alive\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
    );
    sock.send_to(ok.as_bytes(), server.sip).unwrap();
    let (n, _) = sock.recv_from(&mut buf).expect("an answer to OPTIONS");
    let text = String::from_utf8_lossy(&buf[..n]).to_string();
    assert!(text.starts_with("SIP/2.0 200 OK"), "{text}");
    assert!(
        text.contains("Call-ID: alive"),
        "the garbage got no answer, so the next answer is OPTIONS': {text}"
    );
    assert!(text.contains("Allow: "), "{text}");
}

#[test]
fn sipsak_options_ping_is_answered() {
    let server = Server::start("", "");
    let out = std::process::Command::new("sipsak")
        .args(["-s", &format!("sip:{}", server.sip), "-v"])
        .output()
        .expect("run sipsak (Debian package sipsak)");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "sipsak failed: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("200 OK"), "{text}");
}

#[test]
fn password_change_by_cli_applies_to_the_running_server() {
    let server = Server::start("", "");
    add_user(&server, "alice", "first");
    assert!(register(&server, "alice", "first", false).success);
    let out = server.cli(&[
        "user",
        "passwd",
        "alice",
        "--domain",
        "example.test",
        "--password",
        "second",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    server
        .wait_for_line(
            |l| l.contains("user changes noticed"),
            Duration::from_secs(10),
        )
        .expect("the server notices the change");
    let old = Sipp::new("register_rejected.xml", server.sip, false)
        .set("user", "alice")
        .set("domain", "example.test")
        .auth("alice", "first")
        .run();
    assert!(old.success, "the old password must be refused");
    assert!(register(&server, "alice", "second", false).success);
    let out = server.cli(&["user", "list", "--domain", "example.test"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("alice@example.test"));
    let out = server.cli(&["user", "del", "alice", "--domain", "example.test"]);
    assert!(out.status.success());
    let out = server.cli(&["user", "del", "alice", "--domain", "example.test"]);
    assert!(!out.status.success(), "deleting twice must fail");
}
