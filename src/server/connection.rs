//! What one client connection is doing, as the reaper (`listener.rs`) needs to know it: idle
//! between requests, sending a request head, or busy with a request; and whether writing to
//! it has been blocked (a reader that stopped reading).
//!
//! hyper knows this too, but says none of it: its one header-read timeout also runs while a
//! keep-alive connection waits for its next request, so it cannot be both "10 s to send a
//! head" and "75 s idle, longer than the load balancer's 60 s". The socket wrapper below
//! notices the first byte of a head, the service notices the head is complete, and the
//! response body notices it is done.

use std::io;
use std::pin::Pin;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Between requests, since `since`. (A new connection starts in `Head`: one that sends
    /// nothing at all gets the header-read timeout.)
    Idle { since: Instant },
    /// Reading a request head since `since`.
    Head { since: Instant },
    /// A request is being served (its body read, its response written).
    Busy,
}

/// Shared between a connection's task, its socket, its service and the reaper.
#[derive(Debug)]
pub struct Tracked {
    phase: Mutex<Phase>,
    write_blocked_since: Mutex<Option<Instant>>,
    /// Set by the reaper; the connection's task drops the connection when notified.
    pub kill: Notify,
    killed: AtomicBool,
}

impl Tracked {
    /// A new connection is expected to send its first head within the header timeout.
    pub fn new(now: Instant) -> Self {
        Self {
            phase: Mutex::new(Phase::Head { since: now }),
            write_blocked_since: Mutex::new(None),
            kill: Notify::new(),
            killed: AtomicBool::new(false),
        }
    }

    pub fn phase(&self) -> Phase {
        *self.phase.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn set(&self, phase: Phase) {
        *self.phase.lock().unwrap_or_else(|e| e.into_inner()) = phase;
    }

    /// Bytes arrived: if the connection was idle, a new head has started.
    fn bytes_read(&self) {
        let mut phase = self.phase.lock().unwrap_or_else(|e| e.into_inner());
        if let Phase::Idle { .. } = *phase {
            *phase = Phase::Head {
                since: Instant::now(),
            };
        }
    }

    pub fn request_started(&self) {
        self.set(Phase::Busy);
    }

    pub fn response_done(&self) {
        self.set(Phase::Idle {
            since: Instant::now(),
        });
    }

    pub fn write_blocked_since(&self) -> Option<Instant> {
        *self
            .write_blocked_since
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    fn set_write_blocked(&self, blocked: bool) {
        let mut since = self
            .write_blocked_since
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        match (blocked, *since) {
            (true, None) => *since = Some(Instant::now()),
            (false, Some(_)) => *since = None,
            _ => {}
        }
    }

    pub fn is_killed(&self) -> bool {
        self.killed.load(Ordering::SeqCst)
    }

    /// Asks the connection's task to drop the connection (once).
    pub fn kill(&self) -> bool {
        let first = !self.killed.swap(true, Ordering::SeqCst);
        if first {
            self.kill.notify_one();
        }
        first
    }
}

/// The socket, reporting reads and blocked writes to its `Tracked`.
pub struct TrackedIo<T> {
    inner: T,
    tracked: std::sync::Arc<Tracked>,
}

impl<T> TrackedIo<T> {
    pub fn new(inner: T, tracked: std::sync::Arc<Tracked>) -> Self {
        Self { inner, tracked }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for TrackedIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.tracked.bytes_read();
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for TrackedIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.tracked.set_write_blocked(polled.is_pending());
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.tracked.set_write_blocked(polled.is_pending());
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let polled = Pin::new(&mut self.inner).poll_flush(cx);
        self.tracked.set_write_blocked(polled.is_pending());
        polled
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// A response body that marks the connection idle once it has been written (or dropped).
pub struct TrackedBody {
    inner: axum::body::Body,
    tracked: std::sync::Arc<Tracked>,
}

impl TrackedBody {
    pub fn new(inner: axum::body::Body, tracked: std::sync::Arc<Tracked>) -> Self {
        Self { inner, tracked }
    }
}

impl Drop for TrackedBody {
    fn drop(&mut self) {
        self.tracked.response_done();
    }
}

impl http_body::Body for TrackedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}
