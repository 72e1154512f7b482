//! The `todo-api` command line: the server and the operator's tools.
//!
//! Standard output carries a command's result and nothing else (JSON, or a table where a
//! person reads it, with `--json` for scripts); logs and errors go to standard error, each
//! error once. `serve` logs to standard output, where the container runtime collects it.

use std::io::{BufRead, Write};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

mod access;
mod backup;

use crate::accounts::Accounts;
use crate::audit::Context;
use crate::config::{self, Config};
use crate::domain::{Account, UserWithToken};
use crate::server;
use crate::store::{self, Deactivation, Store};
use crate::telemetry::{self, LogTarget};

#[derive(Debug, Parser)]
#[command(
    name = "todo-api",
    version,
    about = "A ToDo REST API (users and their items), drop-in compatible with the FastAPI sample app"
)]
#[command(
    after_help = "Configuration comes from environment variables: `todo-api serve --help` lists them."
)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the HTTP server (the default)
    #[command(after_help = config::help())]
    Serve,
    /// Apply the database migrations and exit (adopts a FastAPI sql_app.db in place)
    Migrate {
        /// Print the applied migrations as JSON
        #[arg(long)]
        json: bool,
    },
    /// Exit 0 when the local server is alive (/livez), 1 otherwise: a container HEALTHCHECK
    /// that needs no curl
    Healthcheck {
        /// Check readiness (/health-check, which needs the database) instead of liveness
        #[arg(long)]
        ready: bool,
        /// Seconds to wait for an answer
        #[arg(long, default_value_t = 3)]
        timeout: u64,
    },
    /// Manage users
    #[command(subcommand)]
    User(UserCommand),
    /// Manage API tokens
    #[command(subcommand)]
    Token(TokenCommand),
    /// The audit trail: export, purge past retention
    #[command(subcommand)]
    Audit(access::AuditCommand),
    /// Back up the database (DATABASE_URL) to a file while the service keeps serving: a
    /// portable JSON Lines export of one consistent snapshot, or with --sqlite-snapshot a copy
    /// of the SQLite file
    Backup(backup::BackupArgs),
    /// Restore a backup file into the database (DATABASE_URL): the file is verified in full
    /// first, the migrations are applied, then every row goes in in one transaction with its id
    Restore(backup::RestoreArgs),
    /// Copy every row from one database to another, between any backends (an export streamed
    /// into an import: ids, timestamps, token hashes and ETags are kept)
    Copy(backup::CopyArgs),
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Create a user and print it with its API token (as JSON)
    Create {
        /// The new user's email address (checked like the API's sign-up)
        #[arg(long)]
        email: String,
        /// Make the user an admin (allowed everything; may create users when SIGNUP=false)
        #[arg(long)]
        admin: bool,
        /// Read the password from the first line of standard input (otherwise from the
        /// TODO_API_PASSWORD environment variable)
        #[arg(long)]
        password_stdin: bool,
    },
    /// List every user, active or not (a table; --json for scripts)
    List {
        /// Print JSON instead of a table
        #[arg(long)]
        json: bool,
    },
    /// Make a user an admin
    Promote(UserRef),
    /// Take the admin role from a user
    Demote(UserRef),
    /// Deactivate ("delete") a user, handing its items to the active user with the smallest id
    Deactivate(UserRef),
    /// Make a deactivated user active again
    Activate(UserRef),
    /// Print everything stored about a user (account, items, tokens, audit records) as JSON
    Export(UserRef),
    /// Erase a user's personal data for good (email, password, tokens, client addresses);
    /// its items go to the active user with the smallest id, or are deleted
    Erase {
        #[command(flatten)]
        user: UserRef,
        /// Delete the user's items instead of handing them over
        #[arg(long)]
        delete_items: bool,
    },
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Issue a new primary API token for a user and print it (the old one stops working at
    /// once; named tokens are left alone)
    Rotate(UserRef),
    /// Issue a named token (optionally read-only) besides the primary one
    Create(access::TokenCreate),
    /// List a user's named tokens (never their secrets)
    List(UserRef),
    /// Revoke a named token
    Revoke(access::TokenRevoke),
}

