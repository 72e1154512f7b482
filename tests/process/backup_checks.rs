//! What `restore` refuses (a changed byte, a missing last line, another format version, a
//! target with rows), each before anything is written; and the SQLite snapshot taken with
//! `VACUUM INTO` while a writer runs.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::backup::{Writer, cli};
use crate::common::dump::{dump, seed_items, table_count};
use crate::common::process::Server;
use crate::common::{Kind, TestDb};

/// A small SQLite database with rows in most tables, and its backup file.
async fn source_backup(dir: &tempfile::TempDir) -> (TestDb, String) {
    let source = TestDb::create(Kind::Sqlite).await.unwrap();
    let server = Server::start(&[("DATABASE_URL", &source.url), ("METRICS_ENABLED", "false")]);
    let (alice, token) = server.signup("alice@example.com").await;
    server.signup("bob@example.com").await;
    for n in 0..3 {
        let (status, _) = server
            .call(
                "POST",
                &format!("/users/{alice}/items"),
                Some(&token),
                Some(&json!({"title": format!("item {n}")})),
            )
            .await;
        assert_eq!(status, 200);
    }
    drop(server);
    let file = dir.path().join("good.jsonl").to_str().unwrap().to_owned();
    let (code, _, err) = cli(&["backup", &file], &source.url).await;
    assert_eq!(code, 0, "{err}");
    (source, file)
}

