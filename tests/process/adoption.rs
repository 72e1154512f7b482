//! `todo-api migrate` adopts the FastAPI app's `sql_app.db` in place: ids, emails, items and
//! bcrypt password hashes survive, and a bcrypt hash becomes argon2id at its next use.

use serde_json::{Value, json};
use sqlx::Connection;

use crate::common::process::{Server, run};

/// The tables SQLAlchemy creates for the FastAPI app's models.
const FASTAPI_SCHEMA: &str = "
CREATE TABLE users (
    id INTEGER NOT NULL,
    email VARCHAR NOT NULL,
    hashed_password VARCHAR NOT NULL,
    is_active BOOLEAN NOT NULL,
    PRIMARY KEY (id)
);
CREATE UNIQUE INDEX ix_users_email ON users (email);
CREATE TABLE items (
    id INTEGER NOT NULL,
    title VARCHAR NOT NULL,
    description VARCHAR NOT NULL,
    owner_id INTEGER NOT NULL,
    created_at DATETIME DEFAULT (CURRENT_TIMESTAMP) NOT NULL,
    done BOOLEAN NOT NULL,
    PRIMARY KEY (id),
    FOREIGN KEY(owner_id) REFERENCES users (id)
);";

#[tokio::test]
async fn migrate_adopts_a_fastapi_database_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sql_app.db");
    let url = format!("sqlite://{}", path.display());
    let bcrypt_hash = bcrypt::hash("chimichangas4life", 4).unwrap();
    {
        let mut conn = sqlx::SqliteConnection::connect(&format!("{url}?mode=rwc"))
            .await
            .unwrap();
        // SQLAlchemy leaves SQLite's foreign keys off, which is how orphans happen.
        sqlx::raw_sql("PRAGMA foreign_keys = OFF")
            .execute(&mut conn)
            .await
            .unwrap();
        sqlx::raw_sql(FASTAPI_SCHEMA)
            .execute(&mut conn)
            .await
            .unwrap();
        sqlx::query("INSERT INTO users (id, email, hashed_password, is_active) VALUES (3, 'deadpool@example.com', ?, 1), (7, 'gone@example.com', ?, 0)")
            .bind(&bcrypt_hash)
            .bind(&bcrypt_hash)
            .execute(&mut conn)
            .await
            .unwrap();
        // Rows as the FastAPI app writes them: SQLAlchemy's microseconds and SQLite's own
        // CURRENT_TIMESTAMP; and an item whose owner does not exist, which it allowed.
        sqlx::raw_sql(
            "INSERT INTO items (id, title, description, owner_id, created_at, done) VALUES
                (10, 'First Item', 'This is first item', 3, '2023-01-01 00:00:00.000000', 0),
                (11, 'Third Item', 'This is third item', 3, '2023-01-03 00:00:00', 1),
                (12, 'Orphan', 'owner 99 never existed', 99, '2023-01-05 00:00:00', 0);",
        )
        .execute(&mut conn)
        .await
        .unwrap();
    }

    let env = [("DATABASE_URL", url.as_str())];
    let (code, _, err) = run(&["migrate"], &env, None);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = run(&["migrate"], &env, None);
    assert_eq!(code, 0, "migrate is idempotent: {err}");

    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    let orphans: Vec<(i64, String)> = sqlx::query_as("SELECT id, title FROM fastapi_orphan_items")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    assert_eq!(orphans, [(12, "Orphan".to_owned())], "kept aside, not lost");
    let legacy: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM sqlite_master WHERE name IN ('fastapi_users', 'fastapi_items')",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(legacy, 0);

    // The FastAPI user gets a token from the shell, then proves its password over HTTP.
    let (code, out, err) = run(&["token", "rotate", "deadpool@example.com"], &env, None);
    assert_eq!(code, 0, "{err}");
    let token = serde_json::from_str::<Value>(&out).unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let server = Server::start(&[("DATABASE_URL", &url)]);
    let http = reqwest::Client::new();
    let user: Value = server.call("GET", "/users/3", Some(&token), None).await.1;
    assert_eq!(
        user,
        json!({"email": "deadpool@example.com", "id": 3, "is_active": true, "items": [
            {"title": "First Item", "description": "This is first item", "id": 10, "owner_id": 3, "created_at": "2023-01-01T00:00:00", "done": false},
            {"title": "Third Item", "description": "This is third item", "id": 11, "owner_id": 3, "created_at": "2023-01-03T00:00:00", "done": true},
        ]})
    );
    let stored: String = sqlx::query_scalar("SELECT created_at FROM items WHERE id = 10")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        stored, "2023-01-01 00:00:00",
        "normalized to the sortable text form"
    );
    let filtered: Value = server
        .call("GET", "/items?date=20230103", Some(&token), None)
        .await
        .1;
    assert_eq!(filtered[0]["id"], 11);
    assert_eq!(
        server.call("GET", "/users/7", Some(&token), None).await.0,
        404
    );

    let wrong = http
        .post(server.url("/users/3/token"))
        .header("X-API-TOKEN", &token)
        .json(&json!({"password": "wrong"}))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 403);
    let rotated = http
        .post(server.url("/users/3/token"))
        .header("X-API-TOKEN", &token)
        .json(&json!({"password": "chimichangas4life"}))
        .send()
        .await
        .unwrap();
    assert_eq!(rotated.status(), 200);
    let hash: String = sqlx::query_scalar("SELECT hashed_password FROM users WHERE id = 3")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert!(
        hash.starts_with("$argon2id$"),
        "re-hashed at its first use: {hash}"
    );
    let inactive_hash: String =
        sqlx::query_scalar("SELECT hashed_password FROM users WHERE id = 7")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert_eq!(inactive_hash, bcrypt_hash, "untouched until used");

    // New rows continue after the adopted ids.
    let new_item: Value = http
        .post(server.url("/users/3/items"))
        .header(
            "X-API-TOKEN",
            rotated.json::<Value>().await.unwrap()["token"]
                .as_str()
                .unwrap(),
        )
        .json(&json!({"title": "new"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(new_item["id"].as_i64().unwrap() > 12, "{new_item}");
}
