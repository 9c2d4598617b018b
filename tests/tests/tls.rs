//! SIP over TLS against the real binary: a baresip phone registers over TLS
//! (the server's certificate generated at start-up) and calls a UDP phone
//! and is called back over its TLS flow; an outbound call to a trunk with
//! `transport = "tls"` reaches a second Switchboard that only speaks TLS on
//! the trunk's port.
//!
//! SIPp as Debian builds it has no TLS ("you must compile SIPp with
//! OpenSSL"), so the TLS peer of the trunk test is a second server, and SIPp
//! only plays the caller over UDP. Every process is stopped by its own pid.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use sb_e2e::baresip::{Baresip, BaresipConfig, EventKind};
use sb_e2e::calls::{MD5_ONLY, add_user, bindings, call_out, cdrs, wait_for_cdrs};
use sb_e2e::{Server, free_port, free_tcp_port};
use tempfile::TempDir;

/// Bound on every wait for a phone or the server.
const WAIT: Duration = Duration::from_secs(10);
/// How long answered calls last.
const TALK: Duration = Duration::from_secs(2);
/// The server under test and the phones.
const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
/// The carrier of the trunk tests: not 127.0.0.1, whose INVITEs would
/// otherwise count as calls from the trunk (its gateway's address).
const CARRIER_IP: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));

/// A server with UDP and TCP on one port and TLS on another (a self-signed
/// certificate generated at start-up), `extra` appended.
struct TlsServer {
    server: Server,
    tls: SocketAddr,
    _dir: TempDir,
}

/// The configuration of a [`TlsServer`] in `dir`, on `ip` and the given
/// ports.
fn tls_config(dir: &Path, ip: IpAddr, port: u16, tls_port: u16, extra: &str) -> String {
    format!(
        "[sip]\nlisten = [\"udp:{ip}:{port}\", \"tcp:{ip}:{port}\", \"tls:{ip}:{tls_port}\"]\n\
         domains = [\"example.test\"]\ntls_self_signed = true\n\
         [http]\nlisten = \"127.0.0.1:{}\"\n\
         [database]\nurl = \"sqlite://{}\"\nwrite_behind = \"100ms\"\n\
         [log]\nlevel = \"info,sb_server=debug,sb_sip_transport=debug\"\n{MD5_ONLY}{extra}",
        free_tcp_port(),
        dir.join("switchboard.db").display()
    )
}

impl TlsServer {
    /// Starts a server on free ports of 127.0.0.1.
    fn start(extra: &str) -> TlsServer {
        TlsServer::start_on(LOOPBACK, free_port(), free_tcp_port(), extra)
    }

    /// Starts a server on `ip` with UDP/TCP on `port` and TLS on `tls_port`.
    fn start_on(ip: IpAddr, port: u16, tls_port: u16, extra: &str) -> TlsServer {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(
            dir.path().join("switchboard.toml"),
            tls_config(dir.path(), ip, port, tls_port, extra),
        )
        .expect("write config");
        let server = Server::start_in(dir.path());
        let tls = SocketAddr::new(ip, tls_port);
        TlsServer {
            server,
            tls,
            _dir: dir,
        }
    }
}

/// `caller` dials `callee_uri`; `callee` answers; RTP flows both ways; the
/// caller hangs up.
fn call(caller: &mut Baresip, callee: &mut Baresip, callee_uri: &str) {
    caller.dial(callee_uri);
    let incoming = callee.expect_event(&EventKind::CallIncoming, WAIT);
    assert!(
        incoming.peer_uri.is_some(),
        "the callee sees the caller: {incoming:?}"
    );
    callee.answer();
    let answered = caller.expect_event(&EventKind::CallEstablished, WAIT);
    callee.expect_event(&EventKind::CallEstablished, WAIT);
    caller.wait_rtp_flowing(25, WAIT);
    callee.wait_rtp_flowing(25, WAIT);
    std::thread::sleep(TALK.saturating_sub(answered.at.elapsed()));
    caller.hangup();
    caller.expect_event(&EventKind::CallClosed, WAIT);
    let closed = callee.expect_event(&EventKind::CallClosed, WAIT);
    assert!(
        !closed.param.starts_with(|c: char| c.is_ascii_digit()),
        "a BYE ends the call, not an error: {closed:?}"
    );
}

