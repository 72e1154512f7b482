//! Access control and compliance: read-only and named tokens, the admin API, the audit
//! trail (one record per change, none for a refused one), export, and erasure that leaves
//! no personal data in any table.

use axum::body::Body;
use axum::http::Request;
use serde_json::{Value, json};

use crate::common::{Resp, TestApp};

async fn make_admin(app: &TestApp, email: &str) -> (i64, String) {
    let (id, token) = app.signup(email).await;
    app.db
        .exec(&format!("UPDATE users SET is_admin = TRUE WHERE id = {id}"))
        .await;
    (id, token)
}

async fn named_token(app: &TestApp, owner: i64, token: &str, read_only: bool) -> (i64, String) {
    let resp = app
        .post(
            &format!("/users/{owner}/tokens"),
            token,
            json!({"name": "reader", "read_only": read_only}),
        )
        .await;
    resp.expect(200);
    assert_eq!(resp.body["read_only"], read_only);
    assert_eq!(resp.body["name"], "reader");
    (
        resp.body["id"].as_i64().unwrap(),
        resp.body["secret"].as_str().unwrap().to_owned(),
    )
}

async fn audit_actions(app: &TestApp, admin: &str, query: &str) -> Vec<String> {
    let resp = app.get(&format!("/admin/audit?{query}"), admin).await;
    resp.expect(200);
    resp.body
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["action"].as_str().unwrap().to_owned())
        .collect()
}

async fn read_only_tokens_only_read(app: TestApp) {
    let (id, primary) = app.signup("ro@example.com").await;
    let item = app.item(&primary, id, "mine").await;
    let (token_id, ro) = named_token(&app, id, &primary, true).await;

    app.get("/me/items", &ro).await.expect(200);
    app.get(&format!("/users/{id}/items/{}", item["id"]), &ro)
        .await
        .expect(200);
    // Refused after the 401 check and before any 422 or 404.
    let refused = [
        app.post(&format!("/users/{id}/items"), &ro, json!({"title": ""}))
            .await,
        app.delete(&format!("/users/{id}/items/999999"), &ro).await,
        app.patch(
            &format!("/users/{id}/items/{}", item["id"]),
            &ro,
            json!({"done": true}),
        )
        .await,
        app.post(
            &format!("/users/{id}/tokens"),
            &ro,
            json!({"name": "escalate"}),
        )
        .await,
    ];
    for resp in refused {
        resp.expect(403);
        assert_eq!(resp.body, json!({"detail": "This token is read-only"}));
    }
    assert_eq!(
        app.get(&format!("/users/{id}/items/{}", item["id"]), &primary)
            .await
            .body["done"],
        false
    );

    // Rotating the primary token leaves the named ones alone; revoking one ends it at once.
    let rotated = app
        .post(
            &format!("/users/{id}/token"),
            &primary,
            json!({"password": "password123"}),
        )
        .await;
    rotated.expect(200);
    let primary = rotated.body["token"].as_str().unwrap().to_owned();
    app.get("/me/items", &ro).await.expect(200);
    let listed = app.get(&format!("/users/{id}/tokens"), &primary).await;
    listed.expect(200);
    assert_eq!(listed.body.as_array().unwrap().len(), 1);
    assert!(
        !listed.body.to_string().contains(&ro),
        "a listing never shows a secret"
    );
    app.delete(&format!("/users/{id}/tokens/{token_id}"), &primary)
        .await
        .expect(204);
    app.get("/me/items", &ro).await.expect(401);
    app.delete(&format!("/users/{id}/tokens/{token_id}"), &primary)
        .await
        .expect(404);

    // A writable named token writes; another user cannot manage this user's tokens.
    let (_, rw) = named_token(&app, id, &primary, false).await;
    app.item(&rw, id, "by the named token").await;
    let (_, other) = app.signup("other@example.com").await;
    app.get(&format!("/users/{id}/tokens"), &other)
        .await
        .expect(403);
}

