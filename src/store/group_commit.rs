//! SQLite item writes committed in groups: concurrent creations, updates and deletions of
//! items (`POST /users/{id}/items`, `PATCH` and `DELETE /users/{id}/items/{item_id}`) share
//! one transaction and so one fsync.
//!
//! With `synchronous=FULL` every commit waits for the disk (an fsync of the WAL, which power
//! loss cannot undo), and SQLite has one writer at a time: one commit per request caps the
//! durable writes at the disk's fsyncs per second, whatever the CPU. So these writes go to one
//! writer thread, which takes the write lock (`BEGIN IMMEDIATE`), runs every write queued by
//! then or arriving meanwhile (up to `MAX_GROUP`), each in a savepoint of its own, and commits
//! once; each request is answered only after the commit that holds its change. A write that
//! fails is rolled back to its savepoint, so it takes nothing else down with it, and is run
//! again alone through sqlx, which reports its error the way every other store call does.
//! Requests queued while the writer commits form the next group: under load the groups grow
//! by themselves, and a lone request waits for nothing but its own commit.
//!
//! Through `rusqlite` on a thread of its own, for the reason of `store::inline`: sqlx sends
//! every statement of a write (five or six) to its connection's worker thread and back. The
//! statements are the portable store's (`store::sql`), in the same order, with the same audit
//! record; the thread's connection sets the pragmas the sqlx connections set
//! (`synchronous=FULL` included).
//!
//! Creations with an `Idempotency-Key` stay on sqlx: their record is completed with a
//! response made by the HTTP layer, which cannot cross to this thread. Not for `:memory:`.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension as _};
use tokio::sync::{mpsc, oneshot};

use crate::audit::{Action, Context, Event};
use crate::domain::{Item, ItemChanges, NewItem};
use crate::store::dialect::Dialect;
use crate::store::sql::{
    ACTIVE_USER, DELETE_ITEM, INSERT_AUDIT_EVENT, INSERT_AUDIT_IP, INSERT_ITEM, ITEM_BY_ID,
    RECORD_LAST_WRITE, UPDATE_ITEM,
};
use crate::store::{Change, StoreError, StoreResult};

/// The most writes one commit holds: a bound on how long a group keeps the write lock.
const MAX_GROUP: usize = 256;
/// Writes waiting for the writer, beyond which callers wait to queue.
const QUEUE: usize = 1024;

type Sqlite = sqlx::Sqlite;

pub(crate) struct GroupCommit {
    jobs: mpsc::Sender<Job>,
    /// The groups committed so far.
    #[cfg_attr(not(test), expect(dead_code, reason = "read by the tests"))]
    commits: Arc<AtomicU64>,
}

/// A write, run by the writer in the open transaction; it answers its caller itself, at
/// once when nothing of it is to be committed, else through the `Ran::Pending` it returns.
/// A job dropped unrun answers `NotWritten` (its reply channel closes).
type Job = Box<dyn FnOnce(&Connection) -> Ran + Send>;

enum Ran {
    /// Answered already; nothing of it is in the transaction.
    Answered,
    /// Kept in the transaction: to be answered with the commit's fate.
    Pending(Box<dyn FnOnce(Fate) + Send>),
    /// Its savepoint could not be rolled back or released: the transaction is in no known
    /// state and is rolled back whole.
    Broken(rusqlite::Error),
}

/// What became of the transaction that holds a kept write.
enum Fate {
    Committed,
    RolledBack,
    CommitFailed(Arc<rusqlite::Error>),
}

/// What a caller is told.
enum Outcome<T> {
    /// Done and committed (or, for a write that found nothing to do, done).
    Committed(T),
    /// Nothing of it was written: the caller runs it through sqlx.
    NotWritten,
    /// It ran, but the commit that was to hold it failed.
    CommitFailed(Arc<rusqlite::Error>),
}

impl GroupCommit {
    /// Starts the writer thread for the SQLite file at `path`; it opens its connection at its
    /// first job and ends when this is dropped.
    pub(crate) fn start(path: PathBuf, busy_timeout: Duration) -> std::io::Result<Self> {
        let (jobs, queue) = mpsc::channel(QUEUE);
        let commits = Arc::new(AtomicU64::new(0));
        let writer = Writer::new(path, busy_timeout, commits.clone());
        std::thread::Builder::new()
            .name("sqlite-group-commit".into())
            .spawn(move || writer.run(queue))?;
        Ok(Self { jobs, commits })
    }

