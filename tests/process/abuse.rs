//! An anonymous client cannot take the process down: memory, connections and metric labels
//! stay bounded under the abuse each test names, asserted as bounds (RSS from /proc, socket
//! counts, metric sizes), never as times.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::process::{Server, record_figure};

fn sqlite(dir: &tempfile::TempDir) -> String {
    format!("sqlite://{}", dir.path().join("todo.db").display())
}

fn address(server: &Server) -> String {
    server.base.trim_start_matches("http://").to_owned()
}

const MIB: u64 = 1024;

/// Bursts of concurrent sign-ups: each argon2id hash needs 19 MiB, but only the hashing
/// workers hold one; the rest wait in a bounded queue or are told to come back (429).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn password_hashing_memory_is_bounded_in_signup_bursts() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&[("DATABASE_URL", &sqlite(&dir))]);
    let http = reqwest::Client::new();
    let mut peaks = Vec::new();
    for burst in 0..2 {
        let requests = (0..128).map(|n| {
            let http = http.clone();
            let url = server.url("/users");
            async move {
                let response = http
                    .post(url)
                    .json(&json!({"email": format!("b{burst}-{n}@example.com"), "password": "password123"}))
                    .send()
                    .await
                    .unwrap();
                let retry_after = response.headers().get("retry-after").cloned();
                (response.status().as_u16(), retry_after)
            }
        });
        let outcomes = futures_util::future::join_all(requests).await;
        let refused = outcomes.iter().filter(|(status, _)| *status == 429).count();
        for (status, retry_after) in &outcomes {
            assert!(matches!(status, 200 | 429), "only 200 or 429, got {status}");
            if *status == 429 {
                assert!(retry_after.is_some(), "429 says when to retry");
            }
        }
        assert!(refused > 0, "128 at once exceed the workers and the queue");
        record_figure(
            "sign-up bursts (2 x 128 at once)",
            &format!("burst {}: answered 429", burst + 1),
            format!("{refused} of 128"),
        );
        peaks.push(server.memory_kib("VmHWM"));
    }
    record_figure(
        "sign-up bursts (2 x 128 at once)",
        "peak RSS after burst 1, burst 2",
        format!("{} MiB, {} MiB", peaks[0] / MIB, peaks[1] / MIB),
    );
    assert!(peaks[0] < 256 * MIB, "peak RSS {} KiB", peaks[0]);
    assert!(
        peaks[1] < peaks[0] + 16 * MIB,
        "no growth from one burst to the next: {peaks:?} KiB"
    );
}

