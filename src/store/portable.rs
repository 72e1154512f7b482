//! The portable store: every statement written once, against the `Db` alias of the backend
//! module that includes this file (see the module doc of `store`).
//!
//! Concurrency (user deletion beside item creation and updates) uses row locks, not
//! SERIALIZABLE with retries: a deletion locks the user it deactivates and the heir it
//! picks (`FOR UPDATE`, both in one statement, in id order, so that concurrent deletions
//! always take their locks in the same order and cannot deadlock), and an item creation holds
//! a shared lock on its owner (`FOR SHARE` / `LOCK IN SHARE MODE`) until it commits. So a
//! creation either commits first and its item is moved by the deletion, or waits and then
//! finds its owner inactive (`404`); a deletion whose heir changed while it waited for the
//! locks starts over. Locks make conflicting requests wait instead of fail and behave the
//! same on PostgreSQL and MySQL/MariaDB (whose SERIALIZABLE is itself lock based). SQLite has
//! one writer at a time: `BEGIN IMMEDIATE` takes that lock up front, which gives the same
//! guarantees.
//!
//! A change first records when its actor wrote (`begin_change`), at most once a second per
//! actor; the change that does so holds its actor's row until it commits. The actor's row
//! comes first, so a user's own concurrent changes queue there rather than deadlock; two users
//! deleting each other in the same instant can deadlock, and the retry runs them again.

use sqlx::{AssertSqlSafe, FromRow as _, Row as _};
use time::PrimitiveDateTime;
use tracing::Instrument as _;

use super::Db;
use crate::audit::{self, Action, Context, Event};
use crate::domain::{
    Account, AccountFilter, ApiToken, ErasedItems, Item, ItemChanges, ItemFilter, NewApiToken,
    NewItem, NewUser, Page, TokenOwner, User,
};
use crate::idempotency::{Claim, Completion};
use crate::store::dialect::Dialect;
use crate::store::sql::{
    ACCOUNT_BY_ID, ACTIVE_USER, DELETE_ITEM, INSERT_ITEM, ITEM_BY_ID, ITEM_COLUMNS, ListingValue,
    RECORD_LAST_WRITE, TOKEN_OWNER, TOKEN_OWNER_AND_ITEM, UPDATE_ITEM, account_columns, acquiring,
    db_span, items_sql, items_values, retrying, sql,
};
use crate::store::{
    AppliedMigration, Backend, Change, ConnectError, ConnectFailure, Deactivation, Erasure,
    FirstAdmin, PoolStats, Store, StoreError, StoreResult, WalPosition,
};

#[path = "access.rs"]
mod access;
use access::record;
#[path = "bulk.rs"]
mod bulk;

type Args = <Db as sqlx::Database>::Arguments;

/// A write that completes an idempotency record, or found its claim taken over.
enum Written<T> {
    Done(T),
    Lost,
}

impl<T> Written<T> {
    fn into_result(self) -> StoreResult<T> {
        match self {
            Written::Done(value) => Ok(value),
            Written::Lost => Err(StoreError::IdempotencyLost),
        }
    }
}
type Query = sqlx::query::Query<'static, Db, Args>;

pub(crate) struct SqlStore {
    pool: sqlx::Pool<Db>,
    /// Where migrations run, when not `pool` (`DATABASE_MIGRATE_URL`).
    migrate_pool: Option<sqlx::Pool<Db>>,
    /// Behind a transaction pooler: the statement timeout each transaction sets itself.
    pooled: Option<std::time::Duration>,
    /// SQLite: the hot reads on the calling thread (see `store::inline`).
    inline: Option<crate::store::inline::InlineReads>,
    /// SQLite: item creations committed in groups (see `store::group_commit`).
    group: Option<crate::store::group_commit::GroupCommit>,
}

/// A connection to read on: pooled as it is, or, behind a transaction pooler, inside a
/// transaction (rolled back when dropped), so that every statement of a read stays on one
/// server connection.
enum ReadConn {
    Direct(sqlx::pool::PoolConnection<Db>),
    InTransaction(sqlx::Transaction<'static, Db>),
}

impl std::ops::Deref for ReadConn {
    type Target = <Db as sqlx::Database>::Connection;
    fn deref(&self) -> &Self::Target {
        match self {
            ReadConn::Direct(conn) => conn,
            ReadConn::InTransaction(tx) => tx,
        }
    }
}

impl std::ops::DerefMut for ReadConn {
    fn deref_mut(&mut self) -> &mut Self::Target {
        match self {
            ReadConn::Direct(conn) => &mut *conn,
            ReadConn::InTransaction(tx) => &mut *tx,
        }
    }
}

const BACKEND: Backend = <Db as Dialect>::BACKEND;

impl SqlStore {
    pub(crate) fn new(pool: sqlx::Pool<Db>) -> Self {
        Self {
            pool,
            migrate_pool: None,
            pooled: None,
            inline: None,
            group: None,
        }
    }

