//! Backups, restores and copies of the whole database, on any backend.
//!
//! - `backup`: one consistent snapshot of every table (`Store::export_rows`) written as the
//!   portable JSON Lines format of `format`, while the service keeps serving writes.
//! - `snapshot`: SQLite only, a copy of the database file (`VACUUM INTO`), checked.
//! - `restore`: a backup file verified in full first (`file::verify`), then imported in one
//!   transaction (`Store::import_rows`).
//! - `copy`: an export streamed straight into an import, between any two backends.
//!
//! Progress goes to the log (standard error for the CLI); each use case returns a summary
//! for standard output.

pub mod file;
pub mod format;
mod progress;

use std::path::Path;
use std::time::Instant;

use async_trait::async_trait;
use serde::Serialize;
use serde_json::Value;
use tokio::sync::mpsc;

use crate::store::rows::{BoxError, BulkError, Piece, RowSink, RowSource};
use crate::store::{Store, StoreError};
use format::FormatError;
use progress::Progress;

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{path}: {source}")]
    File {
        path: String,
        #[source]
        source: FormatError,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Bulk(#[from] BulkError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("--from and --to name the same database")]
    SameDatabase,
}

fn file_error(path: &Path) -> impl Fn(FormatError) -> BackupError + '_ {
    move |source| BackupError::File {
        path: path.display().to_string(),
        source,
    }
}

fn seconds(started: Instant) -> f64 {
    (started.elapsed().as_secs_f64() * 1000.0).round() / 1000.0
}

#[derive(Debug, Serialize)]
pub struct BackupSummary {
    pub file: String,
    pub format: &'static str,
    pub version: u64,
    pub backend: &'static str,
    pub counts: Value,
    pub rows: u64,
    pub bytes: u64,
    pub sha256: String,
    pub elapsed_seconds: f64,
}

/// Writes every row of `store` to `path` (atomically: `path` appears only when complete).
pub async fn backup(store: &dyn Store, path: &Path) -> Result<BackupSummary, BackupError> {
    let started = Instant::now();
    let write_error = |source| BackupError::Write {
        path: path.display().to_string(),
        source,
    };
    let mut sink = file::FileSink::create(path, store.backend().name()).map_err(write_error)?;
    let counts = store.export_rows(&mut sink).await?;
    let (bytes, sha256) = sink
        .finished()
        .ok_or(BulkError::OutOfOrder("the export ended without its end"))?;
    Ok(BackupSummary {
        file: path.display().to_string(),
        format: format::FORMAT,
        version: format::VERSION,
        backend: store.backend().name(),
        counts: format::counts_json(&counts),
        rows: counts.total(),
        bytes,
        sha256: sha256.to_owned(),
        elapsed_seconds: seconds(started),
    })
}

#[derive(Debug, Serialize)]
pub struct SnapshotSummary {
    pub file: String,
    pub format: &'static str,
    pub integrity: String,
    pub counts: Value,
    pub rows: u64,
    pub bytes: u64,
    pub elapsed_seconds: f64,
}

/// SQLite: `VACUUM INTO` a new file beside `path`, checked, then renamed to `path`.
pub async fn snapshot(store: &dyn Store, path: &Path) -> Result<SnapshotSummary, BackupError> {
    let started = Instant::now();
    let write_error = |source| BackupError::Write {
        path: path.display().to_string(),
        source,
    };
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    let partial = path.with_file_name(name);
    match std::fs::remove_file(&partial) {
        Err(err) if err.kind() != std::io::ErrorKind::NotFound => return Err(write_error(err)),
        _ => {}
    }
    let report = match store.snapshot_into(&partial).await {
        Ok(report) => report,
        Err(err) => {
            let _ = std::fs::remove_file(&partial);
            return Err(err.into());
        }
    };
    file::make_private(&partial).map_err(write_error)?;
    std::fs::rename(&partial, path).map_err(write_error)?;
    let bytes = std::fs::metadata(path).map_err(write_error)?.len();
    Ok(SnapshotSummary {
        file: path.display().to_string(),
        format: "sqlite",
        integrity: report.integrity,
        counts: format::counts_json(&report.counts),
        rows: report.counts.total(),
        bytes,
        elapsed_seconds: seconds(started),
    })
}

/// Checks a whole backup file before anything is written (see `file::verify`).
pub fn verify(path: &Path) -> Result<file::Verified, BackupError> {
    let verified = file::verify(path).map_err(file_error(path))?;
    tracing::info!(
        backend = %verified.header.backend,
        created_at = %verified.header.created_at,
        rows = verified.trailer.counts.total(),
        "verified {}: format, version, every line, counts and checksum",
        path.display()
    );
    if !verified.unknown_columns.is_empty() {
        let columns = verified
            .unknown_columns
            .iter()
            .cloned()
            .collect::<Vec<_>>()
            .join(", ");
        tracing::warn!(%columns, "columns this version does not know are not restored");
    }
    Ok(verified)
}

#[derive(Debug, Serialize)]
pub struct RestoreSummary {
    pub file: String,
    pub backend: &'static str,
    pub source_backend: String,
    pub created_at: String,
    pub counts: Value,
    pub rows: u64,
    /// Users erased in the target after the backup was taken, erased again.
    pub erasures_reapplied: u64,
    pub elapsed_seconds: f64,
}

