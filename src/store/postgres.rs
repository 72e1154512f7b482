//! PostgreSQL 15+ (RDS, Cloud SQL): the production backend.

use std::str::FromStr;
use std::sync::Arc;

use secrecy::ExposeSecret;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{AssertSqlSafe, PgConnection, Pool, Postgres, Row as _, Transaction};
use time::PrimitiveDateTime;

use super::dialect::{Backend, Dialect, Query, run_migrations};
use super::{AppliedMigration, DbSettings, Pooler, Store, StoreError, StoreResult, WalPosition};

static MIGRATOR: Migrator = sqlx::migrate!("./migrations/postgres");

type Db = Postgres;
#[path = "portable.rs"]
#[expect(
    clippy::duplicate_mod,
    reason = "one concrete implementation per backend (see the module doc of `store`)"
)]
mod portable;
use portable::SqlStore;

pub(super) fn connect(settings: &DbSettings) -> Result<Arc<dyn Store>, StoreError> {
    // `todo-api` in pg_stat_activity, unless the URL names the connections otherwise (one
    // instance's, or the replica's).
    let named = |url: &str| {
        let options = PgConnectOptions::from_str(url).map_err(StoreError::Database)?;
        let application_name = options
            .get_application_name()
            .unwrap_or("todo-api")
            .to_owned();
        Ok::<_, StoreError>(options.application_name(&application_name))
    };
    let direct = |url: &str| {
        Ok::<_, StoreError>(
            named(url)?
                // A runaway statement must not hold a connection (and the request) forever.
                .options([(
                    "statement_timeout",
                    format!("{}ms", settings.statement_timeout.as_millis()),
                )]),
        )
    };
    let pool_options = || {
        super::sql::lean_pool::<Postgres>()
            .max_connections(settings.max_connections)
            .acquire_timeout(settings.acquire_timeout)
    };
    let url = settings.url.expose_secret();
    let mut store = match settings.pooler {
        Pooler::None => SqlStore::new(pool_options().connect_lazy_with(direct(url)?)),
        Pooler::Transaction => {
            // No startup parameter PgBouncer refuses (`options`, `extra_float_digits`) and no
            // statement cache (a transaction pooler hands each transaction to any server
            // connection); `SqlStore::begin` sets the statement timeout in each transaction
            // and drops what other clients prepared there.
            let options = named(url)?
                .extra_float_digits(None)
                .statement_cache_capacity(0);
            SqlStore::new(pool_options().connect_lazy_with(options))
                .behind_pooler(settings.statement_timeout)
        }
    };
    if let Some(migrate_url) = &settings.migrate_url {
        let migrate = PgPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(settings.acquire_timeout)
            .connect_lazy_with(direct(migrate_url.expose_secret())?);
        store = store.migrating_on(migrate);
    }
    Ok(Arc::new(store))
}

impl Dialect for Postgres {
    const BACKEND: Backend = Backend::Postgres;
    const FOR_UPDATE: &'static str = " FOR UPDATE";
    const FOR_SHARE: &'static str = " FOR SHARE";
    const EXPLAIN: &'static str = "EXPLAIN ";

    type Timestamp = PrimitiveDateTime;

    fn timestamp(at: PrimitiveDateTime) -> PrimitiveDateTime {
        at
    }

    fn placeholder(n: usize) -> String {
        format!("${n}")
    }

    async fn insert_id(
        conn: &mut PgConnection,
        sql: &'static str,
        bind: impl FnOnce(Query<Self>) -> Query<Self> + Send,
    ) -> sqlx::Result<i64> {
        let query = sqlx::query(AssertSqlSafe(format!("{sql} RETURNING id")));
        bind(query).fetch_one(conn).await?.try_get(0)
    }

    fn target(options: &PgConnectOptions) -> String {
        format!("{}:{}", options.get_host(), options.get_port())
    }

    fn plan_line(row: &sqlx::postgres::PgRow) -> String {
        row.try_get::<String, _>(0).unwrap_or_default()
    }

    async fn migrate(pool: &Pool<Self>) -> StoreResult<Vec<AppliedMigration>> {
        run_migrations(&MIGRATOR, pool).await
    }

    async fn begin_write(pool: &Pool<Self>) -> sqlx::Result<Transaction<'static, Self>> {
        pool.begin().await
    }

    /// The position written (a primary) or replayed (a standby), as bytes since `0/0`: two
    /// servers' positions subtract to the lag in bytes, as `pg_wal_lsn_diff` does.
    async fn wal_position(pool: &Pool<Self>) -> StoreResult<WalPosition> {
        let (in_recovery, lsn): (bool, Option<i64>) = sqlx::query_as(
            "SELECT pg_is_in_recovery(), pg_wal_lsn_diff(CASE WHEN pg_is_in_recovery() \
             THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END, '0/0')::bigint",
        )
        .fetch_one(pool)
        .await?;
        Ok(WalPosition {
            in_recovery,
            lsn: lsn.and_then(|bytes| u64::try_from(bytes).ok()),
        })
    }

    const SNAPSHOT_BEGIN: &'static str = "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY";

    /// Sequences are outside transactions: read after the snapshot began, the value is at
    /// least every id the snapshot holds.
    async fn id_counter(conn: &mut PgConnection, table: &'static str) -> sqlx::Result<Option<i64>> {
        sqlx::query_scalar(
            "SELECT pg_sequence_last_value(pg_get_serial_sequence($1, 'id')::regclass)",
        )
        .bind(table)
        .fetch_one(conn)
        .await
    }

    /// Identity columns take explicit ids without moving their sequence: it is set here.
    async fn set_id_counter(
        conn: &mut PgConnection,
        table: &'static str,
        high: i64,
    ) -> sqlx::Result<()> {
        sqlx::query("SELECT setval(pg_get_serial_sequence($1, 'id'), $2)")
            .bind(table)
            .bind(high)
            .execute(conn)
            .await?;
        Ok(())
    }

    /// The audit trail is append-only for the service: INSERT and SELECT on `audit_events`
    /// (the database-setup task's default privileges granted more, taken back here), and on
    /// `audit_client_ips` also DELETE, which erasure needs. Purging runs as the owner. Run
    /// on every `migrate`, so a re-run of the setup task is narrowed again.
    async fn grant_app_role(pool: &Pool<Self>, role: &str) -> StoreResult<()> {
        let role = format!("\"{}\"", role.replace('"', "\"\""));
        let mut tx = pool.begin().await?;
        for statement in [
            format!("REVOKE ALL ON audit_events, audit_client_ips FROM {role}"),
            format!("GRANT SELECT, INSERT ON audit_events TO {role}"),
            format!("GRANT SELECT, INSERT, DELETE ON audit_client_ips TO {role}"),
            format!(
                "GRANT SELECT, INSERT, UPDATE, DELETE ON users, items, idempotency_records, api_tokens, erasures TO {role}"
            ),
            format!("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}"),
        ] {
            sqlx::query(sqlx::AssertSqlSafe(statement))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
