//! Every row of every table a backup carries, read straight from a database and rendered the
//! same way on every backend (so that two databases, of one backend or two, compare equal
//! exactly when they hold the same data), and bulk rows for tests that need many.

use std::collections::BTreeMap;

use sqlx::{AssertSqlSafe, Connection, Row};
use time::PrimitiveDateTime;

use super::Kind;

#[derive(Clone, Copy)]
enum Ty {
    Int,
    Text,
    Bool,
    Time,
    Bytes,
}

use Ty::*;

/// The tables and columns of migrations 0001-0004, written out independently of the code
/// under test.
const TABLES: &[(&str, &[(&str, Ty)])] = &[
    (
        "users",
        &[
            ("id", Int),
            ("email", Text),
            ("hashed_password", Text),
            ("is_active", Bool),
            ("is_admin", Bool),
            ("token_selector", Text),
            ("token_hash", Text),
        ],
    ),
    (
        "items",
        &[
            ("id", Int),
            ("title", Text),
            ("description", Text),
            ("owner_id", Int),
            ("created_at", Time),
            ("done", Bool),
            ("version", Int),
        ],
    ),
    (
        "idempotency_records",
        &[
            ("key_hash", Text),
            ("fingerprint", Text),
            ("complete", Bool),
            ("response", Bytes),
            ("created_at", Time),
        ],
    ),
    (
        "api_tokens",
        &[
            ("id", Int),
            ("user_id", Int),
            ("name", Text),
            ("selector", Text),
            ("token_hash", Text),
            ("read_only", Bool),
            ("created_at", Time),
        ],
    ),
    (
        "audit_events",
        &[
            ("id", Int),
            ("at", Time),
            ("actor_id", Int),
            ("action", Text),
            ("object_type", Text),
            ("object_id", Int),
            ("subject_id", Int),
            ("request_id", Text),
        ],
    ),
    (
        "audit_client_ips",
        &[("event_id", Int), ("user_id", Int), ("ip", Text)],
    ),
    ("erasures", &[("user_id", Int), ("erased_at", Time)]),
];

/// Rows of one table, each a list of rendered values, sorted.
pub type Rows = Vec<Vec<String>>;

fn render<R: Row>(row: &R, i: usize, ty: Ty) -> String
where
    usize: sqlx::ColumnIndex<R>,
    for<'r> Option<i64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<bool>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<PrimitiveDateTime>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<Vec<u8>>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let shown = match ty {
        Int => row
            .try_get::<Option<i64>, _>(i)
            .unwrap()
            .map(|v| v.to_string()),
        Text => row.try_get::<Option<String>, _>(i).unwrap(),
        Bool => row
            .try_get::<Option<bool>, _>(i)
            .unwrap()
            .map(|v| v.to_string()),
        Time => row
            .try_get::<Option<PrimitiveDateTime>, _>(i)
            .unwrap()
            .map(|v| v.to_string()),
        Bytes => row
            .try_get::<Option<Vec<u8>>, _>(i)
            .unwrap()
            .map(hex::encode),
    };
    shown.unwrap_or_else(|| "NULL".into())
}

/// Every table's rows (sorted by their rendered key, the first column).
pub async fn dump(kind: Kind, url: &str) -> BTreeMap<&'static str, Rows> {
    macro_rules! read {
        ($conn:ty) => {{
            let mut conn = <$conn>::connect(url).await.unwrap();
            let mut out = BTreeMap::new();
            for (table, columns) in TABLES {
                let names: Vec<&str> = columns.iter().map(|(name, _)| *name).collect();
                let sql = format!("SELECT {} FROM {table}", names.join(", "));
                let rows = sqlx::query(AssertSqlSafe(sql))
                    .fetch_all(&mut conn)
                    .await
                    .unwrap();
                let mut rendered: Rows = rows
                    .iter()
                    .map(|row| {
                        columns
                            .iter()
                            .enumerate()
                            .map(|(i, (_, ty))| render(row, i, *ty))
                            .collect()
                    })
                    .collect();
                rendered.sort_by_key(|row| (row[0].parse::<i64>().ok(), row[0].clone()));
                out.insert(*table, rendered);
            }
            let _ = conn.close().await;
            out
        }};
    }
    match kind {
        Kind::Sqlite => read!(sqlx::SqliteConnection),
        Kind::Postgres => read!(sqlx::PgConnection),
        Kind::MySql => read!(sqlx::MySqlConnection),
    }
}

/// `n` items of `owner`, inserted with SQL in chunks (faster than the API by far).
pub async fn seed_items(db: &super::TestDb, owner: i64, n: usize) {
    let rows: Vec<String> = (0..n)
        .map(|i| {
            format!(
                "('seeded {i}', 'row {i} of the seed', {owner}, '2024-{:02}-{:02} {:02}:00:00', {}, {})",
                i % 12 + 1,
                i % 28 + 1,
                i % 24,
                if i % 3 == 0 { "TRUE" } else { "FALSE" },
                i % 5 + 1
            )
        })
        .collect();
    for chunk in rows.chunks(1000) {
        db.exec(&format!(
            "INSERT INTO items (title, description, owner_id, created_at, done, version) VALUES {}",
            chunk.join(", ")
        ))
        .await;
    }
}

/// How many tables the database has (a database nothing was written to has none).
pub async fn table_count(db: &super::TestDb) -> usize {
    let sql = match db.kind {
        Kind::Sqlite => "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'",
        Kind::Postgres => {
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'public'"
        }
        Kind::MySql => {
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE()"
        }
    };
    db.column(sql).await[0].parse().unwrap()
}
