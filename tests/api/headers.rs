//! Response headers: security headers everywhere, no server banner, CORS only when asked.

use crate::common::{Kind, TestApp};

async fn security_headers_on_every_response(app: TestApp) {
    let (_, token) = app.signup("h@example.com").await;
    for resp in [
        app.get("/users", &token).await,
        app.send("GET", "/users", None, None).await,
        app.send("GET", "/nowhere", None, None).await,
        app.send("GET", "/livez", None, None).await,
    ] {
        assert_eq!(
            resp.header("x-content-type-options"),
            Some("nosniff"),
            "{:?}",
            resp.headers
        );
        assert_eq!(resp.header("cache-control"), Some("no-store"));
        assert_eq!(resp.header("x-frame-options"), Some("DENY"));
        assert!(
            resp.header("content-security-policy")
                .is_some_and(|csp| csp.contains("default-src 'none'"))
        );
        assert!(resp.header("server").is_none(), "no server banner");
        assert!(
            resp.header("x-request-id").is_some_and(|id| id.len() == 32),
            "a generated request id"
        );
        assert!(
            resp.header("access-control-allow-origin").is_none(),
            "CORS is off by default"
        );
    }
    // Swagger UI needs its scripts and may be cached: no strict CSP there.
    let docs = app.send("GET", "/docs/", None, None).await;
    assert_eq!(docs.header("x-content-type-options"), Some("nosniff"));
    assert!(docs.header("content-security-policy").is_none());
}

async fn request_ids_are_kept_when_plain_and_replaced_otherwise(app: TestApp) {
    let kept = app
        .raw("GET", "/livez", &[("x-request-id", "abc-123.def")], "")
        .await;
    assert_eq!(kept.header("x-request-id"), Some("abc-123.def"));
    let long = "x".repeat(200);
    for hostile in [long.as_str(), "has space", "quote\"d"] {
        let replaced = app
            .raw("GET", "/livez", &[("x-request-id", hostile)], "")
            .await;
        let id = replaced.header("x-request-id").unwrap();
        assert_ne!(id, hostile);
        assert_eq!(id.len(), 32);
    }
}

#[tokio::test]
async fn cors_answers_listed_origins_only() {
    let Some(app) = TestApp::start_with(Kind::Sqlite, |c| {
        c.cors_allow_origins = vec!["https://app.example.com".into()]
    })
    .await
    else {
        return;
    };
    let preflight = app
        .raw(
            "OPTIONS",
            "/users",
            &[
                ("origin", "https://app.example.com"),
                ("access-control-request-method", "POST"),
                ("access-control-request-headers", "x-api-token,content-type"),
            ],
            "",
        )
        .await;
    preflight.expect(200);
    assert_eq!(
        preflight.header("access-control-allow-origin"),
        Some("https://app.example.com")
    );
    let headers = preflight
        .header("access-control-allow-headers")
        .unwrap()
        .to_ascii_lowercase();
    assert!(
        headers.contains("x-api-token") && headers.contains("content-type"),
        "{headers}"
    );
    let actual = app
        .raw(
            "GET",
            "/livez",
            &[("origin", "https://app.example.com")],
            "",
        )
        .await;
    assert_eq!(
        actual.header("access-control-allow-origin"),
        Some("https://app.example.com")
    );
    let exposed = actual
        .header("access-control-expose-headers")
        .unwrap()
        .to_ascii_lowercase();
    assert!(
        exposed.contains("etag") && exposed.contains("x-request-id"),
        "{exposed}"
    );
    let other = app
        .raw(
            "GET",
            "/livez",
            &[("origin", "https://evil.example.net")],
            "",
        )
        .await;
    assert!(other.header("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn without_cors_a_preflight_is_a_plain_405() {
    let app = TestApp::start(Kind::Sqlite).await.unwrap();
    let preflight = app
        .raw(
            "OPTIONS",
            "/users",
            &[
                ("origin", "https://app.example.com"),
                ("access-control-request-method", "POST"),
            ],
            "",
        )
        .await;
    preflight.expect(405);
    assert!(preflight.header("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn security_headers() {
    security_headers_on_every_response(TestApp::start(Kind::Sqlite).await.unwrap()).await;
}

#[tokio::test]
async fn request_ids() {
    request_ids_are_kept_when_plain_and_replaced_otherwise(
        TestApp::start(Kind::Sqlite).await.unwrap(),
    )
    .await;
}
