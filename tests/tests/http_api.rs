//! The HTTP API as administrators and users script against it, with real
//! phones: users created through the API register with baresip and call each
//! other; the calls show up live and in the call records (JSON and CSV);
//! permissions set through the API are enforced on the next call; bad
//! requests are refused with the error shape and change nothing.

use std::time::Duration;

use sb_e2e::Server;
use sb_e2e::baresip::{Baresip, BaresipConfig, EventKind};
use sb_e2e::calls::start_server_for_phones_with;
use sb_e2e::http::Api;
use serde_json::{Value, json};

/// Bound on every single wait.
const WAIT: Duration = Duration::from_secs(10);

/// A server with an administrator `root` (password `root-password`), and a
/// client logged in as it.
/// This node's name (`[cluster] node`), on its metrics, health and records.
const NODE: &str = "sb-test-1";

fn server_and_admin() -> (Server, Api) {
    let server = start_server_for_phones_with(&format!("[cluster]\nnode = \"{NODE}\"\n"));
    server.add_admin("root", "root-password");
    let base = server.http.clone().expect("the server serves HTTP");
    let api = Api::login(&base, "root", "root-password");
    (server, api)
}

fn create_user(api: &Api, body: &Value) -> Value {
    let r = api.post("/api/users", body);
    assert_eq!(r.status, 201, "create user: {}", r.text());
    r.json()
}

fn phone(server: &Server, user: &str, password: &str) -> Baresip {
    let mut p = Baresip::start(&BaresipConfig::registered(
        user,
        "example.test",
        password,
        server.sip,
    ));
    p.wait_registered(WAIT);
    p
}

/// The error object of a refused request, checked for the common shape.
fn error_of(r: &sb_e2e::http::Response, status: u16) -> Value {
    assert_eq!(r.status, status, "{}", r.text());
    let body = r.json();
    let e = body["error"].clone();
    assert!(e["code"].is_string() && e["message"].is_string(), "{body}");
    e
}

