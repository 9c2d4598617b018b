//! SIP trunks and forged in-dialog requests, with SIPp playing the carriers,
//! the phones and the attacker against the real binary.
//!
//! Carriers listen on 127.0.0.2 and 127.0.0.3: a trunk's inbound addresses
//! default to its gateway's, and the callers (SIPp on 127.0.0.1) must not
//! count as calls from a trunk unless a test says so.
//!
//! Every SIPp process is bounded by its own `-timeout` and killed by pid when
//! a test fails early. Digest answers are recomputed with `md5sum`, call
//! records read with `sqlite3` (read-only).

use std::net::{IpAddr, SocketAddr, TcpListener, UdpSocket};
use std::process::Command;
use std::time::{Duration, Instant};

use sb_e2e::calls::{add_user, call_out};
use sb_e2e::{Server, Sipp, SippRun, free_port};

#[path = "trunks/peers.rs"]
mod peers;
use peers::*;

/// Bound on every wait for the server or a peer.
pub(crate) const WAIT: Duration = Duration::from_secs(10);
/// The number dialed (the `9` is the outside-line prefix the dialplan strips).
const DIALED: &str = "915550100";
/// What the carrier must see as the Request-URI user.
const NUMBER: &str = "15550100";
/// The carrier account of the server.
pub(crate) const ACCOUNT: &str = "acct-7";
pub(crate) const ACCOUNT_PASSWORD: &str = "carrier-secret";
/// The registration interval the server asks the carrier for.
const ASKED_EXPIRES: u32 = 3600;
/// The interval the carrier grants instead.
const CARRIER_EXPIRES: &str = "1800";

// ---------------------------------------------------------------------------
// The server, its users and its call records.
// ---------------------------------------------------------------------------

/// A `[[trunk]]` table for a gateway at `gateway`.
fn trunk_table(name: &str, gateway: SocketAddr, more: &str) -> String {
    format!("[[trunk]]\nname = \"{name}\"\ngateway = \"{gateway}\"\n{more}\n")
}

/// A free address on 127.0.0.1 for a phone.
fn phone_addr() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], free_port()))
}

/// Registers `user` (password `password`) from `phone`, so that a SIPp peer
/// on that address receives the user's calls.
fn register_from(server: &Server, user: &str, password: &str, phone: SocketAddr) {
    let run = PeerArgs::new("register_auth.xml", phone)
        .set("user", user)
        .set("domain", "example.test")
        .set("expires", "3600")
        .args(&["-au", user, "-ap", password])
        .run(server.sip);
    assert!(run.success, "registering {user} failed:\n{}", explain(&run));
}

/// One row of the `cdrs` table.
#[derive(Debug, PartialEq, Eq)]
struct CdrRow {
    caller: String,
    dialed: String,
    callee: String,
    source: String,
    destination: String,
    disposition: String,
    sip_status: String,
    hangup_by: String,
}

/// The server's call records, read with the `sqlite3` command (read-only).
fn cdr_rows(server: &Server) -> Vec<CdrRow> {
    let db = server.dir.join("switchboard.db");
    let out = Command::new("sqlite3")
        .arg("-readonly")
        .arg("-separator")
        .arg("\t")
        .arg(&db)
        .arg(
            "SELECT caller, dialed, callee, source_kind || ':' || source_name, \
             destination_kind || ':' || coalesce(destination_name, ''), disposition, \
             sip_status, hangup_by FROM cdrs ORDER BY id",
        )
        .output()
        .expect("run sqlite3 (install the Debian package sqlite3)");
    assert!(
        out.status.success(),
        "sqlite3 on {}: {}",
        db.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert_eq!(f.len(), 8, "unexpected sqlite3 row {l:?}");
            CdrRow {
                caller: f[0].into(),
                dialed: f[1].into(),
                callee: f[2].into(),
                source: f[3].into(),
                destination: f[4].into(),
                disposition: f[5].into(),
                sip_status: f[6].into(),
                hangup_by: f[7].into(),
            }
        })
        .collect()
}

