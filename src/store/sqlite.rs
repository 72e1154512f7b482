//! SQLite: the embedded default, and the FastAPI app's own database.
//!
//! WAL lets readers run beside the single writer; `synchronous=FULL` makes a commit durable
//! on disk (power loss included) before the response is sent. sqlx turns neither on by
//! itself. Writers take the write lock up front (`BEGIN IMMEDIATE`) and wait up to the busy
//! timeout for it, so concurrent writers queue instead of failing with `SQLITE_BUSY`.

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use secrecy::ExposeSecret;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{Connection, Pool, Sqlite, SqliteConnection, Transaction};
use time::PrimitiveDateTime;
use time::macros::format_description;

use super::dialect::{Backend, Dialect, Query, run_migrations};
use super::rows::{BulkError, Counts, SnapshotReport, TABLES};
use super::{AppliedMigration, ConnectFailure, DbSettings, Store, StoreError, StoreResult};

static MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");

const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// How our timestamps are stored: TEXT, UTC, whole seconds.
pub(super) const TEXT_TIMESTAMP: &[time::format_description::BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");

type Db = Sqlite;
#[path = "portable.rs"]
#[expect(
    clippy::duplicate_mod,
    reason = "one concrete implementation per backend (see the module doc of `store`)"
)]
mod portable;
use portable::SqlStore;

pub(super) fn connect(settings: &DbSettings) -> Result<Arc<dyn Store>, StoreError> {
    let url = settings.url.expose_secret();
    let options = SqliteConnectOptions::from_str(url)
        .map_err(StoreError::Database)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(BUSY_TIMEOUT)
        .foreign_keys(true)
        // Deleted and overwritten content is zeroed in the file, so that an erased user's
        // data does not linger in free pages.
        .pragma("secure_delete", "ON");
    let mut pool = super::sql::lean_pool::<Sqlite>()
        .max_connections(settings.max_connections)
        .acquire_timeout(settings.acquire_timeout);
    let in_memory = url.contains(":memory:") || url.contains("mode=memory");
    if in_memory {
        // Every connection to `:memory:` is a database of its own: keep exactly one, forever.
        pool = pool
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None);
    }
    let path = options.get_filename().to_owned();
    let mut store = SqlStore::new(pool.connect_lazy_with(options));
    if !in_memory {
        let group = super::group_commit::GroupCommit::start(path.clone(), BUSY_TIMEOUT)
            .map_err(|err| StoreError::Database(sqlx::Error::Io(err)))?;
        store = store
            .reading_inline(super::inline::InlineReads::new(path, BUSY_TIMEOUT))
            .committing_in_groups(group);
    }
    Ok(Arc::new(store))
}

impl Dialect for Sqlite {
    const BACKEND: Backend = Backend::Sqlite;
    const FOR_UPDATE: &'static str = "";
    const FOR_SHARE: &'static str = "";
    const EXPLAIN: &'static str = "EXPLAIN QUERY PLAN ";

    type Timestamp = String;

    fn timestamp(at: PrimitiveDateTime) -> String {
        at.format(TEXT_TIMESTAMP)
            .expect("a calendar date always formats")
    }

    fn placeholder(_n: usize) -> String {
        "?".to_owned()
    }

    async fn insert_id(
        conn: &mut SqliteConnection,
        sql: &'static str,
        bind: impl FnOnce(Query<Self>) -> Query<Self> + Send,
    ) -> sqlx::Result<i64> {
        Ok(bind(sqlx::query(sql))
            .execute(conn)
            .await?
            .last_insert_rowid())
    }

    fn target(options: &SqliteConnectOptions) -> String {
        options.get_filename().display().to_string()
    }

    fn check_target(options: &SqliteConnectOptions) -> Result<(), ConnectFailure> {
        let file = options.get_filename();
        let in_memory = file.as_os_str().is_empty() || file.to_string_lossy().contains(":memory:");
        match file.parent() {
            Some(dir) if !in_memory && !dir.as_os_str().is_empty() && !dir.is_dir() => {
                Err(ConnectFailure::MissingDirectory(dir.display().to_string()))
            }
            _ => Ok(()),
        }
    }

