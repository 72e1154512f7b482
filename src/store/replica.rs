//! Read replicas (PostgreSQL): reads that may be a little behind go to a hot standby
//! (`DATABASE_READ_URL`), everything else to the primary (`DATABASE_URL`).
//!
//! # Routing
//!
//! `replicated` wraps the primary's store and the replica's in one `Store`, so the rest of the
//! service still knows one abstraction. That store sends every call to the primary: writes,
//! token lookups, the reads inside a change (a rotation reads the account it just changed),
//! the health check. Only a store obtained with `store::reads(&store, ReadFrom::Replica)` (its
//! `reads_from`) sends reads to the replica: the HTTP handlers of `GET` routes ask for it with
//! the decision the caller carries. So a read goes to the replica only where someone chose it,
//! never by accident, and a new store call reads from the primary until it is chosen too.
//! (A task-local would have hidden the choice; a parameter on every read method would have
//! told every backend about replicas.)
//!
//! The decision is the caller's (`accounts::authenticate`): every change records when its
//! actor wrote (`users.last_write_at`, in the change's transaction), the token lookup on the
//! primary returns it, and a caller whose last write is younger than `READ_AFTER_WRITE_WINDOW`
//! (plus `LAST_WRITE_GRANULARITY`) reads from the primary. So a user sees its own writes on
//! every instance, since the record is on the primary that every instance asks; other users'
//! writes reach it with the replica's lag, which is bounded next.
//!
//! # Lag and failures
//!
//! A background task compares, every second, the primary's write position with the replica's
//! replay position (`pg_current_wal_lsn()`, `pg_last_wal_replay_lsn()`, in bytes as
//! `pg_wal_lsn_diff` counts them), and publishes the lag and whether the replica answers
//! (`db_replica_lag_bytes`, `db_replica_up`, `db_replica_in_use`). The replica is used only
//! while it answers as a standby and its lag is at most `REPLICA_MAX_LAG_BYTES`; past the
//! bound it is used again once the lag is back under half of it. Otherwise reads go to the
//! primary, and each change of state is one log line. A read that fails on the replica in a
//! way waiting could mend (it went away, a query cancelled by a conflict with recovery) is
//! run again on the primary at once, before the task notices. `/health-check` never looks at
//! the replica: a replica outage costs the primary some load, not the service.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use async_trait::async_trait;
use time::PrimitiveDateTime;

use super::{
    AppliedMigration, Backend, Change, DbSettings, Deactivation, Erasure, FirstAdmin, PoolStats,
    ReadFrom, Store, StoreError, StoreResult, WalPosition,
};
use crate::audit::{self, Context};
use crate::domain::{
    Account, AccountFilter, ApiToken, ErasedItems, Item, ItemChanges, ItemFilter, NewApiToken,
    NewItem, NewUser, Page, TokenOwner, User,
};
use crate::idempotency::{Claim, Completion};
use crate::telemetry::names;

/// How often the lag is measured.
const CHECK_INTERVAL: Duration = Duration::from_secs(1);
/// How long one measurement may wait for either server.
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// `DATABASE_READ_URL` and its bound, built and validated by `config`.
#[derive(Debug, Clone)]
pub struct ReplicaSettings {
    /// The replica's URL (password merged in) and the same pool limits as the primary's.
    pub database: DbSettings,
    /// `REPLICA_MAX_LAG_BYTES`.
    pub max_lag_bytes: u64,
}

impl ReplicaSettings {
    pub const DEFAULT_MAX_LAG_BYTES: u64 = 16 * 1024 * 1024;
}

/// Whether reads may go to the replica, and why not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplicaState {
    /// Not measured yet: reads go to the primary.
    Starting,
    /// Reads go to the replica.
    InUse,
    /// Its lag is past `REPLICA_MAX_LAG_BYTES`.
    Lagging,
    /// It does not answer (or has replayed nothing yet).
    Unavailable,
    /// It answers, but is not in recovery: not a standby of anything.
    NotAStandby,
}

/// The replica's state and its last measured lag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplicaStatus {
    pub state: ReplicaState,
    pub lag_bytes: Option<u64>,
}

/// What one measurement saw.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Observation {
    /// The replica is this many bytes behind.
    Lag(u64),
    Unreachable(String),
    NotAStandby,
    /// The replica answered but the primary did not: the lag is unknown.
    PrimaryUnknown,
}

