//! The command line's backup tools: `backup`, `restore`, `copy` (see `crate::backup` and
//! docs/operations.md). Each prints its summary as JSON on standard output; progress and
//! refusals go to standard error.

use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;

use super::print_json;
use crate::backup::{self, BackupError};
use crate::config::Config;
use crate::store::{self, DbSettings, Store};

#[derive(Debug, clap::Args)]
pub struct BackupArgs {
    /// The file to write; it appears only once complete (written as FILE.partial first), and
    /// replaces an older one of that name
    file: PathBuf,
    /// SQLite only: a consistent copy of the database file itself (VACUUM INTO), checked with
    /// PRAGMA integrity_check; restore it by pointing DATABASE_URL at it. Without this flag
    /// the backup is the portable JSON Lines format, which `restore` reads on any backend
    #[arg(long)]
    sqlite_snapshot: bool,
}

#[derive(Debug, clap::Args)]
pub struct RestoreArgs {
    /// A portable backup written by `todo-api backup` (verified in full before anything is
    /// written)
    file: PathBuf,
    /// Restore into a database that has rows: they are deleted first, in the restore's
    /// transaction
    #[arg(long)]
    force: bool,
}

#[derive(Debug, clap::Args)]
pub struct CopyArgs {
    /// The database to read (any backend's URL); it is not changed
    #[arg(long)]
    from: String,
    /// The database to write (migrated first; must be empty unless --force)
    #[arg(long)]
    to: String,
    /// Copy into a database that has rows: they are deleted first, in the copy's transaction
    #[arg(long)]
    force: bool,
}

#[derive(Debug)]
pub enum Command {
    Backup(BackupArgs),
    Restore(RestoreArgs),
    Copy(CopyArgs),
}

/// A bulk run's settings: no statement timeout (a restore's DELETE of a million rows may
/// take longer than a request's limit), few connections.
fn bulk(url: SecretString) -> DbSettings {
    DbSettings {
        max_connections: 2,
        statement_timeout: Duration::ZERO,
        ..DbSettings::new(url)
    }
}

async fn open(settings: &DbSettings) -> anyhow::Result<std::sync::Arc<dyn Store>> {
    let store = store::connect(settings)?;
    store.check_connection().await?;
    Ok(store)
}

pub async fn run(command: Command, config: &Config) -> anyhow::Result<()> {
    match command {
        Command::Backup(args) => {
            let store = open(&bulk(config.database.url.clone())).await?;
            let result = if args.sqlite_snapshot {
                backup::snapshot(store.as_ref(), &args.file)
                    .await
                    .map(|summary| print_json(&summary))
            } else {
                backup::backup(store.as_ref(), &args.file)
                    .await
                    .map(|summary| print_json(&summary))
            };
            store.close().await;
            result?
        }
        Command::Restore(args) => {
            // Nothing is written, not even a migration, before the whole file checks out.
            let verified = backup::verify(&args.file)?;
            let store = open(&bulk(config.database.url.clone())).await?;
            let result = async {
                store.migrate().await.map_err(BackupError::from)?;
                backup::restore(store.as_ref(), &args.file, verified, args.force).await
            }
            .await;
            store.close().await;
            print_json(&result?)
        }
        Command::Copy(args) => {
            if args.from == args.to {
                return Err(BackupError::SameDatabase.into());
            }
            let from = open(&bulk(SecretString::from(args.from))).await?;
            let to = match open(&bulk(SecretString::from(args.to))).await {
                Ok(to) => to,
                Err(err) => {
                    from.close().await;
                    return Err(err);
                }
            };
            let result = async {
                to.migrate().await.map_err(BackupError::from)?;
                backup::copy(from.as_ref(), to.as_ref(), args.force).await
            }
            .await;
            from.close().await;
            to.close().await;
            print_json(&result?)
        }
    }
}
