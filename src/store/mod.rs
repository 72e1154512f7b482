//! Persistence: one `Store` trait, one portable SQL implementation for SQLite, PostgreSQL and
//! MySQL/MariaDB.
//!
//! Why one portable implementation instead of a module per backend: the three backends run
//! the same statements except for a handful of dialect points (placeholders, row-lock
//! clauses, how an inserted id comes back, `BEGIN IMMEDIATE` on SQLite). Writing every
//! statement once keeps the behaviour identical by construction, which is what lets one test
//! suite speak for all three. sqlx's `query!` macros check SQL against one database per build,
//! so the statements are runtime queries (still prepared and cached per connection).
//!
//! The implementation is ordinary code in `portable.rs`, written against a type alias `Db`.
//! Each backend module (`sqlite.rs`, `postgres.rs`, `mysql.rs`) sets `Db` to its sqlx
//! database and includes `portable.rs` as a child module, so every backend gets concrete,
//! monomorphic code (no generic sqlx bounds to thread through every function, no macro
//! hiding the code from rustfmt and the IDE), and the differences live in the small `Dialect`
//! impls beside the include.

mod connect;
mod dialect;
mod group_commit;
mod inline;
mod mysql;
mod postgres;
mod replica;
pub mod rows;
mod sql;
mod sqlite;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};

use crate::audit::{self, Context};
use crate::domain::{
    Account, AccountFilter, ApiToken, ErasedItems, Item, ItemChanges, ItemFilter, NewApiToken,
    NewItem, NewUser, Page, TokenOwner, User,
};
use crate::idempotency::{Claim, Completion};
use time::PrimitiveDateTime;

pub use connect::{ConnectError, ConnectFailure};
pub use dialect::Backend;
pub use replica::{ReplicaSettings, ReplicaState, ReplicaStatus, replicated};

/// Where the reads of a request go, decided per caller when its token is looked up (see
/// `replica`): a caller that changed something within `READ_AFTER_WRITE_WINDOW` reads from the
/// primary, so it sees its own writes whichever instance serves it; others may read from a
/// read replica. Without a replica both are the primary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadFrom {
    Primary,
    Replica,
}

/// Where a server is in its write-ahead log (PostgreSQL).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WalPosition {
    /// A standby (replaying a primary's log) rather than a primary.
    pub in_recovery: bool,
    /// Bytes since the log's origin: written (a primary) or replayed (a standby); `None`
    /// when a standby has replayed nothing yet.
    pub lsn: Option<u64>,
}

/// How stale `users.last_write_at` may be: a change leaves it alone when it is younger than
/// this, so that a user's concurrent changes do not queue on its row for it. Whoever decides
/// by it adds this to the window.
pub const LAST_WRITE_GRANULARITY: Duration = Duration::from_secs(1);

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached or is shutting down: the request may succeed later.
    #[error("database unavailable: {0}")]
    Unavailable(sqlx::Error),
    /// A first connection failed; says where to and why, in words an operator can act on.
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error("database error: {0}")]
    Database(sqlx::Error),
    /// A write kept colliding with concurrent writes (deadlocks, a busy database) until the
    /// retries ran out.
    #[error(
        "gave up on {operation} after {attempts} attempts: it kept conflicting with concurrent writes"
    )]
    Contention {
        operation: &'static str,
        attempts: u32,
    },
    /// The commit of a group of SQLite writes (`store::group_commit`) failed.
    #[error("database error: the commit failed: {0}")]
    Commit(std::sync::Arc<rusqlite::Error>),
    #[error("migration failed: {0}")]
    Migrate(sqlx::migrate::MigrateError),
    /// The Idempotency-Key's claim was taken over (this request ran past `STALE_PENDING`):
    /// the change was rolled back.
    #[error("the Idempotency-Key's record was taken over by another request")]
    IdempotencyLost,
}

impl StoreError {
    /// Whether waiting may help (the database is starting, restarting or overloaded).
    pub fn may_heal(&self) -> bool {
        match self {
            StoreError::Unavailable(_) | StoreError::Contention { .. } => true,
            StoreError::Connect(err) => err.reason.may_heal(),
            StoreError::Database(_)
            | StoreError::Commit(_)
            | StoreError::Migrate(_)
            | StoreError::IdempotencyLost => false,
        }
    }
}