#[derive(Debug, Args)]
pub(crate) struct UserRef {
    /// The user's id or email
    user: String,
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(err) => {
            eprintln!("todo-api: invalid configuration: {err}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("todo-api: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let command = cli.command.unwrap_or(Command::Serve);
    if let Command::Healthcheck { ready, timeout } = command {
        let path = if ready { "/health-check" } else { "/livez" };
        return runtime.block_on(healthcheck(&config, path, Duration::from_secs(timeout)));
    }
    let serving = matches!(command, Command::Serve);
    let result = runtime.block_on(async {
        let target = if serving {
            LogTarget::Stdout
        } else {
            LogTarget::Stderr
        };
        let telemetry = telemetry::init(&config, target);
        let result = if serving {
            server::serve(config).await
        } else {
            run(command, config).await
        };
        telemetry.shutdown();
        result
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) if serving => {
            // The server's log is where its operators look (CloudWatch, Cloud Logging).
            tracing::error!(error = %report(&err), "todo-api failed");
            ExitCode::FAILURE
        }
        Err(err) => {
            eprintln!("todo-api: {}", report(&err));
            ExitCode::FAILURE
        }
    }
}

/// The tools: each opens the database, checks that it can connect (with a message that says
/// why not), applies migrations when asked to, does its work and prints its result.
async fn run(command: Command, config: Config) -> anyhow::Result<()> {
    // The backup tools open their databases themselves (`copy` two of them).
    let bulk = match command {
        Command::Backup(args) => backup::Command::Backup(args),
        Command::Restore(args) => backup::Command::Restore(args),
        Command::Copy(args) => backup::Command::Copy(args),
        other => return tools(other, config).await,
    };
    backup::run(bulk, &config).await
}

async fn tools(command: Command, config: Config) -> anyhow::Result<()> {
    let store = store::connect(&config.database)?;
    store.check_connection().await?;
    let result = async {
        let migrating = matches!(command, Command::Migrate { .. });
        let applied = if migrating || config.auto_migrate {
            store.migrate().await?
        } else {
            Vec::new()
        };
        if let (true, Some(role)) = (migrating, &config.database_app_role) {
            store.grant_app_role(role).await?;
            tracing::info!(role = %role, "the audit tables are append-only for the service's login");
        }
        if let Command::Audit(audit) = command {
            return access::audit(store.as_ref(), &config, audit).await;
        }
        let accounts = server::accounts(&config, store.clone());
        let first_admin = match (&command, &config.bootstrap_admin) {
            (Command::Migrate { .. }, Some((email, token))) => {
                Some(accounts.adopt_first_admin(email, token).await?)
            }
            _ => None,
        };
        tool(command, store.as_ref(), &accounts, applied, first_admin).await
    }
    .await;
    store.close().await;
    result
}

async fn tool(
    command: Command,
    store: &dyn Store,
    accounts: &Accounts,
    applied: Vec<store::AppliedMigration>,
    first_admin: Option<store::FirstAdmin>,
) -> anyhow::Result<()> {
    match command {
        Command::Serve | Command::Healthcheck { .. } => unreachable!("handled by main"),
        Command::Migrate { json } => {
            if json {
                return print_json(&MigrateReport {
                    backend: store.backend().name(),
                    applied,
                    first_admin,
                });
            }
            let mut out = std::io::stdout().lock();
            if applied.is_empty() {
                writeln!(
                    out,
                    "{}: up to date, nothing to apply",
                    store.backend().name()
                )?;
            }
            for migration in applied {
                writeln!(
                    out,
                    "applied {:04} {}",
                    migration.version, migration.description
                )?;
            }
            match first_admin {
                Some(store::FirstAdmin::Created(id)) => writeln!(
                    out,
                    "first admin: created user {id} with the bootstrap token"
                )?,
                Some(store::FirstAdmin::Promoted(id)) => writeln!(
                    out,
                    "first admin: user {id} promoted, with the bootstrap token"
                )?,
                Some(store::FirstAdmin::AdminExists) => {
                    writeln!(out, "first admin: an admin exists already, nothing changed")?
                }
                None => {}
            }
            Ok(())
        }
        Command::User(UserCommand::Create {
            email,
            admin,
            password_stdin,
        }) => {
            let password = read_password(password_stdin)?;
            let created = accounts
                .register(
                    email,
                    SecretString::from(password),
                    admin,
                    None,
                    &Context::command_line(),
                )
                .await?;
            print_json(&created)
        }
        Command::User(UserCommand::List { json }) => {
            let accounts = store.accounts().await?;
            if json {
                return print_json(&accounts);
            }
            let mut out = std::io::stdout().lock();
            writeln!(out, "{:>8}  {:<6}  {:<5}  email", "id", "active", "admin")?;
            for account in accounts {
                writeln!(
                    out,
                    "{:>8}  {:<6}  {:<5}  {}",
                    account.id, account.is_active, account.is_admin, account.email
                )?;
            }
            Ok(())
        }
        Command::User(UserCommand::Promote(who)) => access::set_role(store, who, true).await,
        Command::User(UserCommand::Demote(who)) => access::set_role(store, who, false).await,
        Command::User(UserCommand::Activate(who)) => access::activate(store, who).await,
        Command::User(UserCommand::Export(who)) => access::export(store, who).await,
        Command::User(UserCommand::Erase { user, delete_items }) => {
            access::erase(store, user, delete_items).await
        }
        Command::Token(TokenCommand::Create(args)) => {
            access::token_create(store, accounts, args).await
        }
        Command::Token(TokenCommand::List(who)) => access::token_list(store, who).await,
        Command::Token(TokenCommand::Revoke(args)) => access::token_revoke(store, args).await,
        Command::Audit(_) => unreachable!("handled by run"),
        Command::Backup(_) | Command::Restore(_) | Command::Copy(_) => {
            unreachable!("handled by run")
        }
        Command::User(UserCommand::Deactivate(who)) => {
            let account = find(store, &who).await?;
            match store
                .deactivate_user(account.id, &Context::command_line())
                .await?
            {
                Deactivation::Done { heir_id, .. } => print_json(&Deactivated {
                    id: account.id,
                    email: account.email,
                    is_active: false,
                    items_moved_to: heir_id,
                }),
                Deactivation::NotFound => {
                    anyhow::bail!("user {} is already inactive", account.id)
                }
                Deactivation::LastActiveUser => {
                    anyhow::bail!("user {} is the last active user", account.id)
                }
            }
        }
        Command::Token(TokenCommand::Rotate(who)) => {
            let account = find(store, &who).await?;
            let rotated = accounts
                .rotate_token(account.id, None, &Context::command_line())
                .await?;
            let user = store
                .user(account.id)
                .await?
                .ok_or_else(|| anyhow::anyhow!("user {} is inactive", account.id))?;
            print_json(&UserWithToken {
                user,
                token: rotated.token.expose_secret().to_owned(),
            })
        }
    }
}

#[derive(Serialize)]
struct MigrateReport {
    backend: &'static str,
    applied: Vec<store::AppliedMigration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    first_admin: Option<store::FirstAdmin>,
}

#[derive(Serialize)]
struct Deactivated {
    id: i64,
    email: String,
    is_active: bool,
    items_moved_to: i64,
}

/// The error and its causes on one line, skipping a cause whose text its parent already
/// quotes (sqlx's and our errors include their source in their own message).
fn report(err: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if !out.contains(&text) {
            if !out.is_empty() {
                out.push_str(": ");
            }
            out.push_str(&text);
        }
    }
    out
}

async fn find(store: &dyn Store, who: &UserRef) -> anyhow::Result<Account> {
    let account = match who.user.parse::<i64>() {
        Ok(id) => store.account(id).await?,
        Err(_) => store.account_by_email(&who.user).await?,
    };
    account.ok_or_else(|| anyhow::anyhow!("no user {}", who.user))
}

fn read_password(from_stdin: bool) -> anyhow::Result<String> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        return Ok(line.trim_end_matches(['\r', '\n']).to_owned());
    }
    std::env::var("TODO_API_PASSWORD").map_err(|_| {
        anyhow::anyhow!(
            "give the password on standard input with --password-stdin, or in TODO_API_PASSWORD"
        )
    })
}

fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}

/// One HTTP/1.1 GET against the local server: the distroless image has no curl.
async fn healthcheck(config: &Config, path: &str, timeout: Duration) -> ExitCode {
    let host = match config.host.as_str() {
        "0.0.0.0" => "127.0.0.1",
        "::" | "[::]" => "::1",
        other => other,
    };
    let probe = async {
        let mut stream = tokio::net::TcpStream::connect((host, config.port)).await?;
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nUser-Agent: todo-api-healthcheck\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await?;
        let mut head = [0u8; 32];
        let n = stream.read(&mut head).await?;
        Ok::<bool, std::io::Error>(head[..n].starts_with(b"HTTP/1.1 200"))
    };
    match tokio::time::timeout(timeout, probe).await {
        Ok(Ok(true)) => ExitCode::SUCCESS,
        Ok(Ok(false)) => {
            eprintln!("todo-api healthcheck: {path} did not answer 200");
            ExitCode::FAILURE
        }
        Ok(Err(err)) => {
            eprintln!("todo-api healthcheck: {host}:{} {path}: {err}", config.port);
            ExitCode::FAILURE
        }
        Err(_) => {
            eprintln!("todo-api healthcheck: no answer within {timeout:?}");
            ExitCode::FAILURE
        }
    }
}
