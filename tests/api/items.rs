//! Creating, reading, updating and deleting items; validation at every boundary; ETags.

use serde_json::{Value, json};

use crate::common::TestApp;

fn keys(value: &Value) -> Vec<&str> {
    value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect()
}

async fn an_item_has_exactly_the_fastapi_fields(app: TestApp) {
    let (id, token) = app.signup("owner@example.com").await;
    let before = time::OffsetDateTime::now_utc().unix_timestamp();
    let resp = app
        .post(
            &format!("/users/{id}/items/"),
            &token,
            json!({"title": "First Item", "description": "This is first item"}),
        )
        .await;
    resp.expect(200);
    assert_eq!(
        keys(&resp.body),
        [
            "title",
            "description",
            "id",
            "owner_id",
            "created_at",
            "done"
        ]
    );
    assert_eq!(resp.body["title"], "First Item");
    assert_eq!(resp.body["description"], "This is first item");
    assert_eq!(resp.body["owner_id"], id);
    assert_eq!(resp.body["done"], false);
    let created = resp.body["created_at"].as_str().unwrap();
    assert_eq!(
        created.len(),
        19,
        "YYYY-MM-DDTHH:MM:SS without offset: {created}"
    );
    let format = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    let at = time::PrimitiveDateTime::parse(created, format)
        .unwrap()
        .assume_utc()
        .unix_timestamp();
    assert!(
        (before..=before + 5).contains(&at),
        "created_at is now, in UTC: {created}"
    );
    let item_id = resp.body["id"].as_i64().unwrap();
    assert_eq!(
        resp.header("etag"),
        Some(format!("W/\"{item_id}-1\"").as_str())
    );
    // Reading it back gives the same object.
    let read = app
        .get(&format!("/users/{id}/items/{item_id}"), &token)
        .await;
    read.expect(200);
    assert_eq!(read.body, resp.body);
}

async fn description_may_be_absent_or_null(app: TestApp) {
    let (id, token) = app.signup("owner@example.com").await;
    for body in [
        json!({"title": "no description"}),
        json!({"title": "null description", "description": null}),
    ] {
        let resp = app.post(&format!("/users/{id}/items"), &token, body).await;
        resp.expect(200);
        assert_eq!(resp.body["description"], Value::Null);
    }
}

