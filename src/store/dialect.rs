//! The few points where SQLite, PostgreSQL and MySQL/MariaDB differ, and how their errors are
//! classified (retry the transaction, report the database unavailable, or a real fault).

use std::future::Future;

use sqlx::error::DatabaseError;
use sqlx::migrate::{Migrate, Migrator};
use sqlx::mysql::MySqlDatabaseError;
use sqlx::sqlite::SqliteError;
use sqlx::{Database, Pool, Transaction};
use time::PrimitiveDateTime;

use super::{AppliedMigration, ConnectFailure};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
    MySql,
}

impl Backend {
    pub fn from_url(url: &str) -> Option<Self> {
        let scheme = url.split_once(':')?.0.to_ascii_lowercase();
        match scheme.as_str() {
            "sqlite" => Some(Backend::Sqlite),
            "postgres" | "postgresql" => Some(Backend::Postgres),
            "mysql" | "mariadb" => Some(Backend::MySql),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
            Backend::MySql => "mysql",
        }
    }
}

pub(crate) trait Dialect: Database {
    const BACKEND: Backend;
    /// Row-lock clause for rows about to change (empty on SQLite: `BEGIN IMMEDIATE` already
    /// holds the database's single write lock).
    const FOR_UPDATE: &'static str;
    /// Row-lock clause for rows that must not change until commit.
    const FOR_SHARE: &'static str;
    const EXPLAIN: &'static str;
    /// Whether an UPDATE locks the rows it looks at but leaves alone (InnoDB at REPEATABLE
    /// READ), so that a conditional one is better preceded by a plain read.
    const LOCKS_UNMATCHED_ROWS: bool = false;

    /// How `created_at` is bound: SQLite keeps the FastAPI app's sortable text
    /// `YYYY-MM-DD HH:MM:SS`, the others a native timestamp.
    type Timestamp: for<'q> sqlx::Encode<'q, Self> + sqlx::Type<Self> + Send + 'static;
    fn timestamp(at: PrimitiveDateTime) -> Self::Timestamp;

    /// Writes the `n`th (1-based) bind placeholder.
    fn placeholder(n: usize) -> String;

    /// Runs the INSERT `sql` (already in this dialect's placeholders) with the arguments
    /// `bind` adds, and returns the new row's id: by `RETURNING id` where the dialect has it
    /// (PostgreSQL), from the result's last insert id otherwise (MySQL 8 has no `RETURNING`).
    fn insert_id(
        conn: &mut Self::Connection,
        sql: &'static str,
        bind: impl FnOnce(Query<Self>) -> Query<Self> + Send,
    ) -> impl Future<Output = sqlx::Result<i64>> + Send;

    /// One line of `EXPLAIN` output.
    fn plan_line(row: &Self::Row) -> String;

    /// Where the connect options point, for messages: `host:port`, or the file.
    fn target(options: &<Self::Connection as sqlx::Connection>::Options) -> String;

    /// What can be known about the target before connecting (a SQLite file's directory).
    fn check_target(
        _options: &<Self::Connection as sqlx::Connection>::Options,
    ) -> Result<(), ConnectFailure> {
        Ok(())
    }

    /// What to add to a refused login that the options themselves may explain.
    fn login_hint(
        _options: &<Self::Connection as sqlx::Connection>::Options,
    ) -> Option<&'static str> {
        None
    }

    /// Applies the embedded migrations of this backend; returns those it applied.
    fn migrate(
        pool: &Pool<Self>,
    ) -> impl Future<Output = super::StoreResult<Vec<AppliedMigration>>> + Send;

    /// Narrows the rights of the service's login on the audit tables (PostgreSQL only; the
    /// deployments provision no separate login on the others).
    fn grant_app_role(
        _pool: &Pool<Self>,
        _role: &str,
    ) -> impl Future<Output = super::StoreResult<()>> + Send {
        async {
            Err(super::StoreError::Database(sqlx::Error::Configuration(
                "DATABASE_APP_ROLE is supported on PostgreSQL only".into(),
            )))
        }
    }

    /// Where this server is in its write-ahead log (PostgreSQL only).
    fn wal_position(
        _pool: &Pool<Self>,
    ) -> impl Future<Output = super::StoreResult<super::WalPosition>> + Send {
        async {
            Err(super::StoreError::Database(sqlx::Error::Configuration(
                "replica lag is measured on PostgreSQL only".into(),
            )))
        }
    }

    /// Starts a transaction that will write.
    fn begin_write(
        pool: &Pool<Self>,
    ) -> impl Future<Output = sqlx::Result<Transaction<'static, Self>>> + Send;

    /// The most bind parameters one statement may carry.
    const MAX_BIND_PARAMS: usize = 65_535;
    /// Run before `SNAPSHOT_BEGIN` on the same connection, if any.
    const SNAPSHOT_PREPARE: Option<&'static str> = None;
    /// Starts a read-only transaction that sees one consistent snapshot to its end (an
    /// export's).
    const SNAPSHOT_BEGIN: &'static str;
    /// Whether `set_id_counter` must run after the import's commit (MySQL's `ALTER TABLE`
    /// commits implicitly), rather than inside it.
    const COUNTERS_AFTER_COMMIT: bool = false;

    /// The highest id the counter of `table`'s generated `id` has handed out, if known.
    fn id_counter(
        conn: &mut Self::Connection,
        table: &'static str,
    ) -> impl Future<Output = sqlx::Result<Option<i64>>> + Send;

    /// Moves the counter of `table`'s generated `id` so that the next id is `high + 1`.
    fn set_id_counter(
        conn: &mut Self::Connection,
        table: &'static str,
        high: i64,
    ) -> impl Future<Output = sqlx::Result<()>> + Send;

    /// Writes a consistent copy of the live database to `path` and checks it (SQLite only).
    fn snapshot_into(
        _pool: &Pool<Self>,
        _path: &std::path::Path,
    ) -> impl Future<Output = Result<super::rows::SnapshotReport, super::rows::BulkError>> + Send
    {
        async {
            Err(super::rows::BulkError::SqliteOnly(
                "backup --sqlite-snapshot",
            ))
        }
    }

    /// Rewrites `?` placeholders into this dialect's form (our SQL has no `?` in literals).
    fn rewrite(sql: &str) -> String {
        let mut out = String::with_capacity(sql.len() + 8);
        let mut n = 0;
        for ch in sql.chars() {
            if ch == '?' {
                n += 1;
                out.push_str(&Self::placeholder(n));
            } else {
                out.push(ch);
            }
        }
        out
    }
}

