//! `X-Request-Id`: an incoming id is kept when it is short and plain (so that a proxy's id
//! links the logs), otherwise a new one is made; it goes back in the response header, never
//! in a body (the bodies are the FastAPI app's).

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use rand::RngCore;

pub const HEADER: &str = "x-request-id";
const MAX_LEN: usize = 128;

/// The request's id, in the request extensions for the handlers and the logs.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

fn acceptable(value: &[u8]) -> bool {
    !value.is_empty()
        && value.len() <= MAX_LEN
        && value
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:/+=@".contains(b))
}

fn generate() -> String {
    let mut bytes = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

pub async fn middleware(mut request: Request, next: Next) -> Response {
    let id = match request.headers().get(HEADER) {
        Some(value) if acceptable(value.as_bytes()) => {
            String::from_utf8_lossy(value.as_bytes()).into_owned()
        }
        _ => generate(),
    };
    let header = HeaderValue::from_str(&id).expect("checked or generated ASCII");
    request.headers_mut().insert(HEADER, header.clone());
    request.extensions_mut().insert(RequestId(id));
    let mut response = next.run(request).await;
    response.headers_mut().insert(HEADER, header);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_ids_are_kept_and_others_replaced() {
        assert!(acceptable(b"e2e-check-1"));
        assert!(acceptable(b"Root=1-5759e988-bd862e3fe1be46a994272793"));
        assert!(!acceptable(b""));
        assert!(!acceptable(b"with space"));
        assert!(!acceptable(b"new\nline"));
        assert!(!acceptable("x".repeat(129).as_bytes()));
        assert_eq!(generate().len(), 32);
    }
}
