//! Problem 3 under fire: two server processes on one database, deleting users while items
//! are created for them and updated, in parallel over HTTP. Afterwards no item may be owned
//! by an inactive user, and nothing acknowledged may be missing.

use std::collections::HashSet;
use std::sync::Arc;

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