    fn plan_line(row: &sqlx::sqlite::SqliteRow) -> String {
        use sqlx::Row;
        row.try_get::<String, _>("detail").unwrap_or_default()
    }

    async fn migrate(pool: &Pool<Self>) -> StoreResult<Vec<AppliedMigration>> {
        set_aside_fastapi_tables(&mut *pool.acquire().await?).await?;
        let applied = run_migrations(&MIGRATOR, pool).await?;
        adopt_fastapi_rows(&mut *pool.acquire().await?).await?;
        Ok(applied)
    }

    async fn begin_write(pool: &Pool<Self>) -> sqlx::Result<Transaction<'static, Self>> {
        pool.begin_with("BEGIN IMMEDIATE").await
    }

    /// SQLITE_MAX_VARIABLE_NUMBER of SQLite 3.32 and later.
    const MAX_BIND_PARAMS: usize = 32_766;

    /// A deferred transaction's snapshot begins at its first read and holds to its end; in
    /// WAL mode writers carry on meanwhile.
    const SNAPSHOT_BEGIN: &'static str = "BEGIN";

    async fn id_counter(
        conn: &mut SqliteConnection,
        table: &'static str,
    ) -> sqlx::Result<Option<i64>> {
        sqlx::query_scalar("SELECT seq FROM sqlite_sequence WHERE name = ?")
            .bind(table)
            .fetch_optional(conn)
            .await
    }

    async fn set_id_counter(
        conn: &mut SqliteConnection,
        table: &'static str,
        high: i64,
    ) -> sqlx::Result<()> {
        let updated = sqlx::query("UPDATE sqlite_sequence SET seq = MAX(seq, ?) WHERE name = ?")
            .bind(high)
            .bind(table)
            .execute(&mut *conn)
            .await?;
        if updated.rows_affected() == 0 {
            sqlx::query("INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)")
                .bind(table)
                .bind(high)
                .execute(&mut *conn)
                .await?;
        }
        Ok(())
    }

    /// `VACUUM INTO`: one read transaction copies the live database, page by page, into a
    /// new file (compacted, in rollback-journal mode) while writers carry on; then the copy
    /// is opened read-only and checked.
    async fn snapshot_into(pool: &Pool<Self>, path: &Path) -> Result<SnapshotReport, BulkError> {
        let file = path
            .to_str()
            .ok_or(BulkError::SqliteOnly("a UTF-8 snapshot path"))?;
        sqlx::query("VACUUM INTO ?")
            .bind(file.to_owned())
            .execute(&mut *pool.acquire().await?)
            .await?;
        let options = SqliteConnectOptions::new().filename(path).read_only(true);
        let mut conn = SqliteConnection::connect_with(&options).await?;
        let integrity: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_all(&mut conn)
            .await?;
        let mut counts = Counts::default();
        for table in &TABLES {
            let sql = format!("SELECT COUNT(*) FROM {}", table.name);
            let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .fetch_one(&mut conn)
                .await?;
            counts.set(table, u64::try_from(n).unwrap_or_default());
        }
        conn.close().await?;
        let integrity = integrity.join("; ");
        if integrity != "ok" {
            return Err(BulkError::Integrity {
                path: path.display().to_string(),
                result: integrity,
            });
        }
        Ok(SnapshotReport { integrity, counts })
    }
}

async fn table_exists(conn: &mut SqliteConnection, name: &str) -> sqlx::Result<bool> {
    let count: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?")
            .bind(name)
            .fetch_one(&mut *conn)
            .await?;
    Ok(count > 0)
}