/// Invented methods (and a 1,000-character one) all count as OTHER.
#[tokio::test]
async fn clients_cannot_invent_metric_label_values() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&[("DATABASE_URL", &sqlite(&dir))]);
    let before = server.metrics_text().await.len();
    let mut stream = TcpStream::connect(address(&server)).await.unwrap();
    let long = "X".repeat(1000);
    for n in 0..300 {
        let method = if n == 0 {
            long.clone()
        } else {
            format!("M{n}")
        };
        let request = format!("{method} /livez HTTP/1.1\r\nHost: x\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
    }
    stream
        .write_all(b"GET /livez HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answers = String::new();
    stream.read_to_string(&mut answers).await.unwrap();
    assert_eq!(
        answers.matches("HTTP/1.1 405").count(),
        300,
        "invented methods: 405"
    );
    let metrics = server.metrics_text().await;
    let methods: std::collections::BTreeSet<&str> = metrics
        .match_indices("method=\"")
        .map(|(at, _)| {
            let rest = &metrics[at + 8..];
            &rest[..rest.find('"').unwrap()]
        })
        .collect();
    let allowed = [
        "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE", "OTHER",
    ];
    assert!(methods.iter().all(|m| allowed.contains(m)), "{methods:?}");
    assert!(methods.contains("OTHER"));
    assert!(
        metrics.len() < before + 16 * 1024,
        "{} -> {} bytes",
        before,
        metrics.len()
    );
}

/// With nothing scraping, histogram samples are folded into buckets by the upkeep instead of
/// piling up (about 16 bytes a request: 300,000 requests would add about 5 MiB).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn unscraped_metrics_do_not_grow_memory() {
    let dir = tempfile::tempdir().unwrap();
    // Access logs off: hundreds of thousands of lines would only slow the test down.
    let server = Server::start(&[
        ("DATABASE_URL", &sqlite(&dir)),
        (
            "RUST_LOG",
            "warn,todo_api::server=info,todo_api::telemetry=info",
        ),
    ]);
    let address = address(&server);
    // Pipelined keep-alive requests on a few connections: many requests, quickly.
    let hammer = |requests: usize| {
        let address = address.clone();
        async move {
            let per_connection = requests / 4;
            let tasks = (0..4).map(|_| {
                let address = address.clone();
                tokio::spawn(async move {
                    let stream = TcpStream::connect(&address).await.unwrap();
                    let (mut reader, mut writer) = stream.into_split();
                    let writing = tokio::spawn(async move {
                        let batch = b"GET /livez HTTP/1.1\r\nHost: x\r\n\r\n".repeat(500);
                        for _ in 0..per_connection / 500 {
                            writer.write_all(&batch).await.unwrap();
                        }
                        writer
                    });
                    let mut seen = 0;
                    let mut buf = vec![0u8; 1 << 16];
                    let expected = per_connection / 500 * 500;
                    let mut carry = Vec::new();
                    while seen < expected {
                        let n = reader.read(&mut buf).await.unwrap();
                        assert!(n > 0, "the server closed the connection");
                        carry.extend_from_slice(&buf[..n]);
                        let text = String::from_utf8_lossy(&carry);
                        let complete = text.matches("{\"status\":\"ok\"}").count();
                        seen += complete;
                        if let Some(last) = text.rfind("{\"status\":\"ok\"}") {
                            carry = carry[last + 15..].to_vec();
                        }
                    }
                    drop(writing.await.unwrap());
                })
            });
            for task in tasks {
                task.await.unwrap();
            }
        }
    };
    // Warm up past the allocator's first growth (arenas, buffers), then compare two equal
    // rounds: without the upkeep each round adds about 5 MiB of samples; with it, nothing.
    hammer(20_000).await;
    hammer(300_000).await;
    tokio::time::sleep(Duration::from_secs(6)).await;
    let settled = server.memory_kib("VmRSS");
    hammer(300_000).await;
    tokio::time::sleep(Duration::from_secs(6)).await;
    let after = server.memory_kib("VmRSS");
    record_figure(
        "300,000 requests, nothing scraping",
        "RSS before, after",
        format!("{} KiB, {} KiB", settled, after),
    );
    assert!(
        after < settled + 2 * MIB,
        "300,000 more requests with nothing scraping (about 5 MiB without the upkeep): {settled} -> {after} KiB"
    );
}

/// A connection that sends nothing, or half a head, is closed after the header-read
/// timeout; an idle keep-alive connection lives until the (longer) idle timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heads_must_arrive_in_time_and_idle_connections_last_the_idle_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&[
        ("DATABASE_URL", &sqlite(&dir)),
        ("HEADER_READ_TIMEOUT", "1"),
        ("IDLE_TIMEOUT", "3"),
    ]);
    let closed_within = |mut stream: TcpStream, limit: Duration| async move {
        let mut buf = [0u8; 1024];
        match tokio::time::timeout(limit, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => true,
            Ok(Ok(_)) => false,
            Err(_) => false,
        }
    };
    let silent = TcpStream::connect(address(&server)).await.unwrap();
    let mut half = TcpStream::connect(address(&server)).await.unwrap();
    half.write_all(b"GET /livez HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    assert!(
        closed_within(silent, Duration::from_secs(4)).await,
        "a silent connection is closed"
    );
    assert!(
        closed_within(half, Duration::from_secs(4)).await,
        "half a head is closed"
    );

    let mut keep_alive = TcpStream::connect(address(&server)).await.unwrap();
    let request = b"GET /livez HTTP/1.1\r\nHost: x\r\n\r\n";
    let mut buf = [0u8; 1024];
    keep_alive.write_all(request).await.unwrap();
    assert!(keep_alive.read(&mut buf).await.unwrap() > 0);
    tokio::time::sleep(Duration::from_secs(2)).await;
    keep_alive.write_all(request).await.unwrap();
    let n = keep_alive.read(&mut buf).await.unwrap();
    assert!(
        String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"),
        "idle past the header timeout, still open"
    );
    assert!(
        closed_within(keep_alive, Duration::from_secs(5)).await,
        "closed after the idle timeout"
    );
}

