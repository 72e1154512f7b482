//! The portable backup format, version 1: JSON Lines.
//!
//! ```text
//! {"format":"todo-api-backup","version":1,"backend":"sqlite","created_at":"2026-05-01T12:00:00Z"}
//! {"table":"users","row":{"id":1,"email":"a@example.com",...}}
//! ...
//! {"trailer":true,"counts":{"users":1,...},"id_counters":{"users":1,...},"sha256":"..."}
//! ```
//!
//! Rows come table by table in foreign-key order (`TABLES`), each in key order. Values:
//! integers, strings, booleans, `null`; timestamps as `YYYY-MM-DDTHH:MM:SS` (UTC); bytes as
//! standard base64. The trailer's `sha256` is the hex SHA-256 of every byte before the
//! trailer line (header and rows, newlines included); `id_counters` is the highest id each
//! table had handed out (deleted rows' included), so that a restore never hands one out
//! again. A column this version does not know is ignored (and named in a warning); a
//! missing one is an error, unless it is nullable (then it restores as NULL: how a column
//! added by a later migration stays compatible with older files).

use std::collections::BTreeSet;
use std::io::Write;

use base64::Engine as _;
use serde_json::{Map, Value, json};
use time::PrimitiveDateTime;

use crate::domain::NAIVE_SECONDS;
use crate::store::rows::{Cell, Column, ColumnType, Counters, Counts, Row, TABLES, Table, table};

pub const FORMAT: &str = "todo-api-backup";
pub const VERSION: u64 = 1;

#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("the file is empty")]
    Empty,
    #[error(
        "this is a SQLite database file (a --sqlite-snapshot), not a portable backup: restore it by pointing DATABASE_URL at it (or by copying it into place while the service is stopped), or copy its rows elsewhere with `todo-api copy --from sqlite://FILE --to URL`"
    )]
    SqliteFile,
    #[error("line 1 is not a todo-api backup header (expected {{\"format\":\"{FORMAT}\",...}})")]
    NotABackup,
    #[error("backup format version {0} is not supported: this todo-api reads version {VERSION}")]
    Version(String),
    #[error("line {line}: {message}")]
    Line { line: u64, message: String },
    #[error("the backup is truncated: it ends after {lines} lines without its trailer line")]
    Truncated { lines: u64 },
    #[error("line {0}: data after the trailer")]
    AfterTrailer(u64),
    #[error(
        "checksum mismatch: the trailer says sha256 {expected}, the file hashes to {actual}: the file was changed or damaged"
    )]
    Checksum { expected: String, actual: String },
    #[error("{table}: the trailer counts {expected} rows, the file holds {found}")]
    Counts {
        table: String,
        expected: u64,
        found: u64,
    },
    #[error(
        "the file changed while it was being restored (its checksum differs from the verified one)"
    )]
    Changed,
}

fn bad(line: u64, message: impl Into<String>) -> FormatError {
    FormatError::Line {
        line,
        message: message.into(),
    }
}

/// The header line, newline included.
pub fn header(backend: &str, created_at: PrimitiveDateTime) -> Vec<u8> {
    let created = created_at.format(NAIVE_SECONDS).unwrap_or_default();
    let mut line = json!({
        "format": FORMAT,
        "version": VERSION,
        "backend": backend,
        "created_at": format!("{created}Z"),
    })
    .to_string()
    .into_bytes();
    line.push(b'\n');
    line
}

/// The trailer line, newline included.
pub fn trailer(counts: &Counts, counters: &Counters, sha256: &str) -> Vec<u8> {
    let mut line = json!({
        "trailer": true,
        "counts": counts_json(counts),
        "id_counters": counters_json(counters),
        "sha256": sha256,
    })
    .to_string()
    .into_bytes();
    line.push(b'\n');
    line
}

/// `{"users": 3, ...}`, every table in `TABLES` order.
pub fn counts_json(counts: &Counts) -> Value {
    Value::Object(
        counts
            .iter()
            .map(|(table, n)| (table.name.to_owned(), json!(n)))
            .collect(),
    )
}

fn counters_json(counters: &Counters) -> Value {
    Value::Object(
        counters
            .iter()
            .filter_map(|(table, high)| Some((table.name.to_owned(), json!(high?))))
            .collect(),
    )
}

