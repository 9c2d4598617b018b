//! SIP over WebSocket (RFC 7118) against the real binary: a client registers
//! with digest authentication over `ws://` on a port of its own, over the
//! HTTP port's `/ws`, and over `wss://` with the certificate generated at
//! start-up; the live API shows the WebSocket transport; closing the socket
//! removes the binding. Handshakes without the `sip` subprotocol are refused,
//! and a frame holding two messages is dropped without closing the
//! connection. JsSIP in headless Chromium (`tests/browser/register.mjs`)
//! registers over ws://, the HTTP port's /ws and wss://, sends an OPTIONS
//! and unregisters; needs `node`, `npm` and `/usr/bin/chromium`.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::Duration;

use rustls::pki_types::ServerName;
use sb_e2e::http::Api;
use sb_e2e::{Server, browser, free_port, free_tcp_port, ws_config_text};
use sb_sip_auth::{Challenge, ClientSecret};
use serde_json::Value;
use tempfile::TempDir;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{Error as WsError, Message, WebSocket};

/// Bound on every wait for the server.
const WAIT: Duration = Duration::from_secs(10);
const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// A byte stream a client WebSocket runs over: TCP or TLS.
trait Stream: Read + Write {}
impl<T: Read + Write> Stream for T {}

/// A server with UDP/TCP, a WS and a WSS listener, an administrator `root`
/// and the user `alice` (password `alice-secret`).
struct WsServer {
    server: Server,
    ws: SocketAddr,
    wss: SocketAddr,
    api: Api,
    _dir: TempDir,
}

impl WsServer {
    fn start() -> WsServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let (ws, wss) = (free_tcp_port(), free_tcp_port());
        std::fs::write(
            dir.path().join("switchboard.toml"),
            ws_config_text(dir.path(), free_port(), ws, wss, ""),
        )
        .expect("write config");
        let server = Server::start_in(dir.path());
        server.add_admin("root", "root-password");
        server.add_user("alice", "example.test", "alice-secret");
        let base = server.http.clone().expect("the server serves HTTP");
        let api = Api::login(&base, "root", "root-password");
        WsServer {
            server,
            ws: SocketAddr::new(LOOPBACK, ws),
            wss: SocketAddr::new(LOOPBACK, wss),
            api,
            _dir: dir,
        }
    }

    fn http_ws_url(&self) -> String {
        let base = self.server.http.as_deref().expect("HTTP served");
        format!("{}/ws", base.replacen("http://", "ws://", 1))
    }

    /// The registrations the live API lists.
    fn registrations(&self) -> Vec<Value> {
        let r = self.api.get("/api/registrations");
        assert_eq!(r.status, 200, "{}", r.text());
        r.json().as_array().expect("a list").clone()
    }
}

/// Opens a WebSocket to `url`, offering `protocol`; over TLS (no
/// verification: the certificate is self-signed) for `wss://`.
fn open(url: &str, protocol: Option<&str>) -> Result<WebSocket<Box<dyn Stream>>, WsError> {
    let mut request = url.into_client_request().expect("a valid URL");
    if let Some(protocol) = protocol {
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            HeaderValue::from_str(protocol).expect("a header value"),
        );
    }
    let uri = request.uri().clone();
    let host = uri.host().expect("a host");
    let addr: SocketAddr = format!("{host}:{}", uri.port_u16().expect("a port"))
        .parse()
        .expect("an IP address");
    let tcp = TcpStream::connect_timeout(&addr, WAIT).expect("connect");
    tcp.set_read_timeout(Some(WAIT)).expect("read timeout");
    let stream: Box<dyn Stream> = if uri.scheme_str() == Some("wss") {
        let name = ServerName::IpAddress(addr.ip().into());
        let tls = rustls::ClientConnection::new(sb_sip_transport::unverified_client_config(), name)
            .expect("TLS client");
        Box::new(rustls::StreamOwned::new(tls, tcp))
    } else {
        Box::new(tcp)
    };
    match tokio_tungstenite::tungstenite::client(request, stream) {
        Ok((socket, response)) => {
            assert_eq!(
                response
                    .headers()
                    .get("Sec-WebSocket-Protocol")
                    .map(HeaderValue::as_bytes),
                Some(&b"sip"[..]),
                "the server selects the sip subprotocol"
            );
            Ok(socket)
        }
        Err(tokio_tungstenite::tungstenite::HandshakeError::Failure(error)) => Err(error),
        Err(tokio_tungstenite::tungstenite::HandshakeError::Interrupted(_)) => {
            panic!("a blocking handshake is never interrupted")
        }
    }
}

