//! The item listings' filters in detail: the JST day boundary, the `done` spellings, ties,
//! paging, and the query plans that keep the listing an index range scan.

use serde_json::{Value, json};
use todo_api::domain::{ItemFilter, Page, jst_day_in_utc};

use crate::common::{Kind, TestApp};

fn ids(body: &Value) -> Vec<i64> {
    body.as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect()
}

async fn the_date_filter_is_a_calendar_day_in_japan(app: TestApp) {
    let (u, token) = app.signup("a@example.com").await;
    let mut made = Vec::new();
    for at in [
        "2023-01-02T14:59:59",
        "2023-01-02T15:00:00",
        "2023-01-03T14:59:59",
        "2023-01-03T15:00:00",
    ] {
        let id = app.item(&token, u, at).await["id"].as_i64().unwrap();
        app.set_created_at(id, at).await;
        made.push(id);
    }
    let day = |date: &'static str| {
        let (app, token) = (&app, &token);
        async move {
            ids(&app
                .get(&format!("/users/{u}/items?date={date}"), token)
                .await
                .body)
        }
    };
    assert_eq!(day("20230102").await, [made[0]]);
    assert_eq!(day("20230103").await, [made[2], made[1]]);
    assert_eq!(day("20230104").await, [made[3]]);
}

async fn malformed_dates_are_422(app: TestApp) {
    let (_, token) = app.signup("a@example.com").await;
    for bad in [
        "2023-01-03",
        "2023013",
        "202301031",
        "20230230",
        "20231301",
        "abcdefgh",
        "",
        "%2B2023010",
    ] {
        let resp = app.get(&format!("/items?date={bad}"), &token).await;
        resp.expect(422);
        assert_eq!(
            resp.body["detail"][0]["loc"],
            json!(["query", "date"]),
            "{bad}"
        );
        assert_eq!(resp.body["detail"][0]["type"], "value_error");
    }
    app.get("/items?date=20240229", &token).await.expect(200);
}

async fn done_accepts_what_pydantic_accepts(app: TestApp) {
    let (u, token) = app.signup("a@example.com").await;
    let open = app.item(&token, u, "open").await["id"].as_i64().unwrap();
    let closed = app.item(&token, u, "closed").await["id"].as_i64().unwrap();
    app.patch(
        &format!("/users/{u}/items/{closed}"),
        &token,
        json!({"done": true}),
    )
    .await
    .expect(200);
    for yes in ["true", "True", "TRUE", "1", "yes", "on", "t", "y"] {
        assert_eq!(
            ids(&app.get(&format!("/items?done={yes}"), &token).await.body),
            [closed],
            "{yes}"
        );
    }
    for no in ["false", "False", "0", "no", "off", "f", "n"] {
        assert_eq!(
            ids(&app.get(&format!("/items?done={no}"), &token).await.body),
            [open],
            "{no}"
        );
    }
    let bad = app.get("/items?done=maybe", &token).await;
    bad.expect(422);
    assert_eq!(
        bad.body,
        json!({"detail": [{"type": "bool_parsing", "loc": ["query", "done"], "msg": "Input should be a valid boolean, unable to interpret input", "input": "maybe"}]})
    );
}

async fn ties_are_broken_by_higher_id_and_pages_link_on(app: TestApp) {
    let (u, token) = app.signup("a@example.com").await;
    let mut made = Vec::new();
    for n in 0..5 {
        let id = app.item(&token, u, &format!("item {n}")).await["id"]
            .as_i64()
            .unwrap();
        app.set_created_at(id, "2023-05-05T05:05:05").await;
        made.push(id);
    }
    made.reverse();
    let first = app
        .get("/items?limit=2&done=false&date=20230505", &token)
        .await;
    assert_eq!(ids(&first.body), made[..2]);
    assert_eq!(
        first.header("link"),
        Some("</items?done=false&date=20230505&skip=2&limit=2>; rel=\"next\"")
    );
    let second = app
        .get("/items?done=false&date=20230505&skip=2&limit=2", &token)
        .await;
    assert_eq!(ids(&second.body), made[2..4]);
    let own = app
        .get(&format!("/users/{u}/items?skip=4&limit=2"), &token)
        .await;
    assert_eq!(ids(&own.body), made[4..]);
    assert!(own.header("link").is_none());
    let mine = app.get("/me/items?limit=5", &token).await;
    assert_eq!(ids(&mine.body), made);
}

async fn user_listing_needs_an_existing_user(app: TestApp) {
    let (a, token) = app.signup("a@example.com").await;
    let resp = app.get("/users/99999/items", &token).await;
    resp.expect(404);
    assert_eq!(resp.body, json!({"detail": "User not found"}));

    // An active user's empty page is a page, whatever the filter left out.
    let empty = app.get(&format!("/users/{a}/items"), &token).await;
    empty.expect(200);
    assert_eq!(empty.body, json!([]));
    app.item(&token, a, "undone").await;
    let none_done = app
        .get(&format!("/users/{a}/items?done=true"), &token)
        .await;
    none_done.expect(200);
    assert_eq!(none_done.body, json!([]));

    // An inactive user who still owns items (deactivation hands them to an heir, but a
    // database imported from the FastAPI app can hold such rows) has no listing.
    let (idle, idle_token) = app.signup("idle@example.com").await;
    app.item(&idle_token, idle, "left behind").await;
    app.db
        .exec(&format!(
            "UPDATE users SET is_active = FALSE WHERE id = {idle}"
        ))
        .await;
    let resp = app.get(&format!("/users/{idle}/items"), &token).await;
    resp.expect(404);
    assert_eq!(resp.body, json!({"detail": "User not found"}));
    let all = app.get("/items", &token).await;
    assert!(all.text.contains("left behind"), "{}", all.text);
}

