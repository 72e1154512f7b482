//! The role matrix, generated from the OpenAPI document: every operation's `x-access` says
//! who may call it; each is called with a read-only token, a user's token (`AUTHZ=team` and
//! `strict`) and an admin's, on another user's things, and must pass the access checks
//! (any answer but 401/403) or be refused with 403 exactly as stated. A new operation
//! without a body below fails the test until it is given one.

use serde_json::{Value, json};

use crate::common::{Kind, TestApp};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Who {
    ReadOnly,
    User,
    StrictUser,
    Admin,
}

fn expected_allowed(access: &Value, method: &str, who: Who) -> bool {
    let role = access["role"].as_str().unwrap();
    let scope = access["scope"].as_str().unwrap();
    if who == Who::ReadOnly && !access["read_only_token"].as_bool().unwrap() {
        return false;
    }
    let _ = method;
    match (role, who) {
        ("admin", Who::Admin) => true,
        ("admin", _) => false,
        ("self", _) => false, // always someone else's here
        ("self_or_admin", Who::Admin) => true,
        ("self_or_admin", _) => false,
        ("user", Who::StrictUser) => scope == "caller",
        ("user", _) => true,
        (other, _) => panic!("unknown role {other}"),
    }
}

/// A body that passes validation, so that only access decides.
fn body_for(method: &str, path: &str, n: usize) -> Option<Value> {
    let body = match (method, path) {
        ("post", "/users") | ("post", "/admin/users") => {
            json!({"email": format!("matrix{n}@example.com"), "password": "password123"})
        }
        ("post", "/users/{user_id}/items") => json!({"title": "matrix"}),
        ("patch", "/users/{user_id}/items/{item_id}") => json!({"done": true}),
        ("post", "/users/{user_id}/token") | ("post", "/users/{user_id}/erase") => {
            json!({"password": "password123"})
        }
        ("post", "/users/{user_id}/tokens") => json!({"name": "matrix"}),
        ("post", "/admin/users/{user_id}/role") => json!({"role": "user"}),
        ("post", "/admin/users/{user_id}/erase") => json!({"delete_items": true}),
        ("post", _) if path.starts_with("/admin/users/{user_id}/") => json!({}),
        _ => return None,
    };
    Some(body)
}

async fn matrix(kind: Kind) {
    let Some(app) = TestApp::start(kind).await else {
        return;
    };
    let strict = app
        .restarted_with(|c| c.authz = todo_api::authz::Authz::Strict)
        .await;
    let doc = app.send("GET", "/openapi.json", None, None).await.body;
    let (caller, user_token) = app.signup("caller@example.com").await;
    let (admin_id, admin) = app.signup("admin@example.com").await;
    app.db
        .exec(&format!(
            "UPDATE users SET is_admin = TRUE WHERE id = {admin_id}"
        ))
        .await;
    let read_only = app
        .post(
            &format!("/users/{caller}/tokens"),
            &user_token,
            json!({"name": "ro", "read_only": true}),
        )
        .await
        .body["secret"]
        .as_str()
        .unwrap()
        .to_owned();

    let mut n = 0;
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let access = &operation["x-access"];
            assert!(access.is_object(), "{method} {path} states no x-access");
            if access["token"] == "none" {
                continue;
            }
            let has_body = operation.get("requestBody").is_some();
            for who in [Who::ReadOnly, Who::User, Who::StrictUser, Who::Admin] {
                // A fresh target each time: the call may delete or erase it.
                n += 1;
                let (target, target_token) = app.signup(&format!("target{n}@example.com")).await;
                let item_id = app.item(&target_token, target, "target's").await["id"]
                    .as_i64()
                    .unwrap();
                let token_id = app
                    .post(
                        &format!("/users/{target}/tokens"),
                        &target_token,
                        json!({"name": "t"}),
                    )
                    .await
                    .body["id"]
                    .as_i64()
                    .unwrap();
                let filled = path
                    .replace("{user_id}", &target.to_string())
                    .replace("{item_id}", &item_id.to_string())
                    .replace("{token_id}", &token_id.to_string());
                let body = body_for(method, path, n);
                assert!(
                    !has_body || body.is_some(),
                    "{method} {path}: give it a valid body in body_for"
                );
                let (server, token) = match who {
                    Who::ReadOnly => (&app, &read_only),
                    Who::User => (&app, &user_token),
                    Who::StrictUser => (&strict, &user_token),
                    Who::Admin => (&app, &admin),
                };
                let resp = server
                    .send(&method.to_uppercase(), &filled, Some(token), body)
                    .await;
                let status = resp.status.as_u16();
                let allowed = expected_allowed(access, method, who);
                if allowed {
                    assert!(
                        !matches!(status, 401 | 403),
                        "{method} {path} as {who:?} should pass the access checks: {status} {}",
                        resp.text
                    );
                } else {
                    assert_eq!(status, 403, "{method} {path} as {who:?}: {}", resp.text);
                }
                checked += 1;
            }
        }
    }
    assert!(
        checked >= 4 * 25,
        "only {checked} checks: is the document complete?"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn role_matrix_sqlite() {
    matrix(Kind::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn role_matrix_postgres() {
    matrix(Kind::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn role_matrix_mysql() {
    matrix(Kind::MySql).await;
}

/// The service's PostgreSQL login may add audit records and read them, never rewrite them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_login_cannot_rewrite_the_audit_trail() {
    use sqlx::{Connection, PgConnection};
    let Some(app) = TestApp::start(Kind::Postgres).await else {
        return;
    };
    app.signup("audited@example.com").await;
    let role = format!("todo_app_{}", std::process::id());
    app.db.exec(&format!("DROP ROLE IF EXISTS {role}")).await;
    app.db.exec(&format!("CREATE ROLE {role} LOGIN")).await;
    // What the database-setup task grants (DML on everything), then what migrate narrows.
    app.db
        .exec(&format!(
            "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}"
        ))
        .await;
    app.state.store.grant_app_role(&role).await.expect("grants");
    let url = app
        .db
        .url
        .replacen("postgres://postgres@", &format!("postgres://{role}@"), 1);
    let mut conn = PgConnection::connect(&url)
        .await
        .expect("the app login connects");
    for statement in [
        "UPDATE audit_events SET action = 'forged'",
        "DELETE FROM audit_events",
        "TRUNCATE audit_events",
        "UPDATE audit_client_ips SET ip = '0.0.0.0'",
    ] {
        let err = sqlx::query(statement)
            .execute(&mut conn)
            .await
            .expect_err(statement);
        assert!(
            err.to_string().contains("permission denied"),
            "{statement}: {err}"
        );
    }
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_events")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(count, 1, "it reads them");
    sqlx::query("INSERT INTO audit_events (at, action, object_type, object_id) VALUES (now(), 'user.create', 'user', 1)")
        .execute(&mut conn)
        .await
        .expect("it appends");
    sqlx::query("DELETE FROM audit_client_ips WHERE user_id = 1")
        .execute(&mut conn)
        .await
        .expect("erasure may delete client addresses");
    conn.close().await.ok();
    app.db.exec(&format!("DROP OWNED BY {role}")).await;
    app.db.exec(&format!("DROP ROLE {role}")).await;
}