/// The state after `observation`, from `current`: past the bound the replica stays out until
/// its lag is under half of it, so a lag that hovers at the bound does not flap.
fn next_state(current: ReplicaState, observation: &Observation, max_lag: u64) -> ReplicaState {
    match observation {
        Observation::Unreachable(_) => ReplicaState::Unavailable,
        Observation::NotAStandby => ReplicaState::NotAStandby,
        Observation::PrimaryUnknown => current,
        Observation::Lag(bytes) if *bytes > max_lag => ReplicaState::Lagging,
        Observation::Lag(bytes) if current == ReplicaState::Lagging && *bytes > max_lag / 2 => {
            ReplicaState::Lagging
        }
        Observation::Lag(_) => ReplicaState::InUse,
    }
}

/// The two stores and what the lag task last decided.
struct Databases {
    primary: Arc<dyn Store>,
    replica: Arc<dyn Store>,
    max_lag_bytes: u64,
    /// Read on every read: whether it may go to the replica.
    in_use: AtomicBool,
    status: Mutex<ReplicaStatus>,
    closed: AtomicBool,
}

impl Databases {
    fn status(&self) -> ReplicaStatus {
        match self.status.lock() {
            Ok(status) => *status,
            Err(poisoned) => *poisoned.into_inner(),
        }
    }

    fn set_status(&self, status: ReplicaStatus) {
        match self.status.lock() {
            Ok(mut current) => *current = status,
            Err(poisoned) => *poisoned.into_inner() = status,
        }
        self.in_use
            .store(status.state == ReplicaState::InUse, Ordering::Relaxed);
    }

    /// One measurement: the replica first, so that the lag is, if anything, overstated.
    async fn observe(&self) -> Observation {
        let failure = match tokio::time::timeout(PROBE_TIMEOUT, self.replica.wal_position()).await {
            Ok(Ok(replica)) => return self.lag_behind(replica).await,
            Ok(Err(err)) => err.to_string(),
            Err(_) => format!("no answer within {PROBE_TIMEOUT:?}"),
        };
        // The pool only says that it timed out: a connection of its own says why.
        match tokio::time::timeout(PROBE_TIMEOUT, self.replica.check_connection()).await {
            Ok(Err(err)) => Observation::Unreachable(err.to_string()),
            _ => Observation::Unreachable(failure),
        }
    }

    /// How far `replica` is behind the primary's position.
    async fn lag_behind(&self, replica: WalPosition) -> Observation {
        let replayed = match replica {
            WalPosition {
                in_recovery: false, ..
            } => return Observation::NotAStandby,
            WalPosition { lsn: None, .. } => {
                return Observation::Unreachable("it has replayed no WAL yet".into());
            }
            WalPosition { lsn: Some(lsn), .. } => lsn,
        };
        match tokio::time::timeout(PROBE_TIMEOUT, self.primary.wal_position()).await {
            Ok(Ok(WalPosition {
                lsn: Some(written), ..
            })) => Observation::Lag(written.saturating_sub(replayed)),
            _ => Observation::PrimaryUnknown,
        }
    }
}

/// Applies `observation`: metrics always, a log line when the state changes.
fn apply(databases: &Databases, observation: &Observation) {
    let before = databases.status();
    let state = next_state(before.state, observation, databases.max_lag_bytes);
    let lag_bytes = match observation {
        Observation::Lag(bytes) => Some(*bytes),
        Observation::PrimaryUnknown => before.lag_bytes,
        Observation::Unreachable(_) | Observation::NotAStandby => None,
    };
    databases.set_status(ReplicaStatus { state, lag_bytes });
    if let Some(bytes) = lag_bytes {
        metrics::gauge!(names::REPLICA_LAG_BYTES).set(bytes as f64);
    }
    let up = matches!(
        observation,
        Observation::Lag(_) | Observation::PrimaryUnknown
    );
    metrics::gauge!(names::REPLICA_UP).set(if up { 1.0 } else { 0.0 });
    metrics::gauge!(names::REPLICA_IN_USE).set(if state == ReplicaState::InUse {
        1.0
    } else {
        0.0
    });
    if state == before.state {
        return;
    }
    let max_lag_bytes = databases.max_lag_bytes;
    match (state, observation) {
        (ReplicaState::InUse, _) => tracing::info!(
            lag_bytes,
            max_lag_bytes,
            "read replica in use: reads go to it, except a caller's within READ_AFTER_WRITE_WINDOW of its last write"
        ),
        (ReplicaState::Lagging, _) => tracing::warn!(
            lag_bytes,
            max_lag_bytes,
            "read replica lagging past REPLICA_MAX_LAG_BYTES: reads go to the primary"
        ),
        (ReplicaState::Unavailable, Observation::Unreachable(error)) => tracing::warn!(
            error = %error,
            "read replica unavailable: reads go to the primary"
        ),
        (ReplicaState::Unavailable, _) => {
            tracing::warn!("read replica unavailable: reads go to the primary")
        }
        (ReplicaState::NotAStandby, _) => tracing::warn!(
            "DATABASE_READ_URL is not a standby (not in recovery): reads go to the primary"
        ),
        (ReplicaState::Starting, _) => {}
    }
}

