//! `Idempotency-Key` on the creating `POST`s: a retry gets the first answer and creates
//! nothing; another request with the key is 422; keys are per caller; tokens in answers are
//! kept only sealed.

use serde_json::{Value, json};

use crate::common::{Resp, TestApp};

async fn post_with_key(
    app: &TestApp,
    path: &str,
    token: Option<&str>,
    key: &str,
    body: Value,
) -> Resp {
    let mut headers = vec![
        ("content-type", "application/json"),
        ("idempotency-key", key),
    ];
    if let Some(token) = token {
        headers.push(("x-api-token", token));
    }
    app.raw("POST", path, &headers, body.to_string()).await
}

async fn a_retried_item_is_created_once(app: TestApp) {
    let (u, token) = app.signup("retry@example.com").await;
    let path = format!("/users/{u}/items");
    let body = json!({"title": "once", "description": "only once"});
    let first = post_with_key(&app, &path, Some(&token), "key-1", body.clone()).await;
    first.expect(200);
    assert_eq!(first.header("idempotent-replayed"), None);
    let again = post_with_key(&app, &path, Some(&token), "key-1", body.clone()).await;
    again.expect(200);
    assert_eq!(again.body, first.body, "the first answer");
    assert_eq!(again.header("etag"), first.header("etag"));
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    let items = app.get(&path, &token).await;
    assert_eq!(items.body.as_array().unwrap().len(), 1, "created once");

    // Another request with the same key: 422 at the header, nothing created.
    let other = post_with_key(
        &app,
        &path,
        Some(&token),
        "key-1",
        json!({"title": "other"}),
    )
    .await;
    other.expect(422);
    assert_eq!(
        other.body,
        json!({"detail": [{
            "type": "idempotency_key_reused",
            "loc": ["header", "idempotency-key"],
            "msg": "This Idempotency-Key was already used with a different request",
            "input": "key-1"
        }]})
    );
    // Keys are per caller: another user's key-1 is its own.
    let (v, v_token) = app.signup("other@example.com").await;
    let theirs = post_with_key(
        &app,
        &format!("/users/{v}/items"),
        Some(&v_token),
        "key-1",
        body,
    )
    .await;
    theirs.expect(200);
    assert_ne!(theirs.body["id"], first.body["id"]);
    assert_eq!(
        app.get("/items", &token)
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

async fn a_failed_request_does_not_hold_its_key(app: TestApp) {
    let (_, token) = app.signup("fails@example.com").await;
    for _ in 0..2 {
        let resp = post_with_key(
            &app,
            "/users/999/items",
            Some(&token),
            "k-404",
            json!({"title": "x"}),
        )
        .await;
        assert_eq!(
            resp.status.as_u16(),
            404,
            "answered again, not held: {}",
            resp.text
        );
    }
    let bad = post_with_key(
        &app,
        "/users/999/items",
        Some(&token),
        &"k".repeat(256),
        json!({"title": "x"}),
    )
    .await;
    bad.expect(422);
    assert_eq!(
        bad.body["detail"][0]["loc"],
        json!(["header", "idempotency-key"])
    );
}

async fn a_retried_sign_up_returns_the_same_token_and_keeps_it_sealed(app: TestApp) {
    let body = json!({"email": "new@example.com", "password": "password123"});
    let first = post_with_key(&app, "/users", None, "signup-1", body.clone()).await;
    first.expect(200);
    let again = post_with_key(&app, "/users", None, "signup-1", body).await;
    again.expect(200);
    assert_eq!(again.body, first.body);
    let token = first.body["token"].as_str().unwrap();
    // tdo_<selector>_<secret>; the secret's own alphabet has '_' in it.
    let secret = token.splitn(3, '_').nth(2).unwrap();
    assert!(secret.len() >= 40, "{token}");
    let mut stored = app
        .db
        .column("SELECT key_hash FROM idempotency_records")
        .await;
    stored.extend(
        app.db
            .column("SELECT fingerprint FROM idempotency_records")
            .await,
    );
    let stored = stored.join(" ");
    assert!(!stored.contains("signup-1"), "the key is not stored");
    let responses = app
        .db
        .column("SELECT COUNT(*) FROM idempotency_records")
        .await;
    assert_eq!(responses, ["1"]);
    assert_eq!(
        app.db.column("SELECT COUNT(*) FROM users").await,
        ["1"],
        "one user"
    );
    // The sealed answer does not contain the token's secret in the clear.
    let raw = app
        .db
        .raw_bytes("SELECT response FROM idempotency_records")
        .await;
    assert!(!raw.windows(secret.len()).any(|w| w == secret.as_bytes()));
}

async fn a_retried_rotation_returns_the_same_token(app: TestApp) {
    let (u, old) = app.signup("rotate@example.com").await;
    let path = format!("/users/{u}/token");
    let body = json!({"password": "password123"});
    let first = post_with_key(&app, &path, Some(&old), "rot-1", body.clone()).await;
    first.expect(200);
    let new = first.body["token"].as_str().unwrap().to_owned();
    // The retry authenticates with the new token (the old one is gone).
    app.item(&new, u, "made after").await;
    let again = post_with_key(&app, &path, Some(&new), "rot-1", body).await;
    again.expect(200);
    assert_eq!(again.body["token"], new, "the same token, not a third one");
    assert_eq!(
        again.body["items"].as_array().unwrap().len(),
        1,
        "the items as they are now"
    );
    assert_eq!(app.get("/users", &old).await.status.as_u16(), 401);
    app.get("/users", &new).await.expect(200);
}

async fn expired_records_are_forgotten_and_purged(app: TestApp) {
    let (u, token) = app.signup("expire@example.com").await;
    let path = format!("/users/{u}/items");
    let body = json!({"title": "daily"});
    post_with_key(&app, &path, Some(&token), "day", body.clone())
        .await
        .expect(200);
    app.db
        .exec("UPDATE idempotency_records SET created_at = '2020-01-01 00:00:00'")
        .await;
    let later = post_with_key(&app, &path, Some(&token), "day", body).await;
    later.expect(200);
    assert_eq!(
        later.header("idempotent-replayed"),
        None,
        "a day later the key is new"
    );
    assert_eq!(
        app.get(&path, &token).await.body.as_array().unwrap().len(),
        2
    );
    app.db
        .exec("UPDATE idempotency_records SET created_at = '2020-01-01 00:00:00'")
        .await;
    let purged = app
        .state
        .store
        .purge_idempotency(todo_api::domain::now_utc_seconds() - todo_api::idempotency::KEEP)
        .await
        .unwrap();
    assert_eq!(purged, 1);
}

crate::on_every_backend!(
    a_retried_item_is_created_once,
    a_failed_request_does_not_hold_its_key,
    a_retried_sign_up_returns_the_same_token_and_keeps_it_sealed,
    a_retried_rotation_returns_the_same_token,
    expired_records_are_forgotten_and_purged,
);
