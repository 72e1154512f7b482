//! Read replicas, against a PostgreSQL primary and a hot standby the test starts itself
//! (initdb, `pg_basebackup -R`, streaming replication on free ports under a temporary
//! directory, as the `postgres` OS user when run as root), with two `todo-api` processes on
//! them (`DATABASE_URL` the primary, `DATABASE_READ_URL` the standby). It proves:
//!
//! - routing: a user that has not written lately reads from the standby (its statistics count
//!   the scans of `items`; `db_reads_total` of both processes counts replica reads and no
//!   primary ones), and reads the standby's state: with replay paused it misses what others
//!   wrote since;
//! - read-your-writes across processes: with the standby's replay paused, an item created
//!   through one process is at once in the listing through the other, 50 times over;
//! - the lag bound: past `REPLICA_MAX_LAG_BYTES` reads go to the primary (and return once
//!   replay catches up), logged once per change;
//! - fallback: with the standby stopped, reads still answer `200` from the primary,
//!   `/health-check` stays exactly `200 {"status":"ok"}`, and a log line says so.
//!
//! Under `CI=true` missing PostgreSQL binaries fail the test; elsewhere it skips.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sqlx::Connection;

use crate::common::process::Server;
use crate::tools::{as_postgres_user, check, free_port, give_to_postgres, postgres_bin};

/// `READ_AFTER_WRITE_WINDOW` of the test's servers; a user is past it (and the 1 s granularity
/// of the record) this long after its last write.
const WINDOW: &str = "1s";
const PAST_WINDOW: Duration = Duration::from_millis(2300);
/// `REPLICA_MAX_LAG_BYTES` of the test's servers: above the WAL of the 50 writes, below the
/// filler's.
const MAX_LAG: u64 = 4 * 1024 * 1024;

/// A primary and its hot standby, stopped (immediately) when dropped.
struct Replication {
    bin: PathBuf,
    dir: tempfile::TempDir,
    primary_port: u16,
    standby_port: u16,
}