/// A migration that `migrate` applied.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AppliedMigration {
    pub version: i64,
    pub description: String,
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(err: sqlx::migrate::MigrateError) -> Self {
        use sqlx::migrate::MigrateError;
        match err {
            // A migration that could not run because the database is away is an outage,
            // which `serve` waits out, not a broken migration.
            MigrateError::Execute(inner) | MigrateError::ExecuteMigration(inner, _)
                if dialect::is_unavailable(&inner) =>
            {
                StoreError::Unavailable(inner)
            }
            other => StoreError::Migrate(other),
        }
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        if dialect::is_unavailable(&err) {
            StoreError::Unavailable(err)
        } else {
            StoreError::Database(err)
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// The result of a conditional change of an item.
#[derive(Debug, PartialEq, Eq)]
pub enum Change<T> {
    Done(T),
    NotFound,
    /// `If-Match` named a version that is no longer current.
    Stale,
}

impl Change<Item> {
    /// `current`, the item as read, checked against `If-Match`'s version (when given).
    pub(crate) fn checked(current: Option<Item>, if_version: Option<i64>) -> Self {
        match current {
            None => Change::NotFound,
            Some(item) if if_version.is_some_and(|v| v != item.version) => Change::Stale,
            Some(item) => Change::Done(item),
        }
    }
}

/// The result of deactivating ("deleting") a user.
#[derive(Debug, PartialEq, Eq)]
pub enum Deactivation {
    /// Deactivated; its items now belong to `heir_id`.
    Done {
        user: User,
        heir_id: i64,
    },
    NotFound,
    /// Nobody would be left to own the items.
    LastActiveUser,
}

/// The result of erasing a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Erasure {
    Done,
    /// Absent, or erased already.
    NotFound,
    /// Its items were to be handed over, and nobody else is active to take them.
    LastActiveUser,
}

/// What adopting a first admin did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FirstAdmin {
    /// A new admin user with that email and token.
    Created(i64),
    /// The user with that email became an admin with that token.
    Promoted(i64),
    /// An active admin exists already: nothing changed.
    AdminExists,
}

/// Pool figures for the metrics endpoint and the health check.
#[derive(Debug, Clone, Copy)]
pub struct PoolStats {
    pub size: u32,
    pub idle: u32,
    pub max: u32,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    fn backend(&self) -> Backend;
    /// Opens one connection outside the pool and closes it: the first contact at start-up,
    /// which reports why a database cannot be reached (the pool only says it timed out).
    async fn check_connection(&self) -> StoreResult<()>;
    /// Applies the embedded migrations (and, on SQLite, adopts a FastAPI `sql_app.db`);
    /// returns those it applied, in order.
    async fn migrate(&self) -> StoreResult<Vec<AppliedMigration>>;
    async fn ping(&self) -> StoreResult<()>;
    fn pool_stats(&self) -> PoolStats;
    async fn close(&self);
    /// Where this server is in its write-ahead log: how replica lag is measured. PostgreSQL
    /// only; the others answer an error.
    async fn wal_position(&self) -> StoreResult<WalPosition>;
    /// The store that serves the reads of a caller who reads `from`; `None`: this one. Only a
    /// store with a read replica (`replicated`) answers otherwise.
    fn reads_from(&self, _from: ReadFrom) -> Option<Arc<dyn Store>> {
        None
    }
    /// The read replica's state; `None` without one.
    fn replica_status(&self) -> Option<ReplicaStatus> {
        None
    }