    /// Creates `item` for `owner_id` (`Ok(None)`: no such active user); `None` when it was
    /// not written, for the caller to run through sqlx.
    pub(crate) async fn create_item(
        &self,
        owner_id: i64,
        item: &NewItem,
        context: &Context,
    ) -> Option<StoreResult<Option<Item>>> {
        let (item, context) = (item.clone(), context.clone());
        self.submit(move |conn| create_item(conn, owner_id, &item, &context))
            .await
    }

    /// Applies `changes` to item `item_id` of `owner_id`, if its version is `if_version`
    /// (when given); `None` when it was not written, for the caller to run through sqlx.
    pub(crate) async fn update_item(
        &self,
        owner_id: i64,
        item_id: i64,
        changes: &ItemChanges,
        if_version: Option<i64>,
        context: &Context,
    ) -> Option<StoreResult<Change<Item>>> {
        let (changes, context) = (changes.clone(), context.clone());
        self.submit(move |conn| {
            update_item(conn, (owner_id, item_id), &changes, if_version, &context)
        })
        .await
    }

    /// Deletes item `item_id` of `owner_id`, if its version is `if_version` (when given);
    /// `None` when it was not written, for the caller to run through sqlx.
    pub(crate) async fn delete_item(
        &self,
        owner_id: i64,
        item_id: i64,
        if_version: Option<i64>,
        context: &Context,
    ) -> Option<StoreResult<Change<()>>> {
        let context = context.clone();
        self.submit(move |conn| delete_item(conn, (owner_id, item_id), if_version, &context))
            .await
    }

    /// Runs `work` in the next group: its value is kept (committed) when it says so, and
    /// rolled back to its savepoint otherwise.
    async fn submit<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Connection) -> rusqlite::Result<Kept<T>> + Send + 'static,
    ) -> Option<StoreResult<T>> {
        let (reply, answer) = oneshot::channel::<Outcome<T>>();
        let job: Job = Box::new(move |conn| {
            if reply.is_closed() {
                // The caller gave up (its request timed out, its client left): as on the
                // sqlx path, where that drops the transaction, nothing is written.
                return Ran::Answered;
            }
            run_and_answer(conn, work, reply)
        });
        self.jobs.send(job).await.ok()?;
        match answer.await.ok()? {
            Outcome::Committed(value) => Some(Ok(value)),
            Outcome::NotWritten => None,
            Outcome::CommitFailed(err) => Some(Err(StoreError::Commit(err))),
        }
    }

    #[cfg(test)]
    fn commits(&self) -> u64 {
        self.commits.load(Ordering::SeqCst)
    }

    /// A pragma's value as the writer's own connection reads it.
    #[cfg(test)]
    async fn pragma(&self, name: &'static str) -> Option<i64> {
        let read = move |conn: &Connection| conn.pragma_query_value(None, name, |row| row.get(0));
        self.submit(move |conn| read(conn).map(Kept::No))
            .await?
            .ok()
    }
}

/// Whether a write's changes are to be kept, with what it answers.
enum Kept<T> {
    Yes(T),
    /// Nothing to keep: rolled back to its savepoint, as the sqlx path drops a transaction
    /// that found nothing to do.
    No(T),
}

struct Writer {
    path: PathBuf,
    busy_timeout: Duration,
    conn: Option<Connection>,
    commits: Arc<AtomicU64>,
}

impl Writer {
    fn new(path: PathBuf, busy_timeout: Duration, commits: Arc<AtomicU64>) -> Self {
        Self {
            path,
            busy_timeout,
            conn: None,
            commits,
        }
    }

    fn open(&self) -> rusqlite::Result<Connection> {
        let conn = crate::store::inline::open_file(&self.path, self.busy_timeout)?;
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get::<_, String>(0))?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", true)?;
        conn.pragma_update(None, "secure_delete", true)?;
        conn.set_prepared_statement_cache_capacity(16);
        Ok(conn)
    }

    fn run(mut self, mut queue: mpsc::Receiver<Job>) {
        while let Some(first) = queue.blocking_recv() {
            if self.conn.is_none() {
                match self.open() {
                    Ok(conn) => self.conn = Some(conn),
                    Err(err) => {
                        tracing::warn!(error = %err, "SQLite group commit: cannot open the database");
                        continue;
                    }
                }
            }
            let conn = self.conn.as_ref().expect("opened above");
            if commit_group(conn, first, &mut queue) {
                self.commits.fetch_add(1, Ordering::SeqCst);
            }
        }
    }
}