/// The next SIP message received, as text.
fn receive(socket: &mut WebSocket<Box<dyn Stream>>) -> String {
    loop {
        match socket.read().expect("a frame") {
            Message::Text(text) => return text.to_string(),
            Message::Binary(bytes) => return String::from_utf8(bytes.to_vec()).expect("UTF-8"),
            _ => {}
        }
    }
}

fn header<'a>(message: &'a str, name: &str) -> Option<&'a str> {
    message.split("\r\n").find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

fn status(message: &str) -> u16 {
    message
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("not a response: {message}"))
}

/// A REGISTER over `transport` (`WS`/`WSS`) for alice, as a browser sends it
/// (`.invalid` Via host and Contact).
fn register(transport: &str, cseq: u32, expires: u32, authorization: Option<&str>) -> String {
    let auth = authorization.map_or_else(String::new, |a| format!("Authorization: {a}\r\n"));
    format!(
        "REGISTER sip:example.test SIP/2.0\r\n\
         Via: SIP/2.0/{transport} df7jal23ls0d.invalid;branch=z9hG4bKws{cseq}x{expires};rport\r\n\
         Max-Forwards: 70\r\n\
         To: <sip:alice@example.test>\r\n\
         From: <sip:alice@example.test>;tag=wsclient1\r\n\
         Call-ID: ws-register-1@example.test\r\n\
         CSeq: {cseq} REGISTER\r\n\
         Contact: <sip:alice@df7jal23ls0d.invalid;transport=ws>;expires={expires}\r\n\
         {auth}Content-Length: 0\r\n\r\n"
    )
}

/// Registers alice over `socket`: 401, then 200 with digest credentials.
fn register_with_digest(socket: &mut WebSocket<Box<dyn Stream>>, transport: &str) {
    socket
        .send(Message::text(register(transport, 1, 300, None)))
        .expect("send REGISTER");
    let challenge = receive(socket);
    assert_eq!(status(&challenge), 401, "{challenge}");
    let value = header(&challenge, "WWW-Authenticate").expect("a challenge");
    let challenge = Challenge::parse(value).expect("a digest challenge");
    let authorization = sb_sip_auth::respond(
        &challenge,
        "REGISTER",
        "sip:example.test",
        "alice",
        ClientSecret::Password("alice-secret"),
        "0a4f113b",
        1,
    )
    .expect("a response");
    socket
        .send(Message::text(register(
            transport,
            2,
            300,
            Some(&authorization),
        )))
        .expect("send REGISTER");
    let ok = receive(socket);
    assert_eq!(status(&ok), 200, "{ok}");
    assert!(
        header(&ok, "Contact").is_some_and(|c| c.contains("df7jal23ls0d.invalid")),
        "{ok}"
    );
}

/// Registers over `url`, checks the live API shows the binding with
/// `transport`, closes the socket and waits for the binding to go.
fn register_and_close(server: &WsServer, url: &str, transport: &str) {
    let mut socket = open(url, Some("sip")).expect("the handshake succeeds");
    register_with_digest(&mut socket, transport);
    let regs = server.registrations();
    assert_eq!(regs.len(), 1, "{regs:?}");
    assert_eq!(regs[0]["user"], "alice");
    assert_eq!(
        regs[0]["transport"],
        transport.to_ascii_lowercase(),
        "{regs:?}"
    );
    assert!(
        regs[0]["contact"]
            .as_str()
            .is_some_and(|c| c.contains(".invalid")),
        "{regs:?}"
    );
    socket.close(None).expect("close");
    // Read until the server's close frame ends the connection.
    while socket.read().is_ok() {}
    sb_e2e::eventually("the binding removed with its connection", WAIT, || {
        server.registrations().is_empty().then_some(())
    });
}