/// A variant of the backup file: `change` edits its lines.
fn variant(
    dir: &tempfile::TempDir,
    good: &str,
    name: &str,
    change: impl Fn(&mut Vec<String>),
) -> String {
    let mut lines: Vec<String> = std::fs::read_to_string(good)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    change(&mut lines);
    let path = dir.path().join(name).to_str().unwrap().to_owned();
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

async fn damaged_files_and_full_targets_are_refused(kind: Kind) {
    let dir = tempfile::tempdir().unwrap();
    let (source, good) = source_backup(&dir).await;
    let tampered = variant(&dir, &good, "tampered.jsonl", |lines| {
        // One byte of an email: still valid JSON, so only the checksum can tell.
        let line = lines
            .iter_mut()
            .find(|l| l.contains("bob@example.com"))
            .unwrap();
        *line = line.replacen("bob@", "bib@", 1);
    });
    let truncated = variant(&dir, &good, "truncated.jsonl", |lines| {
        lines.pop();
    });
    let version = variant(&dir, &good, "version.jsonl", |lines| {
        lines[0] = lines[0].replace("\"version\":1", "\"version\":2");
    });
    let cases = [
        (tampered, "checksum mismatch"),
        (truncated, "the backup is truncated"),
        (version, "backup format version 2 is not supported"),
    ];

    // Into a database never touched: not even the migrations run.
    let Some(fresh) = TestDb::create(kind).await else {
        return;
    };
    for (file, message) in &cases {
        let (code, out, err) = cli(&["restore", file], &fresh.url).await;
        assert_ne!(code, 0, "{file}");
        assert!(err.contains(message), "{file}: {err}");
        assert_eq!(err.matches(message).count(), 1, "reported once: {err}");
        assert!(out.is_empty(), "nothing on stdout: {out}");
        if kind == Kind::Sqlite {
            let path = fresh.url.trim_start_matches("sqlite://");
            assert!(
                !std::path::Path::new(path).exists(),
                "{file}: no database file created"
            );
        } else {
            assert_eq!(table_count(&fresh).await, 0, "{file}: nothing written");
        }
    }

    // Into a database with rows: unchanged by any of them, or by a good file without --force.
    let target = TestDb::create(kind).await.unwrap();
    let (code, _, err) = cli(&["migrate"], &target.url).await;
    assert_eq!(code, 0, "{err}");
    let server = Server::start(&[("DATABASE_URL", &target.url), ("METRICS_ENABLED", "false")]);
    let (owner, token) = server.signup("someone@example.com").await;
    let (status, _) = server
        .call(
            "POST",
            &format!("/users/{owner}/items"),
            Some(&token),
            Some(&json!({"title": "mine"})),
        )
        .await;
    assert_eq!(status, 200);
    drop(server);
    let before = dump(kind, &target.url).await;
    let not_empty = "the target database is not empty (users 1, items 1, audit_events 2";
    for (file, message) in cases
        .iter()
        .map(|(f, m)| (f.as_str(), *m))
        .chain([(good.as_str(), not_empty)])
    {
        let (code, _, err) = cli(&["restore", file], &target.url).await;
        assert_ne!(code, 0, "{file}");
        assert!(err.contains(message), "{file}: {err}");
        assert_eq!(
            dump(kind, &target.url).await,
            before,
            "{file}: the target is unchanged"
        );
    }
    let (_, _, err) = cli(&["restore", &good], &target.url).await;
    assert!(
        err.contains("--force"),
        "the refusal says how to go on: {err}"
    );
    let (code, _, err) = cli(&["restore", &good, "--force"], &target.url).await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        dump(kind, &target.url).await,
        dump(Kind::Sqlite, &source.url).await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_sqlite() {
    damaged_files_and_full_targets_are_refused(Kind::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_postgres() {
    damaged_files_and_full_targets_are_refused(Kind::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_mysql() {
    damaged_files_and_full_targets_are_refused(Kind::MySql).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_sqlite_snapshot_taken_while_writing_is_whole_and_usable() {
    let source = TestDb::create(Kind::Sqlite).await.unwrap();
    let server = Server::start(&[("DATABASE_URL", &source.url), ("METRICS_ENABLED", "false")]);
    let (alice, token) = server.signup("alice@example.com").await;
    seed_items(&source, alice, 30_000).await;
    let dir = tempfile::tempdir().unwrap();
    let snapshot = dir.path().join("snapshot.db").to_str().unwrap().to_owned();

    let writer = Writer::start(&server, alice, &token);
    writer.wait_for(20).await;
    let (code, out, err) = cli(&["backup", "--sqlite-snapshot", &snapshot], &source.url).await;
    assert_eq!(code, 0, "{err}");
    writer.wait_for(20).await;
    let written = writer.stop().await;
    let summary: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(summary["integrity"], "ok");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&snapshot).unwrap().permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);

    // Checked independently of the command: integrity, counts, one moment across tables.
    let url = format!("sqlite://{snapshot}?mode=ro");
    let copy = TestDb::borrowed(Kind::Sqlite, url.clone());
    assert_eq!(copy.column("PRAGMA integrity_check").await, ["ok"]);
    let rows = dump(Kind::Sqlite, &url).await;
    assert_eq!(summary["counts"]["items"], rows["items"].len());
    let in_snapshot = rows["items"].len() as u64 - 30_000;
    assert!(
        in_snapshot >= 20 && in_snapshot < written,
        "{in_snapshot} of {written}"
    );
    let audited: BTreeSet<String> = rows["audit_events"]
        .iter()
        .filter(|row| row[3] == "item.create")
        .map(|row| row[5].clone())
        .collect();
    let created: BTreeSet<String> = rows["items"]
        .iter()
        .filter(|row| row[1].starts_with("written "))
        .map(|row| row[0].clone())
        .collect();
    assert_eq!(audited, created);

    // Restorable by pointing DATABASE_URL at it.
    let (code, out, err) = cli(&["user", "list", "--json"], &format!("sqlite://{snapshot}")).await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("alice@example.com"), "{out}");
    // And `restore` says so rather than misreading it.
    let (code, _, err) = cli(&["restore", &snapshot], &source.url).await;
    assert_ne!(code, 0);
    assert!(err.contains("point"), "{err}");
    assert!(err.contains("DATABASE_URL"), "{err}");
}

#[tokio::test]
async fn a_snapshot_of_postgres_is_refused() {
    let Some(db) = TestDb::create(Kind::Postgres).await else {
        return;
    };
    let (code, _, err) = cli(&["migrate"], &db.url).await;
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = cli(&["backup", "--sqlite-snapshot", "/tmp/never.db"], &db.url).await;
    assert_eq!(code, 1);
    assert!(err.contains("supported on SQLite only"), "{err}");
}

/// A user erased after a backup stays erased when that older backup is restored: the
/// target's erasure log is applied again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restoring_an_older_backup_erases_again_who_was_erased_since() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::create(Kind::Sqlite).await.unwrap();
    let server = Server::start(&[("DATABASE_URL", &db.url), ("METRICS_ENABLED", "false")]);
    server.signup("stays@example.com").await;
    let (gone, token) = server.signup("forget.me@example.com").await;
    let (status, _) = server
        .call(
            "POST",
            &format!("/users/{gone}/items"),
            Some(&token),
            Some(&json!({"title": "kept by the team"})),
        )
        .await;
    assert_eq!(status, 200);
    drop(server);
    let file = dir.path().join("before.jsonl").to_str().unwrap().to_owned();
    let (code, _, err) = cli(&["backup", &file], &db.url).await;
    assert_eq!(code, 0, "{err}");

    let (code, _, err) = cli(&["user", "erase", &gone.to_string()], &db.url).await;
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = cli(&["restore", "--force", &file], &db.url).await;
    assert_eq!(code, 0, "{err}");
    let summary: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(summary["erasures_reapplied"], 1, "{out}");

    let emails = db.column("SELECT email FROM users ORDER BY id").await;
    assert_eq!(emails[0], "stays@example.com");
    assert!(
        !emails.iter().any(|e| e.contains("forget.me")),
        "{emails:?}"
    );
    assert_eq!(
        db.column(&format!(
            "SELECT COUNT(*) FROM erasures WHERE user_id = {gone}"
        ))
        .await,
        ["1"]
    );
    let titles = db.column("SELECT title FROM items").await;
    assert_eq!(
        titles,
        ["kept by the team"],
        "the items were handed over again"
    );
}