/// Runs `work` in a savepoint and answers through `reply`: at once when nothing of it is
/// kept, else with the fate of the commit.
fn run_and_answer<T: Send + 'static>(
    conn: &Connection,
    work: impl FnOnce(&Connection) -> rusqlite::Result<Kept<T>>,
    reply: oneshot::Sender<Outcome<T>>,
) -> Ran {
    match in_savepoint(conn, work) {
        Ok(Kept::Yes(value)) => Ran::Pending(Box::new(move |fate| {
            let _ = reply.send(match fate {
                Fate::Committed => Outcome::Committed(value),
                Fate::RolledBack => Outcome::NotWritten,
                Fate::CommitFailed(err) => Outcome::CommitFailed(err),
            });
        })),
        Ok(Kept::No(value)) => {
            let _ = reply.send(Outcome::Committed(value));
            Ran::Answered
        }
        Err(Rollback::Job(err)) => {
            tracing::debug!(error = %err, "SQLite group commit: a write failed");
            let _ = reply.send(Outcome::NotWritten);
            Ran::Answered
        }
        Err(Rollback::Group(err)) => {
            let _ = reply.send(Outcome::NotWritten);
            Ran::Broken(err)
        }
    }
}

fn exec(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(drop)
}

/// One transaction: `first` and what queues up while it runs, then one commit; whether it
/// committed.
fn commit_group(conn: &Connection, first: Job, queue: &mut mpsc::Receiver<Job>) -> bool {
    if let Err(err) = exec(conn, "BEGIN IMMEDIATE") {
        tracing::debug!(error = %err, "SQLite group commit: no write lock");
        return false;
    }
    let mut pending = Vec::new();
    let mut next = Some(first);
    while let Some(job) = next.take() {
        match job(conn) {
            Ran::Answered => {}
            Ran::Pending(answer) => pending.push(answer),
            Ran::Broken(err) => {
                tracing::warn!(error = %err, "SQLite group commit: the group was rolled back");
                let _ = exec(conn, "ROLLBACK");
                pending
                    .into_iter()
                    .for_each(|answer| answer(Fate::RolledBack));
                return false;
            }
        }
        if pending.len() < MAX_GROUP {
            next = queue.try_recv().ok();
        }
    }
    metrics::histogram!(crate::telemetry::names::GROUP_COMMIT_SIZE).record(pending.len() as f64);
    match exec(conn, "COMMIT") {
        Ok(()) => {
            pending
                .into_iter()
                .for_each(|answer| answer(Fate::Committed));
            true
        }
        Err(err) => {
            tracing::error!(error = %err, "SQLite group commit: the commit failed");
            let _ = exec(conn, "ROLLBACK");
            let err = Arc::new(err);
            for answer in pending {
                answer(Fate::CommitFailed(err.clone()));
            }
            false
        }
    }
}

enum Rollback {
    /// The write failed and was rolled back alone.
    Job(rusqlite::Error),
    /// The savepoint itself failed: the transaction is in no known state.
    Group(rusqlite::Error),
}

/// Runs `work` in a savepoint, released when it keeps its changes, rolled back otherwise.
fn in_savepoint<T>(
    conn: &Connection,
    work: impl FnOnce(&Connection) -> rusqlite::Result<Kept<T>>,
) -> Result<Kept<T>, Rollback> {
    exec(conn, "SAVEPOINT job").map_err(Rollback::Group)?;
    let result = work(conn);
    if !matches!(result, Ok(Kept::Yes(_))) {
        exec(conn, "ROLLBACK TO job").map_err(Rollback::Group)?;
    }
    exec(conn, "RELEASE job").map_err(Rollback::Group)?;
    result.map_err(Rollback::Job)
}

fn timestamp(at: time::PrimitiveDateTime) -> String {
    <Sqlite as Dialect>::timestamp(at)
}

/// `begin_change` of the portable store: the actor wrote just now.
fn record_last_write(conn: &Connection, context: &Context) -> rusqlite::Result<()> {
    if let Some(actor) = context.actor_id {
        let now = crate::domain::now_utc();
        let fresh_since = now - crate::store::LAST_WRITE_GRANULARITY;
        conn.prepare_cached(RECORD_LAST_WRITE)?.execute((
            timestamp(now),
            actor,
            timestamp(fresh_since),
        ))?;
    }
    Ok(())
}