async fn every_change_leaves_one_record_and_a_refusal_none(app: TestApp) {
    let (_, admin) = make_admin(&app, "admin@example.com").await;
    let (id, token) = app.signup("worker@example.com").await;
    let item = app.item(&token, id, "audited").await;
    let path = format!("/users/{id}/items/{}", item["id"]);
    app.patch(&path, &token, json!({"done": true}))
        .await
        .expect(200);
    // Refused changes: none of these may leave a record.
    app.post(&format!("/users/{id}/items"), &token, json!({"title": ""}))
        .await
        .expect(422);
    let stale = Request::patch(&path)
        .header("x-api-token", &token)
        .header("if-match", "W/\"1-999\"")
        .header("content-type", "application/json")
        .body(Body::from(r#"{"title":"stale"}"#))
        .unwrap();
    app.call(stale).await.expect(412);
    app.delete(&format!("/users/{id}/items/999999"), &token)
        .await
        .expect(404);
    app.patch(&path, &token, json!({})).await.expect(200);
    app.delete(&path, &token).await.expect(204);

    let about = audit_actions(&app, &admin, &format!("user={id}")).await;
    assert_eq!(
        about,
        ["item.delete", "item.update", "item.create", "user.create"],
        "newest first, one per change, none for the refused ones or the empty update"
    );
    let item_records = app
        .get(
            &format!("/admin/audit?object_type=item&object_id={}", item["id"]),
            &admin,
        )
        .await;
    item_records.expect(200);
    let records = item_records.body.as_array().unwrap();
    assert_eq!(records.len(), 3);
    for record in records {
        assert_eq!(record["actor_id"], id);
        assert_eq!(record["subject_id"], id);
        assert!(record["request_id"].as_str().is_some_and(|r| !r.is_empty()));
    }
    // The table holds exactly what the API reports.
    let stored = app
        .db
        .column(&format!(
            "SELECT action FROM audit_events WHERE subject_id = {id} ORDER BY id"
        ))
        .await;
    assert_eq!(
        stored,
        ["user.create", "item.create", "item.update", "item.delete"]
    );

    // Keyset paging with a Link, and filters that must agree.
    let page = app.get("/admin/audit?limit=2", &admin).await;
    page.expect(200);
    let link = page
        .header("link")
        .expect("a full page links on")
        .to_owned();
    assert!(link.contains("before="), "{link}");
    let next = link
        .trim_start_matches('<')
        .split('>')
        .next()
        .unwrap()
        .to_owned();
    let second = app.get(&next, &admin).await;
    second.expect(200);
    let first_ids: Vec<i64> = page
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    let second_ids: Vec<i64> = second
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    assert!(second_ids.iter().all(|id| id < first_ids.last().unwrap()));
    assert_eq!(
        audit_actions(&app, &admin, &format!("actor={id}&action=item.update")).await,
        ["item.update"]
    );
    app.get("/admin/audit?action=item.explode", &admin)
        .await
        .expect(422);
    app.get("/admin/audit?since=yesterday", &admin)
        .await
        .expect(422);
    app.get("/admin/audit", &token).await.expect(403);
}

async fn admins_manage_users_and_roles(app: TestApp) {
    let (admin_id, admin) = make_admin(&app, "boss@example.com").await;
    let app = app.restarted_with(|c| c.signup = false).await;
    app.post(
        "/users",
        "",
        json!({"email": "anon@example.com", "password": "password123"}),
    )
    .await
    .expect(403);
    let created = app
        .post(
            "/admin/users",
            &admin,
            json!({"email": "new@example.com", "password": "password123"}),
        )
        .await;
    created.expect(200);
    let id = created.body["id"].as_i64().unwrap();
    let token = created.body["token"].as_str().unwrap().to_owned();
    app.get("/admin/users", &token).await.expect(403);

    // Role changes take effect at the next request.
    let promoted = app
        .post(
            &format!("/admin/users/{id}/role"),
            &admin,
            json!({"role": "admin"}),
        )
        .await;
    promoted.expect(200);
    assert_eq!(promoted.body["role"], "admin");
    app.get("/admin/users", &token).await.expect(200);
    let bad_role = app
        .post(
            &format!("/admin/users/{id}/role"),
            &admin,
            json!({"role": "root"}),
        )
        .await;
    bad_role.expect(422);
    assert_eq!(bad_role.body["detail"][0]["type"], "literal_error");
    app.post(
        &format!("/admin/users/{id}/role"),
        &admin,
        json!({"role": "user"}),
    )
    .await
    .expect(200);
    app.get("/admin/users", &token).await.expect(403);

    // Deactivation ends the token; activation brings the user back, listed again.
    let off = app
        .post(&format!("/admin/users/{id}/deactivate"), &admin, json!({}))
        .await;
    off.expect(200);
    assert_eq!(off.body["is_active"], false);
    app.get("/me", &token).await.expect(401);
    let search = app.get("/admin/users?q=NEW@", &admin).await;
    search.expect(200);
    assert_eq!(search.body, json!([]), "inactive users only when asked");
    let search = app
        .get("/admin/users?q=new@&include_inactive=true", &admin)
        .await;
    assert_eq!(search.body.as_array().unwrap().len(), 1);
    app.post(&format!("/admin/users/{id}/activate"), &admin, json!({}))
        .await
        .expect(200);
    app.get("/me", &token).await.expect(200);
    let page = app.get("/admin/users?limit=1", &admin).await;
    assert_eq!(page.body[0]["id"], admin_id);
    assert!(page.header("link").unwrap().contains("after="));
    app.post("/admin/users/999999/activate", &admin, json!({}))
        .await
        .expect(404);
}

/// Every text of every table that could hold personal data, for the search after erasure.
async fn all_text(app: &TestApp) -> String {
    let mut text = String::new();
    for sql in [
        "SELECT email FROM users",
        "SELECT hashed_password FROM users",
        "SELECT COALESCE(token_hash, '') FROM users",
        "SELECT token_hash FROM api_tokens",
        "SELECT name FROM api_tokens",
        "SELECT ip FROM audit_client_ips",
        "SELECT COALESCE(request_id, '') FROM audit_events",
        "SELECT title FROM items",
    ] {
        text.push_str(&app.db.column(sql).await.join("\n"));
        text.push('\n');
    }
    text
}

fn from(ip: &str, request: axum::http::request::Builder) -> axum::http::request::Builder {
    request.header("x-forwarded-for", ip)
}

async fn send_from(
    app: &TestApp,
    ip: &str,
    method: &str,
    path: &str,
    token: &str,
    body: Value,
) -> Resp {
    let request = from(ip, Request::builder().method(method).uri(path))
        .header("x-api-token", token)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    app.call(request).await
}

async fn erasure_leaves_no_personal_data(app: TestApp) {
    let app = app
        .restarted_with(|c| {
            c.proxy_trust = todo_api::config::ProxyTrust {
                trust_headers: true,
                trusted_proxies: 1,
            }
        })
        .await;
    let (admin_id, admin) = make_admin(&app, "dpo@example.com").await;
    let (keep, keep_token) = app.signup("keeper@example.com").await;
    send_from(
        &app,
        "198.51.100.9",
        "POST",
        &format!("/users/{keep}/items"),
        &keep_token,
        json!({"title": "kept"}),
    )
    .await
    .expect(200);
    let (id, token) = app.signup("erin.erasable@example.com").await;
    send_from(
        &app,
        "203.0.113.77",
        "POST",
        &format!("/users/{id}/items"),
        &token,
        json!({"title": "quarterly draft"}),
    )
    .await
    .expect(200);
    named_token(&app, id, &token, true).await;

    // The export holds everything, for the user itself and an admin only.
    let export = app.get(&format!("/users/{id}/export"), &token).await;
    export.expect(200);
    assert_eq!(export.body["user"]["email"], "erin.erasable@example.com");
    assert_eq!(export.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(export.body["tokens"].as_array().unwrap().len(), 1);
    assert!(export.body["audit"].to_string().contains("203.0.113.77"));
    app.get(&format!("/users/{id}/export"), &admin)
        .await
        .expect(200);
    app.get(&format!("/users/{id}/export"), &keep_token)
        .await
        .expect(403);

    // Self-erasure needs the password; its items go to the keeper.
    app.post(
        &format!("/users/{id}/erase"),
        &token,
        json!({"password": "wrong-password"}),
    )
    .await
    .expect(403);
    let erased = app
        .post(
            &format!("/users/{id}/erase"),
            &token,
            json!({"password": "password123"}),
        )
        .await;
    erased.expect(200);
    assert_eq!(erased.body, json!({"erased": id}));

    let text = all_text(&app).await;
    assert!(!text.contains("erin"), "the email is gone:\n{text}");
    assert!(!text.contains("203.0.113.77"), "the client address is gone");
    assert!(text.contains("198.51.100.9"), "other users' addresses stay");
    assert!(text.contains("keeper@example.com"));
    assert_eq!(
        app.db
            .column(&format!(
                "SELECT COUNT(*) FROM api_tokens WHERE user_id = {id}"
            ))
            .await,
        ["0"]
    );
    assert_eq!(
        app.db
            .column(&format!(
                "SELECT COUNT(*) FROM erasures WHERE user_id = {id}"
            ))
            .await,
        ["1"]
    );
    // The original endpoints agree, the items moved, and the record says only that it happened.
    app.get(&format!("/users/{id}"), &keep_token)
        .await
        .expect(404);
    app.get("/me", &token).await.expect(401);
    // The heir is the active user with the smallest id: the admin.
    let moved = app.get(&format!("/users/{admin_id}/items"), &admin).await;
    assert_eq!(moved.body[0]["title"], "quarterly draft");
    let records = app
        .get(
            &format!("/admin/audit?object_type=user&object_id={id}&action=user.erase"),
            &admin,
        )
        .await;
    assert_eq!(records.body.as_array().unwrap().len(), 1);
    assert_eq!(records.body[0]["client_ip"], Value::Null);
    app.post(&format!("/admin/users/{id}/erase"), &admin, json!({}))
        .await
        .expect(404);
    app.post(&format!("/admin/users/{id}/activate"), &admin, json!({}))
        .await
        .expect(404);
    // The address can sign up again, as a new user.
    let (again, _) = app.signup("erin.erasable@example.com").await;
    assert_ne!(again, id);

    // An admin erases with the items deleted.
    let item = app.item(&keep_token, keep, "goes with keeper").await;
    app.post(
        &format!("/admin/users/{keep}/erase"),
        &admin,
        json!({"delete_items": true}),
    )
    .await
    .expect(200);
    assert_eq!(
        app.db
            .column(&format!(
                "SELECT COUNT(*) FROM items WHERE id = {}",
                item["id"]
            ))
            .await,
        ["0"]
    );
    assert!(!all_text(&app).await.contains("198.51.100.9"));
}

crate::on_every_backend!(
    read_only_tokens_only_read,
    every_change_leaves_one_record_and_a_refusal_none,
    admins_manage_users_and_roles,
    erasure_leaves_no_personal_data,
);