    /// Serves the hot reads through `inline` first (SQLite files).
    #[allow(
        dead_code,
        reason = "only the SQLite store uses it; this file is compiled per backend"
    )]
    pub(crate) fn reading_inline(mut self, inline: crate::store::inline::InlineReads) -> Self {
        self.inline = Some(inline);
        self
    }

    /// Commits item creations in groups through `group` (SQLite files).
    #[allow(
        dead_code,
        reason = "only the SQLite store uses it; this file is compiled per backend"
    )]
    pub(crate) fn committing_in_groups(
        mut self,
        group: crate::store::group_commit::GroupCommit,
    ) -> Self {
        self.group = Some(group);
        self
    }

    /// Behind a transaction pooler (see `Pooler::Transaction`).
    #[allow(
        dead_code,
        reason = "only the PostgreSQL store uses it; this file is compiled per backend"
    )]
    pub(crate) fn behind_pooler(mut self, statement_timeout: std::time::Duration) -> Self {
        self.pooled = Some(statement_timeout);
        self
    }

    /// Migrations run on `pool` instead (a direct connection past a pooler).
    #[allow(
        dead_code,
        reason = "only the PostgreSQL store uses it; this file is compiled per backend"
    )]
    pub(crate) fn migrating_on(mut self, pool: sqlx::Pool<Db>) -> Self {
        self.migrate_pool = Some(pool);
        self
    }

    fn migrations_pool(&self) -> &sqlx::Pool<Db> {
        self.migrate_pool.as_ref().unwrap_or(&self.pool)
    }

    /// A pooled connection to read on; the wait is measured (`db_pool_acquire_seconds`).
    async fn conn(&self) -> sqlx::Result<ReadConn> {
        if self.pooled.is_some() {
            return Ok(ReadConn::InTransaction(self.begin().await?));
        }
        Ok(ReadConn::Direct(acquiring(self.pool.acquire()).await?))
    }

    /// A write transaction on a pooled connection; the wait is measured too.
    async fn begin(&self) -> sqlx::Result<sqlx::Transaction<'static, Db>> {
        let mut tx = acquiring(<Db as Dialect>::begin_write(&self.pool)).await?;
        if let Some(timeout) = self.pooled {
            // One round trip: the server connection may hold the statements another client
            // prepared in its last transaction (sqlx names its statements `sqlx_s_<n>` per
            // client connection, so they would collide with ours); and the statement timeout,
            // since poolers refuse the startup `options` a direct connection sets it with.
            let set = format!(
                "DEALLOCATE ALL; SET LOCAL statement_timeout = {}",
                timeout.as_millis()
            );
            sqlx::raw_sql(AssertSqlSafe(set)).execute(&mut *tx).await?;
        }
        Ok(tx)
    }

    /// The write transaction of a change made in `context`: its first statement records that
    /// the acting user wrote just now (`users.last_write_at`, which the user's next token
    /// lookups read to send its reads to the primary for a while; see `store::replica`).
    /// Part of the change, so it commits or rolls back with it.
    ///
    /// First, not last: a change that takes a shared lock on its actor's row (an item created
    /// for oneself) and then updated it would deadlock with a concurrent one doing the same.
    /// And only when the recorded time is older than `LAST_WRITE_GRANULARITY`, so that the
    /// changes within that second neither rewrite nor (on PostgreSQL) lock the row.
    async fn begin_change(
        &self,
        context: &Context,
    ) -> sqlx::Result<sqlx::Transaction<'static, Db>> {
        let mut tx = self.begin().await?;
        if let Some(actor) = context.actor_id {
            let now = crate::domain::now_utc();
            let fresh_since = now - crate::store::LAST_WRITE_GRANULARITY;
            if <Db as Dialect>::LOCKS_UNMATCHED_ROWS {
                // A plain read locks nothing: the row is locked only when it is to change.
                let recorded: Option<Option<PrimitiveDateTime>> =
                    sqlx::query_scalar(sql!(Db, "SELECT last_write_at FROM users WHERE id = ?"))
                        .bind(actor)
                        .fetch_optional(&mut *tx)
                        .await?;
                if recorded.flatten().is_some_and(|at| at >= fresh_since) {
                    return Ok(tx);
                }
            }
            sqlx::query(sql!(Db, RECORD_LAST_WRITE))
                .bind(<Db as Dialect>::timestamp(now))
                .bind(actor)
                .bind(<Db as Dialect>::timestamp(fresh_since))
                .execute(&mut *tx)
                .await?;
        }
        Ok(tx)
    }

    fn items_query(explain: &str, filter: &ItemFilter) -> Query {
        let sql = <Db as Dialect>::rewrite(&items_sql(explain, filter));
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for value in items_values(filter) {
            query = match value {
                ListingValue::Int(n) => query.bind(n),
                ListingValue::Bool(b) => query.bind(b),
                ListingValue::At(at) => query.bind(<Db as Dialect>::timestamp(at)),
            };
        }
        query
    }

    /// One attempt; `Ok(None)` asks to start over.
    async fn try_deactivate(
        &self,
        id: i64,
        context: &Context,
    ) -> sqlx::Result<Option<Deactivation>> {
        let mut tx = self.begin_change(context).await?;
        // The heir is the active user with the smallest id but `id`. It is picked without a
        // lock, then both rows are locked in id order and the pick is confirmed.
        let heir_sql = sql!(
            Db,
            "SELECT id FROM users WHERE is_active = ? AND id <> ? ORDER BY id LIMIT 1"
        );
        let candidate: Option<i64> = sqlx::query_scalar(heir_sql)
            .bind(true)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        let locked = sqlx::query_as::<Db, Account>(sql!(
            Db,
            concat!(
                "SELECT ",
                account_columns!(),
                " FROM users WHERE id IN (?, ?) ORDER BY id"
            ),
            <Db as Dialect>::FOR_UPDATE
        ))
        .bind(id)
        .bind(candidate.unwrap_or(id))
        .fetch_all(&mut *tx)
        .await?;
        let Some(target) = locked.iter().find(|a| a.id == id && a.is_active) else {
            return Ok(Some(Deactivation::NotFound));
        };
        let Some(heir_id) = candidate else {
            // Nobody else was active a moment ago; trust it only if that still holds (a
            // sign-up may have committed since).
            let others: i64 = sqlx::query_scalar(sql!(
                Db,
                "SELECT COUNT(*) FROM users WHERE is_active = ? AND id <> ?"
            ))
            .bind(true)
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
            return Ok((others == 0).then_some(Deactivation::LastActiveUser));
        };
        let heir_active = locked.iter().any(|a| a.id == heir_id && a.is_active);
        let still_first: Option<i64> = sqlx::query_scalar(heir_sql)
            .bind(true)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        if !heir_active || still_first != Some(heir_id) {
            return Ok(None);
        }
        let user = User {
            email: target.email.clone(),
            id,
            is_active: false,
            items: Vec::new(),
        };

        sqlx::query(sql!(Db, "UPDATE users SET is_active = ? WHERE id = ?"))
            .bind(false)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(sql!(
            Db,
            "UPDATE items SET owner_id = ?, version = version + 1 WHERE owner_id = ?"
        ))
        .bind(heir_id)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        record(&mut tx, context, Event::new(Action::UserDelete, id, id)).await?;
        tx.commit().await?;
        Ok(Some(Deactivation::Done { user, heir_id }))
    }

    async fn try_create_item(
        &self,
        owner_id: i64,
        item: &NewItem,
        completion: Option<&Completion<'_, Item>>,
        context: &Context,
    ) -> sqlx::Result<Written<Option<Item>>> {
        let mut tx = self.begin_change(context).await?;
        if !Self::share_active_user(&mut tx, owner_id).await? {
            return Ok(Written::Done(None));
        }
        let (title, description) = (item.title.clone(), item.description.clone());
        let created_at = <Db as Dialect>::timestamp(item.created_at);
        let id = <Db as Dialect>::insert_id(&mut tx, sql!(Db, INSERT_ITEM), move |query| {
            query
                .bind(title)
                .bind(description)
                .bind(owner_id)
                .bind(created_at)
                .bind(false)
                .bind(1i64)
        })
        .await?;
        let created = item.created(id, owner_id);
        if !Self::complete(&mut tx, completion, &created).await? {
            return Ok(Written::Lost);
        }
        record(
            &mut tx,
            context,
            Event::new(Action::ItemCreate, id, owner_id),
        )
        .await?;
        tx.commit().await?;
        Ok(Written::Done(Some(created)))
    }

    /// Completes the idempotency record of `completion` with the answer made from what was
    /// created, in the creation's transaction; `false` when the claim was taken over.
    async fn complete<T>(
        tx: &mut sqlx::Transaction<'static, Db>,
        completion: Option<&Completion<'_, T>>,
        created: &T,
    ) -> sqlx::Result<bool> {
        let Some(completion) = completion else {
            return Ok(true);
        };
        let sealed = (completion.response)(created);
        let result = sqlx::query(sql!(
            Db,
            "UPDATE idempotency_records SET complete = ?, response = ? \
             WHERE key_hash = ? AND complete = ?"
        ))
        .bind(true)
        .bind(sealed)
        .bind(completion.key_hash.to_owned())
        .bind(false)
        .execute(&mut **tx)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    async fn try_claim(
        &self,
        key_hash: &str,
        fingerprint: &str,
        now: PrimitiveDateTime,
        stale_before: PrimitiveDateTime,
        expired_before: PrimitiveDateTime,
    ) -> sqlx::Result<Option<Claim>> {
        let mut conn = self.conn().await?;
        let inserted = sqlx::query(sql!(
            Db,
            "INSERT INTO idempotency_records (key_hash, fingerprint, complete, created_at) \
             VALUES (?, ?, ?, ?)"
        ))
        .bind(key_hash.to_owned())
        .bind(fingerprint.to_owned())
        .bind(false)
        .bind(<Db as Dialect>::timestamp(now))
        .execute(&mut *conn)
        .await;
        match inserted {
            Ok(_) => return Ok(Some(Claim::Claimed)),
            Err(sqlx::Error::Database(err)) if err.is_unique_violation() => {}
            Err(err) => return Err(err),
        }
        // Someone has the key: take it over if that record expired, or was left pending by
        // a request that died; otherwise report it.
        let taken = sqlx::query(sql!(
            Db,
            "UPDATE idempotency_records SET fingerprint = ?, complete = ?, response = ?, \
             created_at = ? WHERE key_hash = ? \
             AND (created_at < ? OR (complete = ? AND created_at < ?))"
        ))
        .bind(fingerprint.to_owned())
        .bind(false)
        .bind(None::<Vec<u8>>)
        .bind(<Db as Dialect>::timestamp(now))
        .bind(key_hash.to_owned())
        .bind(<Db as Dialect>::timestamp(expired_before))
        .bind(false)
        .bind(<Db as Dialect>::timestamp(stale_before))
        .execute(&mut *conn)
        .await?;
        if taken.rows_affected() == 1 {
            return Ok(Some(Claim::Claimed));
        }
        let row = sqlx::query(sql!(
            Db,
            "SELECT fingerprint, complete, response FROM idempotency_records WHERE key_hash = ?"
        ))
        .bind(key_hash.to_owned())
        .fetch_optional(&mut *conn)
        .await?;
        // Gone meanwhile (released or purged): start over.
        let Some(row) = row else { return Ok(None) };
        let fingerprint: String = row.try_get("fingerprint")?;
        let response: Option<Vec<u8>> = row.try_get("response")?;
        Ok(Some(
            match (row.try_get::<bool, _>("complete")?, response) {
                (true, Some(response)) => Claim::Completed {
                    fingerprint,
                    response,
                },
                _ => Claim::InProgress { fingerprint },
            },
        ))
    }

    async fn try_adopt_first_admin(&self, user: &NewUser) -> sqlx::Result<Option<FirstAdmin>> {
        let mut tx = self.begin().await?;
        let admins: i64 = sqlx::query_scalar(sql!(
            Db,
            "SELECT COUNT(*) FROM users WHERE is_admin = ? AND is_active = ?"
        ))
        .bind(true)
        .bind(true)
        .fetch_one(&mut *tx)
        .await?;
        if admins > 0 {
            return Ok(Some(FirstAdmin::AdminExists));
        }
        let existing: Option<i64> = sqlx::query_scalar(sql!(
            Db,
            "SELECT id FROM users WHERE email = ?",
            <Db as Dialect>::FOR_UPDATE
        ))
        .bind(user.email.clone())
        .fetch_optional(&mut *tx)
        .await?;
        let outcome = match existing {
            Some(id) => {
                sqlx::query(sql!(
                    Db,
                    "UPDATE users SET is_admin = ?, is_active = ?, token_selector = ?, \
                     token_hash = ? WHERE id = ?"
                ))
                .bind(true)
                .bind(true)
                .bind(user.token_selector.clone())
                .bind(user.token_hash.clone())
                .bind(id)
                .execute(&mut *tx)
                .await?;
                let context = Context::command_line();
                record(&mut tx, &context, Event::new(Action::UserRole, id, id)).await?;
                FirstAdmin::Promoted(id)
            }
            None => {
                let new = user.clone();
                let inserted = <Db as Dialect>::insert_id(
                    &mut tx,
                    sql!(
                        Db,
                        "INSERT INTO users \
                         (email, hashed_password, is_active, is_admin, token_selector, token_hash) \
                         VALUES (?, ?, ?, ?, ?, ?)"
                    ),
                    move |query| {
                        query
                            .bind(new.email)
                            .bind(new.password_hash)
                            .bind(true)
                            .bind(true)
                            .bind(new.token_selector)
                            .bind(new.token_hash)
                    },
                )
                .await;
                match inserted {
                    Ok(id) => {
                        let context = Context::command_line();
                        record(&mut tx, &context, Event::new(Action::UserCreate, id, id)).await?;
                        FirstAdmin::Created(id)
                    }
                    // Another deployment adopted it a moment ago: look again.
                    Err(sqlx::Error::Database(err)) if err.is_unique_violation() => {
                        return Ok(None);
                    }
                    Err(err) => return Err(err),
                }
            }
        };
        tx.commit().await?;
        Ok(Some(outcome))
    }

    /// Whether user `id` is active, holding a shared lock on its row until the transaction
    /// ends (see the module doc).
    async fn share_active_user(
        tx: &mut sqlx::Transaction<'static, Db>,
        id: i64,
    ) -> sqlx::Result<bool> {
        let active: Option<i64> =
            sqlx::query_scalar(sql!(Db, ACTIVE_USER, <Db as Dialect>::FOR_SHARE))
                .bind(id)
                .bind(true)
                .fetch_optional(&mut **tx)
                .await?;
        Ok(active.is_some())
    }

    /// Locks the item for a read-modify-write and checks `If-Match`.
    async fn lock_item(
        tx: &mut sqlx::Transaction<'static, Db>,
        owner_id: i64,
        item_id: i64,
        if_version: Option<i64>,
    ) -> sqlx::Result<Change<Item>> {
        let current = sqlx::query_as::<Db, Item>(sql!(Db, ITEM_BY_ID, <Db as Dialect>::FOR_UPDATE))
            .bind(item_id)
            .bind(owner_id)
            .fetch_optional(&mut **tx)
            .await?;
        Ok(Change::checked(current, if_version))
    }

    async fn try_update_item(
        &self,
        owner_id: i64,
        item_id: i64,
        changes: &ItemChanges,
        if_version: Option<i64>,
        context: &Context,
    ) -> sqlx::Result<Option<Change<Item>>> {
        let mut tx = self.begin_change(context).await?;
        let mut item = match Self::lock_item(&mut tx, owner_id, item_id, if_version).await? {
            Change::Done(item) => item,
            other => return Ok(Some(other)),
        };
        if changes.is_empty() {
            return Ok(Some(Change::Done(item)));
        }
        changes.apply_to(&mut item);
        sqlx::query(sql!(Db, UPDATE_ITEM))
            .bind(item.title.clone())
            .bind(item.description.clone())
            .bind(item.done)
            .bind(item.version)
            .bind(item.id)
            .execute(&mut *tx)
            .await?;
        record(
            &mut tx,
            context,
            Event::new(Action::ItemUpdate, item.id, owner_id),
        )
        .await?;
        tx.commit().await?;
        Ok(Some(Change::Done(item)))
    }

    async fn try_delete_item(
        &self,
        owner_id: i64,
        item_id: i64,
        if_version: Option<i64>,
        context: &Context,
    ) -> sqlx::Result<Option<Change<()>>> {
        let mut tx = self.begin_change(context).await?;
        match Self::lock_item(&mut tx, owner_id, item_id, if_version).await? {
            Change::Done(_) => {}
            Change::NotFound => return Ok(Some(Change::NotFound)),
            Change::Stale => return Ok(Some(Change::Stale)),
        }
        sqlx::query(sql!(Db, DELETE_ITEM))
            .bind(item_id)
            .execute(&mut *tx)
            .await?;
        record(
            &mut tx,
            context,
            Event::new(Action::ItemDelete, item_id, owner_id),
        )
        .await?;
        tx.commit().await?;
        Ok(Some(Change::Done(())))
    }

    async fn account_where(&self, query: Query) -> StoreResult<Option<Account>> {
        let row = query.fetch_optional(&mut *self.conn().await?).await?;
        Ok(row.as_ref().map(Account::from_row).transpose()?)
    }
}

