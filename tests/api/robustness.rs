//! No input produces a 5xx or a panic, and bad input loses nothing: a fixed battery of
//! hostile requests, then a seeded random one, on every backend.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use crate::common::{Resp, TestApp};

#[track_caller]
fn assert_answered(resp: &Resp, what: &str) {
    assert!(
        resp.status.as_u16() < 500,
        "{what} -> {}: {}",
        resp.status,
        resp.text
    );
    if resp.status.as_u16() != 204 && resp.status.as_u16() != 303 {
        assert!(
            !resp.body.is_null() || resp.status == 200,
            "{what} -> {} without a JSON body: {}",
            resp.status,
            resp.text
        );
    }
}

async fn hostile_requests_get_4xx_and_change_nothing(app: TestApp) {
    let (u, token) = app.signup("owner@example.com").await;
    let item = app.item(&token, u, "precious").await;
    let item_path = format!("/users/{u}/items/{}", item["id"]);
    let bodies: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"null".to_vec(),
        b"{".to_vec(),
        b"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[".to_vec(),
        "[".repeat(5000).into_bytes(),
        br#"{"title": NaN, "done": Infinity}"#.to_vec(),
        br#"{"title": "\ud800"}"#.to_vec(),
        br#"{"title": 1e999}"#.to_vec(),
        br#"{"title": {"$gt": ""}, "description": [null]}"#.to_vec(),
        br#"{"title": 5, "done": 99999999999999999999999999}"#.to_vec(),
        vec![0xef, 0xbb, 0xbf, b'{', b'}'],
        vec![0xc3, 0x28],
        b"\x00\x01\x02".to_vec(),
    ];
    let paths = [
        format!("/users/{u}/items"),
        item_path.clone(),
        "/users".to_owned(),
        format!("/users/{u}/token"),
        "/users/%ff/items".to_owned(),
        "/users/9223372036854775808/items/-9223372036854775809".to_owned(),
        "/users/1%2F2/items".to_owned(),
        "/users/%00".to_owned(),
        "/items?limit=%00&skip=1e3&done=%ff&date=%F0%9F%8E%89".to_owned(),
        "/items?limit=99999999999999999999999999999".to_owned(),
    ];
    let content_types = [
        None,
        Some("application/json"),
        Some("text/plain"),
        Some("application/json; charset=latin-1"),
        Some("multipart/form-data; boundary=x"),
        Some("ünïcode/json"),
    ];
    for path in &paths {
        for method in ["GET", "POST", "PATCH", "DELETE", "PUT"] {
            for body in &bodies {
                for content_type in content_types {
                    let mut headers = vec![("x-api-token", token.as_str())];
                    if let Some(ct) = content_type {
                        headers.push(("content-type", ct));
                    }
                    if method == "DELETE" && path == &item_path {
                        continue;
                    }
                    let resp = app.raw(method, path, &headers, body.clone()).await;
                    assert_answered(
                        &resp,
                        &format!(
                            "{method} {path} {content_type:?} {:?}",
                            String::from_utf8_lossy(&body[..body.len().min(40)])
                        ),
                    );
                }
            }
        }
    }
    // The item survived every failed attempt unchanged (the valid PATCH bodies above were
    // all rejected), and no stray rows appeared.
    let read = app.get(&item_path, &token).await;
    assert_eq!(read.body, item);
    assert_eq!(app.db.column("SELECT COUNT(*) FROM items").await, ["1"]);
    assert_eq!(app.db.column("SELECT COUNT(*) FROM users").await, ["1"]);
}

