//! Static files from the binary (the web page, Swagger UI): content negotiation of gzip, and
//! the headers that go with a file.

use std::borrow::Cow;
use std::io::{Read, Write};

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// A file as stored: identity or gzip bytes; the other form is made when a client needs it.
pub enum Stored<'a> {
    Identity(Cow<'a, [u8]>),
    Gzip(Cow<'a, [u8]>),
}

/// What a response needs besides the bytes.
pub struct Headers {
    pub content_type: Cow<'static, str>,
    pub cache_control: &'static str,
    pub etag: Option<String>,
    /// A content security policy of the file's own; `None` leaves the default.
    pub csp: Option<&'static str>,
}

/// Whether the client accepts gzip (RFC 9110, section 12.5.3): without an
/// `Accept-Encoding` header any coding is acceptable; with one, gzip must be listed (or `*`)
/// with a non-zero weight.
pub fn accepts_gzip(request: &HeaderMap) -> bool {
    let values: Vec<&str> = request
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    if values.is_empty() {
        return true;
    }
    let mut gzip = None;
    let mut any = None;
    for coding in values.iter().flat_map(|v| v.split(',')) {
        let mut parts = coding.split(';');
        let name = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
        let weight = parts
            .filter_map(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .or_else(|| p.trim().strip_prefix("Q="))
            })
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        match name.as_str() {
            "gzip" | "x-gzip" => gzip = Some(weight > 0.0),
            "*" => any = Some(weight > 0.0),
            _ => {}
        }
    }
    gzip.or(any).unwrap_or(false)
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder
        .write_all(bytes)
        .expect("writing to memory cannot fail");
    encoder.finish().expect("writing to memory cannot fail")
}

fn gunzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes).read_to_end(&mut out)?;
    Ok(out)
}

/// The file in the form the client accepts, with `Vary: Accept-Encoding` (a cache must not
/// hand the gzip form to a client that refused it).
pub fn respond(request: &HeaderMap, stored: Stored<'_>, headers: Headers) -> Response {
    let want_gzip = accepts_gzip(request);
    let (body, gzipped): (Vec<u8>, bool) = match stored {
        Stored::Gzip(bytes) if want_gzip => (bytes.into_owned(), true),
        Stored::Gzip(bytes) => match gunzip(&bytes) {
            Ok(plain) => (plain, false),
            Err(err) => {
                tracing::error!(error = %err, "an embedded file does not decompress");
                return super::error::detail(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Internal Server Error",
                );
            }
        },
        Stored::Identity(bytes) => (bytes.into_owned(), false),
    };
    let mut response = body.into_response();
    let out = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&headers.content_type) {
        out.insert(header::CONTENT_TYPE, value);
    }
    if gzipped {
        out.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    out.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    out.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(headers.cache_control),
    );
    if let Some(etag) = headers.etag.and_then(|e| HeaderValue::from_str(&e).ok()) {
        out.insert(header::ETAG, etag);
    }
    if let Some(csp) = headers.csp {
        out.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(csp),
        );
    }
    response
}

/// A content type by file extension, for the kinds of files we embed.
pub fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or_default() {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "webmanifest" => "application/manifest+json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_str(value).unwrap(),
        );
        headers
    }

    #[test]
    fn gzip_is_negotiated_as_rfc_9110_says() {
        assert!(accepts_gzip(&HeaderMap::new()), "no header: anything goes");
        assert!(accepts_gzip(&accept("gzip, deflate, br")));
        assert!(accepts_gzip(&accept("br;q=1.0, gzip;q=0.8")));
        assert!(accepts_gzip(&accept("*")));
        assert!(!accepts_gzip(&accept("identity")));
        assert!(!accepts_gzip(&accept("")));
        assert!(!accepts_gzip(&accept("gzip;q=0")));
        assert!(!accepts_gzip(&accept("*;q=0")));
        assert!(!accepts_gzip(&accept("br, *;q=0")));
        assert!(accepts_gzip(&accept("GZIP")));
    }

    #[test]
    fn gzip_round_trips() {
        let text = b"hello hello hello hello";
        assert_eq!(gunzip(&gzip(text)).unwrap(), text);
    }
}
