//! What a backup carries, as the store sees it: the tables and their columns (an explicit
//! list, so that a column a later migration adds is neither exported by accident nor in the
//! way of an import), typed cells, and the pieces an export streams out and an import takes
//! in: `Start` (the row counts), the rows table by table in batches, `End` (the id counters).

use std::fmt;

use async_trait::async_trait;
use time::PrimitiveDateTime;

use super::StoreError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    Int,
    Text,
    Bool,
    /// UTC, whole seconds.
    Time,
    Bytes,
}

#[derive(Debug)]
pub struct Column {
    pub name: &'static str,
    pub ty: ColumnType,
    pub nullable: bool,
}

/// A table of a backup. Its first column is its primary key, by which it is read in order.
#[derive(Debug)]
pub struct Table {
    /// The position in `TABLES`.
    pub index: usize,
    pub name: &'static str,
    pub columns: &'static [Column],
    /// `id` is generated (AUTOINCREMENT, identity, AUTO_INCREMENT): its counter is carried
    /// over, so that no id is handed out twice (ids are in ETags).
    pub generated_id: bool,
}

impl Table {
    pub fn key(&self) -> &'static Column {
        &self.columns[0]
    }
}

const fn col(name: &'static str, ty: ColumnType) -> Column {
    Column {
        name,
        ty,
        nullable: false,
    }
}

const fn opt(name: &'static str, ty: ColumnType) -> Column {
    Column {
        name,
        ty,
        nullable: true,
    }
}

use ColumnType::{Bool, Bytes, Int, Text, Time};

pub const TABLE_COUNT: usize = 7;

/// Every table a backup holds, in an order that satisfies the foreign keys when inserting
/// (and, reversed, when deleting).
pub static TABLES: [Table; TABLE_COUNT] = [
    Table {
        index: 0,
        name: "users",
        columns: &[
            col("id", Int),
            col("email", Text),
            col("hashed_password", Text),
            col("is_active", Bool),
            col("is_admin", Bool),
            opt("token_selector", Text),
            opt("token_hash", Text),
        ],
        generated_id: true,
    },
    Table {
        index: 1,
        name: "items",
        columns: &[
            col("id", Int),
            col("title", Text),
            opt("description", Text),
            col("owner_id", Int),
            col("created_at", Time),
            col("done", Bool),
            col("version", Int),
        ],
        generated_id: true,
    },
    Table {
        index: 2,
        name: "idempotency_records",
        columns: &[
            col("key_hash", Text),
            col("fingerprint", Text),
            col("complete", Bool),
            opt("response", Bytes),
            col("created_at", Time),
        ],
        generated_id: false,
    },
    Table {
        index: 3,
        name: "api_tokens",
        columns: &[
            col("id", Int),
            col("user_id", Int),
            col("name", Text),
            col("selector", Text),
            col("token_hash", Text),
            col("read_only", Bool),
            col("created_at", Time),
        ],
        generated_id: true,
    },
    Table {
        index: 4,
        name: "audit_events",
        columns: &[
            col("id", Int),
            col("at", Time),
            opt("actor_id", Int),
            col("action", Text),
            col("object_type", Text),
            col("object_id", Int),
            opt("subject_id", Int),
            opt("request_id", Text),
        ],
        generated_id: true,
    },
    Table {
        index: 5,
        name: "audit_client_ips",
        columns: &[col("event_id", Int), col("user_id", Int), col("ip", Text)],
        generated_id: false,
    },
    Table {
        index: 6,
        name: "erasures",
        columns: &[col("user_id", Int), col("erased_at", Time)],
        generated_id: false,
    },
];

pub fn table(name: &str) -> Option<&'static Table> {
    TABLES.iter().find(|table| table.name == name)
}

/// One value of a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    Null,
    Int(i64),
    Text(String),
    Bool(bool),
    Time(PrimitiveDateTime),
    Bytes(Vec<u8>),
}

/// A row's cells, in the order of its table's columns.
pub type Row = Vec<Cell>;

/// Rows of one table.
#[derive(Debug)]
pub struct Batch {
    pub table: &'static Table,
    pub rows: Vec<Row>,
}

/// A number per table, in `TABLES` order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PerTable<T>(pub [T; TABLE_COUNT]);

impl<T: Copy> PerTable<T> {
    pub fn get(&self, table: &Table) -> T {
        self.0[table.index]
    }

    pub fn set(&mut self, table: &Table, value: T) {
        self.0[table.index] = value;
    }

    /// `(table, value)` in `TABLES` order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static Table, T)> + '_ {
        TABLES.iter().map(|table| (table, self.0[table.index]))
    }
}

/// Rows per table.
pub type Counts = PerTable<u64>;

impl Counts {
    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }
}

impl fmt::Display for Counts {
    /// `users 3, items 10` (the tables that have rows).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (table, n) in self.iter().filter(|(_, n)| *n > 0) {
            if !first {
                f.write_str(", ")?;
            }
            write!(f, "{} {n}", table.name)?;
            first = false;
        }
        Ok(())
    }
}

/// The highest id each table with a generated id has handed out (deleted rows' included),
/// where the backend says.
pub type Counters = PerTable<Option<i64>>;

/// What an export streams out, and an import takes in, in this order: `Start`, any number of
/// `Batch`es (table by table, in `TABLES` order), `End`.
#[derive(Debug)]
pub enum Piece {
    /// How many rows follow, per table.
    Start(Counts),
    Batch(Batch),
    End(Counters),
}

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Where an export's pieces go (a backup file, an import on another database).
#[async_trait]
pub trait RowSink: Send {
    async fn put(&mut self, piece: Piece) -> Result<(), BoxError>;
}

/// Where an import's pieces come from.
#[async_trait]
pub trait RowSource: Send {
    /// The next piece; after `End`, none is asked for.
    async fn take(&mut self) -> Result<Piece, BoxError>;
}

#[derive(Debug, thiserror::Error)]
pub enum BulkError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(
        "the target database is not empty ({0}): restore into an empty database, or pass --force to delete its rows first (in the same transaction)"
    )]
    NotEmpty(Counts),
    /// What the rows were written to failed (a full disk, the other end of a copy).
    #[error("{0}")]
    Sink(BoxError),
    /// What the rows were read from failed (a backup file, the other end of a copy).
    #[error("{0}")]
    Source(BoxError),
    #[error("{table}: {found} rows where {expected} were announced")]
    CountMismatch {
        table: &'static str,
        expected: u64,
        found: u64,
    },
    #[error("the rows arrived out of order: {0}")]
    OutOfOrder(&'static str),
    #[error(
        "the database has no table {0}: is DATABASE_URL right? (todo-api never migrated this database)"
    )]
    NotMigrated(&'static str),
    #[error("{0} is supported on SQLite only")]
    SqliteOnly(&'static str),
    #[error("the snapshot {path} failed its integrity check: {result}")]
    Integrity { path: String, result: String },
}

impl From<sqlx::Error> for BulkError {
    fn from(err: sqlx::Error) -> Self {
        BulkError::Store(err.into())
    }
}

/// What a SQLite snapshot holds, checked after it was written.
#[derive(Debug, Clone)]
pub struct SnapshotReport {
    /// `PRAGMA integrity_check`'s answer: `ok`.
    pub integrity: String,
    pub counts: Counts,
}
