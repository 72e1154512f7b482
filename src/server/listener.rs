//! Our own accept loop: hyper's HTTP/1 connections with the limits `axum::serve` has none
//! of. A head must arrive within the header-read timeout (also on a connection that sends
//! nothing at all), an idle keep-alive connection is closed after the idle timeout, a reader
//! that stops reading after the write timeout, and at most `max_connections` are open: at
//! the cap the oldest idle or head-pending connection is closed to make room, so that new
//! clients and health probes still get in.
//!
//! Why not hyper-util's `auto` builder: it sniffs the protocol version by reading the first
//! bytes without any timeout. This service speaks HTTP/1.1 only (load balancers talk to it
//! in HTTP/1.1).

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tower::ServiceExt as _;

use super::connection::{Phase, Tracked, TrackedBody, TrackedIo};
pub use crate::config::HttpLimits;
use crate::telemetry::names;

/// Why the server closed a connection (the `reason` label of `http_connections_closed_total`).
#[derive(Debug, Clone, Copy)]
enum Closed {
    HeaderTimeout,
    IdleTimeout,
    WriteTimeout,
    /// Closed to make room at the cap.
    Evicted,
    /// Refused at the cap, every open connection being busy.
    Refused,
    Shutdown,
}

impl Closed {
    fn label(self) -> &'static str {
        match self {
            Closed::HeaderTimeout => "header_timeout",
            Closed::IdleTimeout => "idle_timeout",
            Closed::WriteTimeout => "write_timeout",
            Closed::Evicted => "evicted",
            Closed::Refused => "refused",
            Closed::Shutdown => "shutdown",
        }
    }

    fn count(self) {
        metrics::counter!(names::CONNECTIONS_CLOSED, "reason" => self.label()).increment(1);
    }
}

#[derive(Default)]
struct Registry {
    open: Mutex<HashMap<u64, Arc<Tracked>>>,
    next_id: AtomicU64,
}

impl Registry {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<Tracked>>> {
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers a new connection, making room at the cap; `None` when it must be refused.
    fn admit(&self, cap: usize) -> Option<(u64, Arc<Tracked>)> {
        let mut open = self.lock();
        if open.len() >= cap && !evict_oldest(&open) {
            Closed::Refused.count();
            return None;
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let tracked = Arc::new(Tracked::new(Instant::now()));
        open.insert(id, tracked.clone());
        metrics::gauge!(names::CONNECTIONS_OPEN).set(open.len() as f64);
        Some((id, tracked))
    }

    fn remove(&self, id: u64) {
        let mut open = self.lock();
        open.remove(&id);
        metrics::gauge!(names::CONNECTIONS_OPEN).set(open.len() as f64);
    }

    /// Closes the connections past their deadline.
    fn reap(&self, limits: &HttpLimits, now: Instant) {
        for tracked in self.lock().values() {
            let expired = match tracked.phase() {
                Phase::Head { since } if now - since > limits.header_read_timeout => {
                    Some(Closed::HeaderTimeout)
                }
                Phase::Idle { since } if now - since > limits.idle_timeout => {
                    Some(Closed::IdleTimeout)
                }
                _ => tracked
                    .write_blocked_since()
                    .filter(|since| now - *since > limits.write_timeout)
                    .map(|_| Closed::WriteTimeout),
            };
            if let Some(reason) = expired
                && tracked.kill()
            {
                reason.count();
            }
        }
    }

    fn kill_all(&self) {
        for tracked in self.lock().values() {
            if tracked.kill() {
                Closed::Shutdown.count();
            }
        }
    }

    fn evict_oldest(&self) -> bool {
        evict_oldest(&self.lock())
    }
}

/// Closes the connection that has waited longest for a head or a next request.
fn evict_oldest(open: &HashMap<u64, Arc<Tracked>>) -> bool {
    // One already told to close is on its way out: make room with another one.
    let oldest = open
        .values()
        .filter(|tracked| !tracked.is_killed())
        .filter_map(|tracked| match tracked.phase() {
            Phase::Idle { since } | Phase::Head { since } => Some((since, tracked)),
            Phase::Busy => None,
        })
        .min_by_key(|(since, _)| *since);
    match oldest {
        Some((_, tracked)) => {
            if tracked.kill() {
                Closed::Evicted.count();
            }
            true
        }
        None => false,
    }
}

/// Serves `router` on `listener` until `stop` resolves, then drains: no new connections,
/// idle ones closed at once, busy ones after their current request, all of them after
/// `drain_timeout` at the latest.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: HttpLimits,
    stop: impl std::future::Future<Output = ()>,
    drain_timeout: Duration,
) {
    let registry = Arc::new(Registry::default());
    let reaper = tokio::spawn(reap_forever(registry.clone(), limits));
    let graceful = GracefulShutdown::new();
    let mut http = http1::Builder::new();
    // hyper's own timer bounds every wait for a head by the idle timeout; the stricter
    // header-read timeout for a head that has started is the reaper's.
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.idle_timeout)
        // Room above our own limit of 100 fields, so that the middleware answers in JSON.
        .max_headers(2 * crate::http::middleware::MAX_HEADER_FIELDS)
        .keep_alive(true);
    tokio::pin!(stop);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of file descriptors: make room rather than stop accepting (health
                    // probes must get in); other errors are per connection.
                    const ENFILE: i32 = 23;
                    const EMFILE: i32 = 24;
                    if matches!(err.raw_os_error(), Some(ENFILE | EMFILE)) {
                        registry.evict_oldest();
                    }
                    tracing::warn!(error = %err, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        let Some((id, tracked)) = registry.admit(limits.max_connections) else {
            drop(tcp);
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let service = {
            let (router, tracked) = (router.clone(), tracked.clone());
            hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
                tracked.request_started();
                let mut request = request.map(axum::body::Body::new);
                request.extensions_mut().insert(ConnectInfo(peer));
                let (router, tracked) = (router.clone(), tracked.clone());
                async move {
                    let response = match router.oneshot(request).await {
                        Ok(response) => response,
                        Err(never) => match never {},
                    };
                    Ok::<_, Infallible>(response.map(|body| TrackedBody::new(body, tracked)))
                }
            })
        };
        let io = TokioIo::new(TrackedIo::new(tcp, tracked.clone()));
        let connection = graceful.watch(http.serve_connection(io, service));
        let registry = registry.clone();
        tokio::spawn(async move {
            tokio::select! {
                result = connection => {
                    if let Err(err) = result {
                        tracing::debug!(error = %err, "connection ended with an error");
                    }
                }
                () = tracked.kill.notified() => {}
            }
            registry.remove(id);
        });
    }
    drop(listener);
    if tokio::time::timeout(drain_timeout, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still running after SHUTDOWN_TIMEOUT: closing them");
        registry.kill_all();
    }
    reaper.abort();
}

async fn reap_forever(registry: Arc<Registry>, limits: HttpLimits) {
    // A quarter of the shortest timeout, so a deadline is overrun by at most that much.
    let shortest = limits
        .header_read_timeout
        .min(limits.idle_timeout)
        .min(limits.write_timeout);
    let mut tick = tokio::time::interval((shortest / 4).max(Duration::from_millis(50)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tick.tick().await;
        registry.reap(&limits, Instant::now());
    }
}

/// The peer address as the router sees it (`ConnectInfo`), for handlers and tests.
pub type Peer = ConnectInfo<SocketAddr>;