impl Replication {
    fn start() -> Option<Replication> {
        let Some(bin) = postgres_bin(&["initdb", "pg_basebackup"]) else {
            assert_ne!(
                std::env::var("CI").as_deref(),
                Ok("true"),
                "CI runs the replica test and needs initdb and pg_basebackup under /usr/lib/postgresql"
            );
            eprintln!("no initdb/pg_basebackup: the replica test does not run here");
            return None;
        };
        let dir = tempfile::tempdir().unwrap();
        give_to_postgres(dir.path());
        let pg = Replication {
            bin,
            dir,
            primary_port: free_port(),
            standby_port: free_port(),
        };
        let primary = pg.path("primary");
        pg.run(
            pg.tool("initdb")
                .args(["-U", "postgres", "-A", "trust", "--no-sync", "-D"])
                .arg(&primary),
        );
        std::fs::write(
            primary.join("pg_hba.conf"),
            "local all all trust\nlocal replication all trust\n\
             host all all 127.0.0.1/32 trust\nhost replication all 127.0.0.1/32 trust\n",
        )
        .unwrap();
        pg.append_conf(
            &primary,
            &format!(
                "listen_addresses = '127.0.0.1'\nport = {}\nunix_socket_directories = '{}'\n\
                 fsync = off\nwal_level = replica\nmax_wal_senders = 4\nhot_standby = on\n",
                pg.primary_port,
                pg.dir.path().display()
            ),
        );
        pg.ctl("primary", "start");
        let standby = pg.path("standby");
        pg.run(
            pg.tool("pg_basebackup")
                .args(["-h", "127.0.0.1", "-U", "postgres", "-R", "-X", "stream"])
                .args(["-c", "fast", "--no-sync", "-p"])
                .arg(pg.primary_port.to_string())
                .arg("-D")
                .arg(&standby),
        );
        // The copy's postgresql.conf names the primary's port: the last line wins.
        pg.append_conf(&standby, &format!("port = {}\n", pg.standby_port));
        pg.ctl("standby", "start");
        Some(pg)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn tool(&self, name: &str) -> Command {
        as_postgres_user(&self.bin.join(name))
    }

    fn run(&self, command: &mut Command) {
        check(command);
    }

    fn append_conf(&self, data: &Path, settings: &str) {
        let conf = data.join("postgresql.conf");
        let mut text = std::fs::read_to_string(&conf).unwrap();
        text.push_str(settings);
        std::fs::write(&conf, text).unwrap();
    }

    /// `pg_ctl start` (waiting until it accepts connections) or `stop` (fast: sessions are
    /// ended, as when a replica goes away) of `primary` or `standby`.
    fn ctl(&self, which: &str, action: &str) {
        let log = self.path(&format!("{which}.log"));
        let mut command = self.tool("pg_ctl");
        command
            .args(["-w", "-t", "30", "-m", "fast", "-l"])
            .arg(log)
            .arg("-D")
            .arg(self.path(which))
            .arg(action);
        self.run(&mut command);
    }

    fn url(&self, port: u16, application: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{port}/postgres?application_name={application}")
    }

    async fn admin(&self, port: u16) -> sqlx::PgConnection {
        sqlx::PgConnection::connect(&self.url(port, "replica-test"))
            .await
            .unwrap_or_else(|e| panic!("the test's PostgreSQL on port {port}: {e}"))
    }

    async fn primary(&self) -> sqlx::PgConnection {
        self.admin(self.primary_port).await
    }

    async fn standby(&self) -> sqlx::PgConnection {
        self.admin(self.standby_port).await
    }
}

impl Drop for Replication {
    fn drop(&mut self) {
        for which in ["standby", "primary"] {
            let _ = self
                .tool("pg_ctl")
                .args(["-m", "immediate", "-D"])
                .arg(self.path(which))
                .arg("stop")
                .output();
        }
    }
}

async fn scalar_i64(conn: &mut sqlx::PgConnection, sql: &'static str) -> i64 {
    sqlx::query_scalar::<_, i64>(sql)
        .fetch_one(conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// The items the standby has replayed; 0 while it has not replayed the migrations that
/// create the table either (the servers may start, and find the lag small, before that).
async fn replicated_items(standby: &mut sqlx::PgConnection) -> i64 {
    match sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM items")
        .fetch_one(standby)
        .await
    {
        Ok(count) => count,
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42P01") => 0,
        Err(e) => panic!("SELECT COUNT(*) FROM items on the standby: {e}"),
    }
}

/// Scans of `items` that the server's statistics have counted so far.
async fn item_scans(conn: &mut sqlx::PgConnection) -> i64 {
    scalar_i64(
        conn,
        "SELECT COALESCE(SUM(COALESCE(seq_scan, 0) + COALESCE(idx_scan, 0)), 0)::bigint \
         FROM pg_stat_user_tables WHERE relname = 'items'",
    )
    .await
}

/// How many of the server's log lines so far have a message starting with `prefix`.
fn logged(server: &Server, prefix: &str) -> usize {
    server
        .events()
        .iter()
        .filter(|e| e["message"].as_str().is_some_and(|m| m.starts_with(prefix)))
        .count()
}

/// Waits until both servers have logged `prefix` `times` times.
async fn until_logged(servers: &[&Server], prefix: &str, times: usize, within: Duration) {
    let started = Instant::now();
    while servers.iter().any(|s| logged(s, prefix) < times) {
        assert!(
            started.elapsed() < within,
            "{prefix:?} not logged {times} times within {within:?}: {:?}",
            servers
                .iter()
                .map(|s| s.output().join("\n"))
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A counter or gauge of a server's `/metrics` (0 when absent).
async fn metric(server: &Server, series: &str) -> f64 {
    server
        .metrics_text()
        .await
        .lines()
        .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or(0.0)
}

const REPLICA_READS: &str = "db_reads_total{database=\"replica\"}";
const PRIMARY_READS: &str = "db_reads_total{database=\"primary\"}";

/// The ids of `user`'s items, listed through `server` with `token`.
async fn listed(server: &Server, user: i64, token: &str) -> Vec<i64> {
    let (status, body) = server
        .call(
            "GET",
            &format!("/users/{user}/items?limit=1000"),
            Some(token),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body.as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].as_i64().unwrap())
        .collect()
}

async fn create_item(server: &Server, user: i64, token: &str, title: &str) -> i64 {
    let (status, body) = server
        .call(
            "POST",
            &format!("/users/{user}/items"),
            Some(token),
            Some(&json!({"title": title})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body["id"].as_i64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reads_go_to_the_standby_but_not_a_writer_s_and_not_a_lagging_or_stopped_one() {
    let Some(pg) = tokio::task::block_in_place(Replication::start) else {
        return;
    };
    let started = Instant::now();
    let env = |name: &str| {
        vec![
            (
                "DATABASE_URL",
                pg.url(pg.primary_port, &format!("todo-{name}")),
            ),
            (
                "DATABASE_READ_URL",
                pg.url(pg.standby_port, &format!("todo-{name}-replica")),
            ),
            ("READ_AFTER_WRITE_WINDOW", WINDOW.to_owned()),
            ("REPLICA_MAX_LAG_BYTES", MAX_LAG.to_string()),
            ("DATABASE_ACQUIRE_TIMEOUT", "2".to_owned()),
        ]
    };
    let start = |name: &str| {
        let env = env(name);
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        tokio::task::block_in_place(|| Server::start(&env))
    };
    // One after the other: the first applies the migrations.
    let a = start("a");
    let b = start("b");
    let both = [&a, &b];
    until_logged(&both, "read replica in use", 1, Duration::from_secs(10)).await;
    for server in both {
        let (status, body) = server
            .call("GET", "/health-check/replica", None, None)
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["status"], "ok", "{body}");
    }

    let (writer, writer_token) = a.signup("writer@example.com").await;
    let (_reader, reader_token) = b.signup("reader@example.com").await;
    let first = create_item(&a, writer, &writer_token, "first").await;
    let mut standby = pg.standby().await;
    let replayed = Instant::now();
    while replicated_items(&mut standby).await < 1 {
        assert!(
            replayed.elapsed() < Duration::from_secs(5),
            "not replicated"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Both users are past the window now: their reads may go to the standby.
    tokio::time::sleep(PAST_WINDOW).await;

    // (a) Routing: the reader's reads are served by the standby, through both processes.
    let scans_before = item_scans(&mut standby).await;
    let mut reads_before = Vec::new();
    for server in both {
        reads_before.push((
            metric(server, REPLICA_READS).await,
            metric(server, PRIMARY_READS).await,
        ));
    }
    let rounds = 10;
    for _ in 0..rounds {
        for server in both {
            assert_eq!(listed(server, writer, &reader_token).await, [first]);
        }
    }
    for (server, (replica, primary)) in both.iter().zip(&reads_before) {
        // Each listing reads the owner and its items.
        assert_eq!(
            metric(server, REPLICA_READS).await - replica,
            f64::from(2 * rounds),
            "every read of the listings on the replica"
        );
        assert_eq!(
            metric(server, PRIMARY_READS).await,
            *primary,
            "no read of the listings on the primary"
        );
    }
    // The standby's own statistics agree (a backend reports them within a second or so of
    // its next statement: keep a read going until they show).
    let counted = Instant::now();
    while item_scans(&mut standby).await < scans_before + 2 * i64::from(rounds) {
        assert!(
            counted.elapsed() < Duration::from_secs(15),
            "the standby counted {} scans of items, not {}",
            item_scans(&mut standby).await - scans_before,
            2 * rounds
        );
        listed(&b, writer, &reader_token).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let applications: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT application_name FROM pg_stat_activity \
         WHERE application_name LIKE 'todo-%' ORDER BY 1",
    )
    .fetch_all(&mut standby)
    .await
    .unwrap();
    assert_eq!(applications, ["todo-a-replica", "todo-b-replica"]);

    // (b) Read-your-writes across the processes, with the standby's replay paused: what A
    // just wrote, B lists at once, from the primary.
    sqlx::query("SELECT pg_wal_replay_pause()")
        .execute(&mut standby)
        .await
        .unwrap();
    let mut created = vec![first];
    for n in 0..50 {
        let id = create_item(&a, writer, &writer_token, &format!("item {n}")).await;
        created.push(id);
        let ids = listed(&b, writer, &writer_token).await;
        assert!(ids.contains(&id), "round {n}: {id} not in {ids:?}");
    }
    let newest = *created.last().unwrap();
    // The reader still reads the standby, which is behind by those writes (within the bound).
    let stale = listed(&b, writer, &reader_token).await;
    assert!(
        !stale.contains(&newest),
        "the paused standby served the reader: {stale:?}"
    );
    // The next measurement sees the lag those writes left (a second apart at most).
    let measured = Instant::now();
    loop {
        let (status, body) = b.call("GET", "/health-check/replica", None, None).await;
        assert_eq!(status, 200, "{body}");
        if body["lag_bytes"].as_u64().unwrap() > 0 {
            break;
        }
        assert!(measured.elapsed() < Duration::from_secs(3), "{body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // (d) Past REPLICA_MAX_LAG_BYTES (the filler's WAL), reads go to the primary.
    sqlx::query(
        "CREATE TABLE filler AS SELECT g, repeat('x', 500) AS pad FROM generate_series(1, 20000) g",
    )
    .execute(&mut pg.primary().await)
    .await
    .unwrap();
    until_logged(
        &both,
        "read replica lagging past REPLICA_MAX_LAG_BYTES",
        1,
        Duration::from_secs(5),
    )
    .await;
    let (status, body) = a.call("GET", "/health-check/replica", None, None).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["status"], "lagging", "{body}");
    assert!(body["lag_bytes"].as_u64().unwrap() > MAX_LAG, "{body}");
    assert!(listed(&b, writer, &reader_token).await.contains(&newest));
    assert_eq!(
        a.call("GET", "/health-check", None, None).await,
        (200, json!({"status": "ok"}))
    );
    sqlx::query("SELECT pg_wal_replay_resume()")
        .execute(&mut standby)
        .await
        .unwrap();
    until_logged(&both, "read replica in use", 2, Duration::from_secs(10)).await;
    let replica_reads = metric(&b, REPLICA_READS).await;
    assert!(listed(&b, writer, &reader_token).await.contains(&newest));
    assert!(metric(&b, REPLICA_READS).await > replica_reads);

    // (c) The standby stops: reads answer from the primary, readiness does not change.
    drop(standby);
    tokio::task::block_in_place(|| pg.ctl("standby", "stop"));
    for server in both {
        assert!(
            listed(server, writer, &reader_token)
                .await
                .contains(&newest)
        );
        assert_eq!(
            server.call("GET", "/health-check", None, None).await,
            (200, json!({"status": "ok"}))
        );
    }
    until_logged(
        &both,
        "read replica unavailable: reads go to the primary",
        1,
        Duration::from_secs(5),
    )
    .await;
    for server in both {
        assert!(
            listed(server, writer, &reader_token)
                .await
                .contains(&newest)
        );
        let (status, body) = server
            .call("GET", "/health-check/replica", None, None)
            .await;
        assert_eq!(
            (status, &body["status"]),
            (503, &Value::from("unavailable")),
            "{body}"
        );
        assert_eq!(
            server.call("GET", "/health-check", None, None).await,
            (200, json!({"status": "ok"}))
        );
        assert_eq!(metric(server, "db_replica_up").await, 0.0);
    }
    create_item(&b, writer, &writer_token, "after the standby stopped").await;
    for server in both {
        assert!(
            !server.output().iter().any(|l| l.contains("panicked")),
            "no panic"
        );
        assert_eq!(
            logged(server, "read replica unavailable"),
            1,
            "one line per change of state"
        );
    }
    eprintln!(
        "replica test ran {:?} after the clusters started",
        started.elapsed()
    );
}
