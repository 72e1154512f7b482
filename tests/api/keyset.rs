//! Keyset paging (`cursor`) of the item listings, and their plans with a million items of
//! one user: index range scans at that size, with `skip` and with a cursor.

use serde_json::Value;

use crate::common::{Kind, TestApp};
use todo_api::domain::{ItemFilter, Page};

fn ids(body: &Value) -> Vec<i64> {
    body.as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].as_i64().unwrap())
        .collect()
}

fn next_link(link: &str) -> String {
    link.trim_start_matches('<')
        .split('>')
        .next()
        .unwrap()
        .to_owned()
}

async fn a_cursor_walks_every_item_once_in_order(app: TestApp) {
    let (u, token) = app.signup("a@example.com").await;
    let mut made = Vec::new();
    for n in 0..7 {
        let id = app.item(&token, u, &format!("item {n}")).await["id"]
            .as_i64()
            .unwrap();
        // Ties on created_at, which the cursor must break by id as the order does.
        app.set_created_at(
            id,
            if n < 4 {
                "2023-05-05T05:05:05"
            } else {
                "2023-05-06T00:00:00"
            },
        )
        .await;
        made.push(id);
    }
    let all = app.get(&format!("/users/{u}/items"), &token).await;
    let expected = ids(&all.body);
    assert_eq!(expected.len(), 7);

    let mut seen = Vec::new();
    let mut next = format!("/users/{u}/items?limit=3&done=false&cursor=");
    let mut pages = 0;
    loop {
        let page = app.get(&next, &token).await;
        page.expect(200);
        seen.extend(ids(&page.body));
        pages += 1;
        match page.header("link") {
            Some(link) => {
                assert!(
                    link.contains("cursor=") && !link.contains("skip="),
                    "{link}"
                );
                assert!(
                    link.contains("done=false") && link.contains("limit=3"),
                    "{link}"
                );
                next = next_link(link);
            }
            None => break,
        }
        assert!(pages < 10, "the walk ends");
    }
    assert_eq!(seen, expected, "every item once, in the listing's order");
    assert_eq!(pages, 3);

    // Paging by skip is answered as before (tests/api/listing.rs asserts its Link).
    let by_skip = app.get(&format!("/users/{u}/items?limit=3"), &token).await;
    assert!(by_skip.header("link").unwrap().contains("skip=3"));

    let bad = app.get("/me/items?cursor=not-a-cursor", &token).await;
    bad.expect(422);
    assert_eq!(
        bad.body["detail"][0]["loc"],
        serde_json::json!(["query", "cursor"])
    );
    // A skip beside a cursor counts from the cursor on; the next link drops it.
    let skipped = app
        .get(&format!("/users/{u}/items?cursor=&skip=2&limit=3"), &token)
        .await;
    assert_eq!(ids(&skipped.body), expected[2..5]);
    assert!(!skipped.header("link").unwrap().contains("skip="));
}

/// One statement inserts the rows: a recursive CTE (SQLite, MariaDB) or generate_series.
async fn insert_million(app: &TestApp, owner: i64) {
    let rows = 1_000_000;
    let columns = "INSERT INTO items (title, description, owner_id, created_at, done, version)";
    let sql = match app.db.kind {
        Kind::Postgres => format!(
            "{columns} SELECT 't' || n, NULL, {owner}, TIMESTAMP '2020-01-01' + n * INTERVAL '1 minute', n % 3 = 0, 1 \
             FROM generate_series(1, {rows}) AS n"
        ),
        Kind::Sqlite => format!(
            "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {rows}) \
             {columns} SELECT 't' || n, NULL, {owner}, datetime('2020-01-01', '+' || n || ' minutes'), n % 3 = 0, 1 FROM s"
        ),
        // Six digit tables crossed (MySQL and MariaDB cap recursion differently).
        Kind::MySql => {
            let digit = "(SELECT 0 AS d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 \
                         UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 \
                         UNION ALL SELECT 8 UNION ALL SELECT 9)";
            format!(
                "{columns} SELECT CONCAT('t', n), NULL, {owner}, TIMESTAMPADD(MINUTE, n, '2020-01-01'), n % 3 = 0, 1 \
                 FROM (SELECT a.d + 10 * b.d + 100 * c.d + 1000 * e.d + 10000 * f.d + 100000 * g.d + 1 AS n \
                 FROM {digit} a, {digit} b, {digit} c, {digit} e, {digit} f, {digit} g) AS s"
            )
        }
    };
    app.db.exec(&sql).await;
    let analyze = match app.db.kind {
        Kind::Sqlite => "ANALYZE",
        Kind::Postgres => "ANALYZE items",
        Kind::MySql => "ANALYZE TABLE items",
    };
    app.db.exec(analyze).await;
}

async fn a_million_items_are_read_by_index_a_page_at_a_time(app: TestApp) {
    let (u, _) = app.signup("big@example.com").await;
    app.signup("small@example.com").await;
    insert_million(&app, u).await;
    let count = app.db.column("SELECT COUNT(*) FROM items").await;
    assert_eq!(count, ["1000000"]);

    let day = Some(todo_api::domain::jst_day_in_utc(time::macros::date!(
        2021 - 03 - 04
    )));
    let deep = Some((time::macros::datetime!(2021-06-01 00:00:00), 900_000));
    let page = Page {
        skip: 0,
        limit: 100,
    };
    for (owner_id, created, done, before) in [
        (Some(u), None, None, None),
        (Some(u), day, None, None),
        (Some(u), day, Some(true), None),
        (Some(u), None, Some(false), None),
        (None, day, None, None),
        (None, day, Some(true), None),
        (Some(u), None, None, deep),
        (Some(u), None, Some(false), deep),
        (None, None, None, deep),
    ] {
        let filter = ItemFilter {
            owner_id,
            created,
            done,
            page,
            before,
        };
        let plan = app.state.store.explain_items(&filter).await.unwrap();
        let context = format!(
            "{:?}, 1,000,000 items, filter {filter:?}:\n{plan}",
            app.db.kind
        );
        assert_ordered_index_read(app.db.kind, &plan, &context);
    }
}

/// A listing index read in the listing's order, which the LIMIT stops after one page: no
/// full scan and no sort at any size. (With every item of one user, an index on
/// `created_at` filtered by owner is as cheap as a range on the owner's index, and the
/// planners may pick either.)
fn assert_ordered_index_read(kind: Kind, plan: &str, context: &str) {
    let indexes = [
        "items_owner_created",
        "items_owner_done_created",
        "items_created",
        "items_done_created",
    ];
    assert!(
        indexes.iter().any(|index| plan.contains(index)),
        "{context}"
    );
    match kind {
        Kind::Sqlite => {
            assert!(plan.contains("USING"), "{context}");
            assert!(!plan.contains("TEMP B-TREE"), "no sort step; {context}");
        }
        Kind::Postgres => {
            assert!(
                plan.contains("Index Scan Backward") || plan.contains("Index Only Scan Backward"),
                "{context}"
            );
            assert!(plan.starts_with("Limit"), "stops after a page; {context}");
            assert!(
                !plan.contains("Seq Scan") && !plan.contains("Sort"),
                "{context}"
            );
        }
        Kind::MySql => {
            assert!(
                !plan.contains("filesort") && !plan.contains("type=ALL"),
                "{context}"
            );
        }
    }
}

crate::on_every_backend!(
    a_cursor_walks_every_item_once_in_order,
    a_million_items_are_read_by_index_a_page_at_a_time,
);
