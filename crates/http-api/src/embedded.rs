//! Files of `crates/http-api/assets/` embedded in the binary (the console, the browser
//! phone), answered with their media type, `Cache-Control: no-cache` and a strong `ETag`.
//!
//! The files change with the binary, not with their names, so browsers revalidate on every
//! load; the `ETag` (the first 128 bits of the content's SHA-256, computed on first use)
//! lets an unchanged file answer `304 Not Modified` without its body (RFC 9110 §13.1.2,
//! RFC 9111 §5.2.2.4). A file may also come gzip-compressed ahead of time (the phone's
//! 1 MB SIP library is 107 kB so): clients that accept gzip get that representation, with
//! `Content-Encoding: gzip` and a tag of its own, and every answer for such a file says
//! `Vary: Accept-Encoding` (RFC 9110 §12.5.3). Nothing is compressed at run time.

use std::sync::OnceLock;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use sha2::{Digest as _, Sha256};

/// Embeds `assets/$path` as a file named `$name`; with `gzip`, also `assets/$path.gz`, the
/// same file compressed.
macro_rules! embed {
    ($name:literal, $path:literal, gzip) => {
        $crate::embedded::Embedded::new(
            $name,
            include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/", $path)),
        )
        .with_gzip(include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/assets/",
            $path,
            ".gz"
        )))
    };
    ($name:literal, $path:literal) => {
        $crate::embedded::Embedded::new(
            $name,
            include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/", $path)),
        )
    };
    ($name:literal) => {
        $crate::embedded::embed!($name, $name)
    };
}
pub(crate) use embed;

/// One embedded file.
#[derive(Debug)]
pub(crate) struct Embedded {
    /// The name it is served under (the last path segment).
    pub(crate) name: &'static str,
    /// Its bytes.
    pub(crate) content: &'static [u8],
    /// The same bytes gzip-compressed, when the file comes so too.
    pub(crate) gzip: Option<&'static [u8]>,
    etag: OnceLock<HeaderValue>,
    gzip_etag: OnceLock<HeaderValue>,
}

impl Embedded {
    /// A file named `name` holding `content`.
    pub(crate) const fn new(name: &'static str, content: &'static [u8]) -> Embedded {
        Embedded {
            name,
            content,
            gzip: None,
            etag: OnceLock::new(),
            gzip_etag: OnceLock::new(),
        }
    }

    /// The file with its gzip-compressed bytes.
    pub(crate) const fn with_gzip(mut self, gzip: &'static [u8]) -> Embedded {
        self.gzip = Some(gzip);
        self
    }

    /// The entity tag of the plain bytes: `"` + 32 hex digits of their SHA-256 + `"`.
    pub(crate) fn etag(&self) -> &HeaderValue {
        self.etag.get_or_init(|| tag_of(self.content))
    }

    /// The response to a GET with `request` headers: the gzip representation when there is
    /// one and the client accepts it; 304 when `If-None-Match` names the chosen
    /// representation's tag, else 200 with its bytes.
    pub(crate) fn respond(&self, request: &HeaderMap) -> Response {
        let gzip = self.gzip.filter(|_| accepts_gzip(request));
        let (body, etag) = match gzip {
            Some(bytes) => (bytes, self.gzip_etag.get_or_init(|| tag_of(bytes))),
            None => (self.content, self.etag()),
        };
        let fresh = request
            .get_all(header::IF_NONE_MATCH)
            .iter()
            .any(|value| matches_etag(value.as_bytes(), etag.as_bytes()));
        let mut response = if fresh {
            let mut r = Response::new(Body::empty());
            *r.status_mut() = StatusCode::NOT_MODIFIED;
            r
        } else {
            let mut r = Response::new(Body::from(body));
            let headers = r.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(content_type(self.name)),
            );
            if gzip.is_some() {
                headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            }
            r
        };
        let headers = response.headers_mut();
        headers.insert(header::ETAG, etag.clone());
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        if self.gzip.is_some() {
            headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
        }
        response
    }
}

