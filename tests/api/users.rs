//! Reading and deleting users (the hand-over of a deleted user's items to the active user with
//! the smallest id, sequentially; the concurrent proof is in the process tests).

use serde_json::json;

use crate::common::TestApp;

async fn users_list_active_users_by_id_with_their_items(app: TestApp) {
    let (a, token) = app.signup("a@example.com").await;
    let (b, _) = app.signup("b@example.com").await;
    let (c, _) = app.signup("c@example.com").await;
    let item = app.item(&token, b, "for b").await;
    app.delete(&format!("/users/{c}"), &token).await.expect(200);

    let resp = app.get("/users/", &token).await;
    resp.expect(200);
    assert_eq!(
        resp.body,
        json!([
            {"email": "a@example.com", "id": a, "is_active": true, "items": []},
            {"email": "b@example.com", "id": b, "is_active": true, "items": [item]},
        ])
    );
    assert!(
        resp.header("link").is_none(),
        "a short page has no next link"
    );
}

async fn skip_and_limit_page_through_users_with_a_next_link(app: TestApp) {
    let (first, token) = app.signup("u0@example.com").await;
    for n in 1..5 {
        app.signup(&format!("u{n}@example.com")).await;
    }
    let page = app.get("/users?skip=1&limit=2", &token).await;
    page.expect(200);
    let ids: Vec<i64> = page
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [first + 1, first + 2]);
    assert_eq!(
        page.header("link"),
        Some("</users?skip=3&limit=2>; rel=\"next\"")
    );
    let last = app.get("/users?skip=3&limit=2", &token).await;
    assert_eq!(last.body.as_array().unwrap().len(), 2);
    let beyond = app.get("/users?skip=5&limit=2", &token).await;
    assert_eq!(beyond.body, json!([]));
    assert!(beyond.header("link").is_none());
    let nothing = app.get("/users?limit=0", &token).await;
    assert_eq!(nothing.body, json!([]));
    assert_eq!(
        app.get("/users?limit=1000", &token)
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        5
    );
}

async fn skip_and_limit_are_bounded(app: TestApp) {
    let (_, token) = app.signup("a@example.com").await;
    let cases = [
        (
            "limit=1001",
            json!({"type": "less_than_equal", "loc": ["query", "limit"], "msg": "Input should be less than or equal to 1000", "input": "1001", "ctx": {"le": 1000}}),
        ),
        (
            "limit=-1",
            json!({"type": "greater_than_equal", "loc": ["query", "limit"], "msg": "Input should be greater than or equal to 0", "input": "-1", "ctx": {"ge": 0}}),
        ),
        (
            "skip=-1",
            json!({"type": "greater_than_equal", "loc": ["query", "skip"], "msg": "Input should be greater than or equal to 0", "input": "-1", "ctx": {"ge": 0}}),
        ),
        (
            "limit=ten",
            json!({"type": "int_parsing", "loc": ["query", "limit"], "msg": "Input should be a valid integer, unable to parse string as an integer", "input": "ten"}),
        ),
        (
            "skip=",
            json!({"type": "int_parsing", "loc": ["query", "skip"], "msg": "Input should be a valid integer, unable to parse string as an integer", "input": ""}),
        ),
    ];
    for (query, error) in cases {
        let resp = app.get(&format!("/users?{query}"), &token).await;
        resp.expect(422);
        assert_eq!(resp.body, json!({"detail": [error]}), "{query}");
    }
    // Huge offsets are valid and simply empty (Python's ints are unbounded).
    app.get("/users?skip=99999999999999999999999", &token)
        .await
        .expect(200);
}

async fn a_user_is_found_by_id_until_deleted(app: TestApp) {
    let (id, token) = app.signup("me@example.com").await;
    let (other, _) = app.signup("other@example.com").await;
    let resp = app.get(&format!("/users/{id}/"), &token).await;
    resp.expect(200);
    assert_eq!(
        resp.body,
        json!({"email": "me@example.com", "id": id, "is_active": true, "items": []})
    );
    for missing in [
        "/users/99999",
        "/users/-1",
        "/users/0",
        "/users/99999999999999999999",
    ] {
        let resp = app.get(missing, &token).await;
        resp.expect(404);
        assert_eq!(resp.body, json!({"detail": "User not found"}));
    }
    let bad = app.get("/users/1.5", &token).await;
    bad.expect(422);
    assert_eq!(bad.body["detail"][0]["loc"], json!(["path", "user_id"]));
    app.delete(&format!("/users/{other}"), &token)
        .await
        .expect(200);
    app.get(&format!("/users/{other}"), &token)
        .await
        .expect(404);
}

async fn deleting_hands_items_to_the_smallest_active_id(app: TestApp) {
    let (a, ta) = app.signup("a@example.com").await;
    let (b, tb) = app.signup("b@example.com").await;
    let (c, _) = app.signup("c@example.com").await;
    let from_b = app.item(&tb, b, "b's").await;
    let from_c = app.item(&tb, c, "c's").await;

    let resp = app.delete(&format!("/users/{b}"), &ta).await;
    resp.expect(200);
    assert_eq!(
        resp.body,
        json!({"email": "b@example.com", "id": b, "is_active": false, "items": []})
    );
    let owners = app.get(&format!("/users/{a}"), &ta).await;
    let ids: Vec<i64> = owners.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [from_b["id"].as_i64().unwrap()]);

    // Deleting the smallest active id (here, oneself) hands over to the next one.
    let (_, td) = app.signup("d@example.com").await;
    app.delete(&format!("/users/{a}"), &ta).await.expect(200);
    app.get("/users", &ta).await.expect(401);
    let heir = app.get(&format!("/users/{c}"), &td).await;
    let mut ids: Vec<i64> = heir.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect();
    ids.sort();
    assert_eq!(
        ids,
        [
            from_b["id"].as_i64().unwrap(),
            from_c["id"].as_i64().unwrap()
        ]
    );
    // Moving an item is a change: its version (and ETag) moved on.
    let item = app
        .get(&format!("/users/{c}/items/{}", from_b["id"]), &td)
        .await;
    assert_eq!(
        item.header("etag"),
        Some(format!("W/\"{}-3\"", from_b["id"]).as_str())
    );
}

async fn the_last_active_user_cannot_be_deleted(app: TestApp) {
    let (a, ta) = app.signup("a@example.com").await;
    let (b, tb) = app.signup("b@example.com").await;
    app.delete(&format!("/users/{b}"), &ta).await.expect(200);
    let resp = app.delete(&format!("/users/{a}"), &ta).await;
    resp.expect(409);
    assert!(
        resp.body["detail"]
            .as_str()
            .unwrap()
            .contains("last active user")
    );
    app.get(&format!("/users/{a}"), &ta).await.expect(200);
    let again = app.delete(&format!("/users/{b}"), &ta).await;
    again.expect(404);
    assert_eq!(again.body, json!({"detail": "User not found"}));
    app.get("/users", &tb).await.expect(401);
}

crate::on_every_backend!(
    users_list_active_users_by_id_with_their_items,
    skip_and_limit_page_through_users_with_a_next_link,
    skip_and_limit_are_bounded,
    a_user_is_found_by_id_until_deleted,
    deleting_hands_items_to_the_smallest_active_id,
    the_last_active_user_cannot_be_deleted,
);
