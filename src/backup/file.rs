//! A backup file: written through a `RowSink` (to `FILE.partial`, renamed to `FILE` once
//! complete and on disk), verified in full before a restore, and read back as a `RowSource`.
//!
//! File I/O here is blocking and brief (buffered, a batch at a time): it runs in
//! `block_in_place`, so the runtime's other tasks (the database driver's) keep running.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use sha2::{Digest, Sha256};

use super::format::{self, FormatError, Header, Line, Trailer};
use super::progress::Progress;
use crate::store::rows::{Batch, BoxError, Counts, Piece, Row, RowSink, RowSource, TABLES, Table};

/// Rows per batch handed to the import.
const BATCH: usize = 5000;

/// Reads the next line (newline included) into `buf`; `false` at the end of the file.
fn next_line(reader: &mut impl BufRead, buf: &mut Vec<u8>) -> std::io::Result<bool> {
    buf.clear();
    Ok(reader.read_until(b'\n', buf)? > 0)
}

fn open(path: &Path) -> Result<BufReader<File>, FormatError> {
    Ok(BufReader::with_capacity(1 << 20, File::open(path)?))
}

/// What the verification of a whole file found.
#[derive(Debug, Clone)]
pub struct Verified {
    pub header: Header,
    pub trailer: Trailer,
    /// `table.column`s present in the file that this version does not restore.
    pub unknown_columns: BTreeSet<String>,
}

/// Reads the whole file and checks it before anything is written: the header's format and
/// version, that every line parses (with the types its columns need) in table order, that
/// the trailer is there, and that the counts and the checksum match.
pub fn verify(path: &Path) -> Result<Verified, FormatError> {
    tokio::task::block_in_place(|| verify_blocking(path))
}

fn verify_blocking(path: &Path) -> Result<Verified, FormatError> {
    let mut reader = open(path)?;
    let mut buf = Vec::new();
    if !next_line(&mut reader, &mut buf)? {
        return Err(FormatError::Empty);
    }
    let header = format::parse_header(&buf)?;
    let mut hasher = Sha256::new();
    hasher.update(&buf);
    let mut found = Counts::default();
    let mut unknown = BTreeSet::new();
    let mut last_table = 0;
    let mut n = 1u64;
    let mut progress = Progress::new("verify", None);
    loop {
        if !next_line(&mut reader, &mut buf)? {
            return Err(FormatError::Truncated { lines: n });
        }
        n += 1;
        let complete = buf.ends_with(b"\n");
        let line = match format::parse_line(n, &buf, &mut unknown) {
            Ok(line) => line,
            // A last line cut short is a truncated file, not a damaged one.
            Err(_) if !complete => return Err(FormatError::Truncated { lines: n - 1 }),
            Err(err) => return Err(err),
        };
        match line {
            Line::Row(table, _) => {
                if table.index < last_table {
                    return Err(FormatError::Line {
                        line: n,
                        message: format!(
                            "a row of {} after those of {}: the tables are out of order",
                            table.name, TABLES[last_table].name
                        ),
                    });
                }
                last_table = table.index;
                found.set(table, found.get(table) + 1);
                hasher.update(&buf);
                progress.advance(1);
            }
            Line::Trailer(trailer) => {
                while next_line(&mut reader, &mut buf)? {
                    n += 1;
                    if !buf.trim_ascii().is_empty() {
                        return Err(FormatError::AfterTrailer(n));
                    }
                }
                format::check_counts(&trailer.counts, &found)?;
                let actual = hex::encode(hasher.finalize());
                if actual != trailer.sha256 {
                    return Err(FormatError::Checksum {
                        expected: trailer.sha256,
                        actual,
                    });
                }
                return Ok(Verified {
                    header,
                    trailer,
                    unknown_columns: unknown,
                });
            }
        }
    }
}

/// Reads a verified file again, batch by batch; fails at the end if the file changed since.
pub struct FileSource {
    reader: BufReader<File>,
    verified: Verified,
    hasher: Sha256,
    state: State,
    /// The first row of the next batch (another table's), read past the end of this one.
    pending: Option<(&'static Table, Row)>,
    buf: Vec<u8>,
    n: u64,
}

enum State {
    Fresh,
    Rows,
    AtTrailer,
}

impl FileSource {
    pub fn open(path: &Path, verified: Verified) -> Result<Self, FormatError> {
        let mut reader = open(path)?;
        let mut buf = Vec::new();
        next_line(&mut reader, &mut buf)?;
        let mut hasher = Sha256::new();
        hasher.update(&buf);
        Ok(FileSource {
            reader,
            verified,
            hasher,
            state: State::Fresh,
            pending: None,
            buf,
            n: 1,
        })
    }

