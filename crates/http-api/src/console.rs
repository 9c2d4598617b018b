//! The web console: static files from `crates/http-api/assets/`, embedded in the binary.
//! `GET /` serves `index.html`, `GET /assets/{file}` the others. To add a file, put it in
//! the directory and add one line to [`FILES`]; a test fails while the list and the
//! directory differ.

use axum::body::Body;
use axum::http::{HeaderValue, Method, header};
use axum::response::Response;

use crate::error::ApiError;
use crate::extract::Segments;
use crate::live::Live;
use crate::routes::{Access, Routes};

/// Embeds `assets/$name`.
macro_rules! asset {
    ($name:literal) => {
        (
            $name,
            include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/", $name)).as_slice(),
        )
    };
}

/// Every console file: name and content.
pub(crate) const FILES: &[(&str, &[u8])] = &[
    asset!("index.html"),
    asset!("app.css"),
    asset!("app.js"),
    asset!("access.js"),
    asset!("api.js"),
    asset!("cdrs.js"),
    asset!("dialplans.js"),
    asset!("live.js"),
    asset!("resources.js"),
    asset!("ui.js"),
    asset!("users.js"),
    asset!("icon.svg"),
];

pub(crate) fn routes<L: Live>(r: Routes<L>) -> Routes<L> {
    r.add(Method::GET, "/", Access::Public, index).add(
        Method::GET,
        "/assets/{file}",
        Access::Public,
        asset,
    )
}

/// The media type of a file, by its extension.
fn content_type(name: &str) -> &'static str {
    match name.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("json") => "application/json",
        Some("woff2") => "font/woff2",
        _ => "application/octet-stream",
    }
}

fn serve(name: &str) -> Result<Response, ApiError> {
    let (name, content) = FILES
        .iter()
        .find(|(n, _)| *n == name)
        .ok_or_else(|| ApiError::not_found(format!("no console file {name}")))?;
    let mut response = Response::new(Body::from(*content));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(name)),
    );
    // Revalidate on every load: the files change with the binary, not with their names.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(response)
}

async fn index() -> Result<Response, ApiError> {
    serve("index.html")
}

async fn asset(Segments(file): Segments<String>) -> Result<Response, ApiError> {
    serve(&file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_matches_the_directory() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/assets");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .expect("the assets directory exists")
            .map(|e| {
                e.expect("readable entry")
                    .file_name()
                    .into_string()
                    .expect("UTF-8 name")
            })
            .filter(|n| !n.starts_with('.'))
            .collect();
        on_disk.sort();
        let mut listed: Vec<String> = FILES.iter().map(|(n, _)| (*n).to_owned()).collect();
        listed.sort();
        assert_eq!(listed, on_disk, "console::FILES and assets/ differ");
    }

    #[test]
    fn every_file_has_a_known_type() {
        for (name, _) in FILES {
            assert_ne!(content_type(name), "application/octet-stream", "{name}");
        }
    }
}