#[test]
fn api_users_register_call_and_their_call_is_recorded() {
    let (server, api) = server_and_admin();
    create_user(
        &api,
        &json!({"username": "alice", "password": "alice-secret", "display_name": "Alice"}),
    );
    let bob = create_user(
        &api,
        &json!({"username": "bob", "password": "bob-secret", "extension": "201"}),
    );
    assert_eq!(bob["domain"], "example.test");
    assert_eq!(bob["extension"], "201");

    // Both register with the passwords given to the API, at once.
    let mut alice_phone = phone(&server, "alice", "alice-secret");
    let mut bob_phone = phone(&server, "bob", "bob-secret");
    let regs = sb_e2e::eventually("two registrations", WAIT, || {
        let r = api.get("/api/registrations");
        assert_eq!(r.status, 200, "{}", r.text());
        let list = r.json();
        (list.as_array()?.len() == 2).then_some(list)
    });
    let alice_reg = regs
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["user"] == "alice")
        .expect("alice's registration")
        .clone();
    assert_eq!(alice_reg["transport"], "udp", "{alice_reg}");
    assert!(
        alice_reg["user_agent"]
            .as_str()
            .is_some_and(|ua| ua.contains("baresip")),
        "{alice_reg}"
    );
    assert!(alice_reg["expires_in"].as_u64().unwrap() > 0);
    assert!(
        alice_reg["source"]
            .as_str()
            .unwrap()
            .starts_with("127.0.0.1:")
    );

    // alice calls bob by his extension; the call shows up live.
    alice_phone.dial("sip:201@example.test");
    bob_phone.expect_event(&EventKind::CallIncoming, WAIT);
    bob_phone.answer();
    let answered = alice_phone.expect_event(&EventKind::CallEstablished, WAIT);
    let call_id = answered.call_id.expect("Call-ID");
    let live = sb_e2e::eventually("the live call", WAIT, || {
        let calls = api.get("/api/calls").json();
        calls
            .as_array()?
            .iter()
            .find(|c| c["id"] == call_id.as_str())
            .cloned()
    });
    assert_eq!(live["caller"], "alice", "{live}");
    assert_eq!(live["callee"], "bob", "{live}");
    assert_eq!(live["state"], "answered", "{live}");
    assert!(
        live["legs"].as_array().is_some_and(|l| l.len() == 2),
        "{live}"
    );

    std::thread::sleep(Duration::from_secs(1));
    alice_phone.hangup();
    bob_phone.expect_event(&EventKind::CallClosed, WAIT);

    // Its record: in the JSON query and in the CSV export.
    let record = sb_e2e::eventually("the call record", WAIT, || {
        let page = api.get("/api/cdrs?caller=alice").json();
        page["items"].as_array()?.first().cloned()
    });
    assert_eq!(record["call_id"], call_id.as_str());
    assert_eq!(record["callee"], "bob");
    assert_eq!(record["dialed"], "201");
    assert_eq!(record["disposition"], "ANSWERED");
    assert_eq!(record["hangup_by"], "caller");
    assert_eq!(record["node"], NODE, "the node that handled the call");
    assert!(record["billable"].as_f64().unwrap() >= 0.5, "{record}");
    let csv = api.get("/api/cdrs?format=csv&callee=bob");
    assert_eq!(csv.status, 200);
    assert!(
        csv.header("content-type")
            .is_some_and(|t| t.starts_with("text/csv")),
        "{:?}",
        csv.headers
    );
    let text = csv.text();
    assert_eq!(text.lines().count(), 2, "header and one record: {text}");
    assert!(text.contains(&call_id), "{text}");
    let accept = api.get_with("/api/cdrs?callee=bob", &[("Accept", "text/csv")]);
    assert_eq!(accept.text(), text);
    let summary = api.get("/api/cdrs/summary").json();
    assert_eq!(summary["days"][0]["calls"], 1, "{summary}");
    assert_eq!(summary["days"][0]["answered"], 1, "{summary}");

    // A SIP user logs in with the SIP password and sees only their own.
    let carol_pw = "carol-secret";
    create_user(&api, &json!({"username": "carol", "password": carol_pw}));
    let carol = Api::login(server.http.as_deref().unwrap(), "carol", carol_pw);
    assert_eq!(carol.get("/api/me").json()["role"], "user");
    let mine = carol.get("/api/cdrs").json();
    assert_eq!(mine["items"].as_array().unwrap().len(), 0, "{mine}");
    assert!(
        carol
            .get("/api/registrations")
            .json()
            .as_array()
            .unwrap()
            .is_empty()
    );
    let bob_session = Api::login(
        server.http.as_deref().unwrap(),
        "bob@example.test",
        "bob-secret",
    );
    assert_eq!(
        bob_session.get("/api/cdrs").json()["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let own = bob_session.get("/api/registrations").json();
    assert_eq!(own.as_array().unwrap().len(), 1, "{own}");
    assert_eq!(own[0]["user"], "bob");
    for path in [
        "/api/users",
        "/api/trunks",
        "/api/dialplans",
        "/api/calls",
        "/api/acls",
    ] {
        error_of(&carol.get(path), 403);
    }
    error_of(
        &carol.post(
            "/api/users",
            &json!({"username": "x", "password": "12345678"}),
        ),
        403,
    );

    alice_phone.stop();
    bob_phone.stop();
    server.stop();
}

#[test]
fn permissions_hang_up_and_bindings_take_effect_at_once() {
    let (server, api) = server_and_admin();
    create_user(
        &api,
        &json!({"username": "alice", "password": "alice-secret"}),
    );
    create_user(&api, &json!({"username": "bob", "password": "bob-secret"}));
    let mut alice_phone = phone(&server, "alice", "alice-secret");
    let mut bob_phone = phone(&server, "bob", "bob-secret");

    // alice may not call bob any more: refused with 403 on the next call.
    let r = api.patch("/api/users/alice", &json!({"deny": ["bob"]}));
    assert_eq!(r.status, 200, "{}", r.text());
    alice_phone.dial("sip:bob@example.test");
    let closed = alice_phone.expect_event(&EventKind::CallClosed, WAIT);
    assert!(closed.param.contains("403"), "{closed:?}");
    assert!(!bob_phone.has_seen(&EventKind::CallIncoming));

    // Allowed again; the administrator hangs the call up.
    let r = api.patch("/api/users/alice", &json!({"deny": []}));
    assert_eq!(r.status, 200, "{}", r.text());
    alice_phone.dial("sip:bob@example.test");
    bob_phone.expect_event(&EventKind::CallIncoming, WAIT);
    bob_phone.answer();
    let answered = alice_phone.expect_event(&EventKind::CallEstablished, WAIT);
    let call_id = answered.call_id.expect("Call-ID");
    let r = api.delete(&format!("/api/calls/{call_id}"));
    assert_eq!(r.status, 204, "{}", r.text());
    alice_phone.expect_event(&EventKind::CallClosed, WAIT);
    bob_phone.expect_event(&EventKind::CallClosed, WAIT);
    error_of(&api.delete(&format!("/api/calls/{call_id}")), 404);
    let record = sb_e2e::eventually("the call record", WAIT, || {
        let page = api.get("/api/cdrs?disposition=ANSWERED").json();
        page["items"].as_array()?.first().cloned()
    });
    assert_eq!(record["hangup_by"], "system", "{record}");

    // Removing bob's binding: he is gone from the live view and unreachable.
    let regs = api.get("/api/registrations?user=bob").json();
    let binding = regs[0]["binding_id"]
        .as_str()
        .expect("binding id")
        .to_owned();
    let path = format!(
        "/api/registrations/{}/{}",
        sb_e2e::http::encode_segment("bob@example.test"),
        sb_e2e::http::encode_segment(&binding)
    );
    let r = api.delete(&path);
    assert_eq!(r.status, 204, "{}", r.text());
    assert!(
        api.get("/api/registrations?user=bob")
            .json()
            .as_array()
            .unwrap()
            .is_empty()
    );
    error_of(&api.delete(&path), 404);

    // Disabling alice: her phone cannot register any more.
    let r = api.patch("/api/users/alice", &json!({"enabled": false}));
    assert_eq!(r.status, 200, "{}", r.text());
    alice_phone.stop();
    let mut again = Baresip::start(&BaresipConfig::registered(
        "alice",
        "example.test",
        "alice-secret",
        server.sip,
    ));
    let failed = again.expect_event(&EventKind::RegisterFail, WAIT);
    assert!(
        failed.param.contains("403") || failed.param.contains("401"),
        "{failed:?}"
    );
    assert!(!again.is_registered());

    again.stop();
    bob_phone.stop();
    server.stop();
}

#[test]
fn bad_requests_are_refused_by_name_and_change_nothing() {
    let (server, api) = server_and_admin();
    create_user(
        &api,
        &json!({"username": "alice", "password": "alice-secret"}),
    );
    let users_before = api.get("/api/users").text();

    // Malformed JSON.
    let r = api.request("POST", "/api/users", Some(b"{\"username\": \"bob\","), &[]);
    assert_eq!(error_of(&r, 400)["code"], "malformed_json");
    // An unknown field, named.
    let e = error_of(
        &api.post(
            "/api/users",
            &json!({"username": "bob", "password": "bob-secret", "colour": "red"}),
        ),
        400,
    );
    assert_eq!(e["code"], "unknown_field");
    assert!(e["message"].as_str().unwrap().contains("colour"), "{e}");
    // A duplicate user.
    let e = error_of(
        &api.post(
            "/api/users",
            &json!({"username": "alice", "password": "other-secret"}),
        ),
        409,
    );
    assert!(e["message"].as_str().unwrap().contains("alice"), "{e}");
    // A bad call pattern.
    let e = error_of(
        &api.post(
            "/api/users",
            &json!({"username": "dave", "password": "dave-secret", "deny": ["_9["]}),
        ),
        400,
    );
    assert_eq!(e["field"], "deny[0]", "{e}");
    assert_eq!(api.get("/api/users").text(), users_before);

    // An invalid CIDR, by position.
    let e = error_of(
        &api.post(
            "/api/acls",
            &json!({"name": "office", "cidrs": ["192.0.2.0/24", "192.0.2.300/33"]}),
        ),
        400,
    );
    assert_eq!(e["field"], "cidrs[1]", "{e}");
    assert_eq!(api.get("/api/acls").json(), json!([]));

    // A dialplan with an error: refused at its line; the file is unchanged.
    let before = api.get("/api/dialplans/default").json();
    let broken = format!(
        "{}\n[[context.rule]]\nto = \"_1[\"\nactions = [\"echo\"]\n",
        before["content"].as_str().unwrap()
    );
    let r = api.put("/api/dialplans/default", &json!({"content": broken}));
    let e = error_of(&r, 422);
    assert_eq!(e["code"], "invalid_dialplan");
    let line = broken.lines().position(|l| l.contains("_1[")).unwrap() + 1;
    let details = e["details"].as_array().expect("details");
    assert!(
        details
            .iter()
            .any(|d| d["line"] == line && d["file"] == "default.toml"),
        "expected line {line}: {e}"
    );
    assert_eq!(
        api.get("/api/dialplans/default").json()["content"],
        before["content"]
    );

    // A trunk created through the API is applied at once (listed with its state); one whose
    // context no dialplan defines is refused and not stored.
    let r = api.post(
        "/api/acls",
        &json!({"name": "carrier", "cidrs": ["192.0.2.0/28"]}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let r = api.post(
        "/api/trunks",
        &json!({"name": "carrier-a", "gateway": "192.0.2.1:5060", "acl": "carrier", "context": "from-trunk"}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let trunks = api.get("/api/trunks").json();
    assert_eq!(trunks[0]["name"], "carrier-a", "{trunks}");
    assert_eq!(
        trunks[0]["state"]["registration"], "not_registering",
        "{trunks}"
    );
    let e = error_of(
        &api.post(
            "/api/trunks",
            &json!({"name": "carrier-b", "gateway": "192.0.2.2:5060", "context": "nowhere"}),
        ),
        400,
    );
    assert!(e["message"].as_str().unwrap().contains("nowhere"), "{e}");
    assert_eq!(api.get("/api/trunks").json().as_array().unwrap().len(), 1);
    let e = error_of(&api.delete("/api/acls/carrier"), 409);
    assert!(e["message"].as_str().unwrap().contains("carrier-a"), "{e}");

    // Health and metrics answer without a session.
    let anonymous = Api::new(server.http.as_deref().unwrap());
    let health = anonymous.get("/healthz");
    assert_eq!(health.status, 200);
    assert_eq!(health.json()["node"], NODE);
    let metrics = anonymous.get("/metrics").text();
    assert!(
        metrics.contains(&format!("switchboard_registrations{{node=\"{NODE}\"}} ")),
        "every sample is labelled by node: {metrics}"
    );
    assert!(
        metrics.contains("switchboard_sip_responses_total"),
        "{metrics}"
    );

    // Without credentials, every route answers 401.
    for path in [
        "/api/users",
        "/api/cdrs",
        "/api/openapi.json",
        "/api/registrations",
    ] {
        error_of(&anonymous.get(path), 401);
    }
    // A valid edit is applied and versioned; the earlier text can be restored.
    let edited = format!("{}\n# edited\n", before["content"].as_str().unwrap());
    let r = api.put("/api/dialplans/default", &json!({"content": edited}));
    assert_eq!(r.status, 200, "{}", r.text());
    let versions = api.get("/api/dialplans/default/versions").json();
    let versions = versions.as_array().expect("versions");
    assert!(versions.len() >= 2, "{versions:?}");
    let first = versions.last().unwrap()["version"].as_i64().unwrap();
    let r = api.post(
        &format!("/api/dialplans/default/versions/{first}/restore"),
        &json!({}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        api.get("/api/dialplans/default").json()["content"],
        before["content"]
    );
    let on_disk = std::fs::read_to_string(server.dir.join("dialplans/default.toml")).unwrap();
    assert_eq!(on_disk, before["content"].as_str().unwrap());

    server.stop();
}