#[async_trait::async_trait]
impl Store for SqlStore {
    fn backend(&self) -> Backend {
        BACKEND
    }

    async fn check_connection(&self) -> StoreResult<()> {
        let options = self.pool.connect_options();
        let target = <Db as Dialect>::target(&options);
        <Db as Dialect>::check_target(&options).map_err(|reason| ConnectError {
            target: target.clone(),
            reason,
        })?;
        let timeout = self.pool.options().get_acquire_timeout();
        let attempt = sqlx::ConnectOptions::connect(&*options);
        let reason = match tokio::time::timeout(timeout, attempt).await {
            Ok(Ok(conn)) => {
                let _ = sqlx::Connection::close(conn).await;
                return Ok(());
            }
            Ok(Err(err)) => match (
                ConnectFailure::of(&err),
                <Db as Dialect>::login_hint(&options),
            ) {
                (ConnectFailure::Login(message), Some(hint)) => {
                    ConnectFailure::Login(format!("{message}; {hint}"))
                }
                (reason, _) => reason,
            },
            Err(_) => ConnectFailure::TimedOut(timeout),
        };
        Err(ConnectError { target, reason }.into())
    }

    async fn migrate(&self) -> StoreResult<Vec<AppliedMigration>> {
        <Db as Dialect>::migrate(self.migrations_pool())
            .instrument(db_span(BACKEND, "migrate"))
            .await
    }