/// `"` + 32 hex digits of the SHA-256 of `bytes` + `"`.
fn tag_of(bytes: &[u8]) -> HeaderValue {
    let digest = Sha256::digest(bytes);
    let mut text = String::with_capacity(34);
    text.push('"');
    for byte in &digest[..16] {
        text.push(char::from(HEX[usize::from(byte >> 4)]));
        text.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    text.push('"');
    HeaderValue::try_from(text).expect("quoted hex digits are a valid header value")
}

/// Whether `Accept-Encoding` lists `gzip` (or `x-gzip`, or `*`) with a weight above 0
/// (RFC 9110 §12.5.3).
fn accepts_gzip(request: &HeaderMap) -> bool {
    request
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .flat_map(|value| value.as_bytes().split(|&b| b == b','))
        .any(|item| {
            let mut parts = item.split(|&b| b == b';');
            let coding = parts.next().unwrap_or_default().trim_ascii();
            let named = coding.eq_ignore_ascii_case(b"gzip")
                || coding.eq_ignore_ascii_case(b"x-gzip")
                || coding == b"*";
            let refused = parts.any(|p| {
                let p = p.trim_ascii();
                let weight = p
                    .strip_prefix(b"q=")
                    .or_else(|| p.strip_prefix(b"Q="))
                    .map(<[u8]>::trim_ascii);
                weight.is_some_and(|w| w.iter().all(|&b| b == b'0' || b == b'.'))
            });
            named && !refused
        })
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Whether an `If-None-Match` field value names `etag` (weak comparison, RFC 9110
/// §13.1.2: a `W/` prefix is ignored) or is `*`.
fn matches_etag(field: &[u8], etag: &[u8]) -> bool {
    field.split(|&b| b == b',').any(|item| {
        let item = item.trim_ascii();
        let item = item.strip_prefix(b"W/").unwrap_or(item);
        item == b"*" || item == etag
    })
}

/// The file called `name` in `files`.
pub(crate) fn find<'a>(files: &'a [Embedded], name: &str) -> Option<&'a Embedded> {
    files.iter().find(|f| f.name == name)
}

/// The media type of a file, by its extension.
pub(crate) fn content_type(name: &str) -> &'static str {
    match name.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("txt") => "text/plain; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("json") => "application/json",
        Some("woff2") => "font/woff2",
        _ => "application/octet-stream",
    }
}

