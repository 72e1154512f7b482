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
