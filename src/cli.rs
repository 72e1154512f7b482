//! The `todo-api` command line: the server and the operator's tools.

use std::io::{BufRead, Write};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use secrecy::SecretString;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::config::Config;
use crate::domain::Account;
use crate::http::{AppState, error::ApiError, users};
use crate::store;
use crate::{server, telemetry};

#[derive(Debug, Parser)]
#[command(
    name = "todo-api",
    version,
    about = "A ToDo REST API (users and their items), drop-in compatible with the FastAPI sample app"
)]
#[command(
    after_help = "Configuration comes from environment variables (DATABASE_URL, PORT, ...): see the README."
)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the HTTP server (the default)
    Serve,
    /// Apply the database migrations and exit (adopts a FastAPI sql_app.db in place)
    Migrate,
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
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Create a user and print it with its API token (as JSON)
    Create {
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
    /// List every user, active or not
    List,
    /// Make a user an admin
    Promote(UserRef),
    /// Deactivate ("delete") a user, handing its items to the active user with the smallest id
    Deactivate(UserRef),
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Issue a new API token for a user and print it (the old one stops working at once)
    Rotate(UserRef),
}

#[derive(Debug, Args)]
struct UserRef {
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
    let result = runtime.block_on(async {
        let telemetry = telemetry::init(&config);
        let result = run(command, config).await;
        telemetry.shutdown();
        result
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let report = report(&err);
            tracing::error!(error = %report, "todo-api failed");
            eprintln!("todo-api: {report}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, config: Config) -> anyhow::Result<()> {
    if matches!(command, Command::Serve) {
        return server::serve(config).await;
    }
    let store = store::connect(&config.database)?;
    if matches!(command, Command::Migrate) || config.auto_migrate {
        store.migrate().await?;
    }
    let state = server::state(&config, store.clone());
    let result = admin(command, &state).await;
    store.close().await;
    result
}

async fn admin(command: Command, state: &AppState) -> anyhow::Result<()> {
    match command {
        Command::Serve | Command::Healthcheck { .. } => unreachable!("handled by run"),
        Command::Migrate => {
            tracing::info!(backend = state.store.backend().name(), "migrations applied");
            Ok(())
        }
        Command::User(UserCommand::Create {
            email,
            admin,
            password_stdin,
        }) => {
            let password = read_password(password_stdin)?;
            if password.chars().count() < users::MIN_PASSWORD {
                anyhow::bail!(
                    "the password must have at least {} characters",
                    users::MIN_PASSWORD
                );
            }
            if let Err(reason) = crate::http::email_check(&email) {
                anyhow::bail!("not a valid email address: {reason}");
            }
            let created = users::register(state, email, SecretString::from(password), admin)
                .await
                .map_err(api)?;
            print_json(&created)
        }
        Command::User(UserCommand::List) => {
            let mut out = std::io::stdout().lock();
            writeln!(out, "{:>8}  {:<6}  {:<5}  email", "id", "active", "admin")?;
            for account in state.store.accounts().await? {
                writeln!(
                    out,
                    "{:>8}  {:<6}  {:<5}  {}",
                    account.id, account.is_active, account.is_admin, account.email
                )?;
            }
            Ok(())
        }
        Command::User(UserCommand::Promote(who)) => {
            let account = find(state, &who).await?;
            state.store.set_admin(account.id, true).await?;
            println!("user {} ({}) is now an admin", account.id, account.email);
            Ok(())
        }
        Command::User(UserCommand::Deactivate(who)) => {
            let account = find(state, &who).await?;
            match state.store.deactivate_user(account.id).await? {
                store::Deactivation::Done { heir_id, .. } => {
                    println!(
                        "user {} deactivated; its items now belong to user {heir_id}",
                        account.id
                    );
                    Ok(())
                }
                store::Deactivation::NotFound => {
                    anyhow::bail!("user {} is already inactive", account.id)
                }
                store::Deactivation::LastActiveUser => {
                    anyhow::bail!("user {} is the last active user", account.id)
                }
            }
        }
        Command::Token(TokenCommand::Rotate(who)) => {
            let account = find(state, &who).await?;
            print_json(
                &users::rotate_token_of(state, account.id)
                    .await
                    .map_err(api)?,
            )
        }
    }
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

fn api(err: ApiError) -> anyhow::Error {
    match err {
        ApiError::Internal(cause) => cause,
        other => anyhow::anyhow!("{other}"),
    }
}

async fn find(state: &AppState, who: &UserRef) -> anyhow::Result<Account> {
    let account = match who.user.parse::<i64>() {
        Ok(id) => state.store.account(id).await?,
        Err(_) => state.store.account_by_email(&who.user).await?,
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
