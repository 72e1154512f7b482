//! `todo-api backup`, `restore` and `copy` of the real binary, on every backend: a backup
//! taken while a writer runs is one consistent snapshot and restores row for row; a SQLite
//! database copied into PostgreSQL and MariaDB serves the same API (ids, ETags, tokens).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use serde_json::{Value, json};

use crate::common::dump::{dump, seed_items};
use crate::common::process::{Server, run};
use crate::common::{Kind, TestDb};

/// Runs a CLI command off the async runtime (it blocks until the child exits).
pub async fn cli(args: &[&str], url: &str) -> (i32, String, String) {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let url = url.to_owned();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run(&args, &[("DATABASE_URL", url.as_str())], None)
    })
    .await
    .unwrap()
}

/// POSTs items one after the other until stopped; counts those created.
pub struct Writer {
    stop: Arc<AtomicBool>,
    pub created: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl Writer {
    pub fn start(server: &Server, owner: i64, token: &str) -> Writer {
        let (stop, created) = (
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicU64::new(0)),
        );
        let url = server.url(&format!("/users/{owner}/items"));
        let (token, flag, count) = (token.to_owned(), stop.clone(), created.clone());
        let task = tokio::spawn(async move {
            let http = reqwest::Client::new();
            while !flag.load(Ordering::Relaxed) {
                let n = count.load(Ordering::Relaxed);
                let response = http
                    .post(&url)
                    .header("x-api-token", &token)
                    .json(&json!({"title": format!("written {n}")}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), 200);
                count.fetch_add(1, Ordering::Relaxed);
            }
        });
        Writer {
            stop,
            created,
            task,
        }
    }

    /// Waits until `more` further items exist.
    pub async fn wait_for(&self, more: u64) {
        let target = self.created.load(Ordering::Relaxed) + more;
        while self.created.load(Ordering::Relaxed) < target {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }

    pub async fn stop(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.task.await.unwrap();
        self.created.load(Ordering::Relaxed)
    }
}

fn item_ids(rows: &[Vec<String>]) -> Vec<i64> {
    rows.iter().map(|row| row[0].parse().unwrap()).collect()
}

async fn backup_while_writing_restores_every_row(kind: Kind) {
    let Some(source) = TestDb::create(kind).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("todo.jsonl");
    let file = file.to_str().unwrap();
    let server = Server::start(&[("DATABASE_URL", &source.url), ("METRICS_ENABLED", "false")]);
    let (alice, token) = server.signup("alice@example.com").await;
    server.signup("bob@example.com").await;
    let (status, _) = server
        .call(
            "POST",
            &format!("/users/{alice}/tokens"),
            Some(&token),
            Some(&json!({"name": "ci", "read_only": true})),
        )
        .await;
    assert_eq!(status, 200);
    // Enough rows that the export reads many pages while the writer commits between them.
    seed_items(&source, alice, 30_000).await;
    let seeded_up_to = *item_ids(&dump(kind, &source.url).await["items"])
        .last()
        .unwrap();

    let writer = Writer::start(&server, alice, &token);
    writer.wait_for(20).await;
    let (code, out, err) = cli(&["backup", file], &source.url).await;
    assert_eq!(code, 0, "{err}");
    writer.wait_for(20).await;
    let written = writer.stop().await;
    let summary: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(summary["format"], "todo-api-backup");
    assert_eq!(summary["backend"], kind_name(kind));
    assert!(!std::path::Path::new(&format!("{file}.partial")).exists());
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(file).unwrap().permissions());
    assert_eq!(
        mode & 0o777,
        0o600,
        "password and token hashes: for the owner only"
    );

    let Some(target) = TestDb::create(kind).await else {
        return;
    };
    let (code, out, err) = cli(&["restore", file], &target.url).await;
    assert_eq!(code, 0, "{err}");
    let restored: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(restored["counts"], summary["counts"]);

    let live = dump(kind, &source.url).await;
    let copy = dump(kind, &target.url).await;
    assert_eq!(summary["counts"]["items"], copy["items"].len());
    // The restored items are exactly the live ones up to some moment: no gaps, none later.
    let last = *item_ids(&copy["items"]).last().unwrap();
    let expected: Vec<_> = live["items"]
        .iter()
        .filter(|row| row[0].parse::<i64>().unwrap() <= last)
        .cloned()
        .collect();
    assert_eq!(copy["items"], expected);
    let during = item_ids(&copy["items"])
        .iter()
        .filter(|id| **id > seeded_up_to)
        .count() as u64;
    assert!(
        during >= 20 && during < written,
        "{during} of {written} written items in the backup"
    );
    // One snapshot across tables: an item is in it exactly when its audit record is.
    let audited: BTreeSet<i64> = copy["audit_events"]
        .iter()
        .filter(|row| row[3] == "item.create")
        .map(|row| row[5].parse().unwrap())
        .collect();
    let created: BTreeSet<i64> = item_ids(&copy["items"])
        .into_iter()
        .filter(|id| *id > seeded_up_to)
        .collect();
    assert_eq!(audited, created);
    for table in ["users", "api_tokens", "idempotency_records", "erasures"] {
        assert_eq!(copy[table], live[table], "{table}");
    }
    for table in ["audit_events", "audit_client_ips"] {
        assert!(
            copy[table].iter().all(|row| live[table].contains(row)),
            "{table}"
        );
    }