/// The listing reads an index in order: no table scan, no sort. Asserted on the real query
/// of the store, with enough rows that the planner has a choice.
async fn listings_are_index_range_scans(app: TestApp) {
    let (u, _) = app.signup("a@example.com").await;
    let (other, _) = app.signup("b@example.com").await;
    let rows: Vec<String> = (0..3000)
        .map(|n| {
            let owner = if n % 10 == 0 { u } else { other };
            format!(
                "('t{n}', NULL, {owner}, '2023-{:02}-{:02} {:02}:00:00', {}, 1)",
                n % 12 + 1,
                n % 28 + 1,
                n % 24,
                if n % 3 == 0 { "TRUE" } else { "FALSE" }
            )
        })
        .collect();
    for chunk in rows.chunks(500) {
        app.db.exec(&format!("INSERT INTO items (title, description, owner_id, created_at, done, version) VALUES {}", chunk.join(", "))).await;
    }
    let analyze = match app.db.kind {
        Kind::Sqlite => "ANALYZE",
        Kind::Postgres => "ANALYZE items",
        Kind::MySql => "ANALYZE TABLE items",
    };
    app.db.exec(analyze).await;

    let day = Some(jst_day_in_utc(time::macros::date!(2023 - 03 - 04)));
    let page = Page {
        skip: 0,
        limit: 100,
    };
    let filters = [
        ItemFilter {
            owner_id: Some(u),
            created: None,
            done: None,
            page,
            before: None,
        },
        ItemFilter {
            owner_id: Some(u),
            created: day,
            done: None,
            page,
            before: None,
        },
        ItemFilter {
            owner_id: Some(u),
            created: day,
            done: Some(true),
            page,
            before: None,
        },
        ItemFilter {
            owner_id: Some(u),
            created: None,
            done: Some(false),
            page,
            before: None,
        },
        ItemFilter {
            owner_id: None,
            created: day,
            done: None,
            page,
            before: None,
        },
        ItemFilter {
            owner_id: None,
            created: day,
            done: Some(true),
            page,
            before: None,
        },
        ItemFilter {
            owner_id: None,
            created: None,
            done: Some(false),
            page,
            before: None,
        },
    ];
    let indexes = [
        "items_owner_created",
        "items_owner_done_created",
        "items_created",
        "items_done_created",
    ];
    for filter in filters {
        let plan = app.state.store.explain_items(&filter).await.unwrap();
        let context = format!("{:?} filter {filter:?}:\n{plan}", app.db.kind);
        // Which of the indexes the planner prefers depends on the data; that it reads one
        // of them in order, with no full scan and no sort, must not.
        assert!(
            indexes.iter().any(|index| plan.contains(index)),
            "no listing index used; {context}"
        );
        assert_range_scan(app.db.kind, &plan, &context);
    }
}

async fn days_at_the_ends_of_the_calendar_are_answered_not_refused(app: TestApp) {
    let (id, token) = app.signup("calendar@example.com").await;
    let item = app.item(&token, id, "today").await;
    // The item's own day in Japan (not "today", which may have changed since).
    let created = time::PrimitiveDateTime::parse(
        item["created_at"].as_str().unwrap(),
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]"),
    )
    .unwrap()
    .assume_utc()
    .to_offset(time::macros::offset!(+9))
    .date();
    let format = time::macros::format_description!("[year][month][day]");
    let paths = [
        "/items".to_owned(),
        "/me/items".to_owned(),
        format!("/users/{id}/items"),
    ];
    for path in &paths {
        for day in ["00000101", "00010101", "99991231"] {
            let resp = app.get(&format!("{path}?date={day}"), &token).await;
            resp.expect(200);
            assert_eq!(resp.body, json!([]), "{path}?date={day}");
        }
        let now = app
            .get(
                &format!("{path}?date={}", created.format(&format).unwrap()),
                &token,
            )
            .await;
        now.expect(200);
        assert_eq!(now.body, json!([item]), "{path} today");
    }
}

/// The plan reads one of the listing indexes over a range, in order: no full scan, no sort.
pub(crate) fn assert_range_scan(kind: Kind, plan: &str, context: &str) {
    match kind {
        Kind::Sqlite => {
            assert!(plan.contains("SEARCH items USING"), "{context}");
            assert!(!plan.contains("TEMP B-TREE"), "no sort step; {context}");
        }
        Kind::Postgres => {
            assert!(
                plan.contains("Index Scan Backward") || plan.contains("Index Only Scan Backward"),
                "{context}"
            );
            assert!(
                plan.contains("Index Cond"),
                "a range, not a whole index; {context}"
            );
            assert!(
                !plan.contains("Seq Scan") && !plan.contains("Sort"),
                "{context}"
            );
        }
        Kind::MySql => {
            assert!(
                plan.contains("type=range") || plan.contains("type=ref"),
                "{context}"
            );
            assert!(
                !plan.contains("filesort") && !plan.contains("type=ALL"),
                "{context}"
            );
        }
    }
}

crate::on_every_backend!(
    days_at_the_ends_of_the_calendar_are_answered_not_refused,
    the_date_filter_is_a_calendar_day_in_japan,
    malformed_dates_are_422,
    done_accepts_what_pydantic_accepts,
    ties_are_broken_by_higher_id_and_pages_link_on,
    user_listing_needs_an_existing_user,
    listings_are_index_range_scans,
);
