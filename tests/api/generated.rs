//! Abuse tests generated from the OpenAPI document, so that a new route cannot be forgotten:
//! every operation behind `X-API-TOKEN` refuses a missing, wrong, rotated-away or
//! deactivated user's token with `401`, and under `AUTHZ=strict` every operation on another
//! user's resources is refused (`403`, or `404` where the resource is not the caller's).

use serde_json::{Map, Value, json};

use crate::common::{Kind, TestApp};

/// An operation of the document: method, path template, and the operation itself.
struct Operation {
    method: String,
    path: String,
    spec: Value,
}

fn protected_operations(doc: &Value) -> Vec<Operation> {
    let mut operations = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, spec) in item.as_object().unwrap() {
            let security = spec["security"].as_array().cloned().unwrap_or_default();
            // `security: [{}, {api_token: []}]` means the token is optional (sign-up).
            let required = !security.is_empty()
                && security
                    .iter()
                    .all(|s| s.as_object().is_some_and(|s| s.contains_key("api_token")));
            if required {
                operations.push(Operation {
                    method: method.to_uppercase(),
                    path: path.clone(),
                    spec: spec.clone(),
                });
            }
        }
    }
    operations
}

/// A value for a schema that its validation accepts: the required properties with the
/// smallest values their constraints allow.
fn example(doc: &Value, schema: &Value) -> Value {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.rsplit('/').next().unwrap();
        return example(doc, &doc["components"]["schemas"][name]);
    }
    let kinds: Vec<&str> = match &schema["type"] {
        Value::String(kind) => vec![kind.as_str()],
        Value::Array(kinds) => kinds.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    if kinds.contains(&"object") {
        let mut object = Map::new();
        for name in schema["required"].as_array().into_iter().flatten() {
            let name = name.as_str().unwrap();
            object.insert(name.to_owned(), example(doc, &schema["properties"][name]));
        }
        return Value::Object(object);
    }
    if kinds.contains(&"string") {
        if schema["format"] == "email" {
            return json!("generated@example.com");
        }
        let length = schema["minLength"].as_u64().unwrap_or(1).max(1) as usize;
        return json!("p".repeat(length));
    }
    if kinds.contains(&"boolean") {
        return json!(false);
    }
    if kinds.contains(&"integer") {
        return json!(1);
    }
    Value::Null
}

fn body_of(doc: &Value, operation: &Operation) -> Option<Value> {
    let schema = &operation.spec["requestBody"]["content"]["application/json"]["schema"];
    (!schema.is_null()).then(|| example(doc, schema))
}

fn fill(path: &str, user_id: i64, item_id: i64) -> String {
    // A token id that names nothing: the checks here come before any lookup.
    path.replace("{user_id}", &user_id.to_string())
        .replace("{item_id}", &item_id.to_string())
        .replace("{token_id}", "1")
}

async fn every_protected_operation_refuses_bad_tokens(app: TestApp) {
    let doc = app.send("GET", "/openapi.json", None, None).await.body;
    let operations = protected_operations(&doc);
    assert!(
        operations.len() >= 12,
        "the document lists the protected operations"
    );

    let (user, token) = app.signup("valid@example.com").await;
    let item = app.item(&token, user, "target").await["id"]
        .as_i64()
        .unwrap();
    let (rotated, old_token) = app.signup("rotated@example.com").await;
    app.post(
        &format!("/users/{rotated}/token"),
        &old_token,
        json!({"password": "password123"}),
    )
    .await
    .expect(200);
    let (gone, gone_token) = app.signup("gone@example.com").await;
    app.delete(&format!("/users/{gone}"), &token)
        .await
        .expect(200);

    let bad_tokens: [(&str, Option<&str>); 5] = [
        ("no token", None),
        ("garbage", Some("letmein")),
        (
            "well-formed but unknown",
            Some("tdo_0123456789abcdef01234567_unknownsecret"),
        ),
        ("rotated away", Some(&old_token)),
        ("deactivated user's", Some(&gone_token)),
    ];
    for operation in &operations {
        let path = fill(&operation.path, user, item);
        let body = body_of(&doc, operation);
        for (what, bad) in bad_tokens {
            let resp = app.send(&operation.method, &path, bad, body.clone()).await;
            assert_eq!(
                (resp.status.as_u16(), resp.body.clone()),
                (401, json!({"detail": "Not authenticated"})),
                "{} {} with a {what} token",
                operation.method,
                operation.path
            );
        }
    }
    // Nothing was changed by any of them.
    let still = app
        .get(&format!("/users/{user}/items/{item}"), &token)
        .await;
    still.expect(200);
    assert_eq!(still.body["title"], "target");
}

async fn under_strict_authz_other_users_resources_are_refused(app: TestApp) {
    let app = app
        .restarted_with(|c| c.authz = todo_api::authz::Authz::Strict)
        .await;
    let doc = app.send("GET", "/openapi.json", None, None).await.body;
    let (alice, alice_token) = app.signup("alice@example.com").await;
    let (bob, bob_token) = app.signup("bob@example.com").await;
    let bobs_item = app.item(&bob_token, bob, "bob's").await["id"]
        .as_i64()
        .unwrap();
    let mut checked = 0;
    for operation in protected_operations(&doc) {
        let path = fill(&operation.path, bob, bobs_item);
        let across_users = matches!(operation.path.as_str(), "/users" | "/items");
        if !operation.path.contains("{user_id}") && !across_users {
            continue; // the caller's own: /me, /me/items
        }
        let body = body_of(&doc, &operation);
        let resp = app
            .send(&operation.method, &path, Some(&alice_token), body)
            .await;
        assert!(
            matches!(resp.status.as_u16(), 403 | 404),
            "{} {} by another user -> {}: {}",
            operation.method,
            operation.path,
            resp.status,
            resp.text
        );
        checked += 1;
    }
    assert!(checked >= 9, "{checked} operations checked");
    // Bob's item is intact, and Alice still reaches her own.
    let item = app
        .get(&format!("/users/{bob}/items/{bobs_item}"), &bob_token)
        .await;
    assert_eq!(item.body["title"], "bob's");
    app.get(&format!("/users/{alice}"), &alice_token)
        .await
        .expect(200);
}

crate::on_every_backend!(
    every_protected_operation_refuses_bad_tokens,
    under_strict_authz_other_users_resources_are_refused,
);

#[tokio::test]
async fn the_generator_sees_every_route_of_the_router() {
    // A cross-check of the generator itself: the protected operations it finds are exactly
    // the documented ones but health, sign-up and the documents.
    let app = TestApp::start(Kind::Sqlite).await.unwrap();
    let doc = app.send("GET", "/openapi.json", None, None).await.body;
    let found: Vec<String> = protected_operations(&doc)
        .iter()
        .map(|o| format!("{} {}", o.method, o.path))
        .collect();
    for expected in [
        "GET /users",
        "DELETE /users/{user_id}/items/{item_id}",
        "GET /me",
    ] {
        assert!(
            found.iter().any(|f| f == expected),
            "{expected} in {found:?}"
        );
    }
    assert!(
        !found.iter().any(|f| f == "POST /users"),
        "sign-up needs no token"
    );
}
