//! The web console: static files from `crates/http-api/assets/`, embedded in the binary.
//! `GET /` serves `index.html`, `GET /assets/{file}` the others (see [`crate::embedded`]
//! for the cache headers). To add a file, put it in the directory and add one line to
//! [`FILES`]; a test fails while the list and the directory differ.

use axum::http::{HeaderMap, Method};
use axum::response::Response;

use crate::embedded::{Embedded, embed, find};
use crate::error::ApiError;
use crate::extract::Segments;
use crate::live::Live;
use crate::routes::{Access, Routes};

/// Every console file: name and content.
pub(crate) static FILES: [Embedded; 12] = [
    embed!("index.html"),
    embed!("app.css"),
    embed!("app.js"),
    embed!("access.js"),
    embed!("api.js"),
    embed!("cdrs.js"),
    embed!("dialplans.js"),
    embed!("live.js"),
    embed!("resources.js"),
    embed!("ui.js"),
    embed!("users.js"),
    embed!("icon.svg"),
];

pub(crate) fn routes<L: Live>(r: Routes<L>) -> Routes<L> {
    r.add(Method::GET, "/", Access::Public, index).add(
        Method::GET,
        "/assets/{file}",
        Access::Public,
        asset,
    )
}

fn serve(name: &str, request: &HeaderMap) -> Result<Response, ApiError> {
    find(&FILES, name)
        .map(|file| file.respond(request))
        .ok_or_else(|| ApiError::not_found(format!("no console file {name}")))
}

async fn index(request: HeaderMap) -> Result<Response, ApiError> {
    serve("index.html", &request)
}

async fn asset(Segments(file): Segments<String>, request: HeaderMap) -> Result<Response, ApiError> {
    serve(&file, &request)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embedded::{content_type, files_on_disk};

    #[test]
    fn the_list_matches_the_directory() {
        let mut listed: Vec<String> = FILES.iter().map(|f| f.name.to_owned()).collect();
        listed.sort();
        assert_eq!(
            listed,
            files_on_disk(""),
            "console::FILES and assets/ differ"
        );
    }

    #[test]
    fn every_file_has_a_known_type() {
        for file in &FILES {
            assert_ne!(
                content_type(file.name),
                "application/octet-stream",
                "{}",
                file.name
            );
        }
    }
}
