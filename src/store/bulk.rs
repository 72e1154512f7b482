//! The portable store, continued: every row out (a backup, one side of a copy) and in (a
//! restore, the other side). Included by `portable.rs` (so once per backend, like it).
//!
//! The export reads one consistent snapshot (a read transaction on SQLite, REPEATABLE READ
//! on PostgreSQL and MySQL/MariaDB), table by table in key order and in pages, so that no
//! statement runs long and memory stays flat. The import writes everything in one
//! transaction with multi-row INSERTs, keeping the ids, and then moves each id counter past
//! the highest id the source had handed out.

use sqlx::{AssertSqlSafe, Connection as _, Row as _};

use super::{Args, Db, SqlStore};
use crate::store::dialect::{self, Dialect};
use crate::store::rows::{
    Batch, BulkError, Cell, ColumnType, Counters, Counts, Piece, Row, RowSink, RowSource, TABLES,
    Table,
};

type Query = sqlx::query::Query<'static, Db, Args>;
type Conn = <Db as sqlx::Database>::Connection;

/// Rows per page of the export.
const PAGE: usize = 5000;
/// An INSERT statement's arguments stay under this many bytes (MySQL's default
/// `max_allowed_packet` is 16 MiB, 4 MiB on older servers).
const BYTES_PER_INSERT: usize = 3 << 20;

fn columns(table: &Table) -> String {
    table
        .columns
        .iter()
        .map(|column| column.name)
        .collect::<Vec<_>>()
        .join(", ")
}

fn read_cell(row: &<Db as sqlx::Database>::Row, i: usize, ty: ColumnType) -> sqlx::Result<Cell> {
    Ok(match ty {
        ColumnType::Int => row
            .try_get::<Option<i64>, _>(i)?
            .map_or(Cell::Null, Cell::Int),
        ColumnType::Text => row
            .try_get::<Option<String>, _>(i)?
            .map_or(Cell::Null, Cell::Text),
        ColumnType::Bool => row
            .try_get::<Option<bool>, _>(i)?
            .map_or(Cell::Null, Cell::Bool),
        ColumnType::Time => row
            .try_get::<Option<time::PrimitiveDateTime>, _>(i)?
            .map_or(Cell::Null, Cell::Time),
        ColumnType::Bytes => row
            .try_get::<Option<Vec<u8>>, _>(i)?
            .map_or(Cell::Null, Cell::Bytes),
    })
}

/// Binds `cell`; a NULL is bound with the column's type (PostgreSQL checks it).
fn bind(query: Query, cell: Cell, ty: ColumnType) -> Query {
    match cell {
        Cell::Null => match ty {
            ColumnType::Int => query.bind(None::<i64>),
            ColumnType::Text => query.bind(None::<String>),
            ColumnType::Bool => query.bind(None::<bool>),
            ColumnType::Time => query.bind(None::<<Db as Dialect>::Timestamp>),
            ColumnType::Bytes => query.bind(None::<Vec<u8>>),
        },
        Cell::Int(value) => query.bind(value),
        Cell::Text(value) => query.bind(value),
        Cell::Bool(value) => query.bind(value),
        Cell::Time(value) => query.bind(<Db as Dialect>::timestamp(value)),
        Cell::Bytes(value) => query.bind(value),
    }
}

async fn count_rows(conn: &mut Conn) -> Result<Counts, BulkError> {
    let mut counts = Counts::default();
    for table in &TABLES {
        let sql = format!("SELECT COUNT(*) FROM {}", table.name);
        let n: i64 = sqlx::query_scalar(AssertSqlSafe(sql))
            .fetch_one(&mut *conn)
            .await
            .map_err(|err| match err {
                err if dialect::is_undefined_table(&err) => BulkError::NotMigrated(table.name),
                err => err.into(),
            })?;
        counts.set(table, u64::try_from(n).unwrap_or_default());
    }
    Ok(counts)
}

/// One page of `table` in key order, after the key `after`.
async fn read_page(
    conn: &mut Conn,
    table: &'static Table,
    after: Option<Cell>,
) -> sqlx::Result<Vec<Row>> {
    let key = table.key();
    let condition = match after {
        Some(_) => format!(" WHERE {} > ?", key.name),
        None => String::new(),
    };
    let sql = format!(
        "SELECT {} FROM {}{condition} ORDER BY {} LIMIT ?",
        columns(table),
        table.name,
        key.name
    );
    let mut query = sqlx::query(AssertSqlSafe(<Db as Dialect>::rewrite(&sql)));
    if let Some(after) = after {
        query = bind(query, after, key.ty);
    }
    let rows = query.bind(PAGE as i64).fetch_all(&mut *conn).await?;
    rows.iter()
        .map(|row| {
            table
                .columns
                .iter()
                .enumerate()
                .map(|(i, column)| read_cell(row, i, column.ty))
                .collect()
        })
        .collect()
}

/// Roughly how many bytes a row's arguments take on the wire.
fn row_bytes(row: &Row) -> usize {
    row.iter()
        .map(|cell| match cell {
            Cell::Text(text) => text.len() + 4,
            Cell::Bytes(bytes) => bytes.len() + 4,
            _ => 12,
        })
        .sum()
}

