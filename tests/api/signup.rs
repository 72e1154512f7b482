//! `POST /users`: the user and its token, and every validation rule at its boundary.

use serde_json::json;

use crate::common::{Kind, TestApp};

async fn returns_the_user_with_its_token_and_nothing_else(app: TestApp) {
    let resp = app
        .send(
            "POST",
            "/users",
            None,
            Some(json!({"email": "deadpool@example.com", "password": "chimichangas4life"})),
        )
        .await;
    resp.expect(200);
    let body = resp.body.as_object().unwrap();
    let keys: Vec<&str> = body.keys().map(String::as_str).collect();
    assert_eq!(keys, ["email", "id", "is_active", "items", "token"]);
    assert_eq!(body["email"], "deadpool@example.com");
    assert_eq!(body["is_active"], true);
    assert_eq!(body["items"], json!([]));
    let token = body["token"].as_str().unwrap();
    assert!(token.len() >= 43, "at least 32 random bytes: {token}");
    // The token works, and it is not stored in the clear.
    let id = body["id"].as_i64().unwrap();
    app.get(&format!("/users/{id}"), token).await.expect(200);
    let stored = app.db.column("SELECT token_hash FROM users").await;
    assert!(
        stored.iter().all(|h| !h.contains(&token[4..])),
        "{stored:?}"
    );
}

async fn duplicate_email_is_400(app: TestApp) {
    app.signup("dup@example.com").await;
    let resp = app
        .send(
            "POST",
            "/users",
            None,
            Some(json!({"email": "dup@example.com", "password": "password123"})),
        )
        .await;
    resp.expect(400);
    assert_eq!(resp.body, json!({"detail": "Email already registered"}));
    // Emails are compared exactly on every backend (MySQL's default collation would not).
    app.send(
        "POST",
        "/users",
        None,
        Some(json!({"email": "Dup@example.com", "password": "password123"})),
    )
    .await
    .expect(200);
}

async fn password_needs_eight_characters(app: TestApp) {
    let short = app
        .send(
            "POST",
            "/users",
            None,
            Some(json!({"email": "a@example.com", "password": "1234567"})),
        )
        .await;
    short.expect(422);
    assert_eq!(
        short.body,
        json!({"detail": [{"type": "string_too_short", "loc": ["body", "password"], "msg": "String should have at least 8 characters", "input": "1234567", "ctx": {"min_length": 8}}]})
    );
    // Characters, not bytes.
    app.send(
        "POST",
        "/users",
        None,
        Some(json!({"email": "b@example.com", "password": "パスワードです!"})),
    )
    .await
    .expect(200);
    app.send(
        "POST",
        "/users",
        None,
        Some(json!({"email": "c@example.com", "password": "12345678"})),
    )
    .await
    .expect(200);
}

async fn email_syntax_is_checked(app: TestApp) {
    let resp = app
        .send(
            "POST",
            "/users",
            None,
            Some(json!({"email": "not-an-email", "password": "password123"})),
        )
        .await;
    resp.expect(422);
    assert_eq!(
        resp.body,
        json!({"detail": [{"type": "value_error", "loc": ["body", "email"], "msg": "value is not a valid email address: An email address must have an @-sign.", "input": "not-an-email", "ctx": {"reason": "An email address must have an @-sign."}}]})
    );
}

async fn missing_and_mistyped_fields_are_all_reported(app: TestApp) {
    let resp = app
        .send("POST", "/users", None, Some(json!({"email": 5})))
        .await;
    resp.expect(422);
    assert_eq!(
        resp.body,
        json!({"detail": [
            {"type": "string_type", "loc": ["body", "email"], "msg": "Input should be a valid string", "input": 5},
            {"type": "missing", "loc": ["body", "password"], "msg": "Field required", "input": {"email": 5}},
        ]})
    );
    let none = app
        .raw(
            "POST",
            "/users",
            &[("content-type", "application/json")],
            "",
        )
        .await;
    none.expect(422);
    assert_eq!(
        none.body,
        json!({"detail": [{"type": "missing", "loc": ["body"], "msg": "Field required", "input": null}]})
    );
    let array = app
        .send("POST", "/users", None, Some(json!(["a@example.com"])))
        .await;
    array.expect(422);
    assert_eq!(
        array.body,
        json!({"detail": [{"type": "model_type", "loc": ["body"], "msg": "Input should be a valid dictionary or instance of UserCreate", "input": ["a@example.com"], "ctx": {"class_name": "UserCreate"}}]})
    );
}

