//! Two nodes over one PostgreSQL database (a throwaway cluster, see
//! `sb_store::testing`), on loopback with their own ports: baresip phones
//! registered on different nodes call each other, a dialplan edited through
//! node 1's API routes a call placed on node 2, a registration removed
//! through node 2's API goes from node 1 too, and after node 1 is killed
//! (SIGKILL) node 2 carries on, directly to the phone registered on node 1
//! and for it once it registered again on node 2. Every call that ended has
//! exactly one record in the shared table, written by the node it was
//! placed on.

use std::path::Path;
use std::time::Duration;

use sb_e2e::Server;
use sb_e2e::baresip::{Baresip, BaresipConfig, EventKind};
use sb_e2e::calls::MD5_ONLY;
use sb_e2e::http::{Api, encode_segment};
use sb_e2e::media::MediaSection;
use sb_store::testing::PostgresDatabase;
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(15);
const NONCE_SECRET: &str = "5b5e1d2f8c7a4e3b9a0d6c1f2e3a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c";

/// A node's configuration: SIP on UDP and TCP at `port`, its own HTTP port
/// and media ports, the shared database and nonce secret, its name.
fn node_config(
    dir: &Path,
    port: u16,
    db: &str,
    node: &str,
    media: std::ops::RangeInclusive<u16>,
) -> String {
    format!(
        "[sip]\nlisten = [\"udp:127.0.0.1:{port}\", \"tcp:127.0.0.1:{port}\"]\n\
         domains = [\"example.test\"]\n\
         [http]\nlisten = \"127.0.0.1:{}\"\n\
         [database]\nurl = \"{db}\"\nwrite_behind = \"100ms\"\n\
         [log]\nlevel = \"info,sb_server=debug\"\n\
         [cluster]\nnode = \"{node}\"\n\
         [dialplan]\ndir = \"{}\"\n\
         {MD5_ONLY}nonce_secret = \"{NONCE_SECRET}\"\n{}",
        sb_e2e::free_tcp_port(),
        dir.join("dialplans").display(),
        MediaSection::new().ports(media).to_toml(),
    )
}

fn start_node(
    db: &str,
    node: &str,
    media: std::ops::RangeInclusive<u16>,
) -> (Server, tempfile::TempDir) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path();
    std::fs::write(
        dir.join("switchboard.toml"),
        node_config(dir, sb_e2e::free_port(), db, node, media),
    )
    .expect("write config");
    (Server::start_in(dir), tmp)
}

/// Waits until node `api` lists a binding of `user` held by node `node`
/// (its own or another node's).
fn wait_binding(api: &Api, user: &str, node: &str) {
    sb_e2e::eventually(&format!("a binding of {user} on {node}"), WAIT, || {
        let list = api.get("/api/registrations").json();
        list.as_array()?
            .iter()
            .any(|r| r["user"] == user && r["node"] == node)
            .then_some(())
    });
}

/// `caller` dials `dialed`; `callee` answers; RTP flows both ways; the
/// caller hangs up and both see the call end.
fn call(caller: &mut Baresip, callee: &mut Baresip, dialed: &str) {
    caller.dial(&format!("sip:{dialed}@example.test"));
    callee.expect_event(&EventKind::CallIncoming, WAIT);
    callee.answer();
    caller.expect_event(&EventKind::CallEstablished, WAIT);
    callee.expect_event(&EventKind::CallEstablished, WAIT);
    // 20 ms packets: 25 is half a second of audio each way.
    let a = caller.wait_rtp_flowing(25, WAIT);
    let b = callee.wait_rtp_flowing(25, WAIT);
    assert!(a.received >= 25 && b.received >= 25, "{a:?} {b:?}");
    caller.hangup();
    caller.expect_event(&EventKind::CallClosed, WAIT);
    callee.expect_event(&EventKind::CallClosed, WAIT);
}

/// The records of the shared table (through node `api`), oldest first, once
/// there are `count`.
fn records(api: &Api, count: usize) -> Vec<Value> {
    sb_e2e::eventually(&format!("{count} call records"), WAIT, || {
        let page = api.get("/api/cdrs?sort=asc&limit=100").json();
        let items = page["items"].as_array()?.clone();
        (items.len() >= count).then_some(items)
    })
}

fn summary(records: &[Value]) -> Vec<(String, String, String, String)> {
    records
        .iter()
        .map(|r| {
            let s = |k: &str| r[k].as_str().unwrap_or_default().to_owned();
            (s("caller"), s("callee"), s("disposition"), s("node"))
        })
        .collect()
}