/// Inserts `batch` with as few statements as the limits allow: each statement waits for its
/// answer, and sqlx 0.9 leaves Nagle's algorithm on, so a statement larger than a TCP
/// segment can wait a delayed ACK (40 ms) before it is sent in full. Large statements make
/// that wait rare per row.
async fn insert(conn: &mut Conn, batch: Batch) -> sqlx::Result<()> {
    let table = batch.table;
    let width = table.columns.len();
    let per_statement = (<Db as Dialect>::MAX_BIND_PARAMS / width).max(1);
    let marks = format!("({})", vec!["?"; width].join(", "));
    let mut rows = batch.rows.into_iter().peekable();
    while rows.peek().is_some() {
        let mut chunk: Vec<Row> = Vec::new();
        let mut bytes = 0;
        while let Some(row) = rows.next_if(|row| {
            chunk.is_empty()
                || (chunk.len() < per_statement && bytes + row_bytes(row) <= BYTES_PER_INSERT)
        }) {
            bytes += row_bytes(&row);
            chunk.push(row);
        }
        let sql = format!(
            "INSERT INTO {} ({}) VALUES {}",
            table.name,
            columns(table),
            vec![marks.as_str(); chunk.len()].join(", ")
        );
        let mut query = sqlx::query(AssertSqlSafe(<Db as Dialect>::rewrite(&sql)));
        for row in chunk {
            for (cell, column) in row.into_iter().zip(table.columns) {
                query = bind(query, cell, column.ty);
            }
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// The highest id of each table with a generated id: the larger of what the source's
/// counter said and what the rows hold.
async fn counters_to_set(
    conn: &mut Conn,
    source: &Counters,
) -> sqlx::Result<Vec<(&'static str, i64)>> {
    let mut out = Vec::new();
    for table in TABLES.iter().filter(|table| table.generated_id) {
        let sql = format!("SELECT MAX(id) FROM {}", table.name);
        let max: Option<i64> = sqlx::query_scalar(AssertSqlSafe(sql))
            .fetch_one(&mut *conn)
            .await?;
        let high = max.unwrap_or(0).max(source.get(table).unwrap_or(0));
        if high > 0 {
            out.push((table.name, high));
        }
    }
    Ok(out)
}

impl SqlStore {
    pub(super) async fn export_all(&self, sink: &mut dyn RowSink) -> Result<Counts, BulkError> {
        let mut conn = self.conn().await?;
        if let Some(prepare) = <Db as Dialect>::SNAPSHOT_PREPARE {
            sqlx::query(prepare).execute(&mut *conn).await?;
        }
        let mut tx = conn.begin_with(<Db as Dialect>::SNAPSHOT_BEGIN).await?;
        let counts = count_rows(&mut tx).await?;
        sink.put(Piece::Start(counts))
            .await
            .map_err(BulkError::Sink)?;
        for table in &TABLES {
            let mut after = None;
            let mut read = 0u64;
            loop {
                let rows = read_page(&mut tx, table, after.take()).await?;
                let full = rows.len() == PAGE;
                read += rows.len() as u64;
                after = rows.last().map(|row| row[0].clone());
                if !rows.is_empty() {
                    sink.put(Piece::Batch(Batch { table, rows }))
                        .await
                        .map_err(BulkError::Sink)?;
                }
                if !full {
                    break;
                }
            }
            // The counts and the rows come from the same snapshot: a difference means it
            // was not one.
            if read != counts.get(table) {
                return Err(BulkError::CountMismatch {
                    table: table.name,
                    expected: counts.get(table),
                    found: read,
                });
            }
        }
        let mut counters = Counters::default();
        for table in TABLES.iter().filter(|table| table.generated_id) {
            counters.set(
                table,
                <Db as Dialect>::id_counter(&mut tx, table.name).await?,
            );
        }
        tx.rollback().await?;
        sink.put(Piece::End(counters))
            .await
            .map_err(BulkError::Sink)?;
        Ok(counts)
    }

    pub(super) async fn import_all(
        &self,
        source: &mut dyn RowSource,
        replace: bool,
    ) -> Result<Counts, BulkError> {
        let expected = match source.take().await.map_err(BulkError::Source)? {
            Piece::Start(counts) => counts,
            _ => return Err(BulkError::OutOfOrder("no row counts first")),
        };
        let mut tx = self.begin().await?;
        let present = count_rows(&mut tx).await?;
        if present.total() > 0 {
            if !replace {
                return Err(BulkError::NotEmpty(present));
            }
            for table in TABLES.iter().rev() {
                let sql = format!("DELETE FROM {}", table.name);
                sqlx::query(AssertSqlSafe(sql)).execute(&mut *tx).await?;
            }
            tracing::info!(deleted = %present, "deleted the target's rows");
        }
        let mut done = Counts::default();
        let mut last_table = 0;
        let counters = loop {
            match source.take().await.map_err(BulkError::Source)? {
                Piece::Batch(batch) => {
                    if batch.table.index < last_table {
                        return Err(BulkError::OutOfOrder("tables not in dependency order"));
                    }
                    last_table = batch.table.index;
                    let table = batch.table;
                    done.set(table, done.get(table) + batch.rows.len() as u64);
                    insert(&mut tx, batch).await?;
                }
                Piece::End(counters) => break counters,
                Piece::Start(_) => return Err(BulkError::OutOfOrder("row counts twice")),
            }
        };
        for (table, expected) in expected.iter() {
            if done.get(table) != expected {
                return Err(BulkError::CountMismatch {
                    table: table.name,
                    expected,
                    found: done.get(table),
                });
            }
        }
        let highs = counters_to_set(&mut tx, &counters).await?;
        if !<Db as Dialect>::COUNTERS_AFTER_COMMIT {
            for (table, high) in &highs {
                <Db as Dialect>::set_id_counter(&mut tx, table, *high).await?;
            }
        }
        tx.commit().await?;
        if <Db as Dialect>::COUNTERS_AFTER_COMMIT {
            let mut conn = self.conn().await?;
            for (table, high) in &highs {
                <Db as Dialect>::set_id_counter(&mut conn, table, *high).await?;
            }
        }
        Ok(done)
    }
}
