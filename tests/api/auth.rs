//! Authentication: `X-API-TOKEN` on every endpoint but sign-up and the probes, checked before
//! anything else; rotation; peppers.

use serde_json::{Value, json};

use crate::common::TestApp;

/// Every authenticated route, with a body where it takes one; ids that do not exist and
/// bodies that are invalid, so that only authentication can answer first.
fn protected_routes() -> Vec<(&'static str, &'static str, Option<Value>)> {
    vec![
        ("GET", "/users", None),
        ("GET", "/users/", None),
        ("GET", "/users/99999", None),
        ("GET", "/users/not-a-number", None),
        ("DELETE", "/users/99999", None),
        ("POST", "/users/99999/token", Some(json!({}))),
        ("POST", "/users/99999/items", Some(json!({"title": ""}))),
        (
            "POST",
            "/users/abc/items/",
            Some(json!({"title": "Test Item"})),
        ),
        ("GET", "/users/99999/items?date=bad", None),
        ("GET", "/users/99999/items/1", None),
        ("GET", "/users/abc/items/x", None),
        (
            "PATCH",
            "/users/99999/items/1",
            Some(json!({"done": "maybe"})),
        ),
        ("DELETE", "/users/99999/items/1", None),
        ("GET", "/items?limit=-5", None),
        ("GET", "/items/", None),
        ("GET", "/me/items", None),
    ]
}

async fn every_protected_route_is_401_first(app: TestApp) {
    let (_, token) = app.signup("member@example.com").await;
    for (method, path, body) in protected_routes() {
        for bad in [
            None,
            Some(""),
            Some("garbage"),
            Some("tdo_000000000000000000000000_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"),
        ] {
            let resp = app.send(method, path, bad, body.clone()).await;
            assert_eq!(
                resp.status, 401,
                "{method} {path} with {bad:?}: {}",
                resp.text
            );
            assert_eq!(resp.body, json!({"detail": "Not authenticated"}));
        }
    }
    // A valid token with one character changed is refused too.
    let mut forged = token.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });
    app.send("GET", "/users", Some(&forged), None)
        .await
        .expect(401);
    app.send("GET", "/users", Some(&token), None)
        .await
        .expect(200);
}

async fn unknown_paths_and_methods_win_over_authentication(app: TestApp) {
    let (_, token) = app.signup("member@example.com").await;
    for token in [None, Some(token.as_str())] {
        let missing = app.send("GET", "/nope", token, None).await;
        missing.expect(404);
        assert_eq!(missing.body, json!({"detail": "Not Found"}));
        let wrong = app.send("PUT", "/users", token, None).await;
        wrong.expect(405);
        assert_eq!(wrong.body, json!({"detail": "Method Not Allowed"}));
        let allow = wrong.header("allow").unwrap();
        assert!(allow.contains("GET") && allow.contains("POST"), "{allow}");
        app.send("POST", "/items", token, Some(json!({})))
            .await
            .expect(405);
    }
}

async fn open_endpoints_need_no_token(app: TestApp) {
    let health = app.send("GET", "/health-check", None, None).await;
    health.expect(200);
    assert_eq!(health.body, json!({"status": "ok"}));
    let live = app.send("GET", "/livez", None, None).await;
    live.expect(200);
    assert_eq!(live.body, json!({"status": "ok"}));
    app.send("GET", "/openapi.json", None, None)
        .await
        .expect(200);
    app.send("GET", "/docs/", None, None).await.expect(200);
}

async fn a_deleted_users_token_stops_working_at_once(app: TestApp) {
    let (_, keeper) = app.signup("keeper@example.com").await;
    let (leaver_id, leaver) = app.signup("leaver@example.com").await;
    app.get("/users", &leaver).await.expect(200);
    app.delete(&format!("/users/{leaver_id}"), &keeper)
        .await
        .expect(200);
    app.get("/users", &leaver).await.expect(401);
}

async fn rotation_needs_the_password_and_retires_the_old_token(app: TestApp) {
    let (id, old) = app.signup("rotor@example.com").await;
    let (other_id, other) = app.signup("other@example.com").await;
    let path = format!("/users/{id}/token");

    let wrong = app
        .post(&path, &old, json!({"password": "not-the-password"}))
        .await;
    wrong.expect(403);
    assert_eq!(wrong.body, json!({"detail": "Incorrect password"}));
    app.post(
        &format!("/users/{other_id}/token"),
        &old,
        json!({"password": "password123"}),
    )
    .await
    .expect(403);
    let missing = app.post(&path, &old, json!({})).await;
    missing.expect(422);
    assert_eq!(
        missing.body["detail"][0]["loc"],
        json!(["body", "password"])
    );

    let rotated = app
        .post(&path, &old, json!({"password": "password123"}))
        .await;
    rotated.expect(200);
    let new = rotated.body["token"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    assert_eq!(rotated.body["id"], id);
    app.get("/users", &old).await.expect(401);
    app.get("/users", &new).await.expect(200);
    app.get("/users", &other).await.expect(200);
}

async fn pepper_rotation_keeps_tokens_working(app: TestApp) {
    use secrecy::SecretString;
    let pepper = |s: &str| Some(SecretString::from(s.to_owned()));
    let first = app
        .restarted_with(|c| c.token_pepper = pepper("pepper-one"))
        .await;
    let (user, token) = first.signup("peppered@example.com").await;
    let item = first.item(&token, user, "peppered").await;
    let item_path = format!("/users/{user}/items/{}", item["id"]);
    let hash_one = app.db.column("SELECT token_hash FROM users").await;
    assert!(hash_one[0].starts_with("hmac-sha256:"), "{hash_one:?}");

    // Without the pepper the hash cannot be confirmed.
    app.get("/users", &token).await.expect(401);
    app.get(&item_path, &token).await.expect(401);

    // During the rotation the previous pepper still vouches, and the hash is upgraded.
    let rotating = app
        .restarted_with(|c| {
            c.token_pepper = pepper("pepper-two");
            c.token_pepper_previous = pepper("pepper-one");
        })
        .await;
    // The read of one item authenticates its own way (with the item, in one round trip).
    let read = rotating.get(&item_path, &token).await;
    read.expect(200);
    assert_eq!(read.body["title"], "peppered");
    let hash_two = app.db.column("SELECT token_hash FROM users").await;
    assert_ne!(hash_one, hash_two, "re-hashed with the new pepper");
    rotating.get("/users", &token).await.expect(200);

    let rotated = app
        .restarted_with(|c| c.token_pepper = pepper("pepper-two"))
        .await;
    rotated.get("/users", &token).await.expect(200);
    rotated.get(&item_path, &token).await.expect(200);
}

crate::on_every_backend!(
    every_protected_route_is_401_first,
    unknown_paths_and_methods_win_over_authentication,
    open_endpoints_need_no_token,
    a_deleted_users_token_stops_working_at_once,
    rotation_needs_the_password_and_retires_the_old_token,
    pepper_rotation_keeps_tokens_working,
);
