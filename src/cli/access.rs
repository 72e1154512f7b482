//! The command line's access-control and compliance tools: named tokens, roles, export and
//! erasure, and the audit trail (export and purge past retention).

use std::io::Write;

use clap::Subcommand;
use secrecy::ExposeSecret;
use serde::Serialize;
use time::PrimitiveDateTime;

use super::{UserRef, find, print_json};
use crate::accounts::Accounts;
use crate::audit::{self, Context};
use crate::compliance;
use crate::config::Config;
use crate::domain::{ApiToken, ErasedItems, now_utc_seconds};
use crate::store::{Erasure, Store};

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Print audit records as JSON Lines, newest first (filters combine)
    Export {
        /// Only records made by this user id
        #[arg(long)]
        actor: Option<i64>,
        /// Only records made at or after this UTC time (2026-12-01T00:00:00)
        #[arg(long, value_parser = parse_time)]
        since: Option<PrimitiveDateTime>,
        /// Only records made before this UTC time
        #[arg(long, value_parser = parse_time)]
        until: Option<PrimitiveDateTime>,
    },
    /// Delete the audit records older than AUDIT_RETENTION_DAYS (run as the database owner,
    /// by the scheduled audit-purge job) and print how many
    Purge,
}

/// Named tokens, besides the primary one `token rotate` replaces.
#[derive(Debug, clap::Args)]
pub struct TokenCreate {
    /// The user's id or email
    #[arg(long)]
    user: String,
    /// What the token is for (shown in listings)
    #[arg(long, default_value = "cli")]
    name: String,
    /// The token may only read (GET); anything else is refused with 403
    #[arg(long)]
    read_only: bool,
}

#[derive(Debug, clap::Args)]
pub struct TokenRevoke {
    /// The user's id or email
    #[arg(long)]
    user: String,
    /// The token's id (from `token list`)
    #[arg(long)]
    id: i64,
}

#[derive(Serialize)]
struct IssuedToken {
    #[serde(flatten)]
    token: ApiToken,
    /// Shown only this once.
    secret: String,
}

fn parse_time(text: &str) -> Result<PrimitiveDateTime, String> {
    PrimitiveDateTime::parse(text, crate::domain::NAIVE_SECONDS)
        .or_else(|_| {
            let date = time::Date::parse(
                text,
                time::macros::format_description!("[year]-[month]-[day]"),
            )?;
            Ok(date.midnight())
        })
        .map_err(|_: time::error::Parse| {
            "expected YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS (UTC)".to_owned()
        })
}

pub async fn token_create(
    store: &dyn Store,
    accounts: &Accounts,
    args: TokenCreate,
) -> anyhow::Result<()> {
    let account = find(store, &UserRef { user: args.user }).await?;
    let (token, secret) = accounts
        .issue_named_token(
            account.id,
            args.name,
            args.read_only,
            &Context::command_line(),
        )
        .await?;
    print_json(&IssuedToken {
        token,
        secret: secret.expose_secret().to_owned(),
    })
}

pub async fn token_list(store: &dyn Store, who: UserRef) -> anyhow::Result<()> {
    let account = find(store, &who).await?;
    print_json(&store.api_tokens(account.id).await?)
}

pub async fn token_revoke(store: &dyn Store, args: TokenRevoke) -> anyhow::Result<()> {
    let account = find(store, &UserRef { user: args.user }).await?;
    if !store
        .revoke_api_token(account.id, args.id, &Context::command_line())
        .await?
    {
        anyhow::bail!("user {} holds no token {}", account.id, args.id);
    }
    print_json(&serde_json::json!({"revoked": args.id, "user_id": account.id}))
}

pub async fn set_role(store: &dyn Store, who: UserRef, admin: bool) -> anyhow::Result<()> {
    let account = find(store, &who).await?;
    let account = store
        .set_admin(account.id, admin, &Context::command_line())
        .await?
        .ok_or_else(|| anyhow::anyhow!("user {} was erased", account.id))?;
    print_json(&account)
}

pub async fn activate(store: &dyn Store, who: UserRef) -> anyhow::Result<()> {
    let account = find(store, &who).await?;
    let account = store
        .activate_user(account.id, &Context::command_line())
        .await?
        .ok_or_else(|| anyhow::anyhow!("user {} was erased", account.id))?;
    print_json(&account)
}

pub async fn export(store: &dyn Store, who: UserRef) -> anyhow::Result<()> {
    let account = find(store, &who).await?;
    let export = compliance::export(store, account.id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no user {}", account.id))?;
    print_json(&export)
}

pub async fn erase(store: &dyn Store, who: UserRef, delete_items: bool) -> anyhow::Result<()> {
    let account = find(store, &who).await?;
    let items = if delete_items {
        ErasedItems::Delete
    } else {
        ErasedItems::HandOver
    };
    match store
        .erase_user(account.id, items, &Context::command_line())
        .await?
    {
        Erasure::Done => print_json(&serde_json::json!({"erased": account.id})),
        Erasure::NotFound => anyhow::bail!("user {} was erased already", account.id),
        Erasure::LastActiveUser => anyhow::bail!(
            "user {} is the last active user: nobody can take its items (use --delete-items)",
            account.id
        ),
    }
}

pub async fn audit(
    store: &dyn Store,
    config: &Config,
    command: AuditCommand,
) -> anyhow::Result<()> {
    match command {
        AuditCommand::Export {
            actor,
            since,
            until,
        } => {
            let filter = audit::Filter {
                actor_id: actor,
                since,
                until,
                ..Default::default()
            };
            let mut out = std::io::stdout().lock();
            let mut written = 0u64;
            compliance::each_audit_page(store, filter, |page| {
                for record in page {
                    serde_json::to_writer(&mut out, record)?;
                    writeln!(out)?;
                }
                written += page.len() as u64;
                tracing::info!(written, "audit export in progress");
                Ok::<_, anyhow::Error>(())
            })
            .await?;
            tracing::info!(written, "audit export done");
            Ok(())
        }
        AuditCommand::Purge => {
            let before = now_utc_seconds() - config.audit_retention;
            let purged = store.purge_audit(before).await?;
            let before = before.format(crate::domain::NAIVE_SECONDS)?;
            print_json(&serde_json::json!({"purged": purged, "before": before}))
        }
    }
}
