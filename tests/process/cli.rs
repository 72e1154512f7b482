//! The operator's command line: help, configuration errors, user and token management,
//! and the container health check.

use serde_json::Value;

use crate::common::process::{Server, run};

fn sqlite_url(dir: &tempfile::TempDir) -> String {
    format!("sqlite://{}", dir.path().join("todo.db").display())
}

#[test]
fn every_command_has_help() {
    for args in [
        &["--help"][..],
        &["serve", "--help"],
        &["migrate", "--help"],
        &["healthcheck", "--help"],
        &["user", "--help"],
        &["user", "create", "--help"],
        &["user", "list", "--help"],
        &["user", "promote", "--help"],
        &["user", "deactivate", "--help"],
        &["token", "rotate", "--help"],
        &["backup", "--help"],
        &["restore", "--help"],
        &["copy", "--help"],
    ] {
        let (code, out, err) = run(args, &[], None);
        assert_eq!(code, 0, "{args:?}: {err}");
        assert!(out.contains("Usage: todo-api"), "{args:?}: {out}");
    }
    let (code, _, err) = run(&["frobnicate"], &[], None);
    assert_eq!(code, 2);
    assert!(err.contains("unrecognized subcommand"), "{err}");
}

#[test]
fn a_bad_configuration_names_the_variable_and_exits_non_zero() {
    let cases = [
        (
            ("DATABASE_URL", "redis://localhost/0"),
            "DATABASE_URL: unsupported scheme 'redis'",
        ),
        (("DATABASE_URL", "postgres://"), "DATABASE_URL: has no host"),
        (("PORT", "http"), "PORT: 'http' is not valid"),
        (
            ("AUTHZ", "everyone"),
            "AUTHZ: 'everyone' is not one of team, strict",
        ),
    ];
    for ((var, value), message) in cases {
        for command in ["serve", "migrate"] {
            let (code, _, err) = run(&[command], &[(var, value)], None);
            assert_eq!(code, 2, "{command} with {var}={value}");
            assert!(err.contains(message), "{command} with {var}={value}: {err}");
        }
    }
}

#[test]
fn an_unreachable_database_fails_migrate_with_the_cause() {
    let (code, _, err) = run(
        &["migrate"],
        &[
            ("DATABASE_URL", "postgres://todo@127.0.0.1:1/todo"),
            ("DATABASE_ACQUIRE_TIMEOUT", "2"),
        ],
        None,
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("database unavailable"), "{err}");
}

#[tokio::test]
async fn users_and_tokens_from_the_shell() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir);
    let env = [("DATABASE_URL", url.as_str())];

    let (code, _, err) = run(&["migrate"], &env, None);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = run(
        &[
            "user",
            "create",
            "--email",
            "ops@example.com",
            "--admin",
            "--password-stdin",
        ],
        &env,
        Some("correct horse battery\n"),
    );
    assert_eq!(code, 0, "{err}");
    let admin: Value = serde_json::from_str(&out).unwrap();
    let admin_token = admin["token"].as_str().unwrap().to_owned();
    let (code, out, _) = run(
        &["user", "create", "--email", "dev@example.com"],
        &[
            ("DATABASE_URL", url.as_str()),
            ("TODO_API_PASSWORD", "another password"),
        ],
        None,
    );
    assert_eq!(code, 0);
    let dev: Value = serde_json::from_str(&out).unwrap();
    let (code, _, err) = run(
        &[
            "user",
            "create",
            "--email",
            "short@example.com",
            "--password-stdin",
        ],
        &env,
        Some("short\n"),
    );
    assert_eq!(code, 1);
    assert!(err.contains("at least 8 characters"), "{err}");
    let (code, _, err) = run(
        &[
            "user",
            "create",
            "--email",
            "ops@example.com",
            "--password-stdin",
        ],
        &env,
        Some("long enough password\n"),
    );
    assert_eq!(code, 1);
    assert!(err.contains("Email already registered"), "{err}");

    let (_, listing, _) = run(&["user", "list"], &env, None);
    assert!(
        listing.contains("ops@example.com") && listing.contains("dev@example.com"),
        "{listing}"
    );

    // The admin flag works over HTTP: with sign-up closed, only the admin may add users.
    let (code, _, _) = run(&["user", "promote", "dev@example.com"], &env, None);
    assert_eq!(code, 0);
    let server = Server::start(&[("DATABASE_URL", &url), ("SIGNUP", "false")]);
    let http = reqwest::Client::new();
    let signup = |token: Option<String>| {
        let mut request = http
            .post(server.url("/users"))
            .json(&serde_json::json!({"email": "new@example.com", "password": "password123"}));
        if let Some(token) = token {
            request = request.header("X-API-TOKEN", token);
        }
        request.send()
    };
    assert_eq!(signup(None).await.unwrap().status(), 403);
    assert_eq!(
        signup(Some(admin_token.clone())).await.unwrap().status(),
        200
    );

    // Rotation from the shell retires the old token at once.
    let (code, out, _) = run(&["token", "rotate", &dev["id"].to_string()], &env, None);
    assert_eq!(code, 0);
    let rotated: Value = serde_json::from_str(&out).unwrap();
    let get = |token: &str| {
        http.get(server.url("/users"))
            .header("X-API-TOKEN", token.to_owned())
            .send()
    };
    assert_eq!(
        get(dev["token"].as_str().unwrap()).await.unwrap().status(),
        401
    );
    assert_eq!(
        get(rotated["token"].as_str().unwrap())
            .await
            .unwrap()
            .status(),
        200
    );

    let (code, out, _) = run(&["user", "deactivate", "dev@example.com"], &env, None);
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        get(rotated["token"].as_str().unwrap())
            .await
            .unwrap()
            .status(),
        401
    );
    let (code, _, err) = run(&["user", "deactivate", "nobody@example.com"], &env, None);
    assert_eq!(code, 1);
    assert!(err.contains("no user nobody@example.com"), "{err}");
}

