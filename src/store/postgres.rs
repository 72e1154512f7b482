//! PostgreSQL 15+ (RDS, Cloud SQL): the production backend.

use std::str::FromStr;
use std::sync::Arc;

use secrecy::ExposeSecret;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Pool, Postgres, Transaction};
use time::PrimitiveDateTime;

use super::dialect::{Backend, Dialect};
use super::{DbSettings, Store, StoreError, StoreResult};

static MIGRATOR: Migrator = sqlx::migrate!("./migrations/postgres");

super::sql::portable_store!(sqlx::Postgres);

pub(super) fn connect(settings: &DbSettings) -> Result<Arc<dyn Store>, StoreError> {
    let options = PgConnectOptions::from_str(settings.url.expose_secret())
        .map_err(StoreError::Database)?
        .application_name("todo-api")
        // A runaway statement must not hold a connection (and the request) forever.
        .options([(
            "statement_timeout",
            format!("{}ms", settings.statement_timeout.as_millis()),
        )]);
    let pool = PgPoolOptions::new()
        .max_connections(settings.max_connections)
        .acquire_timeout(settings.acquire_timeout)
        .connect_lazy_with(options);
    Ok(Arc::new(SqlStore::new(pool)))
}

impl Dialect for Postgres {
    const BACKEND: Backend = Backend::Postgres;
    const FOR_UPDATE: &'static str = " FOR UPDATE";
    const FOR_SHARE: &'static str = " FOR SHARE";
    const RETURNING_ID: bool = true;
    const EXPLAIN: &'static str = "EXPLAIN ";

    type Timestamp = PrimitiveDateTime;

    fn timestamp(at: PrimitiveDateTime) -> PrimitiveDateTime {
        at
    }

    fn placeholder(n: usize) -> String {
        format!("${n}")
    }

    fn inserted_id(_result: &sqlx::postgres::PgQueryResult) -> i64 {
        unreachable!("PostgreSQL returns new ids with RETURNING (RETURNING_ID is true)")
    }

    fn plan_line(row: &sqlx::postgres::PgRow) -> String {
        use sqlx::Row;
        row.try_get::<String, _>(0).unwrap_or_default()
    }

    async fn migrate(pool: &Pool<Self>) -> StoreResult<()> {
        Ok(MIGRATOR.run(pool).await?)
    }

    async fn begin_write(pool: &Pool<Self>) -> sqlx::Result<Transaction<'static, Self>> {
        pool.begin().await
    }
}
