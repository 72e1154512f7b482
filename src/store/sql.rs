//! What the portable store's statements share: the statement cache, the column lists, the
//! item listing's SQL, retries of write transactions, and instrumentation.

use std::future::Future;
use std::time::Duration;

use rand::Rng;

use super::dialect::{self, Backend};
use super::{StoreError, StoreResult};

/// Transactions that hit a deadlock or a busy database are run again this many times.
pub(super) const MAX_ATTEMPTS: u32 = 6;

async fn backoff(attempt: u32) {
    let base = 5u64 << attempt.min(6);
    let jitter = rand::thread_rng().gen_range(0..=base);
    tokio::time::sleep(Duration::from_millis(base + jitter)).await;
}

/// Runs a write transaction until it commits: again after a deadlock or a busy database,
/// and again when the attempt itself asks to start over (`Ok(None)`), up to `MAX_ATTEMPTS`.
pub(super) async fn retrying<T, Fut>(
    operation: &'static str,
    mut attempt: impl FnMut() -> Fut,
) -> StoreResult<T>
where
    Fut: Future<Output = sqlx::Result<Option<T>>>,
{
    for n in 1..=MAX_ATTEMPTS {
        match attempt().await {
            Ok(Some(done)) => return Ok(done),
            Ok(None) => {}
            Err(err) if dialect::is_retryable(&err) => {}
            Err(err) => return Err(err.into()),
        }
        if n < MAX_ATTEMPTS {
            backoff(n).await;
        }
    }
    Err(StoreError::Contention {
        operation,
        attempts: MAX_ATTEMPTS,
    })
}

/// A connection idle for longer than this is pinged before use.
const PING_IF_IDLE_FOR: Duration = Duration::from_secs(5);

/// Pool options without sqlx's ping on every acquire, a round trip per use that doubled
/// the database round trips of a request. sqlx still pings every connection on its
/// return to the pool (which discards a broken one), and a connection that sat idle long
/// enough to have been cut (a database restart, a proxy's idle timeout) is pinged first.
pub(super) fn lean_pool<DB: sqlx::Database>() -> sqlx::pool::PoolOptions<DB> {
    sqlx::pool::PoolOptions::new()
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for > PING_IF_IDLE_FOR {
                    sqlx::Connection::ping(conn).await?;
                }
                Ok(true)
            })
        })
}

/// The span of one store call (exported as an OpenTelemetry span when tracing is on).
pub(super) fn db_span(backend: Backend, operation: &'static str) -> tracing::Span {
    tracing::info_span!("db", db.system = backend.name(), db.operation = operation)
}

/// Awaits a connection (or a transaction on one), recording the wait in
/// `db_pool_acquire_seconds`: a pool too small for the load shows there first.
pub(super) async fn acquiring<T>(acquire: impl Future<Output = T>) -> T {
    let started = std::time::Instant::now();
    let acquired = acquire.await;
    metrics::histogram!(crate::telemetry::names::POOL_ACQUIRE)
        .record(started.elapsed().as_secs_f64());
    acquired
}

/// A statement rewritten once per call site and backend into the dialect's placeholders,
/// optionally followed by a dialect clause (a row lock).
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
pub(crate) use sql;

/// The columns an `Item` is read from (a macro so that `concat!` can build statements).
macro_rules! item_columns {
    () => {
        "id, title, description, owner_id, created_at, done, version"
    };
}

/// The columns an `Account` is read from.
macro_rules! account_columns {
    () => {
        "id, email, is_active, is_admin"
    };
}
pub(crate) use account_columns;

pub(super) const ITEM_COLUMNS: &str = item_columns!();

pub(crate) const ACCOUNT_BY_ID: &str =
    concat!("SELECT ", account_columns!(), " FROM users WHERE id = ?");

/// The token lookup (a macro so that `concat!` can nest it). Its columns are named for the
/// caller, so that they keep their names beside an item's (`TOKEN_OWNER_AND_ITEM`).
macro_rules! token_owner {
    () => {
        "SELECT id AS caller_id, is_admin AS caller_is_admin, token_hash AS caller_token_hash, \
         FALSE AS caller_read_only, last_write_at AS caller_last_write_at \
         FROM users WHERE token_selector = ? AND is_active = ? \
         UNION ALL SELECT u.id, u.is_admin, t.token_hash, t.read_only, u.last_write_at \
         FROM api_tokens t JOIN users u ON u.id = t.user_id \
         WHERE t.selector = ? AND u.is_active = ?"
    };
}