    fn next_piece(&mut self) -> Result<Piece, FormatError> {
        match self.state {
            State::Fresh => {
                self.state = State::Rows;
                return Ok(Piece::Start(self.verified.trailer.counts));
            }
            State::AtTrailer => return self.end(),
            State::Rows => {}
        }
        let (mut table, mut rows) = match self.pending.take() {
            Some((table, row)) => (Some(table), vec![row]),
            None => (None, Vec::new()),
        };
        let mut ignored = BTreeSet::new();
        while rows.len() < BATCH {
            if !next_line(&mut self.reader, &mut self.buf)? {
                return Err(FormatError::Changed);
            }
            self.n += 1;
            match format::parse_line(self.n, &self.buf, &mut ignored)? {
                Line::Row(of, row) => {
                    self.hasher.update(&self.buf);
                    match table {
                        Some(current) if !std::ptr::eq(current, of) => {
                            self.pending = Some((of, row));
                            break;
                        }
                        _ => {
                            table = Some(of);
                            rows.push(row);
                        }
                    }
                }
                Line::Trailer(_) => {
                    self.state = State::AtTrailer;
                    break;
                }
            }
        }
        match table {
            Some(table) => Ok(Piece::Batch(Batch { table, rows })),
            None => self.end(),
        }
    }

    fn end(&mut self) -> Result<Piece, FormatError> {
        let actual = hex::encode(std::mem::take(&mut self.hasher).finalize());
        if actual != self.verified.trailer.sha256 {
            return Err(FormatError::Changed);
        }
        Ok(Piece::End(self.verified.trailer.counters))
    }
}

#[async_trait]
impl RowSource for FileSource {
    async fn take(&mut self) -> Result<Piece, BoxError> {
        Ok(tokio::task::block_in_place(|| self.next_piece())?)
    }
}

/// A new file only its owner may read: a backup holds password and token hashes.
fn private_file(path: &Path) -> std::io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// Makes an existing file readable by its owner only (a SQLite snapshot).
pub fn make_private(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Writes an export to `FILE.partial`, and renames it to `FILE` once the trailer is on disk.
pub struct FileSink {
    path: PathBuf,
    partial: PathBuf,
    out: BufWriter<File>,
    hasher: Sha256,
    written: Counts,
    line: Vec<u8>,
    progress: Progress,
    bytes: u64,
    done: Option<String>,
}

impl FileSink {
    pub fn create(path: &Path, backend: &str) -> std::io::Result<Self> {
        let mut name = path.file_name().unwrap_or_default().to_os_string();
        name.push(".partial");
        let partial = path.with_file_name(name);
        let mut out = BufWriter::with_capacity(1 << 20, private_file(&partial)?);
        let header = format::header(backend, crate::domain::now_utc_seconds());
        out.write_all(&header)?;
        let mut hasher = Sha256::new();
        hasher.update(&header);
        Ok(FileSink {
            path: path.to_owned(),
            bytes: header.len() as u64,
            partial,
            out,
            hasher,
            written: Counts::default(),
            line: Vec::with_capacity(1 << 16),
            progress: Progress::new("backup", None),
            done: None,
        })
    }

    /// After `End`: the file's size and the checksum in its trailer.
    pub fn finished(&self) -> Option<(u64, &str)> {
        self.done.as_deref().map(|sha| (self.bytes, sha))
    }

    fn write(&mut self, piece: Piece) -> std::io::Result<()> {
        match piece {
            Piece::Start(counts) => self.progress = Progress::new("backup", Some(counts.total())),
            Piece::Batch(batch) => {
                self.line.clear();
                for row in &batch.rows {
                    format::encode_row(&mut self.line, batch.table, row)?;
                }
                self.out.write_all(&self.line)?;
                self.hasher.update(&self.line);
                self.bytes += self.line.len() as u64;
                let n = batch.rows.len() as u64;
                self.written
                    .set(batch.table, self.written.get(batch.table) + n);
                self.progress.advance(n);
            }
            Piece::End(counters) => {
                let sha = hex::encode(std::mem::take(&mut self.hasher).finalize());
                let trailer = format::trailer(&self.written, &counters, &sha);
                self.out.write_all(&trailer)?;
                self.bytes += trailer.len() as u64;
                self.out.flush()?;
                self.out.get_ref().sync_all()?;
                std::fs::rename(&self.partial, &self.path)?;
                if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    File::open(dir)?.sync_all()?;
                }
                self.done = Some(sha);
            }
        }
        Ok(())
    }
}

#[async_trait]
impl RowSink for FileSink {
    async fn put(&mut self, piece: Piece) -> Result<(), BoxError> {
        let path = self.partial.display().to_string();
        tokio::task::block_in_place(|| self.write(piece))
            .map_err(|err| format!("cannot write {path}: {err}").into())
    }
}

impl Drop for FileSink {
    /// An export that did not finish leaves no partial file behind.
    fn drop(&mut self) {
        if self.done.is_none() {
            let _ = std::fs::remove_file(&self.partial);
        }
    }
}
