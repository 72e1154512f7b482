//! MySQL 8 and MariaDB 10.11+: the production alternative. Only SQL both accept is used
//! (no `RETURNING`, `LOCK IN SHARE MODE` rather than MySQL-only `FOR SHARE`).

use std::str::FromStr;
use std::sync::Arc;

use secrecy::ExposeSecret;
use sqlx::migrate::Migrator;
use sqlx::mysql::MySqlConnectOptions;
use sqlx::{AssertSqlSafe, MySql, MySqlConnection, Pool, Transaction};
use time::PrimitiveDateTime;

use super::dialect::{Backend, Dialect, Query, run_migrations};
use super::{AppliedMigration, DbSettings, Store, StoreError, StoreResult};

const DATETIME_MIN: PrimitiveDateTime = time::macros::datetime!(1000-01-01 00:00:00);
const DATETIME_MAX: PrimitiveDateTime = time::macros::datetime!(9999-12-31 23:59:59);

static MIGRATOR: Migrator = sqlx::migrate!("./migrations/mysql");

type Db = MySql;
#[path = "portable.rs"]
#[expect(
    clippy::duplicate_mod,
    reason = "one concrete implementation per backend (see the module doc of `store`)"
)]
mod portable;
use portable::SqlStore;

pub(super) fn connect(settings: &DbSettings) -> Result<Arc<dyn Store>, StoreError> {
    let options = MySqlConnectOptions::from_str(settings.url.expose_secret())
        .map_err(StoreError::Database)?
        .charset("utf8mb4");
    let timeout = settings.statement_timeout;
    let pool = super::sql::lean_pool::<MySql>()
        .max_connections(settings.max_connections)
        .acquire_timeout(settings.acquire_timeout)
        .after_connect(move |conn, _meta| {
            Box::pin(async move {
                // The statement timeout has a different name on each server: MariaDB's
                // covers every statement, MySQL's only SELECTs.
                let mariadb = format!("SET SESSION max_statement_time = {}", timeout.as_secs_f64());
                if sqlx::query(AssertSqlSafe(mariadb))
                    .execute(&mut *conn)
                    .await
                    .is_err()
                {
                    let mysql = format!("SET SESSION max_execution_time = {}", timeout.as_millis());
                    sqlx::query(AssertSqlSafe(mysql))
                        .execute(&mut *conn)
                        .await?;
                }
                Ok(())
            })
        })
        .connect_lazy_with(options);
    Ok(Arc::new(SqlStore::new(pool)))
}

impl Dialect for MySql {
    const BACKEND: Backend = Backend::MySql;
    const FOR_UPDATE: &'static str = " FOR UPDATE";
    const FOR_SHARE: &'static str = " LOCK IN SHARE MODE";
    const EXPLAIN: &'static str = "EXPLAIN ";
    const LOCKS_UNMATCHED_ROWS: bool = true;

    type Timestamp = PrimitiveDateTime;

    /// `DATETIME` holds 1000-01-01 to 9999-12-31: a bound outside (the `date` filter of
    /// day 00000101) is clamped to the nearest storable instant, which gives the same answer,
    /// since no stored `created_at` lies outside either.
    fn timestamp(at: PrimitiveDateTime) -> PrimitiveDateTime {
        at.clamp(DATETIME_MIN, DATETIME_MAX)
    }

    fn placeholder(_n: usize) -> String {
        "?".to_owned()
    }

    async fn insert_id(
        conn: &mut MySqlConnection,
        sql: &'static str,
        bind: impl FnOnce(Query<Self>) -> Query<Self> + Send,
    ) -> sqlx::Result<i64> {
        let result = bind(sqlx::query(sql)).execute(conn).await?;
        i64::try_from(result.last_insert_id())
            .map_err(|_| sqlx::Error::Protocol("an insert id beyond i64".into()))
    }

    fn target(options: &MySqlConnectOptions) -> String {
        format!("{}:{}", options.get_host(), options.get_port())
    }

    /// MariaDB refuses an unencrypted login under `require_secure_transport=ON` with a plain
    /// "Access denied" (MySQL says why, with error 3159).
    fn login_hint(options: &MySqlConnectOptions) -> Option<&'static str> {
        matches!(options.get_ssl_mode(), sqlx::mysql::MySqlSslMode::Disabled).then_some(
            "the connection was not encrypted (ssl-mode=DISABLED): a server that requires TLS (require_secure_transport=ON) refuses the login this way; use ssl-mode=VERIFY_IDENTITY&ssl-ca=PATH",
        )
    }

    fn plan_line(row: &sqlx::mysql::MySqlRow) -> String {
        use sqlx::Row;
        let column = |name: &str| {
            row.try_get::<Option<String>, _>(name)
                .ok()
                .flatten()
                .unwrap_or_default()
        };
        format!(
            "table={} type={} key={} extra={}",
            column("table"),
            column("type"),
            column("key"),
            column("Extra")
        )
    }

    async fn migrate(pool: &Pool<Self>) -> StoreResult<Vec<AppliedMigration>> {
        run_migrations(&MIGRATOR, pool).await
    }

    async fn begin_write(pool: &Pool<Self>) -> sqlx::Result<Transaction<'static, Self>> {
        pool.begin().await
    }

    /// For the next transaction only, whatever the server's default isolation.
    const SNAPSHOT_PREPARE: Option<&'static str> =
        Some("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ");
    const SNAPSHOT_BEGIN: &'static str = "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY";
    const COUNTERS_AFTER_COMMIT: bool = true;

    /// `AUTO_INCREMENT` of `information_schema`, the next id to hand out. MySQL 8 caches it
    /// for a day unless `information_schema_stats_expiry` is 0 (MariaDB has no such cache,
    /// nor the variable).
    async fn id_counter(
        conn: &mut MySqlConnection,
        table: &'static str,
    ) -> sqlx::Result<Option<i64>> {
        let _ = sqlx::query("SET SESSION information_schema_stats_expiry = 0")
            .execute(&mut *conn)
            .await;
        let next: Option<i64> = sqlx::query_scalar(
            "SELECT CAST(AUTO_INCREMENT AS SIGNED) FROM information_schema.TABLES \
             WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?",
        )
        .bind(table)
        .fetch_optional(&mut *conn)
        .await?
        .flatten();
        Ok(next.map(|next| next - 1))
    }

    /// InnoDB moves the counter past explicit ids by itself; this keeps it past the ids the
    /// source had handed out and deleted since. `ALTER TABLE` commits implicitly, hence
    /// after the import's commit.
    async fn set_id_counter(
        conn: &mut MySqlConnection,
        table: &'static str,
        high: i64,
    ) -> sqlx::Result<()> {
        let sql = format!(
            "ALTER TABLE {table} AUTO_INCREMENT = {}",
            high.saturating_add(1)
        );
        sqlx::query(AssertSqlSafe(sql)).execute(conn).await?;
        Ok(())
    }
}
