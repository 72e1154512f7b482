//! Readiness: does the database answer? Concurrent checks share one answer.
//!
//! Load balancers, Kubernetes probes and monitors ask independently, and a probe storm (or a
//! misconfigured monitor) would otherwise take one pooled connection per request (on SQLite
//! also a hop to that connection's thread), crowding out the requests the pool is for and
//! holding every waiting request in memory. A check that arrives while a ping is in flight
//! waits for that ping instead of starting another: the answer it gets came from the
//! database after the check began, which is all readiness claims. Nothing is cached: the
//! first check after an answer starts a new ping.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Shared};
use tokio::time::Instant;

use crate::store::{Store, StoreError};

/// How long a check waits for the database before calling it unavailable.
pub const TIMEOUT: Duration = Duration::from_secs(1);

/// Why the service is not ready.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Unready {
    /// The store's own error, which already says what failed ("database unavailable: ...").
    #[error(transparent)]
    Failed(Arc<StoreError>),
    #[error("the database did not answer within {TIMEOUT:?}")]
    TimedOut,
}

type Ping = Shared<BoxFuture<'static, Result<(), Unready>>>;

pub struct Readiness {
    store: Arc<dyn Store>,
    /// The ping in flight and when it began.
    in_flight: Mutex<Option<(Instant, Ping)>>,
}

impl Readiness {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            in_flight: Mutex::new(None),
        }
    }

    /// Whether the database (the primary) answers within [`TIMEOUT`].
    pub async fn check(&self) -> Result<(), Unready> {
        self.join_or_start().await
    }

    /// The ping in flight, or a new one when none is: the last one has answered, or began
    /// more than [`TIMEOUT`] ago (its callers went away before it answered, and a ping that
    /// nobody polled must not time out on behalf of a caller that just arrived).
    fn join_or_start(&self) -> Ping {
        let mut in_flight = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((began, ping)) = in_flight.as_ref()
            && ping.peek().is_none()
            && began.elapsed() < TIMEOUT
        {
            return ping.clone();
        }
        let store = self.store.clone();
        let ping = async move {
            match tokio::time::timeout(TIMEOUT, store.ping()).await {
                Ok(Ok(())) => Ok(()),
                Ok(Err(err)) => Err(Unready::Failed(Arc::new(err))),
                Err(_) => Err(Unready::TimedOut),
            }
        }
        .boxed()
        .shared();
        *in_flight = Some((Instant::now(), ping.clone()));
        ping
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::DbSettings;

    /// A SQLite store whose pool has opened no connection yet (a ping needs no schema).
    fn sqlite_store(dir: &tempfile::TempDir) -> Arc<dyn Store> {
        let url = format!("sqlite://{}", dir.path().join("todo.db").display());
        crate::store::connect(&DbSettings::new(url.into())).unwrap()
    }

    /// The pool opens a connection for each acquire that finds none idle (up to its size,
    /// ten here): so one connection after fifty concurrent checks means one ping.
    #[tokio::test]
    async fn concurrent_checks_share_one_ping() {
        let dir = tempfile::tempdir().unwrap();
        let store = sqlite_store(&dir);
        assert_eq!(store.pool_stats().size, 0);
        assert!(store.pool_stats().max >= 10);
        let readiness = Readiness::new(store.clone());
        let checks = (0..50).map(|_| readiness.check());
        let answers = futures_util::future::join_all(checks).await;
        assert!(answers.iter().all(Result::is_ok), "{answers:?}");
        assert_eq!(store.pool_stats().size, 1);
        // Nothing is cached: the next check, after the answer, asks the database again.
        store.close().await;
        assert!(matches!(readiness.check().await, Err(Unready::Failed(_))));
    }

    /// A database that is gone is reported to every check that shared the ping.
    #[tokio::test]
    async fn a_closed_store_is_unready_for_every_check() {
        let dir = tempfile::tempdir().unwrap();
        let store = sqlite_store(&dir);
        store.close().await;
        let readiness = Readiness::new(store);
        let answers = futures_util::future::join_all((0..5).map(|_| readiness.check())).await;
        assert!(
            answers.iter().all(|a| matches!(a, Err(Unready::Failed(_)))),
            "{answers:?}"
        );
    }
}
