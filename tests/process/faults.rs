//! Production behaviour of the real binary: draining on SIGTERM, a database outage and
//! recovery, durability across `kill -9` (with the audit trail), request timeouts, the log
//! lines and the metrics.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::process::Server;
use crate::tools::{as_postgres_user, give_to_postgres, postgres_bin};

fn sqlite(dir: &tempfile::TempDir) -> String {
    format!("sqlite://{}", dir.path().join("todo.db").display())
}

async fn signup(server: &Server, email: &str, password: &str) -> (i64, String) {
    let body: Value = server
        .call(
            "POST",
            "/users",
            None,
            Some(&json!({"email": email, "password": password})),
        )
        .await
        .1;
    (
        body["id"].as_i64().unwrap(),
        body["token"].as_str().unwrap().to_owned(),
    )
}

/// An HTTP/1.1 request whose body is sent in two halves, so that it stays in flight until
/// `finish` is called.
struct SlowRequest {
    stream: TcpStream,
    rest: Vec<u8>,
}

impl SlowRequest {
    async fn start(base: &str, path: &str, token: &str, body: &Value) -> SlowRequest {
        let address = base.trim_start_matches("http://");
        let mut stream = TcpStream::connect(address).await.unwrap();
        let body = body.to_string().into_bytes();
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: {address}\r\nX-API-TOKEN: {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        let (first, rest) = body.split_at(body.len() / 2);
        stream.write_all(first).await.unwrap();
        stream.flush().await.unwrap();
        SlowRequest {
            stream,
            rest: rest.to_vec(),
        }
    }

    /// Sends the rest of the body and returns (status, body).
    async fn finish(mut self) -> (u16, Value) {
        self.stream.write_all(&self.rest).await.unwrap();
        self.response().await
    }

    async fn response(mut self) -> (u16, Value) {
        let mut raw = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            let n = self.stream.read(&mut buf).await.unwrap();
            raw.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&raw);
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let length = head.lines().find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length: ")
                        .map(|v| v.trim().parse::<usize>().unwrap())
                });
                if n == 0 || length.is_some_and(|len| body.len() >= len) {
                    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
                    return (status, serde_json::from_str(body).unwrap_or(Value::Null));
                }
            }
            assert!(
                n > 0,
                "connection closed without a response: {}",
                String::from_utf8_lossy(&raw)
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_drains_in_flight_requests_and_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(&[("DATABASE_URL", &sqlite(&dir)), ("SHUTDOWN_TIMEOUT", "10")]);
    let (id, token) = signup(&server, "drain@example.com", "password123").await;
    // An idle keep-alive connection must not hold the shutdown open.
    let idle = reqwest::Client::builder()
        .pool_idle_timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    assert_eq!(
        idle.get(server.url("/livez"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    let mut requests = Vec::new();
    for n in 0..50 {
        requests.push(
            SlowRequest::start(
                &server.base,
                &format!("/users/{id}/items"),
                &token,
                &json!({"title": format!("in flight {n}")}),
            )
            .await,
        );
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let signalled = Instant::now();
    server.signal("TERM");
    tokio::time::sleep(Duration::from_millis(300)).await;

    // No new connections once draining.
    let refused = TcpStream::connect(server.base.trim_start_matches("http://")).await;
    assert!(
        refused.is_err(),
        "a new connection was accepted after SIGTERM"
    );

    // Forty finish at once, ten a second later: all of them succeed.
    let slow = requests.split_off(40);
    let mut answers = Vec::new();
    for request in requests {
        answers.push(tokio::spawn(request.finish()));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        server.child.try_wait().unwrap().is_none(),
        "exited while requests were still in flight"
    );
    for request in slow {
        answers.push(tokio::spawn(request.finish()));
    }
    let mut titles = Vec::new();
    for answer in answers {
        let (status, body) = answer.await.unwrap();
        assert_eq!(status, 200, "{body}");
        titles.push(body["title"].as_str().unwrap().to_owned());
    }
    assert_eq!(titles.len(), 50);

    let status = server
        .wait(Duration::from_secs(10))
        .expect("exits once drained");
    assert!(status.success(), "{status:?}");
    assert!(
        signalled.elapsed() < Duration::from_secs(10),
        "within SHUTDOWN_TIMEOUT"
    );
    let events = server.events();
    assert!(events.iter().any(|e| {
        e["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("shutting down"))
    }));
    assert!(events.iter().any(|e| e["message"] == "stopped"));

    // All fifty were committed.
    let restarted = Server::start(&[("DATABASE_URL", &sqlite(&dir))]);
    let items: Value = restarted
        .call("GET", "/items?limit=1000", Some(&token), None)
        .await
        .1;
    assert_eq!(items.as_array().unwrap().len(), 50);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn shutdown_timeout_cuts_requests_that_never_finish() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(&[
        ("DATABASE_URL", &sqlite(&dir)),
        ("SHUTDOWN_TIMEOUT", "1"),
        ("REQUEST_TIMEOUT", "60"),
    ]);
    let (id, token) = signup(&server, "stuck@example.com", "password123").await;
    let _stuck = SlowRequest::start(
        &server.base,
        &format!("/users/{id}/items"),
        &token,
        &json!({"title": "never finished"}),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let signalled = Instant::now();
    server.signal("TERM");
    let status = server
        .wait(Duration::from_secs(5))
        .expect("exits after SHUTDOWN_TIMEOUT");
    assert!(status.success(), "{status:?}");
    let waited = signalled.elapsed();
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(4),
        "{waited:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_request_slower_than_request_timeout_gets_503() {
    use sqlx::{Connection, Executor};
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite(&dir);
    let server = Server::start(&[("DATABASE_URL", &url), ("REQUEST_TIMEOUT", "1")]);
    let (id, token) = signup(&server, "slow@example.com", "password123").await;
    // The server's own slowness: another process holds SQLite's write lock, so the
    // insert waits (up to the 5 s busy timeout) past REQUEST_TIMEOUT.
    let mut holder = sqlx::SqliteConnection::connect(&url).await.unwrap();
    holder.execute("BEGIN EXCLUSIVE").await.unwrap();
    let started = Instant::now();
    let (status, body) = server
        .call(
            "POST",
            &format!("/users/{id}/items"),
            Some(&token),
            Some(&json!({"title": "too slow"})),
        )
        .await;
    assert_eq!(status, 503);
    assert_eq!(body, json!({"detail": "Request timed out"}));
    assert!(started.elapsed() < Duration::from_secs(3));
    holder.execute("ROLLBACK").await.unwrap();
    let items: Value = server.call("GET", "/items", Some(&token), None).await.1;
    assert_eq!(items, json!([]), "nothing half-done");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_body_slower_than_body_read_timeout_gets_408_not_503() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&[
        ("DATABASE_URL", &sqlite(&dir)),
        ("REQUEST_TIMEOUT", "5"),
        ("BODY_READ_TIMEOUT", "1"),
    ]);
    let (id, token) = signup(&server, "trickle@example.com", "password123").await;
    let started = Instant::now();
    let request = SlowRequest::start(
        &server.base,
        &format!("/users/{id}/items"),
        &token,
        &json!({"title": "trickled"}),
    )
    .await;
    let (status, body) = request.response().await;
    assert_eq!(status, 408, "a slow client is a client error");
    assert_eq!(
        body,
        json!({"detail": "Request Timeout: the request body did not arrive in time"})
    );
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(4),
        "{waited:?}"
    );
    let items: Value = server.call("GET", "/items", Some(&token), None).await.1;
    assert_eq!(items, json!([]), "nothing created");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_writes_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite(&dir);
    let server = Server::start(&[("DATABASE_URL", &url)]);
    let http = reqwest::Client::new();
    let (id, token) = signup(&server, "durable@example.com", "password123").await;
    let mut writers = Vec::new();
    for writer in 0..6 {
        let (http, url, token) = (
            http.clone(),
            server.url(&format!("/users/{id}/items")),
            token.clone(),
        );
        writers.push(tokio::spawn(async move {
            let mut acknowledged = Vec::new();
            for n in 0.. {
                let body =
                    json!({"title": format!("w{writer}-{n}"), "description": "x".repeat(n % 500)});
                match http
                    .post(&url)
                    .header("X-API-TOKEN", &token)
                    .json(&body)
                    .send()
                    .await
                {
                    Ok(resp) if resp.status() == 200 => {
                        acknowledged.push(resp.json::<Value>().await.unwrap())
                    }
                    _ => break,
                }
            }
            acknowledged
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    server.signal("KILL");
    let mut acknowledged = Vec::new();
    for writer in writers {
        acknowledged.extend(writer.await.unwrap());
    }
    drop(server);
    assert!(
        acknowledged.len() > 20,
        "the load ran: {}",
        acknowledged.len()
    );

    let restarted = Server::start(&[("DATABASE_URL", &url)]);
    for item in &acknowledged {
        let stored = http
            .get(restarted.url(&format!("/users/{id}/items/{}", item["id"])))
            .header("X-API-TOKEN", &token)
            .send()
            .await
            .unwrap();
        assert_eq!(
            stored.status(),
            200,
            "acknowledged item {} lost",
            item["id"]
        );
        assert_eq!(&stored.json::<Value>().await.unwrap(), item, "intact");
    }
    drop(restarted);

    // The audit trail went down with its changes: one record per item, none without one.
    use sqlx::Connection as _;
    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    let items: Vec<i64> = sqlx::query_scalar("SELECT id FROM items ORDER BY id")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    let recorded: Vec<i64> = sqlx::query_scalar(
        "SELECT object_id FROM audit_events WHERE action = 'item.create' ORDER BY object_id",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert!(items.len() >= acknowledged.len());
    assert_eq!(
        items, recorded,
        "after kill -9, no change without its record and no record without its change"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn log_lines_carry_the_request_fields_and_never_a_secret() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&[
        ("DATABASE_URL", &sqlite(&dir)),
        ("GOOGLE_CLOUD_PROJECT", "todo-prod"),
    ]);
    let http = reqwest::Client::new();
    let password = "correct-horse-battery-staple";
    let (id, token) = signup(&server, "logged@example.com", password).await;
    let resp = http
        .get(server.url(&format!("/users/{id}/")))
        .header("X-API-TOKEN", &token)
        .header("X-Request-Id", "req-42")
        .header(
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        )
        .header(
            "X-Amzn-Trace-Id",
            "Root=1-5759e988-bd862e3fe1be46a994272793",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["x-request-id"], "req-42");
    http.post(server.url(&format!("/users/{id}/token")))
        .header("X-API-TOKEN", &token)
        .json(&json!({"password": password}))
        .send()
        .await
        .unwrap();
    http.get(server.url("/users"))
        .header("X-API-TOKEN", "tdo_wrong_token_value")
        .send()
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;

    let events = server.events();
    let line = events
        .iter()
        .find(|e| e["request_id"] == "req-42" && e["message"] == "request")
        .expect("an access-log line for the request");
    assert_eq!(line["method"], "GET");
    assert_eq!(
        line["route"], "/users/{user_id}",
        "the route template, not the raw path"
    );
    assert_eq!(line["status"], 200);
    assert!(line["latency_ms"].as_f64().is_some_and(|ms| ms >= 0.0));
    assert_eq!(line["user_id"], id);
    assert_eq!(line["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(
        line["logging.googleapis.com/trace"],
        "projects/todo-prod/traces/4bf92f3577b34da6a3ce929d0e0e4736"
    );
    assert_eq!(
        line["amzn_trace_id"],
        "Root=1-5759e988-bd862e3fe1be46a994272793"
    );
    assert_eq!(line["level"], "INFO");
    assert_eq!(line["severity"], "INFO");
    assert!(line["timestamp"].as_str().is_some_and(|t| t.ends_with('Z')));
    // Every line is JSON, and no line mentions a token or the password.
    let output = server.output();
    assert!(
        output
            .iter()
            .all(|l| serde_json::from_str::<Value>(l).is_ok()),
        "non-JSON line"
    );
    let secret = token.rsplit('_').next().unwrap();
    for line in &output {
        assert!(
            !line.contains(secret) && !line.contains(&token) && !line.contains(password),
            "secret in the logs: {line}"
        );
        assert!(
            !line.contains("tdo_wrong_token_value"),
            "token in the logs: {line}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn metrics_count_by_route_template_on_their_own_listener() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&[("DATABASE_URL", &sqlite(&dir))]);
    let http = reqwest::Client::new();
    let (a, token) = signup(&server, "m1@example.com", "password123").await;
    let (b, _) = signup(&server, "m2@example.com", "password123").await;
    for n in 0..3 {
        http.post(server.url(&format!("/users/{a}/items")))
            .header("X-API-TOKEN", &token)
            .json(&json!({"title": format!("t{n}")}))
            .send()
            .await
            .unwrap();
    }
    http.get(server.url(&format!("/users/{a}")))
        .header("X-API-TOKEN", &token)
        .send()
        .await
        .unwrap();
    http.delete(server.url(&format!("/users/{b}")))
        .header("X-API-TOKEN", &token)
        .send()
        .await
        .unwrap();
    http.get(server.url("/no/such/path")).send().await.unwrap();

    let metrics_url = server.metrics.clone().expect("metrics listener");
    assert_ne!(metrics_url, server.base, "a listener of its own");
    let text = http
        .get(format!("{metrics_url}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let value = |needle: &str| -> f64 {
        let line = text
            .lines()
            .find(|l| l.starts_with(needle))
            .unwrap_or_else(|| panic!("no {needle} in\n{text}"));
        line.rsplit(' ').next().unwrap().parse().unwrap()
    };
    assert_eq!(
        value(r#"http_requests_total{method="POST",route="/users/{user_id}/items",status="200"}"#),
        3.0
    );
    assert_eq!(
        value(r#"http_requests_total{method="GET",route="/users/{user_id}",status="200"}"#),
        1.0
    );
    assert_eq!(
        value(r#"http_requests_total{method="GET",route="unmatched",status="404"}"#),
        1.0
    );
    assert!(
        value(
            r#"http_request_duration_seconds_bucket{method="POST",route="/users/{user_id}/items",status="200",le="+Inf"}"#
        ) >= 3.0
    );
    assert_eq!(value("todo_items_created_total"), 3.0);
    assert_eq!(value("todo_users_deleted_total"), 1.0);
    assert_eq!(value("http_requests_in_flight"), 0.0);
    assert_eq!(value(r#"db_pool_connections{state="max"}"#), 10.0);
    assert!(value("db_pool_acquire_seconds_count") > 0.0);
    assert_eq!(value(r#"todo_build_info{version=""#), 1.0);
    assert!(
        !text.contains(&format!("/users/{a}")),
        "raw paths never become labels"
    );
    // Not on the API port.
    assert_eq!(server.call("GET", "/metrics", None, None).await.0, 404);
}

/// A PostgreSQL server of the test's own (initdb + pg_ctl on a free port), so stopping it
/// never disturbs the shared one. Both refuse to run as root: they run as `postgres`.
struct PrivatePostgres {
    dir: tempfile::TempDir,
    bin: std::path::PathBuf,
    port: u16,
}

impl PrivatePostgres {
    fn start() -> Option<PrivatePostgres> {
        let bin = postgres_bin(&["initdb"]);
        let Some(bin) = bin else {
            assert_ne!(
                std::env::var("CI").as_deref(),
                Ok("true"),
                "CI needs PostgreSQL's initdb under /usr/lib/postgresql"
            );
            eprintln!("no initdb: the database outage test does not run here");
            return None;
        };
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let pg = PrivatePostgres { dir, bin, port };
        give_to_postgres(pg.dir.path());
        let data = pg.dir.path().join("data");
        pg.run(
            "initdb",
            &[
                "-D",
                data.to_str().unwrap(),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
            ],
        );
        pg.ctl("start");
        Some(pg)
    }

    fn run(&self, tool: &str, args: &[&str]) {
        let output = as_postgres_user(&self.bin.join(tool))
            .args(args)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{tool} {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    fn ctl(&self, action: &str) {
        let data = self.dir.path().join("data");
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("log");
        let mut args = vec![
            "-D",
            data.to_str().unwrap(),
            "-w",
            "-l",
            log.to_str().unwrap(),
            "-o",
            &options,
        ];
        if action == "stop" {
            args.extend(["-m", "immediate"]);
        }
        args.push(action);
        self.run("pg_ctl", &args);
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let data = self.dir.path().join("data");
        let _ = as_postgres_user(&self.bin.join("pg_ctl"))
            .args(["-D", data.to_str().unwrap(), "-m", "immediate", "stop"])
            .output();
    }
}

async fn poll(
    http: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    want: u16,
    within: Duration,
) -> Duration {
    let started = Instant::now();
    loop {
        let mut request = http.get(url).timeout(Duration::from_secs(3));
        if let Some(token) = token {
            request = request.header("X-API-TOKEN", token);
        }
        if request
            .send()
            .await
            .is_ok_and(|resp| resp.status().as_u16() == want)
        {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < within,
            "{url} did not answer {want} within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_database_outage_is_503_and_the_service_recovers_alone() {
    let Some(pg) = tokio::task::block_in_place(PrivatePostgres::start) else {
        return;
    };
    let server = Server::start(&[
        ("DATABASE_URL", &pg.url()),
        ("DATABASE_ACQUIRE_TIMEOUT", "2"),
    ]);
    let http = reqwest::Client::new();
    let (id, token) = signup(&server, "outage@example.com", "password123").await;
    assert_eq!(server.call("GET", "/health-check", None, None).await.0, 200);

    tokio::task::block_in_place(|| pg.ctl("stop"));

    let took = poll(
        &http,
        &server.url("/health-check"),
        None,
        503,
        Duration::from_secs(2),
    )
    .await;
    eprintln!("readiness turned 503 after {took:?}");
    let readiness: Value = server.call("GET", "/health-check", None, None).await.1;
    assert_eq!(readiness, json!({"status": "unavailable"}));
    let api = http
        .get(server.url(&format!("/users/{id}")))
        .header("X-API-TOKEN", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 503);
    assert_eq!(
        api.json::<Value>().await.unwrap(),
        json!({"detail": "Service Unavailable"})
    );
    let write = http
        .post(server.url(&format!("/users/{id}/items")))
        .header("X-API-TOKEN", &token)
        .json(&json!({"title": "during the outage"}))
        .send()
        .await
        .unwrap();
    assert_eq!(write.status(), 503);
    assert_eq!(
        server.call("GET", "/livez", None, None).await.0,
        200,
        "liveness never depends on the database"
    );

    tokio::task::block_in_place(|| pg.ctl("start"));
    let took = poll(
        &http,
        &server.url("/health-check"),
        None,
        200,
        Duration::from_secs(5),
    )
    .await;
    eprintln!("readiness recovered after {took:?}");
    poll(
        &http,
        &server.url(&format!("/users/{id}")),
        Some(&token),
        200,
        Duration::from_secs(5),
    )
    .await;
    assert!(server.events().iter().all(|e| {
        e["level"] != "ERROR"
            || !e["message"]
                .as_str()
                .unwrap_or_default()
                .contains("panicked")
    }));
    assert!(
        !server.output().iter().any(|l| l.contains("panicked")),
        "no panic"
    );
}
