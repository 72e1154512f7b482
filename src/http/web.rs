//! The web page at `/`: the files under `web/dist/` (built from `web/src/` and committed),
//! embedded in the binary at compile time. Asset names carry a content hash, so they are
//! cached for good; the page itself is revalidated on every load (`no-cache` with an ETag).
//! Both get a content security policy of their own: scripts, styles and requests only from
//! this origin, nothing inline, no framing.

use std::collections::HashMap;
use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::assets::{self, Headers, Stored};
use super::error::detail;

#[derive(rust_embed::Embed)]
#[folder = "web/dist/"]
#[allow_missing = true]
struct Dist;

pub const PAGE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    img-src 'self' data:; connect-src 'self'; font-src 'self'; manifest-src 'self'; \
    base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const PAGE_CACHE: &str = "no-cache";
const ASSET_CACHE: &str = "public, max-age=31536000, immutable";

/// Every file gzipped once, at the first request for any of them.
static GZIPPED: LazyLock<HashMap<String, Vec<u8>>> = LazyLock::new(|| {
    Dist::iter()
        .filter_map(|path| Some((path.to_string(), assets::gzip(&Dist::get(&path)?.data))))
        .collect()
});

/// `GET /`.
pub async fn page(request: HeaderMap) -> Response {
    serve("index.html", PAGE_CACHE, &request)
}

/// `GET /assets/{file}`.
pub async fn asset(Path(file): Path<String>, request: HeaderMap) -> Response {
    serve(&format!("assets/{file}"), ASSET_CACHE, &request)
}

fn serve(path: &str, cache_control: &'static str, request: &HeaderMap) -> Response {
    let Some(file) = Dist::get(path) else {
        return detail(StatusCode::NOT_FOUND, "Not Found");
    };
    let etag = format!("\"{}\"", hex::encode(&file.metadata.sha256_hash()[..16]));
    let matches = request
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|tag| tag.trim().trim_start_matches("W/") == etag);
    if matches {
        let mut response = StatusCode::NOT_MODIFIED.into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static(cache_control),
        );
        headers.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
        if let Ok(value) = HeaderValue::from_str(&etag) {
            headers.insert(header::ETAG, value);
        }
        return response;
    }
    let stored = match GZIPPED.get(path) {
        Some(gzipped) if assets::accepts_gzip(request) => Stored::Gzip(gzipped.into()),
        _ => Stored::Identity(file.data),
    };
    assets::respond(
        request,
        stored,
        Headers {
            content_type: assets::content_type(path).into(),
            cache_control,
            etag: Some(etag),
            csp: Some(PAGE_CSP),
        },
    )
}