/// Measures the lag every second while the store is open.
async fn watch(databases: Weak<Databases>) {
    let mut tick = tokio::time::interval(CHECK_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(databases) = databases.upgrade() else {
            return;
        };
        if databases.closed.load(Ordering::Relaxed) {
            return;
        }
        let observation = databases.observe().await;
        // Closing makes the measurement fail: that is no news for the log.
        if databases.closed.load(Ordering::Relaxed) {
            return;
        }
        apply(&databases, &observation);
    }
}

/// The primary's store with a read replica: connects to the replica (lazily, like the
/// primary) and starts measuring its lag; must run inside the Tokio runtime.
pub fn replicated(
    primary: Arc<dyn Store>,
    settings: &ReplicaSettings,
) -> StoreResult<Arc<dyn Store>> {
    let replica = super::connect(&settings.database)?;
    if primary.backend() != Backend::Postgres || replica.backend() != Backend::Postgres {
        return Err(StoreError::Database(sqlx::Error::Configuration(
            "DATABASE_READ_URL: read replicas are supported on PostgreSQL only".into(),
        )));
    }
    let databases = Arc::new(Databases {
        primary,
        replica,
        max_lag_bytes: settings.max_lag_bytes,
        in_use: AtomicBool::new(false),
        status: Mutex::new(ReplicaStatus {
            state: ReplicaState::Starting,
            lag_bytes: None,
        }),
        closed: AtomicBool::new(false),
    });
    tokio::spawn(watch(Arc::downgrade(&databases)));
    Ok(Arc::new(Replicated {
        databases,
        replica_reads: false,
    }))
}

type Boxed<'a, T> = Pin<Box<dyn Future<Output = StoreResult<T>> + Send + 'a>>;

/// The store of `replicated`: everything to the primary, except the reads of a handle made
/// for `ReadFrom::Replica` while the replica is in use.
struct Replicated {
    databases: Arc<Databases>,
    /// This handle's reads may go to the replica.
    replica_reads: bool,
}

impl Replicated {
    fn primary(&self) -> &dyn Store {
        self.databases.primary.as_ref()
    }

    /// Runs the read `call` on the replica when this handle may and the replica is in use,
    /// else (and after a failure that waiting could mend) on the primary.
    async fn read<'a, T>(
        &'a self,
        call: impl Fn(&'a dyn Store) -> Boxed<'a, T> + Send,
    ) -> StoreResult<T>
    where
        T: Send + 'a,
    {
        if self.replica_reads && self.databases.in_use.load(Ordering::Relaxed) {
            match call(self.databases.replica.as_ref()).await {
                Ok(value) => {
                    metrics::counter!(names::READS, "database" => "replica").increment(1);
                    return Ok(value);
                }
                Err(err) if err.may_heal() => {
                    tracing::debug!(error = %err, "a read failed on the replica: read again on the primary");
                    metrics::counter!(names::READS, "database" => "primary_after_replica")
                        .increment(1);
                    return call(self.primary()).await;
                }
                Err(err) => return Err(err),
            }
        }
        metrics::counter!(names::READS, "database" => "primary").increment(1);
        call(self.primary()).await
    }
}

#[async_trait]
impl Store for Replicated {
    fn backend(&self) -> Backend {
        self.primary().backend()
    }

    async fn check_connection(&self) -> StoreResult<()> {
        self.primary().check_connection().await
    }

    async fn migrate(&self) -> StoreResult<Vec<AppliedMigration>> {
        self.primary().migrate().await
    }

    async fn ping(&self) -> StoreResult<()> {
        self.primary().ping().await
    }

    fn pool_stats(&self) -> PoolStats {
        self.primary().pool_stats()
    }

    async fn close(&self) {
        self.databases.closed.store(true, Ordering::Relaxed);
        self.databases.replica.close().await;
        self.primary().close().await;
    }

    async fn wal_position(&self) -> StoreResult<WalPosition> {
        self.primary().wal_position().await
    }