/// Appends the line of one row (newline included) to `out`.
pub fn encode_row(out: &mut Vec<u8>, table: &Table, row: &Row) -> std::io::Result<()> {
    write!(out, "{{\"table\":\"{}\",\"row\":{{", table.name)?;
    for (i, (column, cell)) in table.columns.iter().zip(row).enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write!(out, "\"{}\":", column.name)?;
        match cell {
            Cell::Null => out.extend_from_slice(b"null"),
            Cell::Int(n) => write!(out, "{n}")?,
            Cell::Bool(b) => write!(out, "{b}")?,
            Cell::Text(text) => serde_json::to_writer(&mut *out, text)?,
            Cell::Time(at) => {
                let text = at.format(NAIVE_SECONDS).map_err(std::io::Error::other)?;
                write!(out, "\"{text}\"")?;
            }
            Cell::Bytes(bytes) => write!(
                out,
                "\"{}\"",
                base64::engine::general_purpose::STANDARD.encode(bytes)
            )?,
        }
    }
    out.extend_from_slice(b"}}\n");
    Ok(())
}

/// What line 1 says.
#[derive(Debug, Clone)]
pub struct Header {
    pub backend: String,
    pub created_at: String,
}

/// Checks line 1: a backup of a version this binary reads.
pub fn parse_header(line: &[u8]) -> Result<Header, FormatError> {
    if line.starts_with(b"SQLite format 3\0") {
        return Err(FormatError::SqliteFile);
    }
    let value: Value = serde_json::from_slice(line).map_err(|_| FormatError::NotABackup)?;
    if value.get("format").and_then(Value::as_str) != Some(FORMAT) {
        return Err(FormatError::NotABackup);
    }
    match value.get("version") {
        Some(version) if version.as_u64() == Some(VERSION) => {}
        Some(other) => return Err(FormatError::Version(other.to_string())),
        None => return Err(FormatError::Version("(none)".into())),
    }
    let text = |key: &str| {
        value
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    Ok(Header {
        backend: text("backend"),
        created_at: text("created_at"),
    })
}

/// A line after the header.
pub enum Line {
    Row(&'static Table, Row),
    Trailer(Trailer),
}

#[derive(Debug, Clone)]
pub struct Trailer {
    pub counts: Counts,
    pub counters: Counters,
    pub sha256: String,
}

/// Parses the `n`th line after the header; `unknown` collects `table.column` names this
/// version does not restore.
pub fn parse_line(
    n: u64,
    line: &[u8],
    unknown: &mut BTreeSet<String>,
) -> Result<Line, FormatError> {
    let value: Value =
        serde_json::from_slice(line).map_err(|err| bad(n, format!("not valid JSON ({err})")))?;
    let Value::Object(mut object) = value else {
        return Err(bad(n, "not a JSON object"));
    };
    if object.get("trailer") == Some(&Value::Bool(true)) {
        return parse_trailer(n, &object).map(Line::Trailer);
    }
    let name = match object.get("table") {
        Some(Value::String(name)) => name.clone(),
        _ => return Err(bad(n, "neither a row (\"table\") nor the trailer")),
    };
    let table = table(&name).ok_or_else(|| {
        bad(
            n,
            format!("unknown table '{name}' (written by a newer todo-api?)"),
        )
    })?;
    let Some(Value::Object(mut row)) = object.remove("row") else {
        return Err(bad(n, format!("{name}: no \"row\" object")));
    };
    let cells = table
        .columns
        .iter()
        .map(|column| cell(n, table, column, row.remove(column.name)))
        .collect::<Result<Row, _>>()?;
    for extra in row.keys() {
        unknown.insert(format!("{name}.{extra}"));
    }
    Ok(Line::Row(table, cells))
}

fn cell(n: u64, table: &Table, column: &Column, value: Option<Value>) -> Result<Cell, FormatError> {
    let what = |expected: &str| {
        bad(
            n,
            format!("{}.{}: expected {expected}", table.name, column.name),
        )
    };
    let value = match value {
        Some(value) => value,
        // A nullable column added after the file was written restores as NULL.
        None if column.nullable => Value::Null,
        None => return Err(bad(n, format!("{}.{}: missing", table.name, column.name))),
    };
    Ok(match (column.ty, value) {
        (_, Value::Null) if column.nullable => Cell::Null,
        (_, Value::Null) => return Err(what("a value, not null")),
        (ColumnType::Int, Value::Number(number)) => {
            Cell::Int(number.as_i64().ok_or_else(|| what("a 64-bit integer"))?)
        }
        (ColumnType::Int, _) => return Err(what("an integer")),
        (ColumnType::Text, Value::String(text)) => Cell::Text(text),
        (ColumnType::Text, _) => return Err(what("a string")),
        (ColumnType::Bool, Value::Bool(b)) => Cell::Bool(b),
        (ColumnType::Bool, _) => return Err(what("true or false")),
        (ColumnType::Time, Value::String(text)) => Cell::Time(
            PrimitiveDateTime::parse(&text, NAIVE_SECONDS)
                .map_err(|_| what("a time YYYY-MM-DDTHH:MM:SS"))?,
        ),
        (ColumnType::Time, _) => return Err(what("a time YYYY-MM-DDTHH:MM:SS")),
        (ColumnType::Bytes, Value::String(text)) => Cell::Bytes(
            base64::engine::general_purpose::STANDARD
                .decode(text)
                .map_err(|_| what("base64"))?,
        ),
        (ColumnType::Bytes, _) => return Err(what("a base64 string")),
    })
}

fn parse_trailer(n: u64, object: &Map<String, Value>) -> Result<Trailer, FormatError> {
    let sha256 = match object.get("sha256") {
        Some(Value::String(hex)) if hex.len() == 64 => hex.to_ascii_lowercase(),
        _ => return Err(bad(n, "trailer: no sha256")),
    };
    let mut counts = Counts::default();
    let Some(Value::Object(given)) = object.get("counts") else {
        return Err(bad(n, "trailer: no counts"));
    };
    for (name, value) in given {
        let table =
            table(name).ok_or_else(|| bad(n, format!("trailer: unknown table '{name}'")))?;
        let count = value
            .as_u64()
            .ok_or_else(|| bad(n, format!("trailer: the count of {name} is not a number")))?;
        counts.set(table, count);
    }
    let mut counters = Counters::default();
    if let Some(Value::Object(given)) = object.get("id_counters") {
        for (name, value) in given {
            if let (Some(table), Some(high)) = (table(name), value.as_i64()) {
                counters.set(table, Some(high));
            }
        }
    }
    Ok(Trailer {
        counts,
        counters,
        sha256,
    })
}

/// Compares the rows a file holds with what its trailer counts.
pub fn check_counts(trailer: &Counts, found: &Counts) -> Result<(), FormatError> {
    for table in &TABLES {
        if trailer.get(table) != found.get(table) {
            return Err(FormatError::Counts {
                table: table.name.to_owned(),
                expected: trailer.get(table),
                found: found.get(table),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_survives_its_line() {
        let items = table("items").unwrap();
        let at = PrimitiveDateTime::parse("2026-01-02T03:04:05", NAIVE_SECONDS).unwrap();
        let row = vec![
            Cell::Int(7),
            Cell::Text("say \"hi\"\n".into()),
            Cell::Null,
            Cell::Int(1),
            Cell::Time(at),
            Cell::Bool(true),
            Cell::Int(3),
        ];
        let mut line = Vec::new();
        encode_row(&mut line, items, &row).unwrap();
        assert!(line.ends_with(b"}}\n"));
        let mut unknown = BTreeSet::new();
        let Line::Row(parsed, cells) = parse_line(2, &line, &mut unknown).unwrap() else {
            panic!("a row");
        };
        assert_eq!(parsed.name, "items");
        assert_eq!(cells, row);
        assert!(unknown.is_empty());
    }

    #[test]
    fn unknown_columns_are_named_and_missing_ones_refused() {
        let mut unknown = BTreeSet::new();
        let line = br#"{"table":"erasures","row":{"user_id":3,"erased_at":"2026-01-01T00:00:00","why":"x"}}"#;
        assert!(matches!(
            parse_line(2, line, &mut unknown),
            Ok(Line::Row(..))
        ));
        assert_eq!(unknown.into_iter().collect::<Vec<_>>(), ["erasures.why"]);
        // A nullable column the file lacks (added after it was written) is NULL.
        let line = br#"{"table":"items","row":{"id":1,"title":"t","owner_id":1,"created_at":"2026-01-01T00:00:00","done":false,"version":1}}"#;
        let Ok(Line::Row(_, cells)) = parse_line(3, line, &mut BTreeSet::new()) else {
            panic!("a row without its description");
        };
        assert_eq!(cells[2], Cell::Null);
        let line = br#"{"table":"erasures","row":{"user_id":3}}"#;
        let err = parse_line(5, line, &mut BTreeSet::new()).err().unwrap();
        assert_eq!(err.to_string(), "line 5: erasures.erased_at: missing");
    }

    #[test]
    fn headers_of_other_versions_and_files_are_refused() {
        let good = header(
            "sqlite",
            PrimitiveDateTime::parse("2026-01-02T03:04:05", NAIVE_SECONDS).unwrap(),
        );
        assert_eq!(
            parse_header(&good).unwrap().created_at,
            "2026-01-02T03:04:05Z"
        );
        let v2 = br#"{"format":"todo-api-backup","version":2}"#;
        assert!(matches!(parse_header(v2), Err(FormatError::Version(v)) if v == "2"));
        assert!(matches!(
            parse_header(b"SQLite format 3\0..."),
            Err(FormatError::SqliteFile)
        ));
        assert!(matches!(
            parse_header(b"{\"a\":1}"),
            Err(FormatError::NotABackup)
        ));
    }
}
