//! User deletion under fire: two server processes on one database, deleting users while items
//! are created for them and updated, in parallel over HTTP. Afterwards no item may be owned
//! by an inactive user, and nothing acknowledged may be missing.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::common::process::Server;
use crate::common::{Kind, TestDb};

const USERS: usize = 24;
const WORKERS: usize = 16;
const ROUNDS: usize = 40;

#[derive(Default)]
struct Outcome {
    created_items: HashSet<i64>,
    deleted_users: HashSet<i64>,
    conflicts: usize,
}

async fn hand_over_under_concurrency(kind: Kind) {
    let Some(db) = TestDb::create(kind).await else {
        return;
    };
    let env = [
        ("DATABASE_URL", db.url.as_str()),
        ("METRICS_ENABLED", "false"),
        ("DATABASE_MAX_CONNECTIONS", "8"),
    ];
    let servers = [Server::start(&env), Server::start(&env)];
    let http = reqwest::Client::new();

    let mut users = Vec::new();
    for n in 0..USERS {
        let resp = http
            .post(servers[n % 2].url("/users"))
            .json(&json!({"email": format!("u{n}@example.com"), "password": "password123"}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let body: Value = resp.json().await.unwrap();
        users.push((
            body["id"].as_i64().unwrap(),
            body["token"].as_str().unwrap().to_owned(),
        ));
    }
    // The last user never deletes anyone and is never deleted: its token always works.
    let (_, keeper_token) = users.last().unwrap().clone();
    let ids: Vec<i64> = users.iter().map(|(id, _)| *id).collect();
    let bases: Vec<String> = servers.iter().map(|s| s.base.clone()).collect();
    let outcome = Arc::new(Mutex::new(Outcome::default()));

    let mut tasks = Vec::new();
    for worker in 0..WORKERS {
        let (http, bases, ids, token, outcome) = (
            http.clone(),
            bases.clone(),
            ids.clone(),
            keeper_token.clone(),
            outcome.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut rng = StdRng::seed_from_u64(worker as u64);
            for _ in 0..ROUNDS {
                let base = &bases[rng.gen_range(0..2)];
                // Most traffic targets the smallest ids: they are the heirs, so deletions
                // and creations collide there.
                let target = if rng.gen_bool(0.5) {
                    ids[rng.gen_range(0..6)]
                } else {
                    ids[rng.gen_range(0..ids.len() - 1)]
                };
                match rng.gen_range(0..10) {
                    0 => {
                        let resp = http
                            .delete(format!("{base}/users/{target}"))
                            .header("X-API-TOKEN", &token)
                            .send()
                            .await
                            .unwrap();
                        match resp.status().as_u16() {
                            200 => assert!(
                                outcome.lock().await.deleted_users.insert(target),
                                "user {target} deleted twice"
                            ),
                            404 | 409 => outcome.lock().await.conflicts += 1,
                            other => panic!(
                                "delete user {target}: {other} {}",
                                resp.text().await.unwrap()
                            ),
                        }
                    }
                    1..=6 => {
                        let resp = http
                            .post(format!("{base}/users/{target}/items"))
                            .header("X-API-TOKEN", &token)
                            .json(&json!({"title": format!("for {target}")}))
                            .send()
                            .await
                            .unwrap();
                        match resp.status().as_u16() {
                            200 => {
                                let item: Value = resp.json().await.unwrap();
                                outcome
                                    .lock()
                                    .await
                                    .created_items
                                    .insert(item["id"].as_i64().unwrap());
                            }
                            404 => outcome.lock().await.conflicts += 1,
                            other => panic!(
                                "create item for {target}: {other} {}",
                                resp.text().await.unwrap()
                            ),
                        }
                    }
                    _ => {
                        let listed: Value = http
                            .get(format!("{base}/users/{target}/items?limit=5"))
                            .header("X-API-TOKEN", &token)
                            .send()
                            .await
                            .unwrap()
                            .json()
                            .await
                            .unwrap_or(Value::Null);
                        if let Some(item) = listed.as_array().and_then(|items| items.first()) {
                            let resp = http
                                .patch(format!("{base}/users/{target}/items/{}", item["id"]))
                                .header("X-API-TOKEN", &token)
                                .json(&json!({"done": true, "title": "updated"}))
                                .send()
                                .await
                                .unwrap();
                            // The item may have moved to another owner meanwhile.
                            assert!(
                                [200, 404].contains(&resp.status().as_u16()),
                                "patch: {}",
                                resp.status()
                            );
                        }
                    }
                }
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }

    let outcome = outcome.lock().await;
    let inactive_owners = db.column("SELECT COUNT(*) FROM items JOIN users ON users.id = items.owner_id WHERE NOT users.is_active").await;
    assert_eq!(inactive_owners, ["0"], "items owned by inactive users");
    let stored: HashSet<i64> = db
        .column("SELECT id FROM items")
        .await
        .iter()
        .map(|id| id.parse().unwrap())
        .collect();
    assert_eq!(
        stored, outcome.created_items,
        "every acknowledged item is stored, and nothing else"
    );
    let inactive: HashSet<i64> = db
        .column("SELECT id FROM users WHERE NOT is_active")
        .await
        .iter()
        .map(|id| id.parse().unwrap())
        .collect();
    assert_eq!(
        inactive, outcome.deleted_users,
        "exactly the acknowledged deletions took effect"
    );
    eprintln!(
        "{kind:?}: {} items created, {} users deleted, {} requests lost a race (404/409)",
        outcome.created_items.len(),
        outcome.deleted_users.len(),
        outcome.conflicts
    );
    assert!(
        outcome.deleted_users.len() >= 5 && outcome.created_items.len() >= 50,
        "the run exercised both paths"
    );
}

/// The server's deadlock counter (`None` on SQLite, which has one writer and no deadlocks).
/// PostgreSQL's statistics are flushed lazily: a backend's when it exits, ours on demand.
async fn deadlocks(db: &TestDb) -> Option<u64> {
    let sql = match db.kind {
        Kind::Sqlite => return None,
        Kind::Postgres => {
            db.column("SELECT pg_stat_force_next_flush()").await;
            "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()"
        }
        Kind::MySql => {
            "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS \
             WHERE VARIABLE_NAME = 'INNODB_DEADLOCKS'"
        }
    };
    db.column(sql).await.first().and_then(|v| v.parse().ok())
}

/// Every user deleted at once from two servers: deletions lock the user and its heir in id
/// order, so they queue and never deadlock (the server's counter does not move).
async fn concurrent_deletions_never_deadlock(kind: Kind) {
    let Some(db) = TestDb::create(kind).await else {
        return;
    };
    let env = [
        ("DATABASE_URL", db.url.as_str()),
        ("METRICS_ENABLED", "false"),
        ("DATABASE_MAX_CONNECTIONS", "8"),
    ];
    let servers = [Server::start(&env), Server::start(&env)];
    let http = reqwest::Client::new();
    let mut ids = Vec::new();
    let mut token = String::new();
    for n in 0..40 {
        let resp = http
            .post(servers[n % 2].url("/users"))
            .json(&json!({"email": format!("d{n}@example.com"), "password": "password123"}))
            .send()
            .await
            .unwrap();
        let body: Value = resp.json().await.unwrap();
        ids.push(body["id"].as_i64().unwrap());
        token = body["token"].as_str().unwrap().to_owned();
        for _ in 0..3 {
            http.post(servers[0].url(&format!("/users/{}/items", ids[n])))
                .header("X-API-TOKEN", &token)
                .json(&json!({"title": "moves"}))
                .send()
                .await
                .unwrap();
        }
    }
    // The last user's token deletes everybody else; the smallest ids are the heirs, so the
    // deletions contend for the same rows.
    let keeper = ids.pop().unwrap();
    let before = deadlocks(&db).await;
    let mut rng = StdRng::seed_from_u64(7);
    let mut order = ids.clone();
    for n in (1..order.len()).rev() {
        order.swap(n, rng.gen_range(0..=n));
    }
    let bases: Vec<String> = servers.iter().map(|s| s.base.clone()).collect();
    let deletions = order.iter().enumerate().map(|(n, id)| {
        let request = http
            .delete(format!("{}/users/{id}", bases[n % 2]))
            .header("X-API-TOKEN", &token);
        async move { request.send().await.unwrap().status().as_u16() }
    });
    let statuses = futures_util::future::join_all(deletions).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    drop(servers);
    let remaining = db.column("SELECT id FROM users WHERE is_active").await;
    assert_eq!(remaining, [keeper.to_string()]);
    let orphans = db
        .column("SELECT COUNT(*) FROM items WHERE owner_id <> (SELECT MAX(id) FROM users)")
        .await;
    assert_eq!(orphans, ["0"], "every item ended with the last active user");
    if let (Some(before), Some(after)) = (before, deadlocks(&db).await) {
        assert_eq!(after, before, "{kind:?} counted deadlocks during the race");
    }
}

/// A user's own changes at once, from two servers: each records the user's `last_write_at`
/// first, so they queue on its row rather than deadlock on it (a shared lock of the owner
/// taken first and upgraded at the end would, on PostgreSQL and MySQL alike).
async fn a_user_s_own_concurrent_changes_never_deadlock(kind: Kind) {
    let Some(db) = TestDb::create(kind).await else {
        return;
    };
    let env = [
        ("DATABASE_URL", db.url.as_str()),
        ("METRICS_ENABLED", "false"),
        ("DATABASE_MAX_CONNECTIONS", "8"),
    ];
    let servers = [Server::start(&env), Server::start(&env)];
    let http = reqwest::Client::new();
    let body: Value = http
        .post(servers[0].url("/users"))
        .json(&json!({"email": "busy@example.com", "password": "password123"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (id, token) = (
        body["id"].as_i64().unwrap(),
        body["token"].as_str().unwrap().to_owned(),
    );
    let before = deadlocks(&db).await;
    for round in 0..3 {
        let creations = (0..32).map(|n| {
            let request = http
                .post(servers[n % 2].url(&format!("/users/{id}/items")))
                .header("X-API-TOKEN", &token)
                .json(&json!({"title": format!("mine {n}")}));
            async move { request.send().await.unwrap().status().as_u16() }
        });
        let statuses = futures_util::future::join_all(creations).await;
        assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
        // Past the second in which the record is kept, so that the next round rewrites it.
        if round < 2 {
            tokio::time::sleep(Duration::from_millis(1100)).await;
        }
    }
    let stored = db
        .column(&format!("SELECT COUNT(*) FROM items WHERE owner_id = {id}"))
        .await;
    assert_eq!(stored, ["96"]);
    if let (Some(before), Some(after)) = (before, deadlocks(&db).await) {
        assert_eq!(after, before, "{kind:?} counted deadlocks");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn own_changes_postgres() {
    a_user_s_own_concurrent_changes_never_deadlock(Kind::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn own_changes_mysql() {
    a_user_s_own_concurrent_changes_never_deadlock(Kind::MySql).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn own_changes_sqlite() {
    a_user_s_own_concurrent_changes_never_deadlock(Kind::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn deletions_postgres() {
    concurrent_deletions_never_deadlock(Kind::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn deletions_mysql() {
    concurrent_deletions_never_deadlock(Kind::MySql).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn deletions_sqlite() {
    concurrent_deletions_never_deadlock(Kind::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres() {
    hand_over_under_concurrency(Kind::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mysql() {
    hand_over_under_concurrency(Kind::MySql).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite() {
    hand_over_under_concurrency(Kind::Sqlite).await;
}