#[test]
fn registers_over_ws_on_its_own_port_and_the_binding_goes_with_the_socket() {
    let server = WsServer::start();
    register_and_close(&server, &format!("ws://{}", server.ws), "WS");
}

#[test]
fn registers_over_the_http_port_ws_path() {
    let server = WsServer::start();
    register_and_close(&server, &server.http_ws_url(), "WS");
}

#[test]
fn registers_over_wss_with_the_generated_certificate() {
    let server = WsServer::start();
    register_and_close(&server, &format!("wss://{}", server.wss), "WSS");
}

#[test]
fn a_handshake_without_the_sip_subprotocol_is_refused() {
    let server = WsServer::start();
    for url in [format!("ws://{}", server.ws), server.http_ws_url()] {
        for protocol in [None, Some("chat")] {
            match open(&url, protocol) {
                Err(WsError::Http(response)) => {
                    assert_eq!(response.status(), 400, "{url} {protocol:?}");
                }
                Err(other) => panic!("{url} {protocol:?}: unexpected error {other}"),
                Ok(_) => panic!("{url} {protocol:?}: handshake accepted"),
            }
        }
    }
}

#[test]
fn a_frame_with_two_messages_is_dropped_and_the_connection_serves_on() {
    let server = WsServer::start();
    let mut socket = open(&format!("ws://{}", server.ws), Some("sip")).expect("handshake");
    let options = |n: u32| {
        format!(
            "OPTIONS sip:example.test SIP/2.0\r\n\
             Via: SIP/2.0/WS df7jal23ls0d.invalid;branch=z9hG4bKopt{n};rport\r\n\
             Max-Forwards: 70\r\n\
             To: <sip:example.test>\r\n\
             From: <sip:alice@example.test>;tag=opt{n}\r\n\
             Call-ID: ws-options-{n}@example.test\r\n\
             CSeq: 1 OPTIONS\r\n\
             Content-Length: 0\r\n\r\n"
        )
    };
    let two = format!("{}{}", options(1), options(2));
    socket.send(Message::text(two)).expect("send two messages");
    socket.send(Message::text(options(3))).expect("send one");
    let answer = receive(&mut socket);
    assert!(
        answer.starts_with("SIP/2.0 ") && answer.contains("z9hG4bKopt3"),
        "only the single message is answered: {answer}"
    );
}

/// How long the browser run may take.
const BROWSER_RUN: Duration = Duration::from_secs(120);

#[test]
fn jssip_in_chromium_registers_over_ws_and_wss() {
    browser::require_tools();
    browser::install_packages("jssip");
    let server = WsServer::start();
    let base = server.server.http.clone().expect("HTTP served");
    let urls = [
        format!("ws://{}", server.ws),
        server.http_ws_url(),
        format!("wss://{}", server.wss),
    ]
    .join(",");
    let log_path = server.server.dir.join("register-run.log");
    let log = std::fs::File::create(&log_path).expect("log file");
    let mut child = Command::new("node")
        .arg("register.mjs")
        .current_dir(browser::dir())
        .env("SB_HTTP_URL", &base)
        .env("SB_ADMIN_NAME", "root")
        .env("SB_ADMIN_PASSWORD", "root-password")
        .env("SB_USER", "alice@example.test")
        .env("SB_USER_PASSWORD", "alice-secret")
        .env("SB_WS_URLS", &urls)
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log file"))
        .stderr(log)
        .spawn()
        .expect("run node");
    let status = browser::wait_or_stop(&mut child, BROWSER_RUN);
    let output = std::fs::read_to_string(&log_path).unwrap_or_default();
    assert!(
        status.is_some_and(|s| s.success()),
        "register.mjs failed (or ran over {BROWSER_RUN:?}):\n{output}"
    );
    for url in urls.split(',') {
        assert!(
            output.contains(&format!(
                "ok: registered, OPTIONS 200 and unregistered over {url}"
            )),
            "{url} not reported:\n{output}"
        );
    }
}
