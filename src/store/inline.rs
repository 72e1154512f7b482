//! SQLite reads on the request's own thread: the token lookup, one account, one item and the
//! item listings, the reads behind nearly every request.
//!
//! sqlx runs every SQLite connection on a worker thread of its own and sends each statement
//! there and each row back: two thread hops per statement, and on a server with one core each
//! hop is a context switch, which cost more than the query (a point read from SQLite's page
//! cache takes microseconds). So these reads go through `rusqlite` instead, on the calling
//! thread, with prepared statements cached per connection, from a small set of read-only
//! connections kept here. It links the same `libsqlite3-sys` as sqlx (one SQLite library in
//! the binary), reads the same file in WAL mode beside sqlx's writer and runs the same SQL
//! text as the portable store.
//!
//! The calls block their thread for the time of one read: WAL readers never wait for the
//! writer, and the statements are the indexed ones of the API, so that time is the query's.
//! A read here that fails in any way (the busy timeout, a value it cannot decode) is answered
//! `None`, and the caller runs the same read through sqlx, which reports errors the way every
//! other store call does; so this path can only be faster, never different.
//!
//! Not for `:memory:` databases, whose every connection is a database of its own.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OpenFlags, Row};
use time::PrimitiveDateTime;
use time::macros::format_description;

use crate::domain::{Account, Item, ItemFilter, TokenOwner};
use crate::store::dialect::Dialect;
use crate::store::sql::{ListingValue, items_values};

/// The connections kept for reuse; more are opened while more threads read at once (at most
/// one per thread, since a read never yields), and all of them are kept.
pub(crate) struct InlineReads {
    path: PathBuf,
    busy_timeout: Duration,
    idle: Mutex<Vec<Connection>>,
}

impl InlineReads {
    pub(crate) fn new(path: PathBuf, busy_timeout: Duration) -> Self {
        Self {
            path,
            busy_timeout,
            idle: Mutex::new(Vec::new()),
        }
    }

    fn open(&self) -> rusqlite::Result<Connection> {
        let conn = open_file(&self.path, self.busy_timeout)?;
        // Read-write only so that a WAL reader can maintain the shared-memory index; this
        // connection never writes.
        conn.pragma_update(None, "query_only", true)?;
        conn.set_prepared_statement_cache_capacity(32);
        Ok(conn)
    }

    /// Runs `read` on a kept connection; `None` when anything failed (logged at debug).
    fn with<T>(
        &self,
        what: &str,
        read: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Option<T> {
        let kept = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let conn = match kept.map_or_else(|| self.open(), Ok) {
            Ok(conn) => conn,
            Err(err) => {
                tracing::debug!(error = %err, what, "inline SQLite read unavailable");
                return None;
            }
        };
        let result = read(&conn);
        self.idle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(conn);
        result
            .map_err(|err| tracing::debug!(error = %err, what, "inline SQLite read failed"))
            .ok()
    }

    pub(crate) fn token_owner(&self, sql: &str, selector: &str) -> Option<Option<TokenOwner>> {
        self.with("token_owner", |conn| {
            let mut statement = conn.prepare_cached(sql)?;
            let mut rows = statement.query((selector, true, selector, true))?;
            match rows.next()? {
                Some(row) => token_owner(row),
                None => Ok(None),
            }
        })
    }

    /// `sql` is `store::sql::TOKEN_OWNER_AND_ITEM`.
    pub(crate) fn token_owner_and_item(
        &self,
        sql: &str,
        selector: &str,
        owner_id: i64,
        item_id: i64,
    ) -> Option<Option<(TokenOwner, Option<Item>)>> {
        self.with("token_owner_and_item", |conn| {
            let mut statement = conn.prepare_cached(sql)?;
            let mut rows = statement.query((selector, true, selector, true, item_id, owner_id))?;
            let Some(row) = rows.next()? else {
                return Ok(None);
            };
            let Some(owner) = token_owner(row)? else {
                return Ok(None);
            };
            // The caller's five columns come first (`TOKEN_OWNER_AND_ITEM`).
            let found = match row.get::<_, Option<i64>>("id")? {
                Some(_) => Some(item_from(row, 5)?),
                None => None,
            };
            Ok(Some((owner, found)))
        })
    }

    /// The account of `id` (`sql` selects `account_columns!`; a listing checks its owner).
    pub(crate) fn account(&self, sql: &str, id: i64) -> Option<Option<Account>> {
        self.with("account", |conn| {
            let mut statement = conn.prepare_cached(sql)?;
            let mut rows = statement.query([id])?;
            let Some(row) = rows.next()? else {
                return Ok(None);
            };
            Ok(Some(Account {
                id: row.get("id")?,
                email: row.get("email")?,
                is_active: row.get("is_active")?,
                is_admin: row.get("is_admin")?,
            }))
        })
    }

    pub(crate) fn item(&self, sql: &str, owner_id: i64, item_id: i64) -> Option<Option<Item>> {
        self.with("item", |conn| {
            let mut statement = conn.prepare_cached(sql)?;
            let mut rows = statement.query((item_id, owner_id))?;
            rows.next()?.map(item).transpose()
        })
    }

    /// The listing of `sql` (`store::sql::items_sql`), with `filter`'s values
    /// (`store::sql::items_values`).
    pub(crate) fn items(&self, sql: &str, filter: &ItemFilter) -> Option<Vec<Item>> {
        let values = items_values(filter).into_iter().map(|value| match value {
            ListingValue::Int(n) => SqlValue::Integer(n),
            ListingValue::Bool(b) => SqlValue::Integer(i64::from(b)),
            ListingValue::At(at) => SqlValue::Text(<sqlx::Sqlite as Dialect>::timestamp(at)),
        });
        self.with("items", |conn| {
            let mut statement = conn.prepare_cached(sql)?;
            let rows = statement.query(rusqlite::params_from_iter(values))?;
            rows.and_then(item).collect()
        })
    }
}

/// A rusqlite connection to the existing SQLite file at `path`, used by one thread at a time
/// (no SQLite mutex), waiting up to `busy_timeout` for a lock.
pub(super) fn open_file(path: &Path, busy_timeout: Duration) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(busy_timeout)?;
    Ok(conn)
}

