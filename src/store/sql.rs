//! The portable store: every statement written once, stamped out for each backend by
//! `portable_store!` so that each gets concrete code (see the module doc of `store`).
//!
//! Concurrency (problem 3) uses row locks, not SERIALIZABLE with retries: a deletion locks
//! the user it deactivates and the heir it picks (`FOR UPDATE`), and an item creation holds a
//! shared lock on its owner (`FOR SHARE` / `LOCK IN SHARE MODE`) until it commits. So a
//! creation either commits first and its item is moved by the deletion, or waits and then
//! finds its owner inactive (`404`); concurrent deletions queue on the rows they share and
//! each picks its heir among the users still active. Locks make conflicting requests wait
//! instead of fail, behave the same on PostgreSQL and MySQL/MariaDB (whose SERIALIZABLE is
//! itself lock based), and leave only deadlocks to retry. SQLite has one writer at a time:
//! `BEGIN IMMEDIATE` takes that lock up front, which gives the same guarantees.

use std::time::Duration;

use rand::Rng;

/// Transactions that hit a deadlock or a busy database are run again this many times.
pub(super) const MAX_ATTEMPTS: u32 = 6;

pub(super) async fn backoff(attempt: u32) {
    let base = 5u64 << attempt.min(6);
    let jitter = rand::thread_rng().gen_range(0..=base);
    tokio::time::sleep(Duration::from_millis(base + jitter)).await;
}

/// Awaits a connection (or a transaction on one), recording the wait in
/// `db_pool_acquire_seconds`: a pool too small for the load shows there first.
pub(super) async fn acquiring<T>(acquire: impl std::future::Future<Output = T>) -> T {
    let started = std::time::Instant::now();
    let acquired = acquire.await;
    metrics::histogram!(crate::telemetry::metrics::POOL_ACQUIRE)
        .record(started.elapsed().as_secs_f64());
    acquired
}

/// A statement rewritten once per call site and backend into the dialect's placeholders,
/// optionally followed by a dialect clause (a row lock, `RETURNING id`).
macro_rules! sql {
    ($db:ty, $text:expr $(, $suffix:expr)?) => {{
        static REWRITTEN: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        REWRITTEN
            .get_or_init(|| {
                #[allow(unused_mut)]
                let mut text = <$db as $crate::store::dialect::Dialect>::rewrite($text);
                $(text.push_str($suffix);)?
                text
            })
            .as_str()
    }};
}

pub(super) const ITEM_COLUMNS: &str = "id, title, description, owner_id, created_at, done, version";

/// Builds the item listing (or its EXPLAIN) with the filter's conditions, in the order that
/// the indexes of the migrations serve: `(owner_id, [done,] created_at, id)` and
/// `([done,] created_at, id)`.
pub(super) fn items_sql(explain: &str, filter: &crate::domain::ItemFilter) -> String {
    let mut conditions = Vec::new();
    if filter.owner_id.is_some() {
        conditions.push("owner_id = ?");
    }
    if filter.done.is_some() {
        conditions.push("done = ?");
    }
    if filter.created.is_some() {
        conditions.push("created_at >= ?");
        conditions.push("created_at < ?");
    }
    let mut sql = format!("{explain}SELECT {ITEM_COLUMNS} FROM items");
    if !conditions.is_empty() {
        sql.push_str(" WHERE ");
        sql.push_str(&conditions.join(" AND "));
    }
    sql.push_str(" ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?");
    sql
}