    /// `None` when the email is already registered. With `completion`, the idempotency
    /// record it names is completed in the same transaction.
    async fn create_user(
        &self,
        user: NewUser,
        completion: Option<&Completion<'_, Account>>,
        context: &Context,
    ) -> StoreResult<Option<Account>>;
    async fn account_by_email(&self, email: &str) -> StoreResult<Option<Account>>;
    async fn account(&self, id: i64) -> StoreResult<Option<Account>>;
    /// Every user, active or not, by id (for the CLI).
    async fn accounts(&self) -> StoreResult<Vec<Account>>;
    /// Gives or takes the admin role; `None` for an absent or erased user.
    async fn set_admin(
        &self,
        id: i64,
        admin: bool,
        context: &Context,
    ) -> StoreResult<Option<Account>>;
    /// Makes a deactivated user active again; `None` for an absent or erased user.
    async fn activate_user(&self, id: i64, context: &Context) -> StoreResult<Option<Account>>;
    /// Users (inactive ones too, if asked) by id, for the admin API.
    async fn admin_accounts(&self, filter: &AccountFilter) -> StoreResult<Vec<Account>>;
    /// A user's named tokens, by id.
    async fn api_tokens(&self, user_id: i64) -> StoreResult<Vec<ApiToken>>;
    /// `None` when the user is absent or inactive.
    async fn create_api_token(
        &self,
        user_id: i64,
        token: NewApiToken,
        context: &Context,
    ) -> StoreResult<Option<ApiToken>>;
    /// `false` when the user holds no such token.
    async fn revoke_api_token(
        &self,
        user_id: i64,
        token_id: i64,
        context: &Context,
    ) -> StoreResult<bool>;
    /// Removes a user's personal data for good (email, password hash, tokens, the client
    /// addresses of its audit records), hands over or deletes its items, and records the
    /// erasure (with no personal content) and its id in the erasure log.
    async fn erase_user(
        &self,
        id: i64,
        items: ErasedItems,
        context: &Context,
    ) -> StoreResult<Erasure>;
    /// The erasure log: the ids of the users erased, which a restore of an older backup
    /// erases again.
    async fn erased_users(&self) -> StoreResult<Vec<i64>>;
    /// Audit records, newest first.
    async fn audit_records(&self, filter: &audit::Filter) -> StoreResult<Vec<audit::Record>>;
    /// Deletes the audit records made before `before` (with their client addresses).
    async fn purge_audit(&self, before: PrimitiveDateTime) -> StoreResult<u64>;
    /// PostgreSQL: narrows the rights of the service's login `role` on the audit tables
    /// (append-only for it). Other backends: an error saying it is PostgreSQL only.
    async fn grant_app_role(&self, role: &str) -> StoreResult<()>;
    /// Makes `user` (by email) the first admin, with its token, unless an active admin
    /// exists; atomic, and safe when two deployments run it at once.
    async fn adopt_first_admin(&self, user: NewUser) -> StoreResult<FirstAdmin>;
    /// The active user holding the token with this selector, with when it last changed
    /// something. Always on the primary.
    async fn token_owner(&self, selector: &str) -> StoreResult<Option<TokenOwner>>;
    /// `token_owner` and `item`, in one round trip where the backend can: the read of one
    /// item is most of the API's traffic. The item is read whoever the token names: the
    /// caller verifies the token and authorizes before it uses the item. Both on the
    /// primary (a store with a replica keeps the default, which does not fold).
    async fn token_owner_and_item(
        &self,
        selector: &str,
        owner_id: i64,
        item_id: i64,
    ) -> StoreResult<Option<(TokenOwner, Option<Item>)>> {
        let Some(owner) = self.token_owner(selector).await? else {
            return Ok(None);
        };
        Ok(Some((owner, self.item(owner_id, item_id).await?)))
    }
    /// Replaces a user's token (rotation): the old one stops working at once.
    async fn set_token(
        &self,
        user_id: i64,
        selector: &str,
        hash: &str,
        completion: Option<&Completion<'_, i64>>,
        context: &Context,
    ) -> StoreResult<bool>;
    /// Re-hashes the current token in place (pepper upgrade), unless it was rotated meanwhile.
    async fn upgrade_token_hash(
        &self,
        selector: &str,
        old_hash: &str,
        new_hash: &str,
    ) -> StoreResult<()>;
    async fn password_hash(&self, user_id: i64) -> StoreResult<Option<String>>;
    async fn set_password_hash(&self, user_id: i64, hash: &str) -> StoreResult<()>;

    /// An active user with its items.
    async fn user(&self, id: i64) -> StoreResult<Option<User>>;
    /// Active users by id, without their items.
    async fn active_accounts(&self, page: Page) -> StoreResult<Vec<Account>>;
    /// Up to `limit` items of `owners`, in `(owner_id, id)` order, after the keyset
    /// position `after` (the last `(owner_id, id)` of the previous chunk): how responses that
    /// embed every item of a user are streamed.
    async fn items_of_owners(
        &self,
        owners: &[i64],
        after: Option<(i64, i64)>,
        limit: i64,
    ) -> StoreResult<Vec<Item>>;
    /// Deactivates `id` and hands its items to the active user with the smallest id,
    /// atomically and safely under concurrent deletes, creations and updates.
    async fn deactivate_user(&self, id: i64, context: &Context) -> StoreResult<Deactivation>;

    /// `None` when the owner is absent or inactive.
    async fn create_item(
        &self,
        owner_id: i64,
        item: NewItem,
        completion: Option<&Completion<'_, Item>>,
        context: &Context,
    ) -> StoreResult<Option<Item>>;