/// The token owner of a `store::sql::TOKEN_OWNER` row (or the start of a
/// `TOKEN_OWNER_AND_ITEM` one); `None` for a user without a token.
fn token_owner(row: &Row<'_>) -> rusqlite::Result<Option<TokenOwner>> {
    let Some(token_hash) = row.get::<_, Option<String>>("caller_token_hash")? else {
        return Ok(None);
    };
    Ok(Some(TokenOwner {
        user_id: row.get("caller_id")?,
        is_admin: row.get("caller_is_admin")?,
        token_hash,
        read_only: row.get("caller_read_only")?,
        last_write_at: row
            .get::<_, Option<String>>("caller_last_write_at")?
            .as_deref()
            .map(timestamp)
            .transpose()?,
    }))
}

/// A row of `store::sql::ITEM_COLUMNS`, by position: looking each column up by name cost
/// more than the query (a name search and a `strlen` per column and row, 14 % of a listing's
/// profile).
pub(super) fn item(row: &Row<'_>) -> rusqlite::Result<Item> {
    item_from(row, 0)
}

/// The item whose columns start at `first`, in `item_columns!`'s order.
fn item_from(row: &Row<'_>, first: usize) -> rusqlite::Result<Item> {
    Ok(Item {
        id: row.get(first)?,
        title: row.get(first + 1)?,
        description: row.get(first + 2)?,
        owner_id: row.get(first + 3)?,
        created_at: timestamp(row.get_ref(first + 4)?.as_str()?)?,
        done: row.get(first + 5)?,
        version: row.get(first + 6)?,
    })
}

