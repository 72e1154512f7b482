//! `DATABASE_POOLER=transaction` through a real PgBouncer (Debian's) that the test starts in
//! transaction mode with fewer server connections than the service has clients, so that a
//! statement landing on the wrong server connection (a named statement, a Parse/Bind split
//! across transactions, a refused startup parameter) would show as an error.

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::process::{Server, run};
use crate::tools::{as_postgres_user, find_tool, free_port, give_to_postgres, require};

/// PgBouncer, stopped (and its directory removed) when dropped.
struct Bouncer {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Bouncer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_bouncer(binary: &Path, server_port: u16, pool_size: u32) -> Bouncer {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let conf = dir.path().join("pgbouncer.ini");
    std::fs::write(dir.path().join("users.txt"), "\"postgres\" \"\"\n").unwrap();
    std::fs::write(
        &conf,
        format!(
            "[databases]\n* = host=127.0.0.1 port={server_port}\n\n[pgbouncer]\n\
             listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n\
             auth_type = trust\nauth_file = {users}\npool_mode = transaction\n\
             default_pool_size = {pool_size}\nmin_pool_size = 0\nreserve_pool_size = 0\n\
             max_client_conn = 200\nlogfile = {log}\n",
            users = dir.path().join("users.txt").display(),
            log = dir.path().join("pgbouncer.log").display(),
        ),
    )
    .unwrap();
    // PgBouncer refuses to run as root.
    give_to_postgres(dir.path());
    let child = as_postgres_user(binary)
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start pgbouncer");
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "pgbouncer did not listen on {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Bouncer {
        child,
        port,
        _dir: dir,
    }
}

fn database_url(base: &str, port: Option<u16>, database: &str) -> String {
    let mut url = url::Url::parse(base).unwrap();
    if let Some(port) = port {
        url.set_port(Some(port)).unwrap();
        url.set_host(Some("127.0.0.1")).unwrap();
    }
    url.set_path(&format!("/{database}"));
    url.to_string()
}

/// One user's path through the API, from `clients` at once: sign-up, items, a listing, an
/// update with `If-Match`, a delete, a token rotation.
async fn smoke(server: &Server, n: usize) -> Result<(), String> {
    let email = format!("pooled{n}@example.com");
    let (status, user) = server
        .call(
            "POST",
            "/users",
            None,
            Some(&json!({"email": email, "password": "password123"})),
        )
        .await;
    if status != 200 {
        return Err(format!("sign-up {status}: {user}"));
    }
    let id = user["id"].as_i64().unwrap();
    let mut token = user["token"].as_str().unwrap().to_owned();
    for round in 0..5 {
        let items = format!("/users/{id}/items");
        let (status, item) = server
            .call(
                "POST",
                &items,
                Some(&token),
                Some(&json!({"title": format!("t{round}")})),
            )
            .await;
        if status != 200 {
            return Err(format!("create {status}: {item}"));
        }
        let path = format!("{items}/{}", item["id"]);
        let (status, listed) = server
            .call("GET", "/me/items?done=false", Some(&token), None)
            .await;
        if status != 200 || !listed.to_string().contains(&format!("t{round}")) {
            return Err(format!("list {status}: {listed}"));
        }
        let (status, updated) = server
            .call("PATCH", &path, Some(&token), Some(&json!({"done": true})))
            .await;
        if status != 200 || updated["done"] != true {
            return Err(format!("update {status}: {updated}"));
        }
        let (status, body) = server.call("DELETE", &path, Some(&token), None).await;
        if status != 204 {
            return Err(format!("delete {status}: {body}"));
        }
    }
    let (status, rotated) = server
        .call(
            "POST",
            &format!("/users/{id}/token"),
            Some(&token),
            Some(&json!({"password": "password123"})),
        )
        .await;
    if status != 200 {
        return Err(format!("rotation {status}: {rotated}"));
    }
    token = rotated["token"].as_str().unwrap().to_owned();
    let (status, me): (u16, Value) = server.call("GET", "/me", Some(&token), None).await;
    if status != 200 || me["id"] != id {
        return Err(format!("me {status}: {me}"));
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_api_works_through_pgbouncer_in_transaction_mode() {
    let Some(admin) = std::env::var("TEST_POSTGRES_URL").ok() else {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "CI runs the PgBouncer test: set TEST_POSTGRES_URL"
        );
        return;
    };
    let Some(binary) = require(
        "pgbouncer",
        find_tool("pgbouncer", &["/usr/sbin/pgbouncer"]),
    ) else {
        return;
    };
    let server_port = url::Url::parse(&admin).unwrap().port().unwrap_or(5432);
    let database = format!("todo_pooler_{}", std::process::id());
    use sqlx::Connection as _;
    let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "CREATE DATABASE \"{database}\""
    )))
    .execute(&mut conn)
    .await
    .unwrap();
    let direct = database_url(&admin, None, &database);
    let bouncer = start_bouncer(&binary, server_port, 2);
    let pooled = database_url(&admin, Some(bouncer.port), &database);

    // Migrations take a session-level advisory lock: they go straight to PostgreSQL.
    let env = [
        ("DATABASE_URL", pooled.as_str()),
        ("DATABASE_MIGRATE_URL", direct.as_str()),
        ("DATABASE_POOLER", "transaction"),
        ("DATABASE_MAX_CONNECTIONS", "8"),
        ("METRICS_ENABLED", "false"),
    ];
    let (code, out, err) = run(&["migrate"], &env, None);
    assert_eq!(code, 0, "migrate: {out}{err}");
    let server = std::sync::Arc::new(Server::start(&env));
    let clients = 8;
    let mut runs = tokio::task::JoinSet::new();
    for n in 0..clients {
        let server = server.clone();
        runs.spawn(async move { smoke(&server, n).await });
    }
    let mut failures = Vec::new();
    while let Some(result) = runs.join_next().await {
        if let Err(failure) = result.unwrap() {
            failures.push(failure);
        }
    }
    let errors: Vec<String> = server
        .output()
        .into_iter()
        .filter(|line| line.contains("\"level\":\"ERROR\""))
        .collect();
    assert!(
        failures.is_empty() && errors.is_empty(),
        "through PgBouncer (2 server connections, 8 clients): {failures:?}\n{errors:?}"
    );
    drop(std::sync::Arc::into_inner(server));
    drop(bouncer);
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)"
    )))
    .execute(&mut conn)
    .await
    .unwrap();
}
