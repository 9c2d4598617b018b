//! A minimal HTTP/1.1 client for the end-to-end tests (plain HTTP on
//! loopback): one request per connection, bodies with Content-Length or
//! chunked transfer coding.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// A response.
#[derive(Debug, Clone)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Header (name lower-cased, value).
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked.
    pub body: Vec<u8>,
}

impl Response {
    /// The first value of header `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON (panics with the body when it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
}

/// An API client bound to a base URL (`http://127.0.0.1:PORT`), with an
/// optional bearer token.
#[derive(Debug, Clone)]
pub struct Api {
    host: String,
    /// The bearer token sent with every request, once logged in.
    pub token: Option<String>,
}

impl Api {
    /// A client of `base` (`http://HOST:PORT`).
    pub fn new(base: &str) -> Api {
        let host = base
            .strip_prefix("http://")
            .unwrap_or_else(|| panic!("only http:// is supported: {base}"))
            .trim_end_matches('/')
            .to_owned();
        Api { host, token: None }
    }

    /// Logs in and keeps the token; panics when refused.
    pub fn login(base: &str, username: &str, password: &str) -> Api {
        let mut api = Api::new(base);
        let r = api.post(
            "/api/login",
            &serde_json::json!({ "username": username, "password": password }),
        );
        assert_eq!(r.status, 200, "login of {username}: {}", r.text());
        api.token = Some(
            r.json()["token"]
                .as_str()
                .expect("a token in the login answer")
                .to_owned(),
        );
        api
    }

    /// The only call record in `/api/cdrs`, waiting up to `timeout` for it
    /// (records are written behind the call); panics unless there is
    /// exactly one by then.
    pub fn only_cdr(&self, timeout: Duration) -> serde_json::Value {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let page = self.get("/api/cdrs").json();
            if let Some(items) = page["items"].as_array()
                && let [record] = items.as_slice()
            {
                return record.clone();
            }
            assert!(
                std::time::Instant::now() < deadline,
                "one call record expected within {timeout:?}: {page}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// GET.
    pub fn get(&self, path: &str) -> Response {
        self.request("GET", path, None, &[])
    }

    /// GET with extra headers.
    pub fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Response {
        self.request("GET", path, None, headers)
    }

    /// POST JSON.
    pub fn post(&self, path: &str, body: &serde_json::Value) -> Response {
        self.request("POST", path, Some(body.to_string().as_bytes()), &[])
    }

    /// PUT JSON.
    pub fn put(&self, path: &str, body: &serde_json::Value) -> Response {
        self.request("PUT", path, Some(body.to_string().as_bytes()), &[])
    }

    /// PATCH JSON.
    pub fn patch(&self, path: &str, body: &serde_json::Value) -> Response {
        self.request("PATCH", path, Some(body.to_string().as_bytes()), &[])
    }

    /// DELETE.
    pub fn delete(&self, path: &str) -> Response {
        self.request("DELETE", path, None, &[])
    }

    /// Any request; a body is sent as `application/json`.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
        headers: &[(&str, &str)],
    ) -> Response {
        let mut stream = TcpStream::connect(&self.host)
            .unwrap_or_else(|e| panic!("connect to {}: {e}", self.host));
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
            self.host
        );
        if let Some(t) = &self.token {
            head.push_str(&format!("Authorization: Bearer {t}\r\n"));
        }
        for (n, v) in headers {
            head.push_str(&format!("{n}: {v}\r\n"));
        }
        if let Some(b) = body {
            head.push_str(&format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n",
                b.len()
            ));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).expect("send request");
        if let Some(b) = body {
            stream.write_all(b).expect("send body");
        }
        read_response(stream)
    }
}

fn read_response(stream: TcpStream) -> Response {
    let mut r = BufReader::new(stream);
    let mut line = String::new();
    r.read_line(&mut line).expect("status line");
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {line:?}"));
    let mut headers = Vec::new();
    loop {
        line.clear();
        r.read_line(&mut line).expect("header line");
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((n, v)) = l.split_once(':') {
            headers.push((n.trim().to_ascii_lowercase(), v.trim().to_owned()));
        }
    }
    let find = |n: &str| headers.iter().find(|(h, _)| h == n).map(|(_, v)| v.clone());
    let mut body = Vec::new();
    if find("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        loop {
            line.clear();
            r.read_line(&mut line).expect("chunk size");
            let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or("0"), 16)
                .unwrap_or_else(|_| panic!("bad chunk size {line:?}"));
            if size == 0 {
                break;
            }
            let mut chunk = vec![0; size];
            r.read_exact(&mut chunk).expect("chunk");
            body.extend_from_slice(&chunk);
            line.clear();
            r.read_line(&mut line).expect("chunk end");
        }
    } else if let Some(len) = find("content-length").and_then(|v| v.parse::<usize>().ok()) {
        body.resize(len, 0);
        r.read_exact(&mut body).expect("body");
    } else {
        r.read_to_end(&mut body).expect("body");
    }
    Response {
        status,
        headers,
        body,
    }
}

/// `s` as one URL path segment (RFC 3986 §3.3: unreserved characters kept,
/// everything else percent-encoded).
pub fn encode_segment(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
