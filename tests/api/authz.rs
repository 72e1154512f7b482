//! `AUTHZ`: the original's shared team board by default; `strict` confines users to their
//! own things; admins may do everything.

use serde_json::json;

use crate::common::{Kind, TestApp};

async fn team_board_lets_any_user_act_on_anything(app: TestApp) {
    let (a, ta) = app.signup("a@example.com").await;
    let (b, tb) = app.signup("b@example.com").await;
    let item = app.item(&ta, b, "assigned to b by a").await;
    let path = format!("/users/{b}/items/{}", item["id"]);
    app.get(&path, &ta).await.expect(200);
    app.patch(&path, &ta, json!({"done": true}))
        .await
        .expect(200);
    app.get("/users", &tb).await.expect(200);
    app.get("/items", &tb).await.expect(200);
    app.get(&format!("/users/{a}/items"), &tb).await.expect(200);
    app.delete(&path, &tb).await.expect(204);
    app.delete(&format!("/users/{a}"), &tb).await.expect(200);
}

async fn strict_confines_users_to_their_own(strict_app: TestApp) {
    let app = strict_app;
    let (a, ta) = app.signup("a@example.com").await;
    let (b, tb) = app.signup("b@example.com").await;
    let (_, admin) = app.signup("admin@example.com").await;
    app.db
        .exec("UPDATE users SET is_admin = TRUE WHERE email = 'admin@example.com'")
        .await;
    let own = app.item(&tb, b, "b's own").await;
    let own_path = format!("/users/{b}/items/{}", own["id"]);

    let forbidden = [
        app.get(&own_path, &ta).await,
        // No existence oracle: another user's missing item is refused the same way.
        app.get(&format!("/users/{b}/items/999999"), &ta).await,
        app.patch(&own_path, &ta, json!({"done": true})).await,
        app.delete(&own_path, &ta).await,
        app.post(&format!("/users/{b}/items"), &ta, json!({"title": "for b"}))
            .await,
        app.get(&format!("/users/{b}/items"), &ta).await,
        app.get(&format!("/users/{b}"), &ta).await,
        app.delete(&format!("/users/{b}"), &ta).await,
        app.get("/users", &ta).await,
        app.get("/items", &ta).await,
    ];
    for resp in forbidden {
        resp.expect(403);
        assert_eq!(resp.body, json!({"detail": "Not allowed"}));
    }
    assert_eq!(
        app.get(&own_path, &tb).await.body["done"],
        false,
        "nothing changed"
    );

    // One's own things, and everything for an admin.
    app.get(&format!("/users/{a}"), &ta).await.expect(200);
    app.item(&ta, a, "a's own").await;
    app.get("/me/items", &ta).await.expect(200);
    app.get("/users", &admin).await.expect(200);
    app.get("/items", &admin).await.expect(200);
    app.get(&own_path, &admin).await.expect(200);
    app.patch(&own_path, &admin, json!({"done": true}))
        .await
        .expect(200);
    app.delete(&format!("/users/{a}"), &ta).await.expect(200);
}

crate::on_every_backend!(team_board_lets_any_user_act_on_anything);

mod strict {
    use super::*;

    async fn run(kind: Kind) {
        let Some(app) =
            TestApp::start_with(kind, |c| c.authz = todo_api::authz::Authz::Strict).await
        else {
            return;
        };
        strict_confines_users_to_their_own(app).await;
    }

    #[tokio::test]
    async fn sqlite() {
        run(Kind::Sqlite).await;
    }

    #[tokio::test]
    async fn postgres() {
        run(Kind::Postgres).await;
    }

    #[tokio::test]
    async fn mysql() {
        run(Kind::MySql).await;
    }
}