/// The names of the files directly in `assets/$dir` (`""` for `assets/` itself), sorted,
/// without subdirectories and hidden files; for the tests that compare a list with its
/// directory.
#[cfg(test)]
pub(crate) fn files_on_disk(dir: &str) -> Vec<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("assets")
        .join(dir);
    let mut names: Vec<String> = std::fs::read_dir(&path)
        .expect("the assets directory exists")
        .map(|e| e.expect("readable entry"))
        .filter(|e| e.file_type().expect("file type").is_file())
        .map(|e| e.file_name().into_string().expect("UTF-8 name"))
        .filter(|n| !n.starts_with('.'))
        .collect();
    names.sort();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    static FILE: Embedded = Embedded::new("a.js", b"console.log(1);\n");
    static PACKED: Embedded = Embedded::new("b.js", b"plain").with_gzip(b"packed");

    fn accepting(encoding: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_str(encoding).expect("valid"),
        );
        headers
    }

    fn request(if_none_match: Option<&str>) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Some(value) = if_none_match {
            headers.insert(
                header::IF_NONE_MATCH,
                HeaderValue::from_str(value).expect("valid"),
            );
        }
        headers
    }

    #[test]
    fn the_etag_is_the_quoted_start_of_the_sha256() {
        let etag = FILE.etag().to_str().expect("ASCII");
        let digest = Sha256::digest(b"console.log(1);\n");
        let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(etag, format!("\"{hex}\""));
    }

    #[test]
    fn a_matching_if_none_match_answers_304_without_a_body() {
        let etag = FILE.etag().to_str().expect("ASCII").to_owned();
        for value in [
            etag.clone(),
            format!("W/{etag}"),
            format!("\"other\", {etag}"),
            "*".to_owned(),
        ] {
            let r = FILE.respond(&request(Some(&value)));
            assert_eq!(r.status(), StatusCode::NOT_MODIFIED, "{value}");
            assert_eq!(r.headers()[header::ETAG], etag.as_str());
            assert_eq!(r.headers()[header::CACHE_CONTROL], "no-cache");
            assert!(r.headers().get(header::CONTENT_TYPE).is_none());
        }
    }

    #[test]
    fn another_tag_or_none_answers_200_with_the_content() {
        for value in [None, Some("\"0123\""), Some("")] {
            let r = FILE.respond(&request(value));
            assert_eq!(r.status(), StatusCode::OK, "{value:?}");
            assert_eq!(
                r.headers()[header::CONTENT_TYPE],
                "text/javascript; charset=utf-8"
            );
            assert_eq!(r.headers()[header::CACHE_CONTROL], "no-cache");
        }
    }

    #[test]
    fn gzip_is_accepted_when_listed_with_a_weight_above_zero() {
        for yes in [
            "gzip",
            "gzip, deflate, br",
            "br;q=1.0, gzip;q=0.8",
            "GZIP",
            "x-gzip",
            "*",
            "deflate, gzip ; q=0.5",
        ] {
            assert!(accepts_gzip(&accepting(yes)), "{yes}");
        }
        for no in [
            "identity",
            "br, deflate",
            "gzip;q=0",
            "gzip; q=0.000",
            "gzipx",
        ] {
            assert!(!accepts_gzip(&accepting(no)), "{no}");
        }
        assert!(!accepts_gzip(&HeaderMap::new()));
    }

    #[tokio::test]
    async fn a_client_accepting_gzip_gets_the_compressed_bytes_with_their_own_tag() {
        let packed = PACKED.respond(&accepting("gzip, br"));
        assert_eq!(packed.status(), StatusCode::OK);
        assert_eq!(packed.headers()[header::CONTENT_ENCODING], "gzip");
        assert_eq!(packed.headers()[header::VARY], "accept-encoding");
        assert_eq!(
            packed.headers()[header::CONTENT_TYPE],
            "text/javascript; charset=utf-8"
        );
        let gzip_tag = packed.headers()[header::ETAG].clone();
        assert_eq!(gzip_tag, tag_of(b"packed"));
        let body = axum::body::to_bytes(packed.into_body(), 100)
            .await
            .expect("body");
        assert_eq!(&body[..], b"packed");

        let plain = PACKED.respond(&accepting("identity"));
        assert!(plain.headers().get(header::CONTENT_ENCODING).is_none());
        assert_eq!(plain.headers()[header::VARY], "accept-encoding");
        assert_eq!(plain.headers()[header::ETAG], PACKED.etag());
        assert_ne!(PACKED.etag(), gzip_tag);
        let body = axum::body::to_bytes(plain.into_body(), 100)
            .await
            .expect("body");
        assert_eq!(&body[..], b"plain");

        // A tag revalidates its own representation only.
        let mut headers = accepting("gzip");
        headers.insert(header::IF_NONE_MATCH, gzip_tag.clone());
        assert_eq!(PACKED.respond(&headers).status(), StatusCode::NOT_MODIFIED);
        headers.insert(header::IF_NONE_MATCH, PACKED.etag().clone());
        assert_eq!(PACKED.respond(&headers).status(), StatusCode::OK);
        let mut headers = accepting("identity");
        headers.insert(header::IF_NONE_MATCH, gzip_tag);
        assert_eq!(PACKED.respond(&headers).status(), StatusCode::OK);
    }

    #[test]
    fn a_file_without_a_compressed_form_does_not_vary() {
        let r = FILE.respond(&accepting("gzip"));
        assert!(r.headers().get(header::CONTENT_ENCODING).is_none());
        assert!(r.headers().get(header::VARY).is_none());
    }
}