#[test]
fn healthcheck_reports_liveness_and_readiness_by_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir);
    let server = Server::start(&[("DATABASE_URL", &url)]);
    let port = server.base.rsplit(':').next().unwrap().to_owned();
    let env = [("HOST", "127.0.0.1"), ("PORT", port.as_str())];
    assert_eq!(run(&["healthcheck"], &env, None).0, 0);
    assert_eq!(run(&["healthcheck", "--ready"], &env, None).0, 0);
    drop(server);
    let (code, _, err) = run(&["healthcheck"], &env, None);
    assert_eq!(code, 1);
    assert!(err.contains("todo-api healthcheck"), "{err}");
    // The default host 0.0.0.0 is probed on the loopback address.
    assert_eq!(
        run(&["healthcheck", "--timeout", "1"], &[("PORT", "1")], None).0,
        1
    );
}

/// The access and audit commands: a named read-only token, the trail as JSON Lines (with
/// its filter), the export and erasure of a user, and the purge past retention.
#[test]
fn access_and_audit_commands_from_the_shell() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir);
    let env = [
        ("DATABASE_URL", url.as_str()),
        ("TODO_API_PASSWORD", "password123"),
    ];
    for email in ["ops@example.com", "gone@example.com"] {
        let (code, _, err) = run(&["user", "create", "--email", email], &env, None);
        assert_eq!(code, 0, "{err}");
    }
    let (code, out, err) = run(
        &[
            "token",
            "create",
            "--user",
            "ops@example.com",
            "--read-only",
        ],
        &env,
        None,
    );
    assert_eq!(code, 0, "{err}");
    let token: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(token["read_only"], true);
    assert!(token["secret"].as_str().unwrap().starts_with("tdo_"));

    let (code, out, err) = run(&["audit", "export"], &env, None);
    assert_eq!(code, 0, "{err}");
    let actions: Vec<String> = out
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap()["action"].to_string())
        .collect();
    assert_eq!(
        actions,
        ["\"token.issue\"", "\"user.create\"", "\"user.create\""],
        "JSON Lines, newest first, on stdout only"
    );
    let (_, none, _) = run(&["audit", "export", "--actor", "999"], &env, None);
    assert_eq!(
        none, "",
        "the command line has no actor: a filter by one finds nothing"
    );

    let (code, out, err) = run(&["user", "export", "gone@example.com"], &env, None);
    assert_eq!(code, 0, "{err}");
    let export: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(export["user"]["email"], "gone@example.com");
    let (code, _, err) = run(&["user", "erase", "gone@example.com"], &env, None);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = run(&["user", "export", "gone@example.com"], &env, None);
    assert_ne!(code, 0, "the address is gone: {err}");

    let (code, out, err) = run(&["audit", "purge"], &env, None);
    assert_eq!(code, 0, "{err}");
    let purged: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        purged["purged"], 0,
        "nothing is older than AUDIT_RETENTION_DAYS"
    );
    assert!(purged["before"].as_str().unwrap().contains('T'), "{out}");
}