/// Thousands of connections with unfinished heads: at the cap the oldest give way, so
/// probes and new clients still get in, and the process holds at most the cap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_connection_cap_probes_and_new_clients_still_get_in() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&[
        ("DATABASE_URL", &sqlite(&dir)),
        ("HEADER_READ_TIMEOUT", "60"),
        ("HTTP_MAX_CONNECTIONS", "64"),
    ]);
    let baseline = server.memory_kib("VmRSS");
    let mut held = Vec::new();
    for _ in 0..1000 {
        let mut stream = TcpStream::connect(address(&server)).await.unwrap();
        let _ = stream
            .write_all(b"GET /livez HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            .await;
        held.push(stream);
    }
    for path in ["/livez", "/health-check"] {
        let (status, body) = server.call("GET", path, None, None).await;
        assert_eq!(
            (status, body),
            (200, json!({"status": "ok"})),
            "{path} at the cap"
        );
    }
    let sockets = server.open_sockets();
    record_figure(
        "1,000 unfinished heads, cap 64",
        "sockets held by the server",
        sockets,
    );
    assert!(sockets <= 64 + 8, "{sockets} sockets open with a cap of 64");
    let rss = server.memory_kib("VmRSS");
    record_figure(
        "1,000 unfinished heads, cap 64",
        "RSS before, after",
        format!("{baseline} KiB, {rss} KiB"),
    );
    assert!(rss < baseline + 32 * MIB, "{baseline} -> {rss} KiB");
    drop(held);
}

/// With a low open-file limit the cap is lowered to fit it, so accept never fails and
/// probes still get in past hundreds of idle connections.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_low_open_file_limit_still_lets_probes_in() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_wrapped(
        &["prlimit", "--nofile=256:256", "--"],
        &[
            ("DATABASE_URL", &sqlite(&dir)),
            ("HEADER_READ_TIMEOUT", "60"),
        ],
    );
    assert!(
        server.events().iter().any(|e| e["message"]
            .as_str()
            .is_some_and(|m| m.contains("open-file limit"))),
        "the lowered cap is logged"
    );
    let mut held = Vec::new();
    for _ in 0..300 {
        if let Ok(mut stream) = TcpStream::connect(address(&server)).await {
            let _ = stream.write_all(b"GET /livez HTTP/1.1\r\n").await;
            held.push(stream);
        }
    }
    for path in ["/livez", "/health-check"] {
        let (status, _) = server.call("GET", path, None, None).await;
        assert_eq!(
            status, 200,
            "{path} past 300 idle connections with 256 files"
        );
    }
    drop(held);
}

/// Sign-ups are limited per client IP; behind a trusted proxy the IP is the one the proxy
/// wrote, and a client-written X-Forwarded-For entry changes nothing.
#[tokio::test]
async fn sign_ups_are_rate_limited_per_client_ip() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&[
        ("DATABASE_URL", &sqlite(&dir)),
        ("SIGNUP_RATE_PER_IP", "3/minute"),
        ("TRUST_PROXY_HEADERS", "true"),
        ("TRUSTED_PROXIES", "1"),
    ]);
    let http = reqwest::Client::new();
    let signup = |n: usize, forwarded: &'static str| {
        http.post(server.url("/users"))
            .header("x-forwarded-for", forwarded)
            .json(&json!({"email": format!("r{n}@example.com"), "password": "password123"}))
            .send()
    };
    for n in 0..3 {
        assert_eq!(signup(n, "203.0.113.5").await.unwrap().status(), 200);
    }
    let refused = signup(3, "203.0.113.5").await.unwrap();
    assert_eq!(refused.status(), 429);
    let wait: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    let body: Value = refused.json().await.unwrap();
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .starts_with("Too many requests")
    );
    // A spoofed leftmost entry: the proxy-written last entry still counts.
    assert_eq!(
        signup(4, "1.2.3.4, 203.0.113.5").await.unwrap().status(),
        429
    );
    // Another client behind the same proxy has its own allowance.
    assert_eq!(signup(5, "198.51.100.7").await.unwrap().status(), 200);
}