macro_rules! portable_store {
    ($db:ty) => {
        pub(crate) use portable::SqlStore;

        mod portable {
        use sqlx::{Row as _, FromRow as _, AssertSqlSafe};
        use $crate::store::sql::sql;
        use $crate::domain::{Account, Item, ItemChanges, ItemFilter, NewItem, NewUser, Page, TokenOwner, User};
        use $crate::store::dialect::{self, Dialect};
        use $crate::store::sql::{MAX_ATTEMPTS, acquiring, backoff, items_sql};
        use $crate::store::{Backend, Change, Deactivation, PoolStats, Store, StoreResult};

        type Db = $db;
        type Args = <Db as sqlx::Database>::Arguments;

        pub(crate) struct SqlStore {
            pool: sqlx::Pool<Db>,
        }

        impl SqlStore {
            pub(crate) fn new(pool: sqlx::Pool<Db>) -> Self {
                Self { pool }
            }

            /// A pooled connection; the wait is measured (`db_pool_acquire_seconds`).
            async fn conn(&self) -> sqlx::Result<sqlx::pool::PoolConnection<Db>> {
                acquiring(self.pool.acquire()).await
            }

            /// A write transaction on a pooled connection; the wait is measured too.
            async fn begin(&self) -> sqlx::Result<sqlx::Transaction<'static, Db>> {
                acquiring(<Db as Dialect>::begin_write(&self.pool)).await
            }

            /// Runs an INSERT and returns the new row's id, by `RETURNING id` where the
            /// dialect has it and from the query result otherwise.
            async fn insert(
                conn: &mut <Db as sqlx::Database>::Connection,
                query: sqlx::query::Query<'_, Db, Args>,
            ) -> sqlx::Result<i64> {
                if <Db as Dialect>::RETURNING_ID {
                    query.fetch_one(&mut *conn).await?.try_get::<i64, _>(0)
                } else {
                    let result = query.execute(&mut *conn).await?;
                    Ok(<Db as Dialect>::inserted_id(&result))
                }
            }

            fn items_query(explain: &str, filter: &ItemFilter) -> sqlx::query::Query<'static, Db, Args> {
                let sql = <Db as Dialect>::rewrite(&items_sql(explain, filter));
                let mut query = sqlx::query(AssertSqlSafe(sql));
                if let Some(owner) = filter.owner_id {
                    query = query.bind(owner);
                }
                if let Some(done) = filter.done {
                    query = query.bind(done);
                }
                if let Some((start, end)) = filter.created {
                    query = query.bind(<Db as Dialect>::timestamp(start)).bind(<Db as Dialect>::timestamp(end));
                }
                query.bind(filter.page.limit).bind(filter.page.skip)
            }

            async fn items_of(&self, owners: &[i64]) -> sqlx::Result<Vec<Item>> {
                if owners.is_empty() {
                    return Ok(Vec::new());
                }
                let marks = vec!["?"; owners.len()].join(", ");
                let sql = format!(
                    "SELECT {} FROM items WHERE owner_id IN ({marks}) ORDER BY owner_id, id",
                    $crate::store::sql::ITEM_COLUMNS
                );
                let mut query = sqlx::query_as::<Db, Item>(AssertSqlSafe(<Db as Dialect>::rewrite(&sql)));
                for owner in owners {
                    query = query.bind(*owner);
                }
                query.fetch_all(&mut *self.conn().await?).await
            }

            async fn with_items(&self, accounts: Vec<Account>) -> sqlx::Result<Vec<User>> {
                let ids: Vec<i64> = accounts.iter().map(|a| a.id).collect();
                let mut items = self.items_of(&ids).await?.into_iter().peekable();
                let mut users = Vec::with_capacity(accounts.len());
                for account in accounts {
                    let mut own = Vec::new();
                    while let Some(item) = items.next_if(|item| item.owner_id == account.id) {
                        own.push(item);
                    }
                    users.push(User { email: account.email, id: account.id, is_active: account.is_active, items: own });
                }
                Ok(users)
            }

            /// One attempt; `Ok(None)` asks the caller to start over (see `deactivate_user`).
            async fn try_deactivate(&self, id: i64) -> sqlx::Result<Option<Deactivation>> {
                let mut tx = self.begin().await?;
                let target = sqlx::query_as::<Db, Account>(sql!(
                    Db,
                    "SELECT id, email, is_active, is_admin FROM users WHERE id = ? AND is_active = ?",
                    <Db as Dialect>::FOR_UPDATE
                ))
                .bind(id)
                .bind(true)
                .fetch_optional(&mut *tx)
                .await?;
                let Some(target) = target else { return Ok(Some(Deactivation::NotFound)) };

                let heir: Option<i64> = sqlx::query_scalar(sql!(
                    Db,
                    "SELECT id FROM users WHERE is_active = ? AND id <> ? ORDER BY id LIMIT 1",
                    <Db as Dialect>::FOR_UPDATE
                ))
                .bind(true)
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
                let Some(heir_id) = heir else {
                    // PostgreSQL skips a locked row that stopped matching while we waited for
                    // it rather than moving on to the next one, so "nobody left" is only
                    // trusted when a plain read agrees; otherwise start over.
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

                sqlx::query(sql!(Db, "UPDATE users SET is_active = ? WHERE id = ?"))
                    .bind(false)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(sql!(Db, "UPDATE items SET owner_id = ?, version = version + 1 WHERE owner_id = ?"))
                    .bind(heir_id)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                let user = User { email: target.email, id: target.id, is_active: false, items: Vec::new() };
                Ok(Some(Deactivation::Done { user, heir_id }))
            }

            async fn try_create_item(&self, owner_id: i64, item: &NewItem) -> sqlx::Result<Option<Item>> {
                let mut tx = self.begin().await?;
                let owner: Option<i64> = sqlx::query_scalar(sql!(
                    Db,
                    "SELECT id FROM users WHERE id = ? AND is_active = ?",
                    <Db as Dialect>::FOR_SHARE
                ))
                .bind(owner_id)
                .bind(true)
                .fetch_optional(&mut *tx)
                .await?;
                if owner.is_none() {
                    return Ok(None);
                }
                let insert = sqlx::query(sql!(
                    Db,
                    "INSERT INTO items (title, description, owner_id, created_at, done, version) \
                     VALUES (?, ?, ?, ?, ?, ?)",
                    if <Db as Dialect>::RETURNING_ID { " RETURNING id" } else { "" }
                ))
                .bind(item.title.clone())
                .bind(item.description.clone())
                .bind(owner_id)
                .bind(<Db as Dialect>::timestamp(item.created_at))
                .bind(false)
                .bind(1i64);
                let id = Self::insert(&mut tx, insert).await?;
                tx.commit().await?;
                Ok(Some(Item {
                    title: item.title.clone(),
                    description: item.description.clone(),
                    id,
                    owner_id,
                    created_at: item.created_at,
                    done: false,
                    version: 1,
                }))
            }

            /// Locks the item for a read-modify-write and checks `If-Match`.
            async fn lock_item(
                tx: &mut sqlx::Transaction<'static, Db>,
                owner_id: i64,
                item_id: i64,
                if_version: Option<i64>,
            ) -> sqlx::Result<Change<Item>> {
                let current = sqlx::query_as::<Db, Item>(sql!(
                    Db,
                    "SELECT id, title, description, owner_id, created_at, done, version \
                     FROM items WHERE id = ? AND owner_id = ?",
                    <Db as Dialect>::FOR_UPDATE
                ))
                .bind(item_id)
                .bind(owner_id)
                .fetch_optional(&mut **tx)
                .await?;
                Ok(match current {
                    None => Change::NotFound,
                    Some(item) if if_version.is_some_and(|v| v != item.version) => Change::Stale,
                    Some(item) => Change::Done(item),
                })
            }

            async fn try_update_item(
                &self,
                owner_id: i64,
                item_id: i64,
                changes: &ItemChanges,
                if_version: Option<i64>,
            ) -> sqlx::Result<Change<Item>> {
                let mut tx = self.begin().await?;
                let mut item = match Self::lock_item(&mut tx, owner_id, item_id, if_version).await? {
                    Change::Done(item) => item,
                    Change::NotFound => return Ok(Change::NotFound),
                    Change::Stale => return Ok(Change::Stale),
                };
                if changes.is_empty() {
                    return Ok(Change::Done(item));
                }
                if let Some(title) = &changes.title {
                    item.title = title.clone();
                }
                if let Some(description) = &changes.description {
                    item.description = Some(description.clone());
                }
                if let Some(done) = changes.done {
                    item.done = done;
                }
                item.version += 1;
                sqlx::query(sql!(Db, "UPDATE items SET title = ?, description = ?, done = ?, version = ? WHERE id = ?"))
                    .bind(item.title.clone())
                    .bind(item.description.clone())
                    .bind(item.done)
                    .bind(item.version)
                    .bind(item.id)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(Change::Done(item))
            }

            async fn try_delete_item(&self, owner_id: i64, item_id: i64, if_version: Option<i64>) -> sqlx::Result<Change<()>> {
                let mut tx = self.begin().await?;
                match Self::lock_item(&mut tx, owner_id, item_id, if_version).await? {
                    Change::Done(_) => {}
                    Change::NotFound => return Ok(Change::NotFound),
                    Change::Stale => return Ok(Change::Stale),
                }
                sqlx::query(sql!(Db, "DELETE FROM items WHERE id = ?")).bind(item_id).execute(&mut *tx).await?;
                tx.commit().await?;
                Ok(Change::Done(()))
            }
        }

        /// Runs a write transaction again after a deadlock or a busy database.
        macro_rules! retrying {
            ($attempt:expr) => {{
                let mut attempt = 0;
                loop {
                    match $attempt {
                        Err(err) if dialect::is_retryable(&err) && attempt + 1 < MAX_ATTEMPTS => {
                            attempt += 1;
                            backoff(attempt).await;
                        }
                        result => break result,
                    }
                }
            }};
        }

        #[async_trait::async_trait]
        impl Store for SqlStore {
            fn backend(&self) -> Backend {
                <Db as Dialect>::BACKEND
            }

            #[tracing::instrument(name = "db", skip_all, fields(db.system = <Db as Dialect>::BACKEND.name(), db.operation = "migrate"))]
            async fn migrate(&self) -> StoreResult<()> {
                <Db as Dialect>::migrate(&self.pool).await
            }

            #[tracing::instrument(name = "db", skip_all, fields(db.system = <Db as Dialect>::BACKEND.name(), db.operation = "ping"))]
            async fn ping(&self) -> StoreResult<()> {
                sqlx::query("SELECT 1").execute(&mut *self.conn().await?).await?;
                Ok(())
            }

            fn pool_stats(&self) -> PoolStats {
                PoolStats {
                    size: self.pool.size(),
                    idle: u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX),
                    max: self.pool.options().get_max_connections(),
                }
            }

            #[tracing::instrument(name = "db", skip_all, fields(db.system = <Db as Dialect>::BACKEND.name(), db.operation = "close"))]
            async fn close(&self) {
                self.pool.close().await;
            }

            #[tracing::instrument(name = "db", skip_all, fields(db.system = <Db as Dialect>::BACKEND.name(), db.operation = "create_user"))]
            async fn create_user(&self, user: NewUser) -> StoreResult<Option<Account>> {
                let insert = sqlx::query(sql!(
                    Db,
                    "INSERT INTO users (email, hashed_password, is_active, is_admin, token_selector, token_hash) \
                     VALUES (?, ?, ?, ?, ?, ?)",
                    if <Db as Dialect>::RETURNING_ID { " RETURNING id" } else { "" }
                ))
                .bind(user.email.clone())
                .bind(user.password_hash)
                .bind(true)
                .bind(user.is_admin)
                .bind(user.token_selector)
                .bind(user.token_hash);
                let mut conn = self.conn().await?;
                match Self::insert(&mut conn, insert).await {
                    Ok(id) => Ok(Some(Account { id, email: user.email, is_active: true, is_admin: user.is_admin })),
                    Err(sqlx::Error::Database(err)) if err.is_unique_violation() => Ok(None),
                    Err(err) => Err(err.into()),
                }
            }

            #[tracing::instrument(name = "db", skip_all, fields(db.system = <Db as Dialect>::BACKEND.name(), db.operation = "account_by_email"))]
            async fn account_by_email(&self, email: &str) -> StoreResult<Option<Account>> {
                Ok(sqlx::query_as::<Db, Account>(sql!(Db, "SELECT id, email, is_active, is_admin FROM users WHERE email = ?"))
                    .bind(email.to_owned())
                    .fetch_optional(&mut *self.conn().await?)
                    .await?)
            }

            #[tracing::instrument(name = "db", skip_all, fields(db.system = <Db as Dialect>::BACKEND.name(), db.operation = "account"))]
            async fn account(&self, id: i64) -> StoreResult<Option<Account>> {
                Ok(sqlx::query_as::<Db, Account>(sql!(Db, "SELECT id, email, is_active, is_admin FROM users WHERE id = ?"))
                    .bind(id)
                    .fetch_optional(&mut *self.conn().await?)
                    .await?)
            }

            #[tracing::instrument(name = "db", skip_all, fields(db.system = <Db as Dialect>::BACKEND.name(), db.operation = "accounts"))]
            async fn accounts(&self) -> StoreResult<Vec<Account>> {
                Ok(sqlx::query_as::<Db, Account>(sql!(Db, "SELECT id, email, is_active, is_admin FROM users ORDER BY id"))
                    .fetch_all(&mut *self.conn().await?)
                    .await?)
            }

            #[tracing::instrument(name = "db", skip_all, fields(db.system = <Db as Dialect>::BACKEND.name(), db.operation = "set_admin"))]
            async fn set_admin(&self, id: i64, admin: bool) -> StoreResult<bool> {
                let result = sqlx::query(sql!(Db, "UPDATE users SET is_admin = ? WHERE id = ?"))
                    .bind(admin)
                    .bind(id)
                    .execute(&mut *self.conn().await?)
                    .await?;
                Ok(result.rows_affected() > 0)
            }

            #[tracing::instrument(name = "db", skip_all, fields(db.system = <Db as Dialect>::BACKEND.name(), db.operation = "token_owner"))]
            async fn token_owner(&self, selector: &str) -> StoreResult<Option<TokenOwner>> {
                let row = sqlx::query(sql!(
                    Db,
                    "SELECT id, is_admin, token_hash FROM users WHERE token_selector = ? AND is_active = ?"
                ))
                .bind(selector.to_owned())
                .bind(true)
                .fetch_optional(&mut *self.conn().await?)
                .await?;
                let Some(row) = row else { return Ok(None) };
                let hash: Option<String> = row.try_get("token_hash")?;
                Ok(hash.map(|token_hash| TokenOwner {
                    user_id: row.try_get("id").unwrap_or_default(),
                    is_admin: row.try_get("is_admin").unwrap_or_default(),
                    token_hash,
                }))
            }

            #[tracing::instrument(name = "db", skip_all, fields(db.system = <Db as Dialect>::BACKEND.name(), db.operation = "set_token"))]
            async fn set_token(&self, user_id: i64, selector: &str, hash: &str) -> StoreResult<bool> {
                let result = sqlx::query(sql!(
                    Db,
                    "UPDATE users SET token_selector = ?, token_hash = ? WHERE id = ? AND is_active = ?"
                ))
                .bind(selector.to_owned())
                .bind(hash.to_owned())
                .bind(user_id)
                .bind(true)
                .execute(&mut *self.conn().await?)
                .await?;
                Ok(result.rows_affected() > 0)
            }

            #[tracing::instrument(name = "db", skip_all, fields(db.system = <Db as Dialect>::BACKEND.name(), db.operation = "upgrade_token_hash"))]
            async fn upgrade_token_hash(&self, selector: &str, old_hash: &str, new_hash: &str) -> StoreResult<()> {
                sqlx::query(sql!(Db, "UPDATE users SET token_hash = ? WHERE token_selector = ? AND token_hash = ?"))
                    .bind(new_hash.to_owned())
                    .bind(selector.to_owned())
                    .bind(old_hash.to_owned())
                    .execute(&mut *self.conn().await?)
                    .await?;
                Ok(())
            }

            #[tracing::instrument(name = "db", skip_all, fields(db.system = <Db as Dialect>::BACKEND.name(), db.operation = "password_hash"))]
            async fn password_hash(&self, user_id: i64) -> StoreResult<Option<String>> {
                Ok(sqlx::query_scalar(sql!(Db, "SELECT hashed_password FROM users WHERE id = ? AND is_active = ?"))
                    .bind(user_id)
                    .bind(true)
                    .fetch_optional(&mut *self.conn().await?)
                    .await?)
            }

            #[tracing::instrument(name = "db", skip_all, fields(db.system = <Db as Dialect>::BACKEND.name(), db.operation = "set_password_hash"))]
            async fn set_password_hash(&self, user_id: i64, hash: &str) -> StoreResult<()> {
                sqlx::query(sql!(Db, "UPDATE users SET hashed_password = ? WHERE id = ?"))
                    .bind(hash.to_owned())
                    .bind(user_id)
                    .execute(&mut *self.conn().await?)
                    .await?;
                Ok(())
            }

            #[tracing::instrument(name = "db", skip_all, fields(db.system = <Db as Dialect>::BACKEND.name(), db.operation = "user"))]
            async fn user(&self, id: i64) -> StoreResult<Option<User>> {
                let account = sqlx::query_as::<Db, Account>(sql!(
                    Db,
                    "SELECT id, email, is_active, is_admin FROM users WHERE id = ? AND is_active = ?"
                ))
                .bind(id)
                .bind(true)
                .fetch_optional(&mut *self.conn().await?)
                .await?;
                let Some(account) = account else { return Ok(None) };
                Ok(self.with_items(vec![account]).await?.pop())
            }

            #[tracing::instrument(name = "db", skip_all, fields(db.system = <Db as Dialect>::BACKEND.name(), db.operation = "users"))]
            async fn users(&self, page: Page) -> StoreResult<Vec<User>> {
                let accounts = sqlx::query_as::<Db, Account>(sql!(
                    Db,
                    "SELECT id, email, is_active, is_admin FROM users WHERE is_active = ? ORDER BY id LIMIT ? OFFSET ?"
                ))
                .bind(true)
                .bind(page.limit)
                .bind(page.skip)
                .fetch_all(&mut *self.conn().await?)
                .await?;
                Ok(self.with_items(accounts).await?)
            }

            #[tracing::instrument(name = "db", skip_all, fields(db.system = <Db as Dialect>::BACKEND.name(), db.operation = "deactivate_user"))]
            async fn deactivate_user(&self, id: i64) -> StoreResult<Deactivation> {
                let mut attempt = 0;
                loop {
                    match retrying!(self.try_deactivate(id).await)? {
                        Some(outcome) => return Ok(outcome),
                        None if attempt + 1 < MAX_ATTEMPTS => {
                            attempt += 1;
                            backoff(attempt).await;
                        }
                        None => return Err(sqlx::Error::BeginFailed.into()),
                    }
                }
            }

            #[tracing::instrument(name = "db", skip_all, fields(db.system = <Db as Dialect>::BACKEND.name(), db.operation = "create_item"))]
            async fn create_item(&self, owner_id: i64, item: NewItem) -> StoreResult<Option<Item>> {
                Ok(retrying!(self.try_create_item(owner_id, &item).await)?)
            }

            #[tracing::instrument(name = "db", skip_all, fields(db.system = <Db as Dialect>::BACKEND.name(), db.operation = "item"))]
            async fn item(&self, owner_id: i64, item_id: i64) -> StoreResult<Option<Item>> {
                Ok(sqlx::query_as::<Db, Item>(sql!(
                    Db,
                    "SELECT id, title, description, owner_id, created_at, done, version FROM items WHERE id = ? AND owner_id = ?"
                ))
                .bind(item_id)
                .bind(owner_id)
                .fetch_optional(&mut *self.conn().await?)
                .await?)
            }

            #[tracing::instrument(name = "db", skip_all, fields(db.system = <Db as Dialect>::BACKEND.name(), db.operation = "items"))]
            async fn items(&self, filter: &ItemFilter) -> StoreResult<Vec<Item>> {
                let rows = Self::items_query("", filter).fetch_all(&mut *self.conn().await?).await?;
                Ok(rows.iter().map(Item::from_row).collect::<sqlx::Result<Vec<_>>>()?)
            }

            #[tracing::instrument(name = "db", skip_all, fields(db.system = <Db as Dialect>::BACKEND.name(), db.operation = "explain_items"))]
            async fn explain_items(&self, filter: &ItemFilter) -> StoreResult<String> {
                let rows = Self::items_query(<Db as Dialect>::EXPLAIN, filter).fetch_all(&mut *self.conn().await?).await?;
                Ok(rows.iter().map(<Db as Dialect>::plan_line).collect::<Vec<_>>().join("\n"))
            }

            #[tracing::instrument(name = "db", skip_all, fields(db.system = <Db as Dialect>::BACKEND.name(), db.operation = "update_item"))]
            async fn update_item(
                &self,
                owner_id: i64,
                item_id: i64,
                changes: ItemChanges,
                if_version: Option<i64>,
            ) -> StoreResult<Change<Item>> {
                Ok(retrying!(self.try_update_item(owner_id, item_id, &changes, if_version).await)?)
            }

            #[tracing::instrument(name = "db", skip_all, fields(db.system = <Db as Dialect>::BACKEND.name(), db.operation = "delete_item"))]
            async fn delete_item(&self, owner_id: i64, item_id: i64, if_version: Option<i64>) -> StoreResult<Change<()>> {
                Ok(retrying!(self.try_delete_item(owner_id, item_id, if_version).await)?)
            }
        }
        }
    };
}

pub(crate) use portable_store;
pub(crate) use sql;