fn random_json(rng: &mut StdRng, depth: u32) -> Value {
    match rng.gen_range(0..if depth > 2 { 6 } else { 8 }) {
        0 => Value::Null,
        1 => json!(rng.r#gen::<bool>()),
        2 => json!(rng.r#gen::<i64>()),
        3 => json!(rng.r#gen::<f64>() * 1e10),
        4 => json!(random_text(rng)),
        5 => json!(["title", "description", "done", "email", "password"][rng.gen_range(0..5)]),
        6 => Value::Array(
            (0..rng.gen_range(0..4))
                .map(|_| random_json(rng, depth + 1))
                .collect(),
        ),
        _ => {
            let keys = [
                "title",
                "description",
                "done",
                "email",
                "password",
                "id",
                "owner_id",
                "extra",
            ];
            let mut map = serde_json::Map::new();
            for _ in 0..rng.gen_range(0..5) {
                map.insert(
                    keys[rng.gen_range(0..keys.len())].to_owned(),
                    random_json(rng, depth + 1),
                );
            }
            Value::Object(map)
        }
    }
}

fn random_text(rng: &mut StdRng) -> String {
    let pieces = [
        "a",
        "Z",
        "0",
        " ",
        "'",
        "\"",
        "\\",
        "%",
        "é",
        "🎉",
        "\u{202e}",
        "\n",
        "--",
        ";",
        "@",
        ".",
        "example.com",
        "\u{0}",
    ];
    (0..rng.gen_range(0..12))
        .map(|_| pieces[rng.gen_range(0..pieces.len())])
        .collect::<String>()
        .repeat(rng.gen_range(1..30))
}

async fn random_requests_never_fail_the_server(app: TestApp) {
    let (u, token) = app.signup("owner@example.com").await;
    let (v, _) = app.signup("other@example.com").await;
    let mut rng = StdRng::seed_from_u64(0x70d0);
    let ids = [
        u.to_string(),
        v.to_string(),
        "0".into(),
        "-1".into(),
        "x".into(),
        "1.0".into(),
        "99999999999999999999".into(),
        "%20".into(),
    ];
    for round in 0..400 {
        let id = |rng: &mut StdRng| ids[rng.gen_range(0..ids.len())].clone();
        let path = match rng.gen_range(0..6) {
            0 => "/users".to_owned(),
            1 => format!("/users/{}", id(&mut rng)),
            2 => format!("/users/{}/items", id(&mut rng)),
            3 => format!("/users/{}/items/{}", id(&mut rng), rng.gen_range(-2..20)),
            4 => "/items".to_owned(),
            _ => format!("/users/{}/token", id(&mut rng)),
        };
        let query: Vec<String> = (0..rng.gen_range(0..3))
            .map(|_| {
                let name = ["skip", "limit", "date", "done", "x"][rng.gen_range(0..5)];
                let value = [
                    random_text(&mut rng),
                    rng.gen_range(-5i64..2000).to_string(),
                    "20230103".into(),
                ][rng.gen_range(0..3)]
                .clone();
                format!(
                    "{name}={}",
                    url::form_urlencoded::byte_serialize(value.as_bytes()).collect::<String>()
                )
            })
            .collect();
        let path = if query.is_empty() {
            path
        } else {
            format!("{path}?{}", query.join("&"))
        };
        let method = ["GET", "POST", "PATCH", "DELETE"][rng.gen_range(0..4)];
        let body = random_json(&mut rng, 0).to_string();
        let bad_token: String = ("tdo_".to_owned() + &random_text(&mut rng))
            .chars()
            .filter(|c| !c.is_control())
            .collect();
        let token = if rng.gen_bool(0.9) {
            token.as_str()
        } else {
            bad_token.as_str()
        };
        // Deleting the caller would end the run early; everything else is fair game.
        if method == "DELETE"
            && path.starts_with(&format!("/users/{u}"))
            && !path.contains("/items")
        {
            continue;
        }
        let resp = app
            .raw(
                method,
                &path,
                &[("x-api-token", token), ("content-type", "application/json")],
                body.clone(),
            )
            .await;
        assert_answered(&resp, &format!("round {round}: {method} {path} {body}"));
    }
    // Whatever happened, no item is owned by an inactive user.
    let orphans = app.db.column("SELECT COUNT(*) FROM items JOIN users ON users.id = items.owner_id WHERE NOT users.is_active").await;
    assert_eq!(orphans, ["0"]);
}

crate::on_every_backend!(
    hostile_requests_get_4xx_and_change_nothing,
    random_requests_never_fail_the_server
);

/// A panic in a handler is the safety net's 500, in FastAPI's shape, with the request id,
/// and the application goes on serving.
#[tokio::test]
async fn a_panicking_handler_is_a_500_and_the_service_goes_on() {
    async fn boom() -> &'static str {
        panic!("kaboom")
    }
    let extra = axum::Router::new().route("/boom", axum::routing::get(boom));
    let app = TestApp::start_with_routes(crate::common::Kind::Sqlite, |_| {}, extra)
        .await
        .unwrap();
    let resp = app
        .raw(
            "GET",
            "/boom",
            &[("x-request-id", "panic-check-1")],
            axum::body::Body::empty(),
        )
        .await;
    resp.expect(500);
    assert_eq!(
        resp.body,
        serde_json::json!({"detail": "Internal Server Error"})
    );
    assert_eq!(resp.header("x-request-id"), Some("panic-check-1"));
    assert_eq!(resp.header("x-content-type-options"), Some("nosniff"));
    app.send("GET", "/livez", None, None).await.expect(200);
}

/// The safety net depends on unwinding: the release profile must not abort on panic.
#[test]
fn the_release_profile_unwinds_on_panic() {
    let manifest = include_str!("../../Cargo.toml");
    let release = manifest
        .split("[profile.release]")
        .nth(1)
        .expect("a release profile");
    let release = release.split("\n[").next().unwrap_or_default();
    assert!(release.contains("panic = \"unwind\""), "{release}");
}

/// Bodies Python reads but serde_json would not (or would read differently) get FastAPI's
/// answer, not a parse error of ours.
#[tokio::test]
async fn bodies_are_read_as_python_reads_them() {
    let app = TestApp::start(crate::common::Kind::Sqlite).await.unwrap();
    let (u, token) = app.signup("python@example.com").await;
    let post = |body: &'static str| {
        let path = format!("/users/{u}/items");
        let token = token.clone();
        let app = &app;
        async move {
            app.raw(
                "POST",
                &path,
                &[
                    ("x-api-token", &token),
                    ("content-type", "application/json"),
                ],
                body,
            )
            .await
        }
    };
    let first_error = |resp: &Resp| resp.body["detail"][0].clone();

    // Nesting beyond serde_json's 128 levels, within Python's limit: an ordinary 422.
    let deep: &'static str = Box::leak(
        format!("{{\"title\": {}1{}}}", "[".repeat(200), "]".repeat(200)).into_boxed_str(),
    );
    let resp = post(deep).await;
    resp.expect(422);
    // (The echoed input is as deep: the text, not serde_json, is checked.)
    assert!(
        resp.text
            .starts_with(r#"{"detail":[{"type":"string_type","loc":["body","title"]"#),
        "{}",
        &resp.text[..200]
    );
    // Beyond Python's recursion limit: FastAPI's generic 400.
    let too_deep: &'static str = Box::leak(
        format!("{{\"title\": {}1{}}}", "[".repeat(5000), "]".repeat(5000)).into_boxed_str(),
    );
    let resp = post(too_deep).await;
    resp.expect(400);
    assert_eq!(
        resp.body,
        json!({"detail": "There was an error parsing the body"})
    );

    // Integers are echoed exactly, floats as Python writes them.
    let resp = post(r#"{"title": 100000000000000000000000000000000000000}"#).await;
    resp.expect(422);
    assert_eq!(
        resp.text,
        r#"{"detail":[{"type":"string_type","loc":["body","title"],"msg":"Input should be a valid string","input":100000000000000000000000000000000000000}]}"#
    );
    let resp = post(r#"{"title": 1e2}"#).await;
    assert!(resp.text.contains(r#""input":100.0"#), "{}", resp.text);

    // NaN and infinities: FastAPI itself fails to render them (500); we answer 422 with
    // a JSON-safe input, and nothing changes.
    let item = app.item(&token, u, "steady").await;
    let item_path = format!("/users/{u}/items/{}", item["id"]);
    for (body, input) in [
        (r#"{"done": NaN}"#, "nan"),
        (r#"{"done": 1e400}"#, "inf"),
        (r#"{"title": -Infinity}"#, "-inf"),
    ] {
        let resp = app
            .raw(
                "PATCH",
                &item_path,
                &[
                    ("x-api-token", &token),
                    ("content-type", "application/json"),
                ],
                body,
            )
            .await;
        resp.expect(422);
        assert_eq!(first_error(&resp)["input"], json!(input), "{body}");
    }
    assert_eq!(app.get(&item_path, &token).await.body, item, "unchanged");

    // A lone surrogate escape: pydantic's string_unicode, nothing stored.
    let resp = post(r#"{"title": "a\ud800b"}"#).await;
    resp.expect(422);
    assert_eq!(first_error(&resp)["type"], "string_unicode");
    let items = app.get(&format!("/users/{u}/items"), &token).await;
    assert_eq!(items.body, json!([item]), "nothing else created");
}

/// Request lines and headers beyond our limits: FastAPI-shaped 414 and 431, with the
/// request id and the security headers.
#[tokio::test]
async fn oversized_request_lines_and_headers_get_json_errors() {
    let app = TestApp::start(crate::common::Kind::Sqlite).await.unwrap();
    let long = format!("/items?date={}", "1".repeat(9000));
    let resp = app.raw("GET", &long, &[], axum::body::Body::empty()).await;
    resp.expect(414);
    assert_eq!(resp.body, json!({"detail": "URI Too Long"}));
    assert!(resp.header("x-request-id").is_some());
    assert_eq!(resp.header("x-content-type-options"), Some("nosniff"));

    let big = "x".repeat(40_000);
    let resp = app
        .raw(
            "GET",
            "/livez",
            &[("x-padding", &big)],
            axum::body::Body::empty(),
        )
        .await;
    resp.expect(431);
    assert_eq!(
        resp.body,
        json!({"detail": "Request Header Fields Too Large"})
    );

    let names: Vec<String> = (0..120).map(|n| format!("x-h{n}")).collect();
    let many: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "1")).collect();
    let resp = app
        .raw("GET", "/livez", &many, axum::body::Body::empty())
        .await;
    resp.expect(431);
    assert!(resp.header("x-request-id").is_some());
    app.send("GET", "/livez", None, None).await.expect(200);
}
