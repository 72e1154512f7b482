//! The original app's own scenario, written afresh: three users, six items with chosen
//! `created_at` values, every combination of `date` and `done`, then deleting users in turn
//! and checking where the items went, comparing whole JSON arrays.

use serde_json::{Value, json};

use crate::common::TestApp;

async fn the_fastapi_apps_scenario(app: TestApp) {
    let (u1, t1) = app.signup("deadpool@example.com").await;
    let (u2, t2) = app.signup("wade-winston-wilson@example.com").await;
    let (u3, t3) = app.signup("ryan-rodney-reynolds@example.com").await;
    assert_eq!(app.get("/items", &t1).await.body, json!([]));

    // (title, created_at UTC, owner, token, done)
    let plan = [
        ("First Item", "2023-01-01T00:00:00", u1, &t1, false),
        ("Second Item", "2023-01-02T00:00:00", u1, &t1, false),
        ("Third Item", "2023-01-03T00:00:00", u1, &t1, true),
        ("Fourth Item", "2022-12-31T00:00:00", u2, &t2, true),
        ("Fifth Item", "2023-01-03T12:00:00", u2, &t2, false),
        ("Sixth Item", "2023-01-04T00:00:00", u3, &t3, false),
    ];
    let mut items: Vec<Value> = Vec::new();
    for (title, created_at, owner, token, done) in plan {
        let description = format!(
            "This is {} item",
            title.split(' ').next().unwrap().to_lowercase()
        );
        let resp = app
            .post(
                &format!("/users/{owner}/items"),
                token,
                json!({"title": title, "description": description}),
            )
            .await;
        resp.expect(200);
        let id = resp.body["id"].as_i64().unwrap();
        app.set_created_at(id, created_at).await;
        if done {
            let patched = app
                .patch(
                    &format!("/users/{owner}/items/{id}"),
                    token,
                    json!({"title": title, "description": description, "done": true}),
                )
                .await;
            patched.expect(200);
        }
        items.push(json!({"title": title, "description": description, "id": id, "owner_id": owner, "created_at": created_at, "done": done}));
    }
    let pick = |items: &[Value], order: &[usize]| {
        Value::Array(order.iter().map(|&n| items[n - 1].clone()).collect())
    };
    let list = |query: &'static str| {
        let (app, t1) = (&app, &t1);
        async move {
            let resp = app.get(&format!("/items{query}"), t1).await;
            resp.expect(200);
            resp.body
        }
    };

    // Newest first.
    let everything = [6, 5, 3, 2, 1, 4];
    assert_eq!(list("").await, pick(&items, &everything));
    assert_eq!(list("?done=False").await, pick(&items, &[6, 5, 2, 1]));
    assert_eq!(list("?done=True").await, pick(&items, &[3, 4]));
    // 2023-01-03 in JST is 2023-01-02T15:00 .. 2023-01-03T15:00 UTC.
    assert_eq!(list("?date=20230103").await, pick(&items, &[5, 3]));
    assert_eq!(list("?date=20230103&done=True").await, pick(&items, &[3]));
    assert_eq!(list("?date=20230103&done=False").await, pick(&items, &[5]));
    assert_eq!(list("?date=20230101").await, pick(&items, &[1]));
    assert_eq!(list("?date=20221231").await, pick(&items, &[4]));
    assert_eq!(list("?date=20230104").await, pick(&items, &[6]));
    assert_eq!(list("?date=20230105").await, json!([]));
    assert_eq!(list("?date=20230104&done=true").await, json!([]));
    // The per-user listing applies the same filters.
    let of_u1 = app.get(&format!("/users/{u1}/items?done=false"), &t1).await;
    assert_eq!(of_u1.body, pick(&items, &[2, 1]));
    let of_u2 = app
        .get(&format!("/users/{u2}/items?date=20230103"), &t1)
        .await;
    assert_eq!(of_u2.body, pick(&items, &[5]));

    // Deleting user 2 hands its items to user 1, the active user with the smallest id.
    app.delete(&format!("/users/{u2}"), &t1).await.expect(200);
    app.get(&format!("/users/{u2}"), &t1).await.expect(404);
    for n in [4, 5] {
        items[n - 1]["owner_id"] = json!(u1);
    }
    assert_eq!(list("").await, pick(&items, &everything));

    // Deleting user 1 hands everything to user 3.
    app.delete(&format!("/users/{u1}"), &t3).await.expect(200);
    for n in [1, 2, 3, 4, 5] {
        items[n - 1]["owner_id"] = json!(u3);
    }
    let after = app.get("/items", &t3).await;
    assert_eq!(after.body, pick(&items, &everything));
    app.get("/items", &t1).await.expect(401);
    let u3_items = app.get(&format!("/users/{u3}"), &t3).await.body["items"].clone();
    assert_eq!(
        u3_items,
        pick(&items, &[1, 2, 3, 4, 5, 6]),
        "a user's items are listed by id"
    );
}

crate::on_every_backend!(the_fastapi_apps_scenario);