#[test]
fn two_nodes_share_registrations_dialplans_and_records_and_survive_a_crash() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let db = rt.block_on(PostgresDatabase::create());
    let (node1, _dir1) = start_node(db.url(), "sb-1", 36000..=36999);
    let (node2, _dir2) = start_node(db.url(), "sb-2", 37000..=37999);
    node1.add_user("alice", "example.test", "secret");
    node1.add_user("bob", "example.test", "pw-bob");
    node1.add_admin("root", "admin-pw");
    let api1 = Api::login(node1.http.as_deref().expect("http"), "root", "admin-pw");
    let api2 = Api::login(node2.http.as_deref().expect("http"), "root", "admin-pw");

    let mut alice = Baresip::start(&BaresipConfig::registered(
        "alice",
        "example.test",
        "secret",
        node1.sip,
    ));
    let mut bob = Baresip::start(&BaresipConfig::registered(
        "bob",
        "example.test",
        "pw-bob",
        node2.sip,
    ));
    alice.wait_registered(WAIT);
    bob.wait_registered(WAIT);
    // Each node learns the other's binding from the database's notification.
    wait_binding(&api1, "alice", "sb-1");
    wait_binding(&api1, "bob", "sb-2");
    wait_binding(&api2, "alice", "sb-1");
    wait_binding(&api2, "bob", "sb-2");

    // A on node 1 calls B on node 2, and B calls A: node 1 hands the first
    // call to node 2 (bob's flow), node 2 the second to node 1.
    call(&mut alice, &mut bob, "bob");
    call(&mut bob, &mut alice, "alice");
    let two = records(&api2, 2);
    assert_eq!(
        summary(&two),
        [
            (
                "alice".into(),
                "bob".into(),
                "ANSWERED".into(),
                "sb-1".into()
            ),
            (
                "bob".into(),
                "alice".into(),
                "ANSWERED".into(),
                "sb-2".into()
            ),
        ],
        "one record per call, by the node it was placed on: {two:?}"
    );

    // A dialplan edit through node 1's API routes the next call on node 2.
    let default = api1.get("/api/dialplans/default").json();
    let text = default["content"]
        .as_str()
        .expect("the default plan's text");
    let edited = text.replacen(
        "name = \"local\"\n",
        "name = \"local\"\n\n[[context.rule]]\nname = \"front desk\"\nto = \"777\"\n\
         actions = [{ ring_user = \"alice\" }]\n",
        1,
    );
    assert_ne!(edited, text, "the built-in plan has a context named local");
    let r = api1.put("/api/dialplans/default", &json!({ "content": edited }));
    assert_eq!(r.status, 200, "{}", r.text());
    node2
        .wait_for_line(|l| l.contains("dialplan taken from the cluster"), WAIT)
        .expect("node 2 takes the edited dialplan");
    call(&mut bob, &mut alice, "777");

    // An administrator removes, through node 2, a registration node 1 holds:
    // node 1 forgets it too.
    node1.add_user("carol", "example.test", "pw-carol");
    let mut carol = Baresip::start(&BaresipConfig::registered(
        "carol",
        "example.test",
        "pw-carol",
        node1.sip,
    ));
    carol.wait_registered(WAIT);
    wait_binding(&api2, "carol", "sb-1");
    let list = api2.get("/api/registrations?user=carol").json();
    let binding = list[0]["binding_id"]
        .as_str()
        .expect("binding id")
        .to_owned();
    let r = api2.delete(&format!(
        "/api/registrations/{}/{}",
        encode_segment("carol@example.test"),
        encode_segment(&binding)
    ));
    assert_eq!(r.status, 204, "{}", r.text());
    sb_e2e::eventually("node 1 forgets carol's registration", WAIT, || {
        let list = api1.get("/api/registrations?user=carol").json();
        list.as_array()?.is_empty().then_some(())
    });
    drop(carol);

    // Node 1 dies. Node 2 notices its silence, then reaches alice (UDP,
    // registered on node 1) directly, and bob keeps working.
    let _ = node1.kill9();
    node2
        .wait_for_line(
            |l| l.contains("cluster node gone") && l.contains("sb-1"),
            WAIT,
        )
        .expect("node 2 notices node 1 is gone");
    call(&mut bob, &mut alice, "alice");

    // alice registers again, on node 2: calls both ways work at once.
    drop(alice);
    let mut alice = Baresip::start(&BaresipConfig::registered(
        "alice",
        "example.test",
        "secret",
        node2.sip,
    ));
    alice.wait_registered(WAIT);
    wait_binding(&api2, "alice", "sb-2");
    call(&mut alice, &mut bob, "bob");
    call(&mut bob, &mut alice, "alice");

    // No record of an ended call is lost, none is written twice.
    let all = records(&api2, 6);
    let expected = [
        ("alice", "bob", "sb-1"),
        ("bob", "alice", "sb-2"),
        ("bob", "alice", "sb-2"),
        ("bob", "alice", "sb-2"),
        ("alice", "bob", "sb-2"),
        ("bob", "alice", "sb-2"),
    ];
    let got = summary(&all);
    assert_eq!(got.len(), expected.len(), "{all:?}");
    for ((caller, callee, disposition, node), (c, d, n)) in got.iter().zip(expected) {
        assert_eq!(
            (
                caller.as_str(),
                callee.as_str(),
                disposition.as_str(),
                node.as_str()
            ),
            (c, d, "ANSWERED", n),
            "{all:?}"
        );
    }
    assert_eq!(all[2]["dialed"], "777", "{all:?}");
    node2.stop();
}