    fn reads_from(&self, from: ReadFrom) -> Option<Arc<dyn Store>> {
        Some(Arc::new(Replicated {
            databases: self.databases.clone(),
            replica_reads: from == ReadFrom::Replica,
        }))
    }

    fn replica_status(&self) -> Option<ReplicaStatus> {
        Some(self.databases.status())
    }

    async fn create_user(
        &self,
        user: NewUser,
        completion: Option<&Completion<'_, Account>>,
        context: &Context,
    ) -> StoreResult<Option<Account>> {
        self.primary().create_user(user, completion, context).await
    }

    async fn account_by_email(&self, email: &str) -> StoreResult<Option<Account>> {
        self.read(|store| store.account_by_email(email)).await
    }

    async fn account(&self, id: i64) -> StoreResult<Option<Account>> {
        self.read(|store| store.account(id)).await
    }

    async fn accounts(&self) -> StoreResult<Vec<Account>> {
        self.read(|store| store.accounts()).await
    }

    async fn set_admin(
        &self,
        id: i64,
        admin: bool,
        context: &Context,
    ) -> StoreResult<Option<Account>> {
        self.primary().set_admin(id, admin, context).await
    }

    async fn activate_user(&self, id: i64, context: &Context) -> StoreResult<Option<Account>> {
        self.primary().activate_user(id, context).await
    }

    async fn admin_accounts(&self, filter: &AccountFilter) -> StoreResult<Vec<Account>> {
        self.read(|store| store.admin_accounts(filter)).await
    }

    async fn api_tokens(&self, user_id: i64) -> StoreResult<Vec<ApiToken>> {
        self.read(|store| store.api_tokens(user_id)).await
    }

    async fn create_api_token(
        &self,
        user_id: i64,
        token: NewApiToken,
        context: &Context,
    ) -> StoreResult<Option<ApiToken>> {
        self.primary()
            .create_api_token(user_id, token, context)
            .await
    }

    async fn revoke_api_token(
        &self,
        user_id: i64,
        token_id: i64,
        context: &Context,
    ) -> StoreResult<bool> {
        self.primary()
            .revoke_api_token(user_id, token_id, context)
            .await
    }

    async fn erase_user(
        &self,
        id: i64,
        items: ErasedItems,
        context: &Context,
    ) -> StoreResult<Erasure> {
        self.primary().erase_user(id, items, context).await
    }

    async fn audit_records(&self, filter: &audit::Filter) -> StoreResult<Vec<audit::Record>> {
        self.read(|store| store.audit_records(filter)).await
    }

    async fn purge_audit(&self, before: PrimitiveDateTime) -> StoreResult<u64> {
        self.primary().purge_audit(before).await
    }

    async fn erased_users(&self) -> StoreResult<Vec<i64>> {
        self.primary().erased_users().await
    }

    async fn grant_app_role(&self, role: &str) -> StoreResult<()> {
        self.primary().grant_app_role(role).await
    }

    // Backups read and restores write the primary: a replica may lag the last writes.
    async fn export_rows(
        &self,
        sink: &mut dyn super::rows::RowSink,
    ) -> Result<super::rows::Counts, super::rows::BulkError> {
        self.primary().export_rows(sink).await
    }

    async fn import_rows(
        &self,
        source: &mut dyn super::rows::RowSource,
        replace: bool,
    ) -> Result<super::rows::Counts, super::rows::BulkError> {
        self.primary().import_rows(source, replace).await
    }

    async fn snapshot_into(
        &self,
        path: &std::path::Path,
    ) -> Result<super::rows::SnapshotReport, super::rows::BulkError> {
        self.primary().snapshot_into(path).await
    }

    async fn adopt_first_admin(&self, user: NewUser) -> StoreResult<FirstAdmin> {
        self.primary().adopt_first_admin(user).await
    }

    async fn token_owner(&self, selector: &str) -> StoreResult<Option<TokenOwner>> {
        self.primary().token_owner(selector).await
    }

    async fn set_token(
        &self,
        user_id: i64,
        selector: &str,
        hash: &str,
        completion: Option<&Completion<'_, i64>>,
        context: &Context,
    ) -> StoreResult<bool> {
        self.primary()
            .set_token(user_id, selector, hash, completion, context)
            .await
    }

    async fn upgrade_token_hash(
        &self,
        selector: &str,
        old_hash: &str,
        new_hash: &str,
    ) -> StoreResult<()> {
        self.primary()
            .upgrade_token_hash(selector, old_hash, new_hash)
            .await
    }

    async fn password_hash(&self, user_id: i64) -> StoreResult<Option<String>> {
        self.primary().password_hash(user_id).await
    }