/// The single call record, once the server has logged the end of the call
/// and committed it.
fn the_cdr(server: &Server) -> CdrRow {
    server
        .wait_for_line(|l| l.contains("call ended"), WAIT)
        .expect("the server logs the end of the call");
    let deadline = Instant::now() + WAIT;
    loop {
        let mut rows = cdr_rows(server);
        if !rows.is_empty() {
            assert_eq!(rows.len(), 1, "one record per call: {rows:?}");
            return rows.remove(0);
        }
        assert!(Instant::now() < deadline, "no call record within {WAIT:?}");
        // Records are committed behind the call: poll the file.
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A log line without its terminal colours.
fn plain(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            // CSI: ESC [ parameters final-byte
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// A carrier's address: 127.0.0.`n` and a port free there for UDP and TCP.
fn carrier_addr(n: u8) -> SocketAddr {
    let ip = IpAddr::from([127, 0, 0, n]);
    for _ in 0..50 {
        let udp = UdpSocket::bind((ip, 0)).expect("bind UDP");
        let addr = udp.local_addr().expect("local address");
        if TcpListener::bind(addr).is_ok() {
            return addr;
        }
    }
    panic!("no free port on {ip}");
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

#[test]
fn carrier_challenges_the_registration_and_the_call() {
    let gateway = carrier_addr(2);
    // Three SIPp calls: the registration, the phone call, the removal of
    // the registration at shutdown.
    let carrier = PeerArgs::new("trunk_carrier.xml", gateway)
        .set("account", ACCOUNT)
        .set("password", ACCOUNT_PASSWORD)
        .set("expires", CARRIER_EXPIRES)
        .args(&["-m", "3", "-deadcall_wait", "0"])
        .spawn();
    let server = Server::start(
        "",
        &trunk_table(
            "default",
            gateway,
            &format!(
                "username = \"{ACCOUNT}\"\npassword = \"{ACCOUNT_PASSWORD}\"\nregister = true\n\
                 register_expires = {ASKED_EXPIRES}\n"
            ),
        ),
    );
    let registered = server
        .wait_for_line(
            |l| l.contains("registered to trunk") || l.contains("trunk registration failed"),
            WAIT,
        )
        .map(|l| plain(&l))
        .expect("the server registers to the carrier");
    assert!(
        registered.contains("registered to trunk")
            && registered.contains("trunk=default")
            && registered.contains(&format!("expires={CARRIER_EXPIRES}")),
        "the interval the carrier grants is the one kept: {registered}"
    );
    add_user(&server, "alice", "secret");

    let caller = call_out(&server, DIALED);
    assert!(
        caller.success,
        "the call through the trunk failed:\n{}",
        explain(&caller)
    );
    let cdr = the_cdr(&server);
    assert_eq!(
        cdr,
        CdrRow {
            caller: "alice".into(),
            dialed: DIALED.into(),
            callee: NUMBER.into(),
            source: "user:alice".into(),
            destination: "trunk:default".into(),
            disposition: "ANSWERED".into(),
            sip_status: "200".into(),
            hangup_by: "caller".into(),
        }
    );

    // A graceful stop removes the registration (Expires 0).
    let status = server.stop();
    assert!(status.success(), "switchboard stopped with {status}");
    let carrier = carrier.finish();
    assert!(
        carrier.success,
        "the carrier's side failed:\n{}",
        explain(&carrier)
    );
    let msgs = logged_messages(&carrier.messages);

    // The registration, then its removal: each challenged once, then sent
    // with valid credentials.
    let registers = by_transaction(&received(&msgs, "REGISTER"));
    assert_eq!(registers.len(), 4, "{}", carrier.messages);
    let registrar = format!("sip:{gateway}");
    let asked = ASKED_EXPIRES.to_string();
    for (i, expires) in [(0, asked.as_str()), (1, &asked), (2, "0"), (3, "0")] {
        let request = registers[i][0];
        assert_eq!(request.request_uri(), registrar, "{}", request.text);
        assert_eq!(request.header("Expires"), Some(expires), "{}", request.text);
    }
    assert!(registers[0][0].header("Authorization").is_none());
    for i in [1, 3] {
        let authorization = registers[i][0]
            .header("Authorization")
            .unwrap_or_else(|| panic!("credentials on REGISTER {}", i + 1));
        check_digest(
            authorization,
            "REGISTER",
            &registrar,
            "carrier-register-nonce",
        );
    }

    // The call: to the number without the 9, challenged once, then answered.
    let invites = by_transaction(&received(&msgs, "INVITE"));
    assert_eq!(invites.len(), 2, "{}", carrier.messages);
    let target = format!("sip:{NUMBER}@{gateway}");
    for invite in invites.iter().flatten() {
        assert_eq!(invite.request_uri(), target);
    }
    assert!(invites[0][0].header("Proxy-Authorization").is_none());
    let credentials = invites[1][0]
        .header("Proxy-Authorization")
        .expect("credentials on the second INVITE");
    check_digest(credentials, "INVITE", &target, "carrier-invite-nonce");
    assert_eq!(
        received(&msgs, "BYE").len(),
        1,
        "the hang-up reaches the carrier"
    );

    // The carrier answers at once: on loopback, a retransmission means the
    // request left the server late (it waited for its own Timer E).
    for transaction in registers.iter().chain(&invites) {
        assert_eq!(
            transaction.len(),
            1,
            "{} arrived {} times (retransmitted):\n{}",
            transaction[0].start_line(),
            transaction.len(),
            carrier.messages
        );
    }
}

/// A dialplan whose outside line tries trunk `first`, then `second` (and
/// that takes no calls from the trunks).
const FAILOVER_PLAN: &str = r#"[[context]]
name = "internal"

[[context.rule]]
name = "outside line with failover"
to = "_9."
actions = [{ strip = 1 }, { trunk = { name = "first", failover = ["second"] } }]

[[context]]
name = "from-trunk"

[[context.rule]]
name = "no calls in"
actions = [{ reject = 403 }]
"#;

#[test]
fn a_call_fails_over_to_the_next_trunk_on_503() {
    let first_gateway = carrier_addr(2);
    let first = PeerArgs::new("trunk_unavailable.xml", first_gateway).spawn();
    let second_gateway = carrier_addr(3);
    let second = PeerArgs::new("trunk_callee.xml", second_gateway)
        .args(&["-m", "1"])
        .spawn();
    let plans = tempfile::tempdir().expect("temp dir");
    std::fs::write(plans.path().join("outside.toml"), FAILOVER_PLAN).expect("write dialplan");
    let server = Server::start(
        "",
        &format!(
            "{}{}[dialplan]\ndir = \"{}\"\n",
            trunk_table("first", first_gateway, ""),
            trunk_table("second", second_gateway, ""),
            plans.path().display()
        ),
    );
    add_user(&server, "alice", "secret");

    let caller = call_out(&server, DIALED);
    assert!(
        caller.success,
        "the call did not connect:\n{}",
        explain(&caller)
    );
    let second = second.finish();
    assert!(
        second.success,
        "the second trunk's side failed:\n{}",
        explain(&second)
    );
    let answered = logged_messages(&second.messages);
    let invites = received(&answered, "INVITE");
    assert_eq!(transactions(&invites), 1, "{}", second.messages);
    assert_eq!(
        invites[0].request_uri(),
        format!("sip:{NUMBER}@{second_gateway}")
    );

    // The whole call is over: whatever the first gateway got, it has got.
    let first = first.stop();
    assert!(
        first.success,
        "the first trunk's side failed:\n{}",
        explain(&first)
    );
    let refused = logged_messages(&first.messages);
    let invites = received(&refused, "INVITE");
    assert_eq!(
        transactions(&invites),
        1,
        "one attempt on the first trunk:\n{}",
        first.messages
    );
    assert_eq!(
        invites[0].request_uri(),
        format!("sip:{NUMBER}@{first_gateway}")
    );
    let sent_503 = refused
        .iter()
        .filter(|m| !m.received && m.start_line().starts_with("SIP/2.0 503"))
        .count();
    assert_eq!(sent_503, 1, "{}", first.messages);
    assert_eq!(
        received(&refused, "ACK").len(),
        1,
        "the 503 is acknowledged"
    );

    let cdr = the_cdr(&server);
    assert_eq!(cdr.destination, "trunk:second", "{cdr:?}");
    assert_eq!(cdr.disposition, "ANSWERED", "{cdr:?}");
    assert_eq!(cdr.callee, NUMBER, "{cdr:?}");
    assert_eq!(cdr.dialed, DIALED, "{cdr:?}");
}

/// A server with user alice (password `secret`) and `trunks`.
fn server_with_alice(trunks: &str) -> Server {
    let server = Server::start("", trunks);
    add_user(&server, "alice", "secret");
    server
}

/// A carrier's INVITE for alice, without credentials, from 127.0.0.1.
fn carrier_call(server: &Server, scenario_name: &str) -> SippRun {
    Sipp::new(scenario_name, server.sip, false)
        .set("caller", "+15550199")
        .set("callee", "alice")
        .set("domain", "example.test")
        .run()
}

#[test]
fn calls_from_a_trunk_address_reach_a_user_without_a_challenge() {
    let gateway = carrier_addr(3);
    let server = server_with_alice(&trunk_table(
        "carrier",
        gateway,
        "inbound = [\"127.0.0.1\"]\n",
    ));
    let phone = phone_addr();
    register_from(&server, "alice", "secret", phone);
    let alice = PeerArgs::new("trunk_callee.xml", phone)
        .args(&["-m", "1"])
        .spawn();

    let caller = carrier_call(&server, "trunk_inbound_call.xml");
    assert!(
        caller.success,
        "the carrier's call did not connect:\n{}",
        explain(&caller)
    );
    let alice = alice.finish();
    assert!(alice.success, "alice's phone:\n{}", explain(&alice));
    let rang = logged_messages(&alice.messages);
    let invites = received(&rang, "INVITE");
    assert_eq!(transactions(&invites), 1, "{}", alice.messages);
    let from = invites[0].header("From").unwrap_or_default();
    assert!(
        from.contains("+15550199"),
        "the caller's number reaches alice: {from}"
    );

    let cdr = the_cdr(&server);
    assert_eq!(cdr.source, "trunk:carrier", "{cdr:?}");
    assert_eq!(cdr.destination, "user:alice", "{cdr:?}");
    assert_eq!(cdr.disposition, "ANSWERED", "{cdr:?}");
    assert_eq!(cdr.hangup_by, "caller", "{cdr:?}");
}

#[test]
fn the_same_call_from_an_address_of_no_trunk_is_challenged() {
    // A trunk exists, but its addresses do not include 127.0.0.1.
    let gateway = carrier_addr(3);
    let server = server_with_alice(&trunk_table(
        "carrier",
        gateway,
        "inbound = [\"127.0.0.2/32\"]\n",
    ));
    let phone = phone_addr();
    register_from(&server, "alice", "secret", phone);
    let alice = PeerArgs::new("trunk_callee.xml", phone).spawn();

    let caller = carrier_call(&server, "trunk_inbound_challenged.xml");
    assert!(
        caller.success,
        "an INVITE without credentials from 127.0.0.1 must get 407:\n{}",
        explain(&caller)
    );
    let alice = alice.stop();
    assert!(
        received(&logged_messages(&alice.messages), "INVITE").is_empty(),
        "alice's phone must not ring:\n{}",
        alice.messages
    );
}

#[test]
fn an_unauthenticated_call_to_an_outside_number_never_reaches_the_trunk() {
    let gateway = carrier_addr(4);
    let server = server_with_alice(&trunk_table("default", gateway, ""));
    let carrier = PeerArgs::new("trunk_callee.xml", gateway).spawn();

    // No trunk's address, no credentials: challenged, and that is all.
    let caller = Sipp::new("trunk_inbound_challenged.xml", server.sip, false)
        .set("caller", "alice")
        .set("callee", DIALED)
        .set("domain", "example.test")
        .run();
    assert!(
        caller.success,
        "an INVITE to {DIALED} without credentials must get 407:\n{}",
        explain(&caller)
    );
    let carrier = carrier.stop();
    assert!(
        received(&logged_messages(&carrier.messages), "INVITE").is_empty(),
        "the carrier must see no INVITE:\n{}",
        carrier.messages
    );
    // A challenge comes before any call: nothing to record.
    assert!(cdr_rows(&server).is_empty());
}

#[test]
fn forged_in_dialog_requests_get_481_and_reach_nobody() {
    let server = server_with_alice("");
    add_user(&server, "bob", "pw-bob");
    let phone = phone_addr();
    register_from(&server, "bob", "pw-bob", phone);
    // bob's phone takes exactly one call: the genuine one at the end.
    let bob = PeerArgs::new("trunk_callee.xml", phone)
        .args(&["-m", "1"])
        .spawn();

    for scenario_name in ["forged_invite.xml", "forged_bye.xml"] {
        let forged = Sipp::new(scenario_name, server.sip, false)
            .set("caller", "alice")
            .set("callee", "bob")
            .set("domain", "example.test")
            .run();
        assert!(
            forged.success,
            "{scenario_name}: the server must answer 481:\n{}",
            explain(&forged)
        );
    }

    // A genuine call shows that bob's phone receives what is relayed to it.
    let genuine = call_out(&server, "bob");
    assert!(
        genuine.success,
        "alice's call to bob:\n{}",
        explain(&genuine)
    );
    let bob = bob.finish();
    assert!(bob.success, "bob's phone:\n{}", explain(&bob));
    let got = logged_messages(&bob.messages);
    let requests: Vec<&str> = got
        .iter()
        .filter(|m| m.received)
        .map(Logged::start_line)
        .collect();
    let invites = received(&got, "INVITE");
    assert_eq!(
        transactions(&invites),
        1,
        "only the genuine call: {requests:#?}"
    );
    assert_eq!(
        received(&got, "BYE").len(),
        1,
        "only the genuine hang-up: {requests:#?}"
    );
    let cdr = the_cdr(&server);
    assert_eq!(cdr.destination, "user:bob", "{cdr:?}");
    assert_eq!(cdr.disposition, "ANSWERED", "{cdr:?}");
}
