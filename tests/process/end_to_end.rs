//! Sign-up and a CRUD round trip against the real binary, listening on port 0 with a
//! temporary SQLite file.

use std::time::Duration;

use serde_json::{Value, json};

use crate::common::process::Server;

#[tokio::test]
async fn signup_and_crud_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("todo.db").display());
    let mut server = Server::start(&[("DATABASE_URL", &url)]);
    let http = reqwest::Client::new();

    let live: Value = server.call("GET", "/livez", None, None).await.1;
    assert_eq!(live, json!({"status": "ok"}));
    let ready = http.get(server.url("/health-check")).send().await.unwrap();
    assert_eq!(ready.status(), 200);

    let signup = http
        .post(server.url("/users/"))
        .json(&json!({"email": "e2e@example.com", "password": "password123"}))
        .send()
        .await
        .unwrap();
    assert_eq!(signup.status(), 200);
    let user: Value = signup.json().await.unwrap();
    let (id, token) = (
        user["id"].as_i64().unwrap(),
        user["token"].as_str().unwrap().to_owned(),
    );

    let created: Value = server
        .call(
            "POST",
            &format!("/users/{id}/items"),
            Some(&token),
            Some(&json!({"title": "Buy milk", "description": "2 litres"})),
        )
        .await
        .1;
    let item_path = format!("/users/{id}/items/{}", created["id"]);

    let read = http
        .get(server.url(&item_path))
        .header("X-API-TOKEN", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 200);
    let etag = read.headers()["etag"].to_str().unwrap().to_owned();
    assert_eq!(read.json::<Value>().await.unwrap(), created);

    let updated = http
        .patch(server.url(&item_path))
        .header("X-API-TOKEN", &token)
        .header("If-Match", &etag)
        .json(&json!({"done": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(updated.status(), 200);
    assert_eq!(updated.json::<Value>().await.unwrap()["done"], true);

    let listed: Value = server
        .call("GET", "/items?done=true", Some(&token), None)
        .await
        .1;
    assert_eq!(listed.as_array().unwrap().len(), 1);

    let deleted = http
        .delete(server.url(&item_path))
        .header("X-API-TOKEN", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    let gone = http
        .get(server.url(&item_path))
        .header("X-API-TOKEN", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 404);

    // The request id travels in a header, never in the body.
    let traced = http
        .get(server.url("/livez"))
        .header("X-Request-Id", "e2e-check-1")
        .send()
        .await
        .unwrap();
    assert_eq!(traced.headers()["x-request-id"], "e2e-check-1");

    server.signal("TERM");
    let status = server
        .wait(Duration::from_secs(10))
        .expect("exits after SIGTERM");
    assert!(status.success(), "{status:?}");
    assert!(dir.path().join("todo.db").exists());
}