    /// Claims an Idempotency-Key's record, or reports what an earlier request left there.
    /// Records created before `expired_before` count as absent; pending ones created before
    /// `stale_before` may be taken over.
    async fn claim_idempotency(
        &self,
        key_hash: &str,
        fingerprint: &str,
        now: PrimitiveDateTime,
        stale_before: PrimitiveDateTime,
        expired_before: PrimitiveDateTime,
    ) -> StoreResult<Claim>;
    /// Gives a claim up (the request failed: a retry may run it again).
    async fn release_idempotency(&self, key_hash: &str) -> StoreResult<()>;
    /// Deletes the records created before `before`; returns how many.
    async fn purge_idempotency(&self, before: PrimitiveDateTime) -> StoreResult<u64>;
    async fn item(&self, owner_id: i64, item_id: i64) -> StoreResult<Option<Item>>;
    /// Newest first (ties: higher id first), filtered, paged; served by an index range scan
    /// at any size.
    async fn items(&self, filter: &ItemFilter) -> StoreResult<Vec<Item>>;
    /// The backend's query plan for `items(filter)`, one line per plan node (diagnostics and
    /// the index tests).
    async fn explain_items(&self, filter: &ItemFilter) -> StoreResult<String>;
    async fn update_item(
        &self,
        owner_id: i64,
        item_id: i64,
        changes: ItemChanges,
        if_version: Option<i64>,
        context: &Context,
    ) -> StoreResult<Change<Item>>;
    async fn delete_item(
        &self,
        owner_id: i64,
        item_id: i64,
        if_version: Option<i64>,
        context: &Context,
    ) -> StoreResult<Change<()>>;

    /// Streams every row of `rows::TABLES` into `sink` from one consistent snapshot while
    /// writers carry on: `Start` (the counts), the rows table by table in key order, `End`
    /// (the id counters). Returns the counts.
    async fn export_rows(
        &self,
        sink: &mut dyn rows::RowSink,
    ) -> Result<rows::Counts, rows::BulkError>;
    /// Inserts what `source` yields (as `export_rows` streams it) in one transaction,
    /// keeping the ids, and moves the id counters past them. Refuses a database with rows
    /// unless `replace`, which deletes them first in the same transaction. Returns the
    /// counts inserted.
    async fn import_rows(
        &self,
        source: &mut dyn rows::RowSource,
        replace: bool,
    ) -> Result<rows::Counts, rows::BulkError>;
    /// SQLite: writes a consistent copy of the live database to the new file `path`
    /// (`VACUUM INTO`) and checks it. Other backends: an error saying it is SQLite only.
    async fn snapshot_into(
        &self,
        path: &std::path::Path,
    ) -> Result<rows::SnapshotReport, rows::BulkError>;
}

/// A connection pooler between the service and PostgreSQL (`DATABASE_POOLER`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Pooler {
    /// Connections go straight to the database.
    #[default]
    None,
    /// PgBouncer in transaction mode or RDS Proxy: a server connection is ours only for
    /// one transaction, so every statement runs inside one, each transaction first drops
    /// the prepared statements another client left on the server connection and sets the
    /// statement timeout (`SET LOCAL`), nothing is cached across transactions, and no
    /// startup parameter a pooler refuses is sent.
    Transaction,
}

/// How to reach the database; built and validated by `config`.
#[derive(Debug, Clone)]
pub struct DbSettings {
    /// The URL with any password already merged in.
    pub url: SecretString,
    pub max_connections: u32,
    pub acquire_timeout: Duration,
    pub statement_timeout: Duration,
    pub pooler: Pooler,
    /// Where migrations connect (a session-level advisory lock needs the database itself,
    /// not a transaction pooler); `url` when unset.
    pub migrate_url: Option<SecretString>,
}

impl DbSettings {
    pub const DEFAULT_MAX_CONNECTIONS: u32 = 10;
    pub const DEFAULT_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);
    pub const DEFAULT_STATEMENT_TIMEOUT: Duration = Duration::from_secs(10);

    pub fn new(url: SecretString) -> Self {
        Self {
            url,
            max_connections: Self::DEFAULT_MAX_CONNECTIONS,
            acquire_timeout: Self::DEFAULT_ACQUIRE_TIMEOUT,
            statement_timeout: Self::DEFAULT_STATEMENT_TIMEOUT,
            pooler: Pooler::None,
            migrate_url: None,
        }
    }
}

/// The store that serves the reads of a caller who reads `from` (the primary, or a store on
/// the read replica that falls back to the primary).
pub fn reads(store: &Arc<dyn Store>, from: ReadFrom) -> Arc<dyn Store> {
    store.reads_from(from).unwrap_or_else(|| Arc::clone(store))
}

/// Opens a pool for the backend the URL names (lazily: the server starts even while the
/// database is still coming up, and `/health-check` says so).
pub fn connect(settings: &DbSettings) -> Result<Arc<dyn Store>, StoreError> {
    let url = settings.url.expose_secret();
    match Backend::from_url(url) {
        Some(Backend::Sqlite) => sqlite::connect(settings),
        Some(Backend::Postgres) => postgres::connect(settings),
        Some(Backend::MySql) => mysql::connect(settings),
        None => Err(StoreError::Database(sqlx::Error::Configuration(
            format!(
                "unsupported database URL scheme in {}",
                dialect::redact(url)
            )
            .into(),
        ))),
    }
}