#[test]
fn a_tls_phone_registers_and_calls_a_udp_phone_both_ways() {
    let TlsServer { server, tls, _dir } = TlsServer::start("");
    let ready = server
        .wait_for_line(|l| l.contains("self-signed certificate generated"), WAIT)
        .expect("the generated certificate's fingerprint is logged");
    assert!(ready.contains("fingerprint"), "{ready}");
    add_user(&server, "alice", "secret");
    add_user(&server, "bob", "pw-bob");

    let mut alice = Baresip::start(
        &BaresipConfig::registered("alice", "example.test", "secret", server.sip).tls(tls),
    );
    let mut bob = Baresip::start(&BaresipConfig::registered(
        "bob",
        "example.test",
        "pw-bob",
        server.sip,
    ));
    alice.wait_registered(WAIT);
    bob.wait_registered(WAIT);
    let a = bindings(&server, "alice", "secret");
    assert!(
        a.to_ascii_lowercase().contains("transport=tls"),
        "alice's binding is her TLS contact:\n{a}"
    );

    // TLS phone → UDP phone.
    call(&mut alice, &mut bob, "sip:bob@example.test");
    // UDP phone → TLS phone: the INVITE reaches alice over her TLS flow.
    call(&mut bob, &mut alice, "sip:alice@example.test");

    let rows = wait_for_cdrs(&server, 2, WAIT);
    assert!(
        rows.iter().all(|r| r.disposition == "ANSWERED"),
        "both calls answered: {rows:?}"
    );
    assert_eq!(rows[0].caller, "alice", "{rows:?}");
    assert_eq!(rows[1].caller, "bob", "{rows:?}");
    alice.stop();
    bob.stop();
    server.stop();
}

#[test]
fn plain_bytes_on_the_tls_port_do_not_stop_it() {
    use std::io::{Read, Write};

    let TlsServer { server, tls, _dir } = TlsServer::start("");
    add_user(&server, "alice", "secret");
    let mut plain = std::net::TcpStream::connect(tls).expect("connect");
    plain.set_read_timeout(Some(WAIT)).expect("read timeout");
    plain
        .write_all(b"OPTIONS sip:example.test SIP/2.0\r\nContent-Length: 0\r\n\r\n")
        .expect("write");
    // The server closes the connection (a TLS alert at most, never SIP).
    let mut answer = Vec::new();
    let _ = plain.read_to_end(&mut answer);
    assert!(
        !answer.starts_with(b"SIP/2.0"),
        "plain SIP answered on the TLS port: {:?}",
        String::from_utf8_lossy(&answer)
    );
    // A phone still registers over TLS.
    let mut alice = Baresip::start(
        &BaresipConfig::registered("alice", "example.test", "secret", server.sip).tls(tls),
    );
    alice.wait_registered(WAIT);
    alice.stop();
    server.stop();
}

/// The carrier: a second server, on 127.0.0.2, whose only way in from the
/// first is its TLS port; calls from 127.0.0.1 are trunk calls (context
/// `from-trunk`, where `*43`, the echo test, answers).
fn carrier(first_tls: SocketAddr) -> TlsServer {
    TlsServer::start_on(
        CARRIER_IP,
        free_port(),
        free_tcp_port(),
        &format!(
            "[[trunk]]\nname = \"upstream\"\ngateway = \"{first_tls}\"\ntransport = \"tls\"\n\
         tls_verify = false\ninbound = [\"127.0.0.1\"]\n"
        ),
    )
}

#[test]
fn an_outbound_call_reaches_a_tls_trunk() {
    let port = free_port();
    let tls_port = free_tcp_port();
    let first_tls = SocketAddr::from(([127, 0, 0, 1], tls_port));
    let carrier = carrier(first_tls);
    // The carrier's certificate is self-signed: not verified.
    let TlsServer { server, _dir, .. } = TlsServer::start_on(
        LOOPBACK,
        port,
        tls_port,
        &format!(
            "[[trunk]]\nname = \"default\"\ngateway = \"{}\"\ntransport = \"tls\"\n\
             tls_verify = false\n",
            carrier.tls
        ),
    );
    add_user(&server, "alice", "secret");
    let run = call_out(&server, "9*43");
    assert!(
        run.success,
        "the call through the TLS trunk was not answered:\n{}",
        run.messages
    );
    let rows = wait_for_cdrs(&server, 1, WAIT);
    assert_eq!(rows[0].disposition, "ANSWERED", "{rows:?}");
    let at_carrier = wait_for_cdrs(&carrier.server, 1, WAIT);
    assert_eq!(at_carrier[0].disposition, "ANSWERED", "{at_carrier:?}");
    server.stop();
    carrier.server.stop();
}

#[test]
fn a_verified_tls_trunk_refuses_a_self_signed_certificate() {
    let carrier = carrier(SocketAddr::from(([127, 0, 0, 1], free_tcp_port())));
    // tls_verify defaults to true; the carrier's certificate is trusted by
    // nobody, so the call cannot leave.
    let TlsServer { server, _dir, .. } = TlsServer::start(&format!(
        "[[trunk]]\nname = \"default\"\ngateway = \"{}\"\ntransport = \"tls\"\n",
        carrier.tls
    ));
    add_user(&server, "alice", "secret");
    let run = call_out(&server, "9*43");
    assert!(!run.success, "the call must fail:\n{}", run.messages);
    server
        .wait_for_line(|l| l.contains("invalid peer certificate"), WAIT)
        .expect("the carrier's certificate is refused");
    assert!(cdrs(&carrier.server).is_empty(), "the carrier saw no call");
    server.stop();
    carrier.server.stop();
}