/// `try_create_item` of the portable store, without the idempotency record.
fn create_item(
    conn: &Connection,
    owner_id: i64,
    item: &NewItem,
    context: &Context,
) -> rusqlite::Result<Kept<Option<Item>>> {
    record_last_write(conn, context)?;
    let owner: Option<i64> = conn
        .prepare_cached(ACTIVE_USER)?
        .query_row((owner_id, true), |row| row.get(0))
        .optional()?;
    if owner.is_none() {
        return Ok(Kept::No(None));
    }
    conn.prepare_cached(INSERT_ITEM)?.execute((
        &item.title,
        &item.description,
        owner_id,
        timestamp(item.created_at),
        false,
        1i64,
    ))?;
    let id = conn.last_insert_rowid();
    record(conn, context, Event::new(Action::ItemCreate, id, owner_id))?;
    Ok(Kept::Yes(Some(item.created(id, owner_id))))
}

/// `lock_item` of the portable store: the item, if it is `owner_id`'s and at `if_version`.
fn current_item(
    conn: &Connection,
    (owner_id, item_id): (i64, i64),
    if_version: Option<i64>,
) -> rusqlite::Result<Change<Item>> {
    let current = conn
        .prepare_cached(ITEM_BY_ID)?
        .query_row((item_id, owner_id), crate::store::inline::item)
        .optional()?;
    Ok(Change::checked(current, if_version))
}

/// `try_update_item` of the portable store.
fn update_item(
    conn: &Connection,
    (owner_id, item_id): (i64, i64),
    changes: &ItemChanges,
    if_version: Option<i64>,
    context: &Context,
) -> rusqlite::Result<Kept<Change<Item>>> {
    record_last_write(conn, context)?;
    let mut item = match current_item(conn, (owner_id, item_id), if_version)? {
        Change::NotFound => return Ok(Kept::No(Change::NotFound)),
        Change::Stale => return Ok(Kept::No(Change::Stale)),
        Change::Done(item) if changes.is_empty() => return Ok(Kept::No(Change::Done(item))),
        Change::Done(item) => item,
    };
    changes.apply_to(&mut item);
    conn.prepare_cached(UPDATE_ITEM)?.execute((
        &item.title,
        &item.description,
        item.done,
        item.version,
        item.id,
    ))?;
    record(
        conn,
        context,
        Event::new(Action::ItemUpdate, item.id, owner_id),
    )?;
    Ok(Kept::Yes(Change::Done(item)))
}

/// `try_delete_item` of the portable store.
fn delete_item(
    conn: &Connection,
    (owner_id, item_id): (i64, i64),
    if_version: Option<i64>,
    context: &Context,
) -> rusqlite::Result<Kept<Change<()>>> {
    record_last_write(conn, context)?;
    match current_item(conn, (owner_id, item_id), if_version)? {
        Change::NotFound => return Ok(Kept::No(Change::NotFound)),
        Change::Stale => return Ok(Kept::No(Change::Stale)),
        Change::Done(_) => {}
    }
    conn.prepare_cached(DELETE_ITEM)?.execute([item_id])?;
    record(
        conn,
        context,
        Event::new(Action::ItemDelete, item_id, owner_id),
    )?;
    Ok(Kept::Yes(Change::Done(())))
}

/// The audit record of `event` (`access::record` of the portable store).
fn record(conn: &Connection, context: &Context, event: Event) -> rusqlite::Result<()> {
    conn.prepare_cached(INSERT_AUDIT_EVENT)?.execute((
        timestamp(crate::domain::now_utc_seconds()),
        context.actor_id,
        event.action.as_str(),
        event.action.object_type(),
        event.object_id,
        event.subject_id,
        &context.request_id,
    ))?;
    if let Some(ip) = context.client_ip {
        let event_id = conn.last_insert_rowid();
        conn.prepare_cached(INSERT_AUDIT_IP)?.execute((
            event_id,
            context.actor_id.unwrap_or(event.subject_id),
            ip.to_string(),
        ))?;
    }
    Ok(())
}

#[cfg(test)]
#[path = "group_commit_tests.rs"]
mod tests;