    async fn set_password_hash(&self, user_id: i64, hash: &str) -> StoreResult<()> {
        self.primary().set_password_hash(user_id, hash).await
    }

    async fn user(&self, id: i64) -> StoreResult<Option<User>> {
        self.read(|store| store.user(id)).await
    }

    async fn active_accounts(&self, page: Page) -> StoreResult<Vec<Account>> {
        self.read(|store| store.active_accounts(page)).await
    }

    async fn items_of_owners(
        &self,
        owners: &[i64],
        after: Option<(i64, i64)>,
        limit: i64,
    ) -> StoreResult<Vec<Item>> {
        self.read(|store| store.items_of_owners(owners, after, limit))
            .await
    }

    async fn deactivate_user(&self, id: i64, context: &Context) -> StoreResult<Deactivation> {
        self.primary().deactivate_user(id, context).await
    }

    async fn create_item(
        &self,
        owner_id: i64,
        item: NewItem,
        completion: Option<&Completion<'_, Item>>,
        context: &Context,
    ) -> StoreResult<Option<Item>> {
        self.primary()
            .create_item(owner_id, item, completion, context)
            .await
    }

    async fn claim_idempotency(
        &self,
        key_hash: &str,
        fingerprint: &str,
        now: PrimitiveDateTime,
        stale_before: PrimitiveDateTime,
        expired_before: PrimitiveDateTime,
    ) -> StoreResult<Claim> {
        self.primary()
            .claim_idempotency(key_hash, fingerprint, now, stale_before, expired_before)
            .await
    }

    async fn release_idempotency(&self, key_hash: &str) -> StoreResult<()> {
        self.primary().release_idempotency(key_hash).await
    }

    async fn purge_idempotency(&self, before: PrimitiveDateTime) -> StoreResult<u64> {
        self.primary().purge_idempotency(before).await
    }

    async fn item(&self, owner_id: i64, item_id: i64) -> StoreResult<Option<Item>> {
        self.read(|store| store.item(owner_id, item_id)).await
    }

    async fn items(&self, filter: &ItemFilter) -> StoreResult<Vec<Item>> {
        self.read(|store| store.items(filter)).await
    }

    async fn explain_items(&self, filter: &ItemFilter) -> StoreResult<String> {
        self.read(|store| store.explain_items(filter)).await
    }

    async fn update_item(
        &self,
        owner_id: i64,
        item_id: i64,
        changes: ItemChanges,
        if_version: Option<i64>,
        context: &Context,
    ) -> StoreResult<Change<Item>> {
        self.primary()
            .update_item(owner_id, item_id, changes, if_version, context)
            .await
    }

    async fn delete_item(
        &self,
        owner_id: i64,
        item_id: i64,
        if_version: Option<i64>,
        context: &Context,
    ) -> StoreResult<Change<()>> {
        self.primary()
            .delete_item(owner_id, item_id, if_version, context)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1024 * 1024;

    #[test]
    fn the_replica_is_used_within_the_bound_and_taken_back_under_half_of_it() {
        use ReplicaState::*;
        let lag = Observation::Lag;
        let bound = 16 * MIB;
        assert_eq!(next_state(Starting, &lag(0), bound), InUse);
        assert_eq!(next_state(InUse, &lag(bound), bound), InUse);
        assert_eq!(next_state(InUse, &lag(bound + 1), bound), Lagging);
        assert_eq!(next_state(Lagging, &lag(bound), bound), Lagging);
        assert_eq!(next_state(Lagging, &lag(bound / 2 + 1), bound), Lagging);
        assert_eq!(next_state(Lagging, &lag(bound / 2), bound), InUse);
        assert_eq!(next_state(Unavailable, &lag(bound), bound), InUse);
        assert_eq!(next_state(Lagging, &lag(0), 0), InUse);
        assert_eq!(next_state(InUse, &lag(1), 0), Lagging);
    }

    #[test]
    fn an_unreachable_replica_or_a_primary_is_never_read_and_an_unknown_lag_changes_nothing() {
        use ReplicaState::*;
        let away = Observation::Unreachable("connection refused".into());
        for state in [Starting, InUse, Lagging, Unavailable, NotAStandby] {
            assert_eq!(next_state(state, &away, MIB), Unavailable);
            assert_eq!(
                next_state(state, &Observation::NotAStandby, MIB),
                NotAStandby
            );
            assert_eq!(next_state(state, &Observation::PrimaryUnknown, MIB), state);
        }
    }
}
