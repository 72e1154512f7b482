//! `GET /openapi.json` and `GET /docs`, generated from the code and served offline.

use serde_json::Value;

use crate::common::TestApp;

async fn openapi_describes_every_endpoint_and_the_token_scheme(app: TestApp) {
    let resp = app.send("GET", "/openapi.json", None, None).await;
    resp.expect(200);
    assert_eq!(resp.header("content-type"), Some("application/json"));
    let doc = resp.body;
    assert_eq!(doc["openapi"], "3.1.0");
    let expected = [
        ("/health-check", "get"),
        ("/health-check/replica", "get"),
        ("/livez", "get"),
        ("/users", "post"),
        ("/users", "get"),
        ("/users/{user_id}", "get"),
        ("/users/{user_id}", "delete"),
        ("/users/{user_id}/token", "post"),
        ("/users/{user_id}/items", "post"),
        ("/users/{user_id}/items", "get"),
        ("/users/{user_id}/items/{item_id}", "get"),
        ("/users/{user_id}/items/{item_id}", "patch"),
        ("/users/{user_id}/items/{item_id}", "delete"),
        ("/items", "get"),
        ("/me/items", "get"),
    ];
    for (path, method) in expected {
        let operation = &doc["paths"][path][method];
        assert!(operation.is_object(), "{method} {path} is documented");
        let open = ["/health-check", "/health-check/replica", "/livez"].contains(&path)
            || (path == "/users" && method == "post");
        if !open {
            assert_eq!(
                operation["security"][0]["api_token"],
                Value::Array(vec![]),
                "{method} {path} needs X-API-TOKEN"
            );
            assert!(
                operation["responses"]["401"].is_object(),
                "{method} {path} documents 401"
            );
        }
        if operation.get("parameters").is_some() || operation.get("requestBody").is_some() {
            assert!(
                operation["responses"]["422"].is_object(),
                "{method} {path} documents 422"
            );
        }
    }
    let scheme = &doc["components"]["securitySchemes"]["api_token"];
    assert_eq!(scheme["type"], "apiKey");
    assert_eq!(scheme["in"], "header");
    assert_eq!(scheme["name"], "X-API-TOKEN");
    for schema in [
        "User",
        "Item",
        "UserWithToken",
        "UserCreate",
        "ItemCreate",
        "ItemUpdate",
        "HttpError",
        "HttpValidationError",
    ] {
        assert!(
            doc["components"]["schemas"][schema].is_object(),
            "schema {schema}"
        );
    }
    let item = &doc["components"]["schemas"]["Item"]["properties"];
    let fields: Vec<&str> = item
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        fields,
        [
            "title",
            "description",
            "id",
            "owner_id",
            "created_at",
            "done"
        ]
    );
}

async fn swagger_ui_is_served_from_the_binary(app: TestApp) {
    let redirect = app.send("GET", "/docs", None, None).await;
    assert!(
        redirect.status.is_redirection() || redirect.status == 200,
        "{}",
        redirect.status
    );
    // Assets are stored gzipped in the binary and served as such (browsers all accept it).
    let gunzip = |resp: &crate::common::Resp| {
        assert_eq!(resp.header("content-encoding"), Some("gzip"));
        let mut text = String::new();
        std::io::Read::read_to_string(
            &mut flate2::read::GzDecoder::new(&resp.bytes[..]),
            &mut text,
        )
        .unwrap();
        text
    };
    let page = app.send("GET", "/docs/", None, None).await;
    page.expect(200);
    assert!(gunzip(&page).contains("swagger-ui"), "{}", page.text);
    let script = app
        .send("GET", "/docs/swagger-ui-bundle.js", None, None)
        .await;
    script.expect(200);
    assert!(
        gunzip(&script).len() > 1_000_000,
        "the bundle itself, not a CDN link"
    );
    // Source maps are left out of the binary.
    app.send("GET", "/docs/swagger-ui-bundle.js.map", None, None)
        .await
        .expect(404);
    let config = app
        .send("GET", "/docs/swagger-initializer.js", None, None)
        .await;
    assert!(config.text.contains("/openapi.json"), "{}", config.text);
}

async fn swagger_ui_negotiates_gzip_and_says_so_to_caches(app: TestApp) {
    let plain = app
        .raw(
            "GET",
            "/docs/swagger-ui-bundle.js",
            &[("accept-encoding", "identity")],
            axum::body::Body::empty(),
        )
        .await;
    plain.expect(200);
    assert_eq!(plain.header("content-encoding"), None);
    assert_eq!(plain.header("vary"), Some("Accept-Encoding"));
    assert!(plain.text.len() > 1_000_000 && plain.text.contains("SwaggerUI"));
    let gzipped = app
        .raw(
            "GET",
            "/docs/swagger-ui-bundle.js",
            &[("accept-encoding", "br, gzip;q=0.5")],
            axum::body::Body::empty(),
        )
        .await;
    assert_eq!(gzipped.header("content-encoding"), Some("gzip"));
    assert_eq!(gzipped.header("vary"), Some("Accept-Encoding"));
    assert!(gzipped.bytes.len() < plain.bytes.len() / 2);
    let missing = app.send("GET", "/docs/nothing-here.js", None, None).await;
    missing.expect(404);
    assert_eq!(missing.body, serde_json::json!({"detail": "Not Found"}));
}

// The documents do not depend on the database: SQLite is enough.
#[tokio::test]
async fn openapi_document() {
    openapi_describes_every_endpoint_and_the_token_scheme(
        TestApp::start(crate::common::Kind::Sqlite).await.unwrap(),
    )
    .await;
}

#[tokio::test]
async fn swagger_ui_encoding() {
    swagger_ui_negotiates_gzip_and_says_so_to_caches(
        TestApp::start(crate::common::Kind::Sqlite).await.unwrap(),
    )
    .await;
}

#[tokio::test]
async fn swagger_ui() {
    swagger_ui_is_served_from_the_binary(
        TestApp::start(crate::common::Kind::Sqlite).await.unwrap(),
    )
    .await;
}
