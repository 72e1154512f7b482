//! SQLite's group commit in the real binary, counted from outside: concurrent `POST`s of
//! items share fsyncs (fewer fsync/fdatasync calls than requests, as `strace` counts them),
//! every commit still waits for one (at least one call per group, which `synchronous=NORMAL`
//! would not make), and every acknowledged item survives `kill -9`.

use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::common::process::Server;

const CLIENTS: usize = 64;
const PER_CLIENT: usize = 8;

/// `strace -c` attached to every thread of `pid`, counting fsync and fdatasync.
struct SyncCounter {
    strace: std::process::Child,
    out: std::path::PathBuf,
}

impl SyncCounter {
    fn attach(pid: u32, out: std::path::PathBuf) -> SyncCounter {
        let strace = Command::new("strace")
            .args(["-f", "-c", "-e", "trace=fsync,fdatasync", "-o"])
            .arg(&out)
            .args(["-p", &pid.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("strace (Debian's package strace; .ci/run installs it)");
        SyncCounter { strace, out }
    }

    /// Detaches and reads the summary: the calls of both.
    fn detach(mut self) -> u64 {
        let interrupt = Command::new("kill")
            .args(["-INT", &self.strace.id().to_string()])
            .status()
            .unwrap();
        assert!(interrupt.success());
        self.strace.wait().unwrap();
        let summary = std::fs::read_to_string(&self.out).unwrap();
        summary
            .lines()
            .filter_map(|line| {
                let fields: Vec<&str> = line.split_whitespace().collect();
                match fields.last() {
                    Some(&("fsync" | "fdatasync")) => fields.get(3)?.parse::<u64>().ok(),
                    _ => None,
                }
            })
            .sum()
    }
}

/// `db_group_commit_size`'s count: how many groups were committed.
async fn groups_committed(server: &Server) -> u64 {
    let text = server.metrics_text().await;
    text.lines()
        .find_map(|line| line.strip_prefix("db_group_commit_size_count "))
        .map_or(0, |count| count.trim().parse().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_creations_share_fsyncs_and_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("todo.db").display());
    let server = Server::start(&[("DATABASE_URL", &url)]);
    let (id, token) = server.signup("grouped@example.com").await;
    let groups_before = groups_committed(&server).await;

    let counter = SyncCounter::attach(server.child.id(), dir.path().join("strace.txt"));
    // strace names each thread as it attaches; give it the time to reach them all.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let http = reqwest::Client::new();
    let mut clients = Vec::new();
    for client in 0..CLIENTS {
        let (http, url, token) = (
            http.clone(),
            server.url(&format!("/users/{id}/items")),
            token.clone(),
        );
        clients.push(tokio::spawn(async move {
            let mut acknowledged = Vec::new();
            for n in 0..PER_CLIENT {
                let body = json!({"title": format!("c{client}-{n}")});
                let resp = http
                    .post(&url)
                    .header("X-API-TOKEN", &token)
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(resp.status(), 200);
                acknowledged.push(resp.json::<Value>().await.unwrap());
            }
            acknowledged
        }));
    }
    let mut acknowledged = Vec::new();
    for client in clients {
        acknowledged.extend(client.await.unwrap());
    }
    let syncs = counter.detach();
    let groups = groups_committed(&server).await - groups_before;
    let requests = (CLIENTS * PER_CLIENT) as u64;
    assert_eq!(acknowledged.len() as u64, requests);
    assert!(
        groups > 0 && groups < requests,
        "{groups} groups for {requests} creations"
    );
    assert!(
        syncs >= groups,
        "every commit waits for the disk: {syncs} fsyncs for {groups} commits"
    );
    assert!(
        syncs < requests,
        "the commits are shared: {syncs} fsyncs for {requests} creations"
    );
    eprintln!("{requests} creations: {groups} commits, {syncs} fsync/fdatasync calls");

    server.signal("KILL");
    drop(server);
    let restarted = Server::start(&[("DATABASE_URL", &url)]);
    let (status, listed) = restarted
        .call(
            "GET",
            &format!("/users/{id}/items?limit=1000"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let mut stored = listed.as_array().unwrap().clone();
    let key = |item: &Value| item["id"].as_i64().unwrap();
    stored.sort_by_key(key);
    acknowledged.sort_by_key(key);
    assert_eq!(stored, acknowledged, "every acknowledged item, intact");
}
