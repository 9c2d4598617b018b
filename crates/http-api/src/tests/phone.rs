//! The browser phone's page and files: types, cache headers, conditional requests, and the
//! page's own Content-Security-Policy.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};

use super::schema::assert_documented;
use super::{Harness, Reply};
use crate::headers::{CONTENT_SECURITY_POLICY, PHONE_CONTENT_SECURITY_POLICY};

async fn get_if_none_match(h: &Harness, path: &str, etag: &str) -> Reply {
    let request = Request::builder()
        .method(Method::GET)
        .uri(path)
        .header(header::IF_NONE_MATCH, etag)
        .body(Body::empty())
        .expect("request");
    h.send(request).await
}

#[tokio::test]
async fn the_page_is_html_with_a_policy_that_allows_websockets() {
    let h = Harness::new().await;
    let page = h.call(Method::GET, "/phone", None, None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_documented(&Method::GET, "/phone", &page);
    assert_eq!(
        page.headers[header::CONTENT_TYPE],
        "text/html; charset=utf-8"
    );
    assert_eq!(page.headers[header::CACHE_CONTROL], "no-cache");
    assert!(page.text().contains("<title>Switchboard phone</title>"));
    assert_eq!(
        page.headers[header::CONTENT_SECURITY_POLICY],
        PHONE_CONTENT_SECURITY_POLICY
    );
    let policy = PHONE_CONTENT_SECURITY_POLICY;
    assert!(policy.contains("connect-src 'self' ws: wss:;"), "{policy}");
    // Everything else is the console's policy: no inline code, no framing.
    for directive in CONTENT_SECURITY_POLICY.split(';') {
        assert!(policy.contains(directive.trim()), "{directive} missing");
    }
    assert_eq!(page.headers[header::X_FRAME_OPTIONS], "DENY");
    assert_eq!(page.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
}

#[tokio::test]
async fn other_pages_keep_the_console_policy() {
    let h = Harness::new().await;
    for path in ["/", "/phone/phone.js", "/phone/nothing", "/phone/"] {
        let reply = h.call(Method::GET, path, None, None).await;
        assert_eq!(
            reply.headers[header::CONTENT_SECURITY_POLICY],
            CONTENT_SECURITY_POLICY,
            "{path}"
        );
    }
}

#[tokio::test]
async fn the_sip_library_is_served_as_javascript_revalidated_by_etag() {
    let h = Harness::new().await;
    let script = h.call(Method::GET, "/phone/jssip.js", None, None).await;
    assert_eq!(script.status, StatusCode::OK);
    assert_documented(&Method::GET, "/phone/{file}", &script);
    assert_eq!(
        script.headers[header::CONTENT_TYPE],
        "text/javascript; charset=utf-8"
    );
    assert_eq!(script.headers[header::CACHE_CONTROL], "no-cache");
    assert!(script.body.starts_with(b"/*!\n * JsSIP 3.13.8 "));
    assert!(script.body.len() > 100_000, "the whole library");
    let etag = script.headers[header::ETAG]
        .to_str()
        .expect("ASCII")
        .to_owned();
    assert!(
        etag.starts_with('"') && etag.ends_with('"') && etag.len() == 34,
        "{etag}"
    );

    let again = get_if_none_match(&h, "/phone/jssip.js", &etag).await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert_documented(&Method::GET, "/phone/{file}", &again);
    assert!(again.body.is_empty());
    assert_eq!(again.headers[header::ETAG], etag.as_str());
    assert_eq!(again.headers[header::CACHE_CONTROL], "no-cache");

    // Browsers accept gzip: they get the compressed form, 10 times smaller.
    let request = Request::builder()
        .method(Method::GET)
        .uri("/phone/jssip.js")
        .header(header::ACCEPT_ENCODING, "gzip, deflate, br, zstd")
        .body(Body::empty())
        .expect("request");
    let packed = h.send(request).await;
    assert_eq!(packed.status, StatusCode::OK);
    assert_eq!(packed.headers[header::CONTENT_ENCODING], "gzip");
    assert_eq!(packed.headers[header::VARY], "accept-encoding");
    assert_eq!(
        packed.headers[header::CONTENT_TYPE],
        "text/javascript; charset=utf-8"
    );
    assert_eq!(packed.headers[header::CACHE_CONTROL], "no-cache");
    assert_ne!(packed.headers[header::ETAG], etag.as_str());
    assert!(packed.body.starts_with(&[0x1f, 0x8b]));
    assert!(
        packed.body.len() * 5 < script.body.len(),
        "{}",
        packed.body.len()
    );

    // Another file's tag is no match.
    let other = h.call(Method::GET, "/phone/phone.js", None, None).await;
    let other_etag = other.headers[header::ETAG].to_str().expect("ASCII");
    assert_ne!(other_etag, etag);
    let stale = get_if_none_match(&h, "/phone/jssip.js", other_etag).await;
    assert_eq!(stale.status, StatusCode::OK);
    assert_eq!(stale.body, script.body);
}

#[tokio::test]
async fn the_page_files_have_their_types() {
    let h = Harness::new().await;
    for (path, content_type) in [
        ("/phone/phone.js", "text/javascript; charset=utf-8"),
        ("/phone/phone.css", "text/css; charset=utf-8"),
        ("/phone/jssip.LICENSE.txt", "text/plain; charset=utf-8"),
    ] {
        let reply = h.call(Method::GET, path, None, None).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}");
        assert_eq!(reply.headers[header::CONTENT_TYPE], content_type, "{path}");
        assert_eq!(reply.headers[header::CACHE_CONTROL], "no-cache", "{path}");
    }
    let page = h.call(Method::GET, "/phone", None, None).await;
    let etag = page.headers[header::ETAG]
        .to_str()
        .expect("ASCII")
        .to_owned();
    let again = get_if_none_match(&h, "/phone", &etag).await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert_documented(&Method::GET, "/phone", &again);
}

#[tokio::test]
async fn unknown_phone_files_are_404() {
    let h = Harness::new().await;
    for path in ["/phone/app.js", "/phone/index.html", "/phone/..%2Fapp.js"] {
        let reply = h.call(Method::GET, path, None, None).await;
        reply.assert_error(404, "not_found", None);
        assert_documented(&Method::GET, "/phone/{file}", &reply);
    }
}

#[tokio::test]
async fn the_console_links_to_the_phone() {
    let h = Harness::new().await;
    let console = h.call(Method::GET, "/", None, None).await;
    assert!(
        console.text().contains("href=\"/phone\""),
        "{}",
        console.text()
    );
}
