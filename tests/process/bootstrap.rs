//! The first admin of a deployment: a token the deployment generated into its secret store,
//! adopted by `migrate` only while no admin exists, never printed.

use serde_json::Value;

use crate::common::db::{Kind, TestDb};
use crate::common::process::{Server, run};

/// A token of the shape the Terraform generates: 24 hex digits, then 43 URL-safe ones.
const TOKEN: &str = "tdo_0123456789abcdef01234567_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_AbCd";

fn bootstrap_env(url: &str) -> Vec<(&str, &str)> {
    vec![
        ("DATABASE_URL", url),
        ("BOOTSTRAP_ADMIN_EMAIL", "ops@example.com"),
        ("BOOTSTRAP_ADMIN_TOKEN", TOKEN),
    ]
}

#[tokio::test]
async fn migrate_adopts_the_first_admin_once_and_never_prints_the_token() {
    let db = TestDb::create(Kind::Sqlite).await.unwrap();
    let (code, out, err) = run(&["migrate"], &bootstrap_env(&db.url), None);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("first admin: created user 1"), "{out}");
    assert!(
        !out.contains(TOKEN) && !err.contains(TOKEN),
        "the token is never printed"
    );

    // The token works, as an admin's: with sign-up closed it may create users.
    let server = Server::start(&[("DATABASE_URL", &db.url), ("SIGNUP", "false")]);
    let (status, _) = server
        .call(
            "POST",
            "/users",
            Some(TOKEN),
            Some(&serde_json::json!({"email": "dev@example.com", "password": "password123"})),
        )
        .await;
    assert_eq!(
        status, 200,
        "an admin's token may create users when sign-up is closed"
    );
    assert!(
        !server.output().iter().any(|line| line.contains(TOKEN)),
        "the token never reaches the log"
    );

    // Rotated away, the bootstrap token is not adopted again by the next deployment.
    let (code, _, err) = run(
        &["token", "rotate", "ops@example.com"],
        &[("DATABASE_URL", &db.url)],
        None,
    );
    assert_eq!(code, 0, "{err}");
    let (code, out, _) = run(&["migrate", "--json"], &bootstrap_env(&db.url), None);
    assert_eq!(code, 0);
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["first_admin"], "admin_exists");
    let (status, _) = server.call("GET", "/users", Some(TOKEN), None).await;
    assert_eq!(status, 401, "the rotated-away bootstrap token stays dead");
}

#[test]
fn a_malformed_bootstrap_token_is_refused_without_being_echoed() {
    let secretish = "not-a-token-but-secret-9f8e7d";
    let (code, _, err) = run(
        &["migrate"],
        &[
            ("DATABASE_URL", "sqlite::memory:"),
            ("BOOTSTRAP_ADMIN_EMAIL", "ops@example.com"),
            ("BOOTSTRAP_ADMIN_TOKEN", secretish),
        ],
        None,
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("BOOTSTRAP_ADMIN_TOKEN: is not a todo-api token"),
        "{err}"
    );
    assert!(!err.contains(secretish));
    let (code, _, err) = run(
        &["migrate"],
        &[
            ("DATABASE_URL", "sqlite::memory:"),
            ("BOOTSTRAP_ADMIN_TOKEN", TOKEN),
        ],
        None,
    );
    assert_eq!(code, 2);
    assert!(err.contains("BOOTSTRAP_ADMIN_EMAIL"), "{err}");
}

/// Two deployments migrating at once (a retried job beside the first): one admin.
async fn overlapping_migrations_adopt_one_admin(kind: Kind) {
    let Some(db) = TestDb::create(kind).await else {
        return;
    };
    let (code, _, err) = run(&["migrate"], &[("DATABASE_URL", &db.url)], None);
    assert_eq!(code, 0, "{err}");
    let runs: Vec<_> = (0..4)
        .map(|_| {
            let env: Vec<(String, String)> = bootstrap_env(&db.url)
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect();
            std::thread::spawn(move || {
                let env: Vec<(&str, &str)> =
                    env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                run(&["migrate", "--json"], &env, None)
            })
        })
        .collect();
    let mut created = 0;
    for handle in runs {
        let (code, out, err) = handle.join().unwrap();
        assert_eq!(code, 0, "{err}");
        let report: Value = serde_json::from_str(&out).unwrap();
        if report["first_admin"].get("created").is_some() {
            created += 1;
        }
    }
    assert_eq!(created, 1, "exactly one migration creates the admin");
    let (_, listing, _) = run(
        &["user", "list", "--json"],
        &[("DATABASE_URL", &db.url)],
        None,
    );
    let users: Vec<Value> = serde_json::from_str(&listing).unwrap();
    assert_eq!(users.len(), 1);
    assert_eq!(users[0]["is_admin"], true);
}

#[tokio::test]
async fn overlapping_migrations_postgres() {
    overlapping_migrations_adopt_one_admin(Kind::Postgres).await;
}

#[tokio::test]
async fn overlapping_migrations_mysql() {
    overlapping_migrations_adopt_one_admin(Kind::MySql).await;
}

#[tokio::test]
async fn overlapping_migrations_sqlite() {
    overlapping_migrations_adopt_one_admin(Kind::Sqlite).await;
}