    async fn ping(&self) -> StoreResult<()> {
        async {
            sqlx::query("SELECT 1")
                .execute(&mut *self.conn().await?)
                .await?;
            Ok(())
        }
        .instrument(db_span(BACKEND, "ping"))
        .await
    }

    async fn wal_position(&self) -> StoreResult<WalPosition> {
        <Db as Dialect>::wal_position(&self.pool)
            .instrument(db_span(BACKEND, "wal_position"))
            .await
    }

    fn pool_stats(&self) -> PoolStats {
        PoolStats {
            size: self.pool.size(),
            idle: u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX),
            max: self.pool.options().get_max_connections(),
        }
    }

    async fn close(&self) {
        self.pool
            .close()
            .instrument(db_span(BACKEND, "close"))
            .await;
    }

    async fn create_user(
        &self,
        user: NewUser,
        completion: Option<&Completion<'_, Account>>,
        context: &Context,
    ) -> StoreResult<Option<Account>> {
        async {
            let email = user.email.clone();
            let is_admin = user.is_admin;
            let mut tx = self.begin_change(context).await?;
            // A new user has just written, too: its first reads (with the token it gets
            // now) go to the primary, which already has it.
            let created_at = <Db as Dialect>::timestamp(crate::domain::now_utc());
            let inserted = <Db as Dialect>::insert_id(
                &mut tx,
                sql!(
                    Db,
                    "INSERT INTO users (email, hashed_password, is_active, is_admin, \
                     token_selector, token_hash, last_write_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
                ),
                move |query| {
                    query
                        .bind(user.email)
                        .bind(user.password_hash)
                        .bind(true)
                        .bind(user.is_admin)
                        .bind(user.token_selector)
                        .bind(user.token_hash)
                        .bind(created_at)
                },
            )
            .await;
            let account = match inserted {
                Ok(id) => Account {
                    id,
                    email,
                    is_active: true,
                    is_admin,
                },
                Err(sqlx::Error::Database(err)) if err.is_unique_violation() => return Ok(None),
                Err(err) => return Err(err.into()),
            };
            if !Self::complete(&mut tx, completion, &account).await? {
                return Err(StoreError::IdempotencyLost);
            }
            let created = Event::new(Action::UserCreate, account.id, account.id);
            record(&mut tx, context, created).await?;
            tx.commit().await?;
            Ok(Some(account))
        }
        .instrument(db_span(BACKEND, "create_user"))
        .await
    }

    async fn account_by_email(&self, email: &str) -> StoreResult<Option<Account>> {
        let sql = sql!(
            Db,
            concat!("SELECT ", account_columns!(), " FROM users WHERE email = ?")
        );
        self.account_where(sqlx::query(sql).bind(email.to_owned()))
            .instrument(db_span(BACKEND, "account_by_email"))
            .await
    }

    async fn account(&self, id: i64) -> StoreResult<Option<Account>> {
        async {
            let sql = sql!(Db, ACCOUNT_BY_ID);
            if let Some(found) = self
                .inline
                .as_ref()
                .and_then(|inline| inline.account(sql, id))
            {
                return Ok(found);
            }
            self.account_where(sqlx::query(sql).bind(id)).await
        }
        .instrument(db_span(BACKEND, "account"))
        .await
    }

    async fn accounts(&self) -> StoreResult<Vec<Account>> {
        async {
            Ok(sqlx::query_as::<Db, Account>(sql!(
                Db,
                concat!("SELECT ", account_columns!(), " FROM users ORDER BY id")
            ))
            .fetch_all(&mut *self.conn().await?)
            .await?)
        }
        .instrument(db_span(BACKEND, "accounts"))
        .await
    }

    async fn set_admin(
        &self,
        id: i64,
        admin: bool,
        context: &Context,
    ) -> StoreResult<Option<Account>> {
        retrying("set_admin", || self.try_set_admin(id, admin, context))
            .instrument(db_span(BACKEND, "set_admin"))
            .await
    }

    async fn activate_user(&self, id: i64, context: &Context) -> StoreResult<Option<Account>> {
        retrying("activate_user", || self.try_activate(id, context))
            .instrument(db_span(BACKEND, "activate_user"))
            .await
    }

    async fn admin_accounts(&self, filter: &AccountFilter) -> StoreResult<Vec<Account>> {
        Ok(self
            .list_accounts(filter)
            .instrument(db_span(BACKEND, "admin_accounts"))
            .await?)
    }

    async fn api_tokens(&self, user_id: i64) -> StoreResult<Vec<ApiToken>> {
        Ok(self
            .list_api_tokens(user_id)
            .instrument(db_span(BACKEND, "api_tokens"))
            .await?)
    }

    async fn create_api_token(
        &self,
        user_id: i64,
        token: NewApiToken,
        context: &Context,
    ) -> StoreResult<Option<ApiToken>> {
        retrying("create_api_token", || {
            self.try_create_api_token(user_id, &token, context)
        })
        .instrument(db_span(BACKEND, "create_api_token"))
        .await
    }

    async fn revoke_api_token(
        &self,
        user_id: i64,
        token_id: i64,
        context: &Context,
    ) -> StoreResult<bool> {
        retrying("revoke_api_token", || {
            self.try_revoke_api_token(user_id, token_id, context)
        })
        .instrument(db_span(BACKEND, "revoke_api_token"))
        .await
    }

    async fn erase_user(
        &self,
        id: i64,
        items: ErasedItems,
        context: &Context,
    ) -> StoreResult<Erasure> {
        async {
            for _ in 0..crate::store::sql::MAX_ATTEMPTS {
                if items == ErasedItems::HandOver
                    && self.deactivate_user(id, context).await? == Deactivation::LastActiveUser
                {
                    return Ok(Erasure::LastActiveUser);
                }
                // `None`: reactivated between the two steps, so deactivate again.
                let erased = retrying("erase_user", || async {
                    self.try_erase(id, items, context).await.map(Some)
                })
                .await?;
                if let Some(done) = erased {
                    return Ok(done);
                }
            }
            Err(StoreError::Contention {
                operation: "erase_user",
                attempts: crate::store::sql::MAX_ATTEMPTS,
            })
        }
        .instrument(db_span(BACKEND, "erase_user"))
        .await
    }

    async fn erased_users(&self) -> StoreResult<Vec<i64>> {
        async {
            Ok(
                sqlx::query_scalar(sql!(Db, "SELECT user_id FROM erasures ORDER BY user_id"))
                    .fetch_all(&mut *self.conn().await?)
                    .await?,
            )
        }
        .instrument(db_span(BACKEND, "erased_users"))
        .await
    }

    async fn audit_records(&self, filter: &audit::Filter) -> StoreResult<Vec<audit::Record>> {
        self.list_audit(filter)
            .instrument(db_span(BACKEND, "audit_records"))
            .await
    }

    async fn purge_audit(&self, before: PrimitiveDateTime) -> StoreResult<u64> {
        Ok(self
            .delete_audit_before(before)
            .instrument(db_span(BACKEND, "purge_audit"))
            .await?)
    }

    async fn grant_app_role(&self, role: &str) -> StoreResult<()> {
        <Db as Dialect>::grant_app_role(self.migrations_pool(), role)
            .instrument(db_span(BACKEND, "grant_app_role"))
            .await
    }

    async fn adopt_first_admin(&self, user: NewUser) -> StoreResult<FirstAdmin> {
        retrying("adopt_first_admin", || self.try_adopt_first_admin(&user))
            .instrument(db_span(BACKEND, "adopt_first_admin"))
            .await
    }

    async fn token_owner(&self, selector: &str) -> StoreResult<Option<TokenOwner>> {
        async {
            let statement = sql!(Db, TOKEN_OWNER);
            if let Some(found) = self
                .inline
                .as_ref()
                .and_then(|inline| inline.token_owner(statement, selector))
            {
                return Ok(found);
            }
            let row = token_lookup(statement, selector)
                .fetch_optional(&mut *self.conn().await?)
                .await?;
            match row {
                Some(row) => Ok(token_owner(&row)?),
                None => Ok(None),
            }
        }
        .instrument(db_span(BACKEND, "token_owner"))
        .await
    }

    async fn token_owner_and_item(
        &self,
        selector: &str,
        owner_id: i64,
        item_id: i64,
    ) -> StoreResult<Option<(TokenOwner, Option<Item>)>> {
        async {
            let statement = sql!(Db, TOKEN_OWNER_AND_ITEM);
            if let Some(found) = self.inline.as_ref().and_then(|inline| {
                inline.token_owner_and_item(statement, selector, owner_id, item_id)
            }) {
                return Ok(found);
            }
            let row = token_lookup(statement, selector)
                .bind(item_id)
                .bind(owner_id)
                .fetch_optional(&mut *self.conn().await?)
                .await?;
            let Some(row) = row else { return Ok(None) };
            let Some(owner) = token_owner(&row)? else {
                return Ok(None);
            };
            let item = match row.try_get::<Option<i64>, _>("id")? {
                Some(_) => Some(Item::from_row(&row)?),
                None => None,
            };
            Ok(Some((owner, item)))
        }
        .instrument(db_span(BACKEND, "token_owner_and_item"))
        .await
    }

    async fn set_token(
        &self,
        user_id: i64,
        selector: &str,
        hash: &str,
        completion: Option<&Completion<'_, i64>>,
        context: &Context,
    ) -> StoreResult<bool> {
        async {
            let mut tx = self.begin_change(context).await?;
            let result = sqlx::query(sql!(
                Db,
                "UPDATE users SET token_selector = ?, token_hash = ? \
                 WHERE id = ? AND is_active = ?"
            ))
            .bind(selector.to_owned())
            .bind(hash.to_owned())
            .bind(user_id)
            .bind(true)
            .execute(&mut *tx)
            .await?;
            if result.rows_affected() == 0 {
                return Ok(false);
            }
            if !Self::complete(&mut tx, completion, &user_id).await? {
                return Err(StoreError::IdempotencyLost);
            }
            let rotated = Event::new(Action::TokenRotate, user_id, user_id);
            record(&mut tx, context, rotated).await?;
            tx.commit().await?;
            Ok(true)
        }
        .instrument(db_span(BACKEND, "set_token"))
        .await
    }

    async fn upgrade_token_hash(
        &self,
        selector: &str,
        old_hash: &str,
        new_hash: &str,
    ) -> StoreResult<()> {
        async {
            let mut conn = self.conn().await?;
            for statement in [
                sql!(
                    Db,
                    "UPDATE users SET token_hash = ? WHERE token_selector = ? AND token_hash = ?"
                ),
                sql!(
                    Db,
                    "UPDATE api_tokens SET token_hash = ? WHERE selector = ? AND token_hash = ?"
                ),
            ] {
                sqlx::query(statement)
                    .bind(new_hash.to_owned())
                    .bind(selector.to_owned())
                    .bind(old_hash.to_owned())
                    .execute(&mut *conn)
                    .await?;
            }
            Ok(())
        }
        .instrument(db_span(BACKEND, "upgrade_token_hash"))
        .await
    }

    async fn password_hash(&self, user_id: i64) -> StoreResult<Option<String>> {
        async {
            Ok(sqlx::query_scalar(sql!(
                Db,
                "SELECT hashed_password FROM users WHERE id = ? AND is_active = ?"
            ))
            .bind(user_id)
            .bind(true)
            .fetch_optional(&mut *self.conn().await?)
            .await?)
        }
        .instrument(db_span(BACKEND, "password_hash"))
        .await
    }

    async fn set_password_hash(&self, user_id: i64, hash: &str) -> StoreResult<()> {
        async {
            sqlx::query(sql!(
                Db,
                "UPDATE users SET hashed_password = ? WHERE id = ?"
            ))
            .bind(hash.to_owned())
            .bind(user_id)
            .execute(&mut *self.conn().await?)
            .await?;
            Ok(())
        }
        .instrument(db_span(BACKEND, "set_password_hash"))
        .await
    }

    async fn user(&self, id: i64) -> StoreResult<Option<User>> {
        async {
            let account = sqlx::query_as::<Db, Account>(sql!(
                Db,
                concat!(
                    "SELECT ",
                    account_columns!(),
                    " FROM users WHERE id = ? AND is_active = ?"
                )
            ))
            .bind(id)
            .bind(true)
            .fetch_optional(&mut *self.conn().await?)
            .await?;
            let Some(account) = account else {
                return Ok(None);
            };
            let items = self.items_of_owners(&[id], None, i64::MAX).await?;
            Ok(Some(User {
                email: account.email,
                id: account.id,
                is_active: account.is_active,
                items,
            }))
        }
        .instrument(db_span(BACKEND, "user"))
        .await
    }

    async fn active_accounts(&self, page: Page) -> StoreResult<Vec<Account>> {
        async {
            Ok(sqlx::query_as::<Db, Account>(sql!(
                Db,
                concat!(
                    "SELECT ",
                    account_columns!(),
                    " FROM users WHERE is_active = ? ORDER BY id LIMIT ? OFFSET ?"
                )
            ))
            .bind(true)
            .bind(page.limit)
            .bind(page.skip)
            .fetch_all(&mut *self.conn().await?)
            .await?)
        }
        .instrument(db_span(BACKEND, "active_accounts"))
        .await
    }

    async fn items_of_owners(
        &self,
        owners: &[i64],
        after: Option<(i64, i64)>,
        limit: i64,
    ) -> StoreResult<Vec<Item>> {
        async {
            if owners.is_empty() {
                return Ok(Vec::new());
            }
            let marks = vec!["?"; owners.len()].join(", ");
            let keyset = if after.is_some() {
                " AND (owner_id > ? OR (owner_id = ? AND id > ?))"
            } else {
                ""
            };
            let sql = format!(
                "SELECT {ITEM_COLUMNS} FROM items WHERE owner_id IN ({marks}){keyset} \
                 ORDER BY owner_id, id LIMIT ?"
            );
            let mut query =
                sqlx::query_as::<Db, Item>(AssertSqlSafe(<Db as Dialect>::rewrite(&sql)));
            for owner in owners {
                query = query.bind(*owner);
            }
            if let Some((owner, id)) = after {
                query = query.bind(owner).bind(owner).bind(id);
            }
            Ok(query
                .bind(limit)
                .fetch_all(&mut *self.conn().await?)
                .await?)
        }
        .instrument(db_span(BACKEND, "items_of_owners"))
        .await
    }

    async fn deactivate_user(&self, id: i64, context: &Context) -> StoreResult<Deactivation> {
        retrying("deactivate_user", || self.try_deactivate(id, context))
            .instrument(db_span(BACKEND, "deactivate_user"))
            .await
    }

    async fn create_item(
        &self,
        owner_id: i64,
        item: NewItem,
        completion: Option<&Completion<'_, Item>>,
        context: &Context,
    ) -> StoreResult<Option<Item>> {
        if let (Some(group), None) = (&self.group, completion) {
            let grouped = group.create_item(owner_id, &item, context);
            if let Some(done) = grouped.instrument(db_span(BACKEND, "create_item")).await {
                return done;
            }
        }
        // Boxed: inline, this path's state would make every creation's future several KiB
        // larger, the grouped ones included, for as long as they wait for their commit.
        Box::pin(
            retrying("create_item", || async {
                self.try_create_item(owner_id, &item, completion, context)
                    .await
                    .map(Some)
            })
            .instrument(db_span(BACKEND, "create_item")),
        )
        .await?
        .into_result()
    }

    async fn claim_idempotency(
        &self,
        key_hash: &str,
        fingerprint: &str,
        now: PrimitiveDateTime,
        stale_before: PrimitiveDateTime,
        expired_before: PrimitiveDateTime,
    ) -> StoreResult<Claim> {
        retrying("claim_idempotency", || {
            self.try_claim(key_hash, fingerprint, now, stale_before, expired_before)
        })
        .instrument(db_span(BACKEND, "claim_idempotency"))
        .await
    }

    async fn release_idempotency(&self, key_hash: &str) -> StoreResult<()> {
        async {
            sqlx::query(sql!(
                Db,
                "DELETE FROM idempotency_records WHERE key_hash = ? AND complete = ?"
            ))
            .bind(key_hash.to_owned())
            .bind(false)
            .execute(&mut *self.conn().await?)
            .await?;
            Ok(())
        }
        .instrument(db_span(BACKEND, "release_idempotency"))
        .await
    }

    async fn purge_idempotency(&self, before: PrimitiveDateTime) -> StoreResult<u64> {
        async {
            let result = sqlx::query(sql!(
                Db,
                "DELETE FROM idempotency_records WHERE created_at < ?"
            ))
            .bind(<Db as Dialect>::timestamp(before))
            .execute(&mut *self.conn().await?)
            .await?;
            Ok(result.rows_affected())
        }
        .instrument(db_span(BACKEND, "purge_idempotency"))
        .await
    }

    async fn item(&self, owner_id: i64, item_id: i64) -> StoreResult<Option<Item>> {
        async {
            let statement = sql!(Db, ITEM_BY_ID);
            if let Some(found) = self
                .inline
                .as_ref()
                .and_then(|inline| inline.item(statement, owner_id, item_id))
            {
                return Ok(found);
            }
            Ok(sqlx::query_as::<Db, Item>(statement)
                .bind(item_id)
                .bind(owner_id)
                .fetch_optional(&mut *self.conn().await?)
                .await?)
        }
        .instrument(db_span(BACKEND, "item"))
        .await
    }

    async fn items(&self, filter: &ItemFilter) -> StoreResult<Vec<Item>> {
        async {
            if let Some(inline) = &self.inline {
                let sql = <Db as Dialect>::rewrite(&items_sql("", filter));
                if let Some(found) = inline.items(&sql, filter) {
                    return Ok(found);
                }
            }
            let rows = Self::items_query("", filter)
                .fetch_all(&mut *self.conn().await?)
                .await?;
            Ok(rows
                .iter()
                .map(Item::from_row)
                .collect::<sqlx::Result<Vec<_>>>()?)
        }
        .instrument(db_span(BACKEND, "items"))
        .await
    }

    async fn explain_items(&self, filter: &ItemFilter) -> StoreResult<String> {
        async {
            let rows = Self::items_query(<Db as Dialect>::EXPLAIN, filter)
                .fetch_all(&mut *self.conn().await?)
                .await?;
            Ok(rows
                .iter()
                .map(<Db as Dialect>::plan_line)
                .collect::<Vec<_>>()
                .join("\n"))
        }
        .instrument(db_span(BACKEND, "explain_items"))
        .await
    }

    async fn update_item(
        &self,
        owner_id: i64,
        item_id: i64,
        changes: ItemChanges,
        if_version: Option<i64>,
        context: &Context,
    ) -> StoreResult<Change<Item>> {
        if let Some(group) = &self.group {
            let grouped = group.update_item(owner_id, item_id, &changes, if_version, context);
            if let Some(done) = grouped.instrument(db_span(BACKEND, "update_item")).await {
                return done;
            }
        }
        // Boxed for the reason given in `create_item`.
        Box::pin(
            retrying("update_item", || {
                self.try_update_item(owner_id, item_id, &changes, if_version, context)
            })
            .instrument(db_span(BACKEND, "update_item")),
        )
        .await
    }

    async fn delete_item(
        &self,
        owner_id: i64,
        item_id: i64,
        if_version: Option<i64>,
        context: &Context,
    ) -> StoreResult<Change<()>> {
        if let Some(group) = &self.group {
            let grouped = group.delete_item(owner_id, item_id, if_version, context);
            if let Some(done) = grouped.instrument(db_span(BACKEND, "delete_item")).await {
                return done;
            }
        }
        // Boxed for the reason given in `create_item`.
        Box::pin(
            retrying("delete_item", || {
                self.try_delete_item(owner_id, item_id, if_version, context)
            })
            .instrument(db_span(BACKEND, "delete_item")),
        )
        .await
    }

    async fn export_rows(
        &self,
        sink: &mut dyn crate::store::rows::RowSink,
    ) -> Result<crate::store::rows::Counts, crate::store::rows::BulkError> {
        self.export_all(sink)
            .instrument(db_span(BACKEND, "export_rows"))
            .await
    }

    async fn import_rows(
        &self,
        source: &mut dyn crate::store::rows::RowSource,
        replace: bool,
    ) -> Result<crate::store::rows::Counts, crate::store::rows::BulkError> {
        self.import_all(source, replace)
            .instrument(db_span(BACKEND, "import_rows"))
            .await
    }

    async fn snapshot_into(
        &self,
        path: &std::path::Path,
    ) -> Result<crate::store::rows::SnapshotReport, crate::store::rows::BulkError> {
        <Db as Dialect>::snapshot_into(&self.pool, path)
            .instrument(db_span(BACKEND, "snapshot_into"))
            .await
    }
}

/// `statement` (`TOKEN_OWNER` or `TOKEN_OWNER_AND_ITEM`) bound with the token lookup's
/// values: the selector, `true`, the selector, `true`.
fn token_lookup(statement: &'static str, selector: &str) -> Query {
    sqlx::query(statement)
        .bind(selector.to_owned())
        .bind(true)
        .bind(selector.to_owned())
        .bind(true)
}

/// The token owner of a `TOKEN_OWNER` row (or the start of a `TOKEN_OWNER_AND_ITEM` one);
/// `None` for a user without a token.
fn token_owner(row: &<Db as sqlx::Database>::Row) -> sqlx::Result<Option<TokenOwner>> {
    let Some(token_hash) = row.try_get::<Option<String>, _>("caller_token_hash")? else {
        return Ok(None);
    };
    Ok(Some(TokenOwner {
        user_id: row.try_get("caller_id")?,
        is_admin: row.try_get("caller_is_admin")?,
        token_hash,
        // MySQL widens the boolean of a UNION to an integer.
        read_only: row
            .try_get::<bool, _>("caller_read_only")
            .or_else(|_| row.try_get::<i64, _>("caller_read_only").map(|n| n != 0))?,
        last_write_at: row.try_get("caller_last_write_at")?,
    }))
}