/// A database written by the FastAPI app has `users(id, email, hashed_password, is_active)`
/// and `items(id, title, description, owner_id, created_at, done)` and no migration history.
/// Its tables are renamed out of the way so that the migrations create ours; their rows are
/// copied in by `adopt_fastapi_rows`. Each step is its own transaction and the next run
/// resumes from whichever state a crash left.
async fn set_aside_fastapi_tables(conn: &mut SqliteConnection) -> sqlx::Result<()> {
    if table_exists(conn, "_sqlx_migrations").await? {
        return Ok(());
    }
    let columns: Vec<String> = sqlx::query_scalar("SELECT name FROM pragma_table_info('users')")
        .fetch_all(&mut *conn)
        .await?;
    let is_fastapi = columns.iter().any(|c| c == "hashed_password")
        && !columns.iter().any(|c| c == "token_hash");
    if !is_fastapi {
        return Ok(());
    }
    tracing::info!("adopting the FastAPI app's users and items tables");
    let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
    sqlx::query("ALTER TABLE users RENAME TO fastapi_users")
        .execute(&mut *tx)
        .await?;
    if table_exists(&mut tx, "items").await? {
        sqlx::query("ALTER TABLE items RENAME TO fastapi_items")
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await
}

/// Copies the FastAPI app's rows into our tables, keeping ids, emails, bcrypt hashes (they
/// are verified and replaced by argon2id at their next use) and `created_at` (normalized to
/// `YYYY-MM-DD HH:MM:SS`). Items whose owner does not exist, which the FastAPI app allowed,
/// cannot satisfy our foreign key: they are kept in `fastapi_orphan_items`, not dropped.
async fn adopt_fastapi_rows(conn: &mut SqliteConnection) -> sqlx::Result<()> {
    if !table_exists(conn, "fastapi_users").await? {
        return Ok(());
    }
    let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
    let users = sqlx::query(
        "INSERT INTO users (id, email, hashed_password, is_active, is_admin) \
         SELECT id, email, hashed_password, COALESCE(is_active, 1), 0 FROM fastapi_users ORDER BY id",
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    let mut items = 0;
    if table_exists(&mut tx, "fastapi_items").await? {
        items = sqlx::query(
            "INSERT INTO items (id, title, description, owner_id, created_at, done, version) \
             SELECT id, COALESCE(title, ''), description, owner_id, \
                    COALESCE(replace(substr(created_at, 1, 19), 'T', ' '), strftime('%Y-%m-%d %H:%M:%S', 'now')), \
                    COALESCE(done, 0), 1 \
             FROM fastapi_items WHERE owner_id IN (SELECT id FROM users) ORDER BY id",
        )
        .execute(&mut *tx)
        .await?
        .rows_affected();
        sqlx::query(
            "CREATE TABLE fastapi_orphan_items AS SELECT * FROM fastapi_items \
             WHERE owner_id IS NULL OR owner_id NOT IN (SELECT id FROM users)",
        )
        .execute(&mut *tx)
        .await?;
        let kept: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM fastapi_orphan_items")
            .fetch_one(&mut *tx)
            .await?;
        if kept == 0 {
            sqlx::query("DROP TABLE fastapi_orphan_items")
                .execute(&mut *tx)
                .await?;
        } else {
            tracing::warn!(
                kept,
                "items without an existing owner kept in table fastapi_orphan_items"
            );
        }
        // Ids are never handed out again, orphans' included (AUTOINCREMENT's counter).
        sqlx::query(
            "UPDATE sqlite_sequence SET seq = (SELECT MAX(id) FROM fastapi_items) \
             WHERE name = 'items' AND seq < (SELECT MAX(id) FROM fastapi_items)",
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO sqlite_sequence (name, seq) SELECT 'items', MAX(id) FROM fastapi_items \
             WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'items') \
             AND EXISTS (SELECT 1 FROM fastapi_items)",
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query("DROP TABLE fastapi_items")
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query("DROP TABLE fastapi_users")
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    tracing::info!(users, items, "adopted the FastAPI app's data");
    Ok(())
}