/// A user with 20,000 items of 2,000 characters (a 40 MB answer): bodies are streamed in
/// chunks, so eight at once stay within a bound, and a reader that stops reading neither
/// holds the only pooled connection nor lives past the write timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn big_users_stream_in_bounded_memory_and_stalled_readers_hold_no_connection() {
    use sqlx::{Connection, Executor};
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite(&dir);
    let server = Server::start(&[
        ("DATABASE_URL", &url),
        ("DATABASE_MAX_CONNECTIONS", "1"),
        ("WRITE_TIMEOUT", "2"),
    ]);
    let (_, user) = server
        .call(
            "POST",
            "/users",
            None,
            Some(&json!({"email": "big@example.com", "password": "password123"})),
        )
        .await;
    let (id, token) = (
        user["id"].as_i64().unwrap(),
        user["token"].as_str().unwrap().to_owned(),
    );
    const ITEMS: usize = 20_000;
    let description = "d".repeat(2000);
    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    conn.execute("BEGIN").await.unwrap();
    for n in 0..ITEMS {
        sqlx::query(
            "INSERT INTO items (title, description, owner_id, created_at, done, version) \
             VALUES (?, ?, ?, '2026-01-01 00:00:00', 0, 1)",
        )
        .bind(format!("item {n}"))
        .bind(&description)
        .bind(id)
        .execute(&mut conn)
        .await
        .unwrap();
    }
    conn.execute("COMMIT").await.unwrap();
    drop(conn);

    let baseline = server.memory_kib("VmRSS");
    let http = reqwest::Client::new();
    let readers = (0..8).map(|n| {
        let request = http
            .get(server.url(if n % 2 == 0 {
                "/users?limit=1000"
            } else {
                "/me"
            }))
            .header("x-api-token", token.clone());
        async move {
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 200);
            response.bytes().await.unwrap()
        }
    });
    let bodies = futures_util::future::join_all(readers).await;
    let peak = server.memory_kib("VmHWM");
    record_figure(
        "8 concurrent answers of a user with 20,000 items",
        "answer size; RSS before, peak",
        format!(
            "{} MB; {} MiB, {} MiB",
            bodies[0].len() / 1_000_000,
            baseline / MIB,
            peak / MIB
        ),
    );
    assert!(
        peak < baseline + 64 * MIB,
        "8 answers of {} MB each: RSS {baseline} KiB -> peak {peak} KiB",
        bodies[0].len() / 1_000_000
    );
    let listing: Value = serde_json::from_slice(&bodies[0]).unwrap();
    assert_eq!(listing[0]["items"].as_array().unwrap().len(), ITEMS);
    let me: Value = serde_json::from_slice(&bodies[1]).unwrap();
    assert_eq!(me["items"].as_array().unwrap().len(), ITEMS);
    assert_eq!(me["email"], "big@example.com");

    // A reader that reads nothing of a 40 MB answer.
    let mut stalled = TcpStream::connect(address(&server)).await.unwrap();
    stalled
        .write_all(
            format!("GET /users/{id} HTTP/1.1\r\nHost: x\r\nX-API-TOKEN: {token}\r\n\r\n")
                .as_bytes(),
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (status, item) = server
        .call(
            "GET",
            &format!("/users/{id}/items?limit=1"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(
        status, 200,
        "the only pooled connection is not held by the stalled reader"
    );
    assert_eq!(item.as_array().unwrap().len(), 1);
    tokio::time::sleep(Duration::from_secs(4)).await;
    let mut received = 0usize;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        match tokio::time::timeout(Duration::from_secs(10), stalled.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => received += n,
            Err(_) => panic!("the stalled connection was never closed"),
        }
    }
    record_figure(
        "a reader that stops reading (40 MB answer)",
        "bytes sent before the cut",
        received,
    );
    assert!(
        received < bodies[1].len(),
        "cut off after the write timeout: {received} of {} bytes",
        bodies[1].len()
    );
}