async fn title_and_description_lengths_at_their_boundaries(app: TestApp) {
    let (id, token) = app.signup("owner@example.com").await;
    let path = format!("/users/{id}/items");
    let post = |title: String, description: Option<String>| {
        let (app, path, token) = (&app, &path, &token);
        async move {
            app.post(
                path,
                token,
                json!({"title": title, "description": description}),
            )
            .await
        }
    };
    let empty = post(String::new(), None).await;
    empty.expect(422);
    assert_eq!(
        empty.body,
        json!({"detail": [{"type": "string_too_short", "loc": ["body", "title"], "msg": "String should have at least 1 character", "input": "", "ctx": {"min_length": 1}}]})
    );
    post("x".into(), None).await.expect(200);
    post("é".repeat(200), None).await.expect(200);
    let long = post("x".repeat(201), None).await;
    long.expect(422);
    assert_eq!(long.body["detail"][0]["type"], "string_too_long");
    assert_eq!(
        long.body["detail"][0]["msg"],
        "String should have at most 200 characters"
    );
    assert_eq!(long.body["detail"][0]["ctx"], json!({"max_length": 200}));
    post("t".into(), Some("d".repeat(2000))).await.expect(200);
    let long_description = post("t".into(), Some("d".repeat(2001))).await;
    long_description.expect(422);
    assert_eq!(
        long_description.body["detail"][0]["loc"],
        json!(["body", "description"])
    );
    assert_eq!(
        long_description.body["detail"][0]["ctx"],
        json!({"max_length": 2000})
    );
    // Both wrong at once: both reported, in field order.
    let both = post(String::new(), Some("d".repeat(2001))).await;
    let locs: Vec<&Value> = both.body["detail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["loc"])
        .collect();
    assert_eq!(
        locs,
        [&json!(["body", "title"]), &json!(["body", "description"])]
    );
    let stored = app.db.column("SELECT COUNT(*) FROM items").await;
    assert_eq!(stored, ["3"], "only the valid ones were stored");
}

async fn wrong_types_are_422_with_pydantic_errors(app: TestApp) {
    let (id, token) = app.signup("owner@example.com").await;
    let resp = app
        .post(
            &format!("/users/{id}/items"),
            &token,
            json!({"title": 12, "description": ["x"]}),
        )
        .await;
    resp.expect(422);
    assert_eq!(
        resp.body,
        json!({"detail": [
            {"type": "string_type", "loc": ["body", "title"], "msg": "Input should be a valid string", "input": 12},
            {"type": "string_type", "loc": ["body", "description"], "msg": "Input should be a valid string", "input": ["x"]},
        ]})
    );
    let missing = app
        .post(
            &format!("/users/{id}/items"),
            &token,
            json!({"description": "no title"}),
        )
        .await;
    assert_eq!(
        missing.body,
        json!({"detail": [{"type": "missing", "loc": ["body", "title"], "msg": "Field required", "input": {"description": "no title"}}]})
    );
    let both = app.post("/users/abc/items", &token, json!({})).await;
    let locs: Vec<&Value> = both.body["detail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["loc"])
        .collect();
    assert_eq!(
        locs,
        [&json!(["path", "user_id"]), &json!(["body", "title"])],
        "path errors come before body errors"
    );
}

async fn strings_are_stored_verbatim(app: TestApp) {
    let (id, token) = app.signup("owner@example.com").await;
    let tricky = [
        "Robert'); DROP TABLE items;--",
        "\" OR 1=1 --",
        "絵文字 🎉 and ünïcödé",
        "line\nbreak\ttab \\ backslash",
        "%s %d {} $1 ?",
        "  leading and trailing spaces  ",
    ];
    for text in tricky {
        let resp = app
            .post(
                &format!("/users/{id}/items"),
                &token,
                json!({"title": text, "description": text}),
            )
            .await;
        resp.expect(200);
        let item_id = resp.body["id"].as_i64().unwrap();
        let read = app
            .get(&format!("/users/{id}/items/{item_id}"), &token)
            .await;
        assert_eq!(read.body["title"], text);
        assert_eq!(read.body["description"], text);
    }
    assert_eq!(
        app.db.column("SELECT COUNT(*) FROM items").await,
        [tricky.len().to_string()]
    );
    // NUL cannot be stored by PostgreSQL: refused on every backend, nothing stored.
    let nul = app
        .post(
            &format!("/users/{id}/items"),
            &token,
            json!({"title": "a\u{0}b"}),
        )
        .await;
    nul.expect(422);
    assert_eq!(nul.body["detail"][0]["type"], "string_pattern_mismatch");
    assert_eq!(
        nul.body["detail"][0]["ctx"],
        json!({"pattern": "^[^\\x00]*$"})
    );
    assert_eq!(
        app.db.column("SELECT COUNT(*) FROM items").await,
        [tricky.len().to_string()]
    );
}

async fn items_need_an_active_owner(app: TestApp) {
    let (_, token) = app.signup("a@example.com").await;
    let (gone, _) = app.signup("gone@example.com").await;
    app.delete(&format!("/users/{gone}"), &token)
        .await
        .expect(200);
    for owner in [gone, 99999] {
        let resp = app
            .post(
                &format!("/users/{owner}/items"),
                &token,
                json!({"title": "t"}),
            )
            .await;
        resp.expect(404);
        assert_eq!(resp.body, json!({"detail": "User not found"}));
    }
    assert_eq!(app.db.column("SELECT COUNT(*) FROM items").await, ["0"]);
}

async fn items_are_found_only_under_their_owner(app: TestApp) {
    let (a, token) = app.signup("a@example.com").await;
    let (b, _) = app.signup("b@example.com").await;
    let item = app.item(&token, a, "mine").await;
    let id = item["id"].as_i64().unwrap();
    for path in [
        format!("/users/{b}/items/{id}"),
        format!("/users/{a}/items/99999"),
        format!("/users/99999/items/{id}"),
    ] {
        let resp = app.get(&path, &token).await;
        resp.expect(404);
        assert_eq!(resp.body, json!({"detail": "Item not found"}));
    }
    let bad = app.get(&format!("/users/{a}/items/x"), &token).await;
    bad.expect(422);
    assert_eq!(bad.body["detail"][0]["loc"], json!(["path", "item_id"]));
}

async fn patch_changes_given_fields_and_null_leaves_them(app: TestApp) {
    let (a, token) = app.signup("a@example.com").await;
    let item = app.item(&token, a, "original").await;
    let path = format!("/users/{a}/items/{}", item["id"]);

    let done = app.patch(&path, &token, json!({"done": true})).await;
    done.expect(200);
    let mut expected = item.clone();
    expected["done"] = json!(true);
    assert_eq!(done.body, expected);

    let nulls = app
        .patch(
            &path,
            &token,
            json!({"title": null, "description": null, "done": null}),
        )
        .await;
    assert_eq!(nulls.body, expected, "null leaves every field as it is");

    let renamed = app
        .patch(
            &path,
            &token,
            json!({"title": "renamed", "description": "new text", "done": "False"}),
        )
        .await;
    expected["title"] = json!("renamed");
    expected["description"] = json!("new text");
    expected["done"] = json!(false);
    assert_eq!(renamed.body, expected);
    assert_eq!(app.get(&path, &token).await.body, expected);

    for (body, kind) in [
        (json!({"title": ""}), "string_too_short"),
        (json!({"done": "maybe"}), "bool_parsing"),
        (json!({"done": [1]}), "bool_type"),
        (json!({"title": 5}), "string_type"),
    ] {
        let resp = app.patch(&path, &token, body.clone()).await;
        resp.expect(422);
        assert_eq!(resp.body["detail"][0]["type"], kind, "{body}");
    }
    assert_eq!(
        app.get(&path, &token).await.body,
        expected,
        "failed patches change nothing"
    );
    app.patch(
        &format!("/users/{a}/items/99999"),
        &token,
        json!({"done": true}),
    )
    .await
    .expect(404);
}

async fn if_match_makes_updates_conditional(app: TestApp) {
    let (a, token) = app.signup("a@example.com").await;
    let item = app.item(&token, a, "contended").await;
    let path = format!("/users/{a}/items/{}", item["id"]);
    let etag = app
        .get(&path, &token)
        .await
        .header("etag")
        .unwrap()
        .to_owned();

    let update = |etag: String, title: &'static str| {
        let (app, path, token) = (&app, &path, &token);
        async move {
            app.raw(
                "PATCH",
                path,
                &[
                    ("x-api-token", token),
                    ("content-type", "application/json"),
                    ("if-match", &etag),
                ],
                json!({"title": title}).to_string(),
            )
            .await
        }
    };
    let first = update(etag.clone(), "first writer").await;
    first.expect(200);
    let new_etag = first.header("etag").unwrap().to_owned();
    assert_ne!(new_etag, etag);

    let stale = update(etag.clone(), "second writer").await;
    stale.expect(412);
    assert_eq!(stale.body, json!({"detail": "Precondition Failed"}));
    assert_eq!(
        app.get(&path, &token).await.body["title"],
        "first writer",
        "the stale write lost nothing"
    );

    update(new_etag, "second writer, after reading")
        .await
        .expect(200);
    update("*".into(), "anything goes").await.expect(200);
    update("W/\"99999-1\"".into(), "another item's tag")
        .await
        .expect(412);

    let stale_delete = app
        .raw(
            "DELETE",
            &path,
            &[("x-api-token", &token), ("if-match", &etag)],
            "",
        )
        .await;
    stale_delete.expect(412);
    let current = app
        .get(&path, &token)
        .await
        .header("etag")
        .unwrap()
        .to_owned();
    app.raw(
        "DELETE",
        &path,
        &[("x-api-token", &token), ("if-match", &current)],
        "",
    )
    .await
    .expect(204);
}

async fn delete_removes_the_item(app: TestApp) {
    let (a, token) = app.signup("a@example.com").await;
    let keep = app.item(&token, a, "keep").await;
    let drop = app.item(&token, a, "drop").await;
    let path = format!("/users/{a}/items/{}", drop["id"]);
    let resp = app.delete(&path, &token).await;
    resp.expect(204);
    assert!(resp.text.is_empty());
    let again = app.delete(&path, &token).await;
    again.expect(404);
    assert_eq!(again.body, json!({"detail": "Item not found"}));
    app.get(&path, &token).await.expect(404);
    assert_eq!(
        app.get(&format!("/users/{a}"), &token).await.body["items"],
        json!([keep])
    );
    // Ids are never handed out again.
    let next = app.item(&token, a, "next").await;
    assert!(next["id"].as_i64() > drop["id"].as_i64());
}

crate::on_every_backend!(
    an_item_has_exactly_the_fastapi_fields,
    description_may_be_absent_or_null,
    title_and_description_lengths_at_their_boundaries,
    wrong_types_are_422_with_pydantic_errors,
    strings_are_stored_verbatim,
    items_need_an_active_owner,
    items_are_found_only_under_their_owner,
    patch_changes_given_fields_and_null_leaves_them,
    if_match_makes_updates_conditional,
    delete_removes_the_item,
);
