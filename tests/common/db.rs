//! A fresh, empty database per test, dropped afterwards.

use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::{AssertSqlSafe, Connection};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
    MySql,
}

impl Kind {
    fn env_var(self) -> Option<&'static str> {
        match self {
            Kind::Sqlite => None,
            Kind::Postgres => Some("TEST_POSTGRES_URL"),
            Kind::MySql => Some("TEST_MYSQL_URL"),
        }
    }

    /// The admin URL of the server, `None` when this backend is not configured here.
    pub fn server_url(self) -> Option<String> {
        let var = self.env_var()?;
        match std::env::var(var) {
            Ok(url) if !url.is_empty() => Some(url),
            _ if std::env::var("CI").as_deref() == Ok("true") => {
                panic!("{var} is not set: CI runs every test on {self:?} and must not skip it")
            }
            _ => {
                eprintln!(
                    "{var} not set: this {self:?} test does not run here (./scripts/test sets it)"
                );
                None
            }
        }
    }
}

pub struct TestDb {
    pub kind: Kind,
    /// The URL the application uses.
    pub url: String,
    admin_url: Option<String>,
    name: String,
    _dir: Option<tempfile::TempDir>,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

fn unique_name() -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("todo_test_{}_{n}_{nanos}", std::process::id())
}

fn with_database(server_url: &str, database: &str) -> String {
    let mut url = url::Url::parse(server_url).expect("a valid server URL");
    url.set_path(&format!("/{database}"));
    url.to_string()
}

/// Runs `$sql` on the test's database and evaluates `$body` with its rows (whose type is
/// each backend's own, hence a macro).
macro_rules! with_rows {
    ($db:expr, $sql:expr, |$rows:ident| $body:expr) => {{
        match $db.kind {
            Kind::Sqlite => {
                let mut conn = sqlx::SqliteConnection::connect(&$db.url).await.unwrap();
                let $rows = sqlx::query(AssertSqlSafe($sql.to_owned()))
                    .fetch_all(&mut conn)
                    .await
                    .unwrap();
                $body
            }
            Kind::Postgres => {
                let mut conn = sqlx::PgConnection::connect(&$db.url).await.unwrap();
                let $rows = sqlx::query(AssertSqlSafe($sql.to_owned()))
                    .fetch_all(&mut conn)
                    .await
                    .unwrap();
                $body
            }
            Kind::MySql => {
                let mut conn = sqlx::MySqlConnection::connect(&$db.url).await.unwrap();
                let $rows = sqlx::query(AssertSqlSafe($sql.to_owned()))
                    .fetch_all(&mut conn)
                    .await
                    .unwrap();
                $body
            }
        }
    }};
}

impl TestDb {
    /// `None` when the backend is not configured (outside CI).
    pub async fn create(kind: Kind) -> Option<TestDb> {
        let name = unique_name();
        if kind == Kind::Sqlite {
            let dir = tempfile::tempdir().expect("temp dir");
            let url = format!("sqlite://{}", dir.path().join("todo.db").display());
            return Some(TestDb {
                kind,
                url,
                admin_url: None,
                name,
                _dir: Some(dir),
            });
        }
        let server = kind.server_url()?;
        let create = match kind {
            Kind::Postgres => format!("CREATE DATABASE \"{name}\""),
            _ => format!("CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"),
        };
        exec_on(kind, &server, &create)
            .await
            .unwrap_or_else(|e| panic!("{kind:?} server at {server} unreachable: {e}"));
        let url = with_database(&server, &name);
        Some(TestDb {
            kind,
            url,
            admin_url: Some(server),
            name,
            _dir: None,
        })
    }

    /// A handle on an existing database that leaves it in place when dropped.
    pub fn borrowed(kind: Kind, url: String) -> TestDb {
        TestDb {
            kind,
            url,
            admin_url: None,
            name: String::new(),
            _dir: None,
        }
    }

    /// Runs SQL directly on the test's database (to set up what the API cannot, like
    /// `created_at`).
    pub async fn exec(&self, sql: &str) {
        exec_on(self.kind, &self.url, sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// The first column of every row as bytes, concatenated (for BLOB columns).
    pub async fn raw_bytes(&self, sql: &str) -> Vec<u8> {
        use sqlx::Row;
        with_rows!(self, sql, |rows| rows
            .iter()
            .flat_map(|row| row.try_get::<Vec<u8>, _>(0).unwrap_or_default())
            .collect())
    }

    /// The first column of each row of a query, as text.
    pub async fn column(&self, sql: &str) -> Vec<String> {
        use sqlx::Row;
        with_rows!(self, sql, |rows| rows
            .iter()
            .map(|row| {
                row.try_get::<String, _>(0)
                    .or_else(|_| row.try_get::<i64, _>(0).map(|v| v.to_string()))
                    .or_else(|_| row.try_get::<bool, _>(0).map(|v| v.to_string()))
                    .unwrap_or_else(|_| "NULL".into())
            })
            .collect())
    }
}

async fn exec_on(kind: Kind, url: &str, sql: &str) -> sqlx::Result<()> {
    let sql = AssertSqlSafe(sql.to_owned());
    match kind {
        Kind::Sqlite => {
            let mut conn = sqlx::SqliteConnection::connect(url).await?;
            sqlx::raw_sql(sql).execute(&mut conn).await?;
        }
        Kind::Postgres => {
            let mut conn = sqlx::PgConnection::connect(url).await?;
            sqlx::raw_sql(sql).execute(&mut conn).await?;
        }
        Kind::MySql => {
            let mut conn = sqlx::MySqlConnection::connect(url).await?;
            sqlx::raw_sql(sql).execute(&mut conn).await?;
        }
    }
    Ok(())
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some(server) = self.admin_url.clone() else {
            return;
        };
        let (kind, name) = (self.kind, self.name.clone());
        // Drop runs inside the test's runtime: use a thread with a runtime of its own.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                let drop = match kind {
                    Kind::Postgres => format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
                    _ => format!("DROP DATABASE IF EXISTS `{name}`"),
                };
                let _ = exec_on(kind, &server, &drop).await;
            });
        })
        .join();
    }
}