/// Imports the verified file at `path` into `store` in one transaction, then applies again
/// the erasures the target had recorded.
pub async fn restore(
    store: &dyn Store,
    path: &Path,
    verified: file::Verified,
    force: bool,
) -> Result<RestoreSummary, BackupError> {
    let started = Instant::now();
    let header = verified.header.clone();
    // The erasures made since the backup was taken must survive it: the target's log is
    // read before the import replaces it, and applied again afterwards.
    let erased_before = if force {
        store.migrate().await?;
        store.erased_users().await?
    } else {
        Vec::new()
    };
    let source = file::FileSource::open(path, verified).map_err(file_error(path))?;
    let mut source = Counting::new("restore", source);
    let counts = store
        .import_rows(&mut source, force)
        .await
        .map_err(|err| match err {
            // The file's own errors are reported as such, with its name.
            BulkError::Source(source) => match source.downcast::<FormatError>() {
                Ok(format) => file_error(path)(*format),
                Err(other) => BulkError::Source(other).into(),
            },
            other => other.into(),
        })?;
    let erasures_reapplied = reapply_erasures(store, &erased_before).await?;
    Ok(RestoreSummary {
        file: path.display().to_string(),
        backend: store.backend().name(),
        source_backend: header.backend,
        created_at: header.created_at,
        counts: format::counts_json(&counts),
        rows: counts.total(),
        erasures_reapplied,
        elapsed_seconds: seconds(started),
    })
}

/// Erases again each user of `erased` that the restored data holds unerased: its items
/// handed over as on delete (deleted when nobody is left to take them). Returns how many.
async fn reapply_erasures(store: &dyn Store, erased: &[i64]) -> Result<u64, BackupError> {
    use crate::audit::Context;
    use crate::domain::ErasedItems;
    use crate::store::Erasure;
    let context = Context::command_line();
    let mut reapplied = 0;
    for &id in erased {
        let done = match store
            .erase_user(id, ErasedItems::HandOver, &context)
            .await?
        {
            Erasure::LastActiveUser => store.erase_user(id, ErasedItems::Delete, &context).await?,
            other => other,
        };
        if done == Erasure::Done {
            tracing::info!(
                user_id = id,
                "an erasure made after the backup was applied again"
            );
            reapplied += 1;
        }
    }
    Ok(reapplied)
}

#[derive(Debug, Serialize)]
pub struct CopySummary {
    pub from: &'static str,
    pub to: &'static str,
    pub counts: Value,
    pub rows: u64,
    pub elapsed_seconds: f64,
}

/// Streams every row of `from` into `to` (an export and an import running side by side,
/// a few batches apart, with no file between them).
pub async fn copy(
    from: &dyn Store,
    to: &dyn Store,
    force: bool,
) -> Result<CopySummary, BackupError> {
    let started = Instant::now();
    let (sender, receiver) = mpsc::channel(4);
    // Each side owns its end of the channel: when one stops, the other learns at once.
    let export = async move { from.export_rows(&mut ChannelSink(sender)).await };
    let import = async move {
        let mut source = Counting::new("copy", ChannelSource(receiver));
        to.import_rows(&mut source, force).await
    };
    let (exported, imported) = tokio::join!(export, import);
    let counts = match (exported, imported) {
        (Ok(_), Ok(counts)) => counts,
        // The side that failed first is the cause; the other only saw the channel close.
        (Err(BulkError::Sink(err)), Err(import)) if err.is::<Closed>() => return Err(import.into()),
        (Err(export), _) => return Err(export.into()),
        (Ok(_), Err(import)) => return Err(import.into()),
    };
    Ok(CopySummary {
        from: from.backend().name(),
        to: to.backend().name(),
        counts: format::counts_json(&counts),
        rows: counts.total(),
        elapsed_seconds: seconds(started),
    })
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Closed(&'static str);

struct ChannelSink(mpsc::Sender<Piece>);

#[async_trait]
impl RowSink for ChannelSink {
    async fn put(&mut self, piece: Piece) -> Result<(), BoxError> {
        self.0
            .send(piece)
            .await
            .map_err(|_| Box::new(Closed("the import stopped")) as BoxError)
    }
}

struct ChannelSource(mpsc::Receiver<Piece>);

#[async_trait]
impl RowSource for ChannelSource {
    async fn take(&mut self) -> Result<Piece, BoxError> {
        self.0
            .recv()
            .await
            .ok_or_else(|| Box::new(Closed("the export stopped")) as BoxError)
    }
}

/// Reports the progress of the rows an import takes in.
struct Counting<S> {
    inner: S,
    what: &'static str,
    progress: Progress,
}

impl<S> Counting<S> {
    fn new(what: &'static str, inner: S) -> Self {
        Counting {
            inner,
            what,
            progress: Progress::new(what, None),
        }
    }
}

#[async_trait]
impl<S: RowSource> RowSource for Counting<S> {
    async fn take(&mut self) -> Result<Piece, BoxError> {
        let piece = self.inner.take().await?;
        match &piece {
            Piece::Start(counts) => self.progress = Progress::new(self.what, Some(counts.total())),
            Piece::Batch(batch) => self.progress.advance(batch.rows.len() as u64),
            Piece::End(_) => tracing::info!(
                rows = self.progress.done(),
                seconds = self.progress.elapsed().as_secs_f64(),
                "{}: every row is in, committing",
                self.what
            ),
        }
        Ok(piece)
    }
}