    // At rest, a backup restored over the copy (--force) gives every row of every table.
    let (code, _, err) = cli(&["backup", file], &source.url).await;
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = cli(&["restore", file, "--force"], &target.url).await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(dump(kind, &target.url).await, live);
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Sqlite => "sqlite",
        Kind::Postgres => "postgres",
        Kind::MySql => "mysql",
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn backup_while_writing_sqlite() {
    backup_while_writing_restores_every_row(Kind::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn backup_while_writing_postgres() {
    backup_while_writing_restores_every_row(Kind::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn backup_while_writing_mysql() {
    backup_while_writing_restores_every_row(Kind::MySql).await;
}

/// What the API shows of the data: listings, each item with its ETag, the tokens.
async fn api_view(server: &Server, users: &[(i64, String)]) -> Value {
    let http = reqwest::Client::new();
    let token = &users[0].1;
    let (_, listing) = server
        .call("GET", "/users?limit=1000", Some(token), None)
        .await;
    let (_, items) = server
        .call("GET", "/items?limit=1000", Some(token), None)
        .await;
    let mut etags = Vec::new();
    for item in items.as_array().unwrap() {
        let (owner, id) = (&item["owner_id"], &item["id"]);
        let response = http
            .get(server.url(&format!("/users/{owner}/items/{id}")))
            .header("x-api-token", token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        etags.push(response.headers()["etag"].to_str().unwrap().to_owned());
    }
    let mut per_user = Vec::new();
    for (id, token) in users {
        let (status, me) = server.call("GET", "/me", Some(token), None).await;
        assert_eq!(status, 200, "the token of user {id} authenticates: {me}");
        let (_, tokens) = server
            .call("GET", &format!("/users/{id}/tokens"), Some(token), None)
            .await;
        per_user.push(json!({"me": me, "tokens": tokens}));
    }
    json!({"users": listing, "items": items, "etags": etags, "per_user": per_user})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_copies_into_postgres_and_mariadb_with_the_same_api() {
    let source = TestDb::create(Kind::Sqlite).await.unwrap();
    let env = [
        ("DATABASE_URL", source.url.as_str()),
        ("METRICS_ENABLED", "false"),
    ];
    let server = Server::start(&env);
    let (alice, alice_token) = server.signup("alice@example.com").await;
    let (bob, bob_token) = server.signup("bob@example.com").await;
    let (carol, carol_token) = server.signup("carol@example.com").await;
    let http = reqwest::Client::new();
    let mut ids = Vec::new();
    for n in 0..5 {
        let response = http
            .post(server.url(&format!("/users/{alice}/items")))
            .header("x-api-token", &alice_token)
            .header("idempotency-key", format!("key-{n}"))
            .json(&json!({"title": format!("item {n}"), "description": "ünïcödé ✓"}))
            .send()
            .await
            .unwrap();
        ids.push(
            response.json::<Value>().await.unwrap()["id"]
                .as_i64()
                .unwrap(),
        );
    }
    let path = |id: i64| format!("/users/{alice}/items/{id}");
    let (status, _) = server
        .call(
            "PATCH",
            &path(ids[1]),
            Some(&alice_token),
            Some(&json!({"done": true})),
        )
        .await;
    assert_eq!(status, 200);
    // The newest item is deleted: its id must not be handed out again after the copy.
    let (status, _) = server
        .call("DELETE", &path(ids[4]), Some(&alice_token), None)
        .await;
    assert_eq!(status, 204);
    let (_, named) = server
        .call(
            "POST",
            &format!("/users/{bob}/tokens"),
            Some(&bob_token),
            Some(&json!({"name": "ci", "read_only": true})),
        )
        .await;
    let named_token = named["secret"].as_str().unwrap().to_owned();
    let (status, _) = server
        .call(
            "POST",
            &format!("/users/{carol}/erase"),
            Some(&carol_token),
            Some(&json!({"password": "password123", "delete_items": true})),
        )
        .await;
    assert_eq!(status, 200);
    let users = [
        (alice, alice_token.clone()),
        (bob, bob_token.clone()),
        (bob, named_token),
    ];
    let before = api_view(&server, &users).await;
    drop(server);
    let rows = dump(Kind::Sqlite, &source.url).await;
    for table in [
        "users",
        "items",
        "idempotency_records",
        "api_tokens",
        "audit_events",
        "audit_client_ips",
        "erasures",
    ] {
        assert!(!rows[table].is_empty(), "{table} has rows to copy");
    }

    for kind in [Kind::Postgres, Kind::MySql] {
        let Some(target) = TestDb::create(kind).await else {
            continue;
        };
        let (code, out, err) = tokio::task::spawn_blocking({
            let (from, to) = (source.url.clone(), target.url.clone());
            move || run(&["copy", "--from", &from, "--to", &to], &[], None)
        })
        .await
        .unwrap();
        assert_eq!(code, 0, "{kind:?}: {err}");
        let summary: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(
            (summary["from"].as_str(), summary["to"].as_str()),
            (Some("sqlite"), Some(kind_name(kind)))
        );
        assert_eq!(
            dump(kind, &target.url).await,
            rows,
            "{kind:?}: every row, every value"
        );

        let server = Server::start(&[("DATABASE_URL", &target.url), ("METRICS_ENABLED", "false")]);
        assert_eq!(
            api_view(&server, &users).await,
            before,
            "{kind:?}: the same API"
        );
        let (status, _) = server.call("GET", "/me", Some(&carol_token), None).await;
        assert_eq!(status, 401, "{kind:?}: an erased user's token stays dead");
        let (status, item) = server
            .call(
                "POST",
                &format!("/users/{alice}/items"),
                Some(&alice_token),
                Some(&json!({"title": "after the copy"})),
            )
            .await;
        assert_eq!(status, 200, "{item}");
        assert!(
            item["id"].as_i64().unwrap() > ids[4],
            "{kind:?}: a new id past the deleted one: {item}"
        );
        let (status, _) = server
            .call(
                "POST",
                "/users",
                None,
                Some(&json!({"email": "dave@example.com", "password": "password123"})),
            )
            .await;
        assert_eq!(status, 200, "{kind:?}: a new user gets a free id");
    }
}