/// The token lookup: the primary token (in users) or a named one (api_tokens), in one round
/// trip; bound with the selector, `true`, the selector, `true`.
pub(super) const TOKEN_OWNER: &str = token_owner!();

/// The token lookup and one item in one round trip: a row per token owner (none for an
/// unknown token), its five columns first, then the item's, NULL when the item does not
/// exist. Bound as `TOKEN_OWNER`, then with the item's id and its owner's. The item is read
/// whoever the token names: the caller verifies the token and authorizes before it uses it.
pub(super) const TOKEN_OWNER_AND_ITEM: &str = concat!(
    "SELECT o.*, i.id, i.title, i.description, i.owner_id, i.created_at, i.done, i.version \
     FROM (",
    token_owner!(),
    ") o LEFT JOIN items i ON i.id = ? AND i.owner_id = ?"
);

/// One item; bound with the item's id, then its owner's.
pub(super) const ITEM_BY_ID: &str = concat!(
    "SELECT ",
    item_columns!(),
    " FROM items WHERE id = ? AND owner_id = ?"
);

/// Records that a user wrote just now, unless it did within the granularity; bound with the
/// time, the user's id and the time the granularity ago (see `begin_change`).
pub(super) const RECORD_LAST_WRITE: &str = "UPDATE users SET last_write_at = ? \
     WHERE id = ? AND (last_write_at IS NULL OR last_write_at < ?)";

/// A user who is active, by id; bound with the id and `true` (the row lock is the dialect's).
pub(super) const ACTIVE_USER: &str = "SELECT id FROM users WHERE id = ? AND is_active = ?";

/// A new item; bound with its title, description, owner, creation time, `false` and 1.
pub(super) const INSERT_ITEM: &str = "INSERT INTO items (title, description, owner_id, created_at, done, version) \
     VALUES (?, ?, ?, ?, ?, ?)";

/// An item's next version; bound with its title, description, done, version and id.
pub(super) const UPDATE_ITEM: &str =
    "UPDATE items SET title = ?, description = ?, done = ?, version = ? WHERE id = ?";

/// Deletes an item; bound with its id.
pub(super) const DELETE_ITEM: &str = "DELETE FROM items WHERE id = ?";

/// An audit record; bound with its time, actor, action, object type, object id, subject id
/// and request id.
pub(super) const INSERT_AUDIT_EVENT: &str = "INSERT INTO audit_events \
     (at, actor_id, action, object_type, object_id, subject_id, request_id) \
     VALUES (?, ?, ?, ?, ?, ?, ?)";

/// The client address of an audit record; bound with the record's id, the user it belongs
/// to and the address.
pub(super) const INSERT_AUDIT_IP: &str =
    "INSERT INTO audit_client_ips (event_id, user_id, ip) VALUES (?, ?, ?)";

/// A value of the item listing's placeholders.
pub(super) enum ListingValue {
    Int(i64),
    Bool(bool),
    At(time::PrimitiveDateTime),
}

/// The values of `items_sql`'s placeholders for `filter`, in their order.
pub(super) fn items_values(filter: &crate::domain::ItemFilter) -> Vec<ListingValue> {
    let mut values = Vec::with_capacity(8);
    if let Some(owner) = filter.owner_id {
        values.push(ListingValue::Int(owner));
    }
    if let Some(done) = filter.done {
        values.push(ListingValue::Bool(done));
    }
    if let Some((start, end)) = filter.created {
        values.extend([ListingValue::At(start), ListingValue::At(end)]);
    }
    if let Some((at, id)) = filter.before {
        values.extend([
            ListingValue::At(at),
            ListingValue::At(at),
            ListingValue::Int(id),
        ]);
    }
    values.extend([
        ListingValue::Int(filter.page.limit),
        ListingValue::Int(filter.page.skip),
    ]);
    values
}

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
    if filter.before.is_some() {
        // A range on created_at the indexes serve, then the ties by id.
        conditions.push("created_at <= ?");
        conditions.push("(created_at < ? OR id < ?)");
    }
    let mut sql = format!("{explain}SELECT {ITEM_COLUMNS} FROM items");
    if !conditions.is_empty() {
        sql.push_str(" WHERE ");
        sql.push_str(&conditions.join(" AND "));
    }
    sql.push_str(" ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?");
    sql
}