/// The text forms a timestamp has in our SQLite files: ours (`2023-01-03 12:00:00`) and
/// SQLAlchemy's (with microseconds), also with a `T`. Anything else is an error, and sqlx,
/// which knows more forms, reads the row instead.
fn timestamp(text: &str) -> rusqlite::Result<PrimitiveDateTime> {
    if let Some(at) = crate::domain::parse_whole_seconds(text) {
        return Ok(at);
    }
    let normalized;
    let text = if text.as_bytes().get(10) == Some(&b'T') {
        normalized = text.replacen('T', " ", 1);
        &normalized
    } else {
        text
    };
    let whole = super::sqlite::TEXT_TIMESTAMP;
    let fraction = format_description!("[year]-[month]-[day] [hour]:[minute]:[second].[subsecond]");
    PrimitiveDateTime::parse(text, whole)
        .or_else(|_| PrimitiveDateTime::parse(text, fraction))
        .map_err(|err| {
            rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, err.into())
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::Context;
    use crate::domain::{NewItem, NewUser, Page};
    use crate::store::DbSettings;

    /// On the real schema, written through the store (sqlx): the inline reads answer (they do
    /// not fall back) and agree with the store's own sqlx reads.
    #[tokio::test]
    async fn inline_reads_answer_what_sqlx_reads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("todo.db");
        let url = format!("sqlite://{}", path.display());
        let store = crate::store::connect(&DbSettings::new(url.into())).unwrap();
        store.migrate().await.unwrap();
        let context = Context::command_line();
        let user = NewUser {
            email: "inline@example.com".into(),
            password_hash: "x".into(),
            is_admin: false,
            token_selector: "inlineselector".into(),
            token_hash: "sha256:abc".into(),
        };
        let account = store
            .create_user(user, None, &context)
            .await
            .unwrap()
            .unwrap();
        let mut created = Vec::new();
        for n in 0..3 {
            let item = NewItem {
                title: format!("item {n}"),
                description: (n != 1).then(|| "with a \"quote\"".to_owned()),
                created_at: time::macros::datetime!(2023-01-03 12:00:00)
                    + time::Duration::minutes(n),
            };
            let item = store.create_item(account.id, item, None, &context).await;
            created.push(item.unwrap().unwrap());
        }

        let inline = InlineReads::new(path, Duration::from_secs(1));
        let sql = crate::store::sql::items_sql("", &ItemFilter::default());
        let listed = inline
            .items(&sql, &ItemFilter::default())
            .expect("answered inline");
        assert_eq!(listed, store.items(&ItemFilter::default()).await.unwrap());
        assert_eq!(listed.len(), 3);
        let filter = ItemFilter {
            owner_id: Some(account.id),
            done: Some(false),
            created: Some((
                time::macros::datetime!(2023-01-03 12:01:00),
                time::macros::datetime!(2023-01-04 00:00:00),
            )),
            page: Page { skip: 0, limit: 10 },
            before: None,
        };
        let sql = crate::store::sql::items_sql("", &filter);
        let listed = inline.items(&sql, &filter).expect("answered inline");
        assert_eq!(listed, store.items(&filter).await.unwrap());
        assert_eq!(listed.len(), 2);

        let one = crate::store::sql::ITEM_BY_ID;
        let found = inline
            .item(one, account.id, created[1].id)
            .expect("answered inline");
        assert_eq!(found.as_ref(), Some(&created[1]));
        assert_eq!(inline.item(one, account.id + 1, created[1].id), Some(None));

        let token = crate::store::sql::TOKEN_OWNER;
        let owner = inline
            .token_owner(token, "inlineselector")
            .expect("answered inline");
        let via_sqlx = store.token_owner("inlineselector").await.unwrap();
        assert_eq!(format!("{owner:?}"), format!("{via_sqlx:?}"));
        assert_eq!(owner.map(|o| o.user_id), Some(account.id));
        assert!(matches!(inline.token_owner(token, "unknown"), Some(None)));

        // The token and the item in one statement: the same owner, the item or none.
        let folded = crate::store::sql::TOKEN_OWNER_AND_ITEM;
        let (owner, found) = inline
            .token_owner_and_item(folded, "inlineselector", account.id, created[2].id)
            .expect("answered inline")
            .expect("the token has an owner");
        assert_eq!(format!("{:?}", Some(owner)), format!("{via_sqlx:?}"));
        assert_eq!(found.as_ref(), Some(&created[2]));
        let (_, found) = inline
            .token_owner_and_item(folded, "inlineselector", account.id + 1, created[2].id)
            .expect("answered inline")
            .expect("the token has an owner");
        assert_eq!(found, None, "the item is found only under its owner");
        let unknown = inline.token_owner_and_item(folded, "unknown", account.id, created[2].id);
        assert!(matches!(unknown, Some(None)));

        let by_id = crate::store::sql::ACCOUNT_BY_ID;
        let found = inline.account(by_id, account.id).expect("answered inline");
        assert_eq!(found, store.account(account.id).await.unwrap());
        assert_eq!(found.map(|a| a.email), Some("inline@example.com".into()));
        assert_eq!(inline.account(by_id, account.id + 1), Some(None));
    }

    #[test]
    fn timestamps_in_the_forms_our_files_hold() {
        let expected = time::macros::datetime!(2023-01-03 12:00:00);
        assert_eq!(timestamp("2023-01-03 12:00:00").unwrap(), expected);
        assert_eq!(timestamp("2023-01-03T12:00:00").unwrap(), expected);
        assert_eq!(
            timestamp("2023-01-03 12:00:00.250000").unwrap(),
            time::macros::datetime!(2023-01-03 12:00:00.25)
        );
        assert!(timestamp("2023-01-03").is_err());
        assert!(timestamp("yesterday").is_err());
    }
}