/// A statement with its arguments, before it runs.
pub(crate) type Query<D> = sqlx::query::Query<'static, D, <D as Database>::Arguments>;

/// Runs `migrator` and reports the migrations it applied (those it did not find applied
/// before it ran).
pub(crate) async fn run_migrations<D>(
    migrator: &Migrator,
    pool: &Pool<D>,
) -> super::StoreResult<Vec<AppliedMigration>>
where
    D: Database,
    D::Connection: Migrate,
{
    // One connection for both steps: a second acquire right after the first often finds the
    // first not yet back in the pool and opens another, a TLS handshake more before ready.
    let mut conn = pool.acquire().await?;
    conn.ensure_migrations_table(&migrator.table_name).await?;
    let before: Vec<i64> = conn
        .list_applied_migrations(&migrator.table_name)
        .await?
        .into_iter()
        .map(|m| m.version)
        .collect();
    // `run_direct` is what `Migrator::run` calls after its acquire: hidden in sqlx's docs,
    // public for exactly this, a connection in generic code (see its comment there).
    migrator.run_direct(None, &mut *conn, false).await?;
    drop(conn);
    Ok(migrator
        .iter()
        .filter(|m| m.migration_type.is_up_migration() && !before.contains(&m.version))
        .map(|m| AppliedMigration {
            version: m.version,
            description: m.description.to_string(),
        })
        .collect())
}

/// Deadlocks, serialization failures and busy databases: the transaction may simply be run
/// again.
pub(crate) fn is_retryable(err: &sqlx::Error) -> bool {
    let sqlx::Error::Database(db) = err else {
        return false;
    };
    if let Some(my) = db.try_downcast_ref::<MySqlDatabaseError>() {
        // 1213 deadlock, 1205 lock wait timeout.
        return matches!(my.number(), 1213 | 1205);
    }
    let code = db.code().unwrap_or_default();
    // PostgreSQL: 40P01 deadlock, 40001 serialization failure. SQLite: BUSY and LOCKED.
    matches!(code.as_ref(), "40P01" | "40001")
        || matches!(sqlite_primary_code(db.as_ref()), Some(5 | 6))
}

/// SQLite reports (extended) result codes as numbers; the low byte is the primary code.
fn sqlite_primary_code(db: &dyn DatabaseError) -> Option<u32> {
    db.try_downcast_ref::<SqliteError>()?;
    db.code()?.parse::<u32>().ok().map(|n| n & 0xff)
}

/// Failures that say "the database is not there right now" rather than "this request is
/// wrong": they become `503` and the service recovers when the database does.
pub(crate) fn is_unavailable(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::BeginFailed => true,
        sqlx::Error::Database(db) => {
            if let Some(my) = db.try_downcast_ref::<MySqlDatabaseError>() {
                // too many connections, server shutdown, statement timeouts (MariaDB, MySQL),
                // lock wait timeout after retries.
                return matches!(my.number(), 1040 | 1053 | 1969 | 3024 | 1205 | 1213);
            }
            if let Some(primary) = sqlite_primary_code(db.as_ref()) {
                // busy/locked after the busy timeout, I/O error, disk full, can't open.
                return matches!(primary, 5 | 6 | 10 | 13 | 14);
            }
            let code = db.code().unwrap_or_default();
            let code = code.as_ref();
            // PostgreSQL class 08 (connection), 53 (resources), 57 (operator intervention:
            // shutdown, statement timeout 57014), and exhausted retries of 40xxx.
            code.starts_with("08")
                || code.starts_with("53")
                || code.starts_with("57")
                || code.starts_with("40")
        }
        _ => false,
    }
}

/// The statement named a table that does not exist (a database never migrated).
pub(crate) fn is_undefined_table(err: &sqlx::Error) -> bool {
    let sqlx::Error::Database(db) = err else {
        return false;
    };
    if let Some(my) = db.try_downcast_ref::<MySqlDatabaseError>() {
        return my.number() == 1146;
    }
    db.code().as_deref() == Some("42P01")
        || (db.try_downcast_ref::<SqliteError>().is_some()
            && db.message().starts_with("no such table"))
}

/// A URL with any password replaced, for messages.
pub(crate) fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backends_from_url_schemes() {
        assert_eq!(Backend::from_url("sqlite://todo.db"), Some(Backend::Sqlite));
        assert_eq!(Backend::from_url("sqlite::memory:"), Some(Backend::Sqlite));
        assert_eq!(
            Backend::from_url("postgresql://u@h/db"),
            Some(Backend::Postgres)
        );
        assert_eq!(Backend::from_url("MySQL://u@h/db"), Some(Backend::MySql));
        assert_eq!(Backend::from_url("mariadb://u@h/db"), Some(Backend::MySql));
        assert_eq!(Backend::from_url("redis://h"), None);
        assert_eq!(Backend::from_url("todo.db"), None);
    }

    #[test]
    fn redact_hides_passwords_only() {
        assert_eq!(
            redact("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
    }
}