async fn malformed_json_is_json_invalid_at_its_offset(app: TestApp) {
    let resp = app
        .raw(
            "POST",
            "/users",
            &[("content-type", "application/json")],
            r#"{"email": "a@example.com", "password": }"#,
        )
        .await;
    resp.expect(422);
    assert_eq!(
        resp.body,
        json!({"detail": [{"type": "json_invalid", "loc": ["body", 39], "msg": "JSON decode error", "input": {}, "ctx": {"error": "Expecting value"}}]})
    );
    let trailing = app
        .raw("POST", "/users", &[], r#"{"email": "a@example.com"} x"#)
        .await;
    trailing.expect(422);
    assert_eq!(trailing.body["detail"][0]["ctx"]["error"], "Extra data");
    assert_eq!(trailing.body["detail"][0]["loc"], json!(["body", 27]));
    // Not JSON at all, not UTF-8: FastAPI's 400.
    let binary = app
        .raw(
            "POST",
            "/users",
            &[("content-type", "application/json")],
            vec![0xff, 0xfe, 0x00],
        )
        .await;
    binary.expect(400);
    assert_eq!(
        binary.body,
        json!({"detail": "There was an error parsing the body"})
    );
    assert_eq!(
        app.db.column("SELECT COUNT(*) FROM users").await,
        ["0"],
        "nothing created"
    );
}

async fn json_is_read_without_content_type_but_not_with_another(app: TestApp) {
    let body = r#"{"email": "plain@example.com", "password": "password123"}"#;
    app.raw("POST", "/users", &[], body).await.expect(200);
    app.raw(
        "POST",
        "/users",
        &[("content-type", "application/merge-patch+json")],
        body.replace("plain", "plus"),
    )
    .await
    .expect(200);
    let text = app
        .raw(
            "POST",
            "/users",
            &[("content-type", "text/plain")],
            body.replace("plain", "text"),
        )
        .await;
    text.expect(422);
    assert_eq!(text.body["detail"][0]["type"], "model_type");
    assert_eq!(
        text.body["detail"][0]["input"],
        body.replace("plain", "text")
    );
}

async fn unknown_fields_are_ignored(app: TestApp) {
    let resp = app.send("POST", "/users", None, Some(json!({"email": "x@example.com", "password": "password123", "is_admin": true, "id": 99}))).await;
    resp.expect(200);
    assert_ne!(resp.body["id"], 99);
    assert_eq!(
        app.db.column("SELECT is_admin FROM users").await,
        [if app.db.kind == Kind::Postgres {
            "false"
        } else {
            "0"
        }]
    );
}

async fn bodies_over_64_kib_are_refused(app: TestApp) {
    let padding = "x".repeat(64 * 1024);
    let resp = app
        .raw(
            "POST",
            "/users",
            &[("content-type", "application/json")],
            format!(r#"{{"email": "big@example.com", "password": "{padding}"}}"#),
        )
        .await;
    resp.expect(413);
    assert!(resp.body["detail"].is_string());
    assert_eq!(app.db.column("SELECT COUNT(*) FROM users").await, ["0"]);
    // Just under the limit is fine.
    let fits = "x".repeat(64 * 1024 - 100);
    app.raw(
        "POST",
        "/users",
        &[],
        format!(r#"{{"email": "fits@example.com", "password": "{fits}"}}"#),
    )
    .await
    .expect(200);
}

async fn signup_can_be_closed_to_all_but_admins(app: TestApp) {
    let (_, admin_token) = app.signup("admin@example.com").await;
    app.db
        .exec("UPDATE users SET is_admin = TRUE WHERE email = 'admin@example.com'")
        .await;
    let (_, user_token) = app.signup("user@example.com").await;
    let closed = app.restarted_with(|c| c.signup = false).await;
    let body = json!({"email": "new@example.com", "password": "password123"});
    let anonymous = closed
        .send("POST", "/users", None, Some(body.clone()))
        .await;
    anonymous.expect(403);
    assert_eq!(anonymous.body, json!({"detail": "Sign-up is disabled"}));
    closed
        .send("POST", "/users", Some(&user_token), Some(body.clone()))
        .await
        .expect(403);
    closed
        .send("POST", "/users", Some("tdo_garbage"), Some(body.clone()))
        .await
        .expect(403);
    closed
        .send("POST", "/users", Some(&admin_token), Some(body))
        .await
        .expect(200);
}

crate::on_every_backend!(
    returns_the_user_with_its_token_and_nothing_else,
    duplicate_email_is_400,
    password_needs_eight_characters,
    email_syntax_is_checked,
    missing_and_mistyped_fields_are_all_reported,
    malformed_json_is_json_invalid_at_its_offset,
    json_is_read_without_content_type_but_not_with_another,
    unknown_fields_are_ignored,
    bodies_over_64_kib_are_refused,
    signup_can_be_closed_to_all_but_admins,
);
