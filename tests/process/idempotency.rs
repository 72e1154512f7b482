//! Two server processes racing one Idempotency-Key: exactly one item, and every answer is
//! either the item or "in progress, retry" (409), which a retry turns into the item.

use serde_json::{Value, json};

use crate::common::process::Server;
use crate::common::{Kind, TestDb};

async fn one_key_racing_on_two_servers_creates_one_item(kind: Kind) {
    let Some(db) = TestDb::create(kind).await else {
        return;
    };
    let env = [
        ("DATABASE_URL", db.url.as_str()),
        ("METRICS_ENABLED", "false"),
    ];
    let servers = [Server::start(&env), Server::start(&env)];
    let (_, user) = servers[0]
        .call(
            "POST",
            "/users",
            None,
            Some(&json!({"email": "race@example.com", "password": "password123"})),
        )
        .await;
    let (id, token) = (
        user["id"].as_i64().unwrap(),
        user["token"].as_str().unwrap().to_owned(),
    );
    let http = reqwest::Client::new();
    for round in 0..5 {
        let key = format!("race-{round}");
        let send = |n: usize| {
            http.post(servers[n % 2].url(&format!("/users/{id}/items")))
                .header("x-api-token", &token)
                .header("idempotency-key", &key)
                .json(&json!({"title": format!("round {round}")}))
                .send()
        };
        let answers = futures_util::future::join_all((0..12).map(send)).await;
        let mut ids = std::collections::HashSet::new();
        for (n, answer) in answers.into_iter().enumerate() {
            let mut answer = answer.unwrap();
            let mut status = answer.status().as_u16();
            // In progress: retry as a client would, until the first request has answered.
            while status == 409 {
                assert!(answer.headers().contains_key("retry-after"));
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                answer = send(n).await.unwrap();
                status = answer.status().as_u16();
            }
            assert_eq!(status, 200, "round {round}");
            let body: Value = answer.json().await.unwrap();
            ids.insert(body["id"].as_i64().unwrap());
        }
        assert_eq!(
            ids.len(),
            1,
            "round {round}: every answer names the one item"
        );
    }
    let count = db
        .column(&format!("SELECT COUNT(*) FROM items WHERE owner_id = {id}"))
        .await;
    assert_eq!(count, ["5"], "one item per key");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_postgres() {
    one_key_racing_on_two_servers_creates_one_item(Kind::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_mysql() {
    one_key_racing_on_two_servers_creates_one_item(Kind::MySql).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_sqlite() {
    one_key_racing_on_two_servers_creates_one_item(Kind::Sqlite).await;
}
