//! The HTTP/1.1 server loop: accepts connections and serves the router on each, with the
//! bounds a public server needs and `axum::serve` does not offer: a deadline for a request's
//! headers, a deadline for a connection on which nothing moves, and a cap on connections.
//!
//! Without them, a client that sends its headers a byte at a time, or opens connections and
//! says nothing, holds a socket (and a file descriptor) for as long as it likes; a few
//! thousand such clients take the server from everyone.
//!
//! Shutting down (SIGTERM) is bounded too: the listener closes at once, each connection
//! finishes the request it is serving, live streams end when [`Closing`] is signalled, and
//! after `shutdown_grace` whatever is still open is dropped.

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};

/// The bounds of the server loop.
#[derive(Debug, Clone, Copy)]
pub struct ServeOptions {
    /// How long a client has to send a request's line and headers, counted from when the
    /// server starts waiting for them (also between requests on a kept-alive connection):
    /// later, the connection is closed without an answer.
    pub header_read_timeout: Duration,
    /// How long a connection may go without a byte read or written before it is closed: a
    /// client that stops reading its answer, or stops sending a body it announced. A board's
    /// live stream writes a keep-alive comment every 15 seconds, so it stays.
    pub idle_timeout: Duration,
    /// The most connections served at once; further ones wait in the listen backlog until a
    /// connection ends.
    pub max_connections: usize,
    /// How long a shutdown waits for in-flight requests to finish before dropping them.
    pub shutdown_grace: Duration,
}

/// The signal that the server is closing: long-lived responses (the board's live stream) end
/// on it, so that a shutdown does not wait for screens that never hang up. Cheap to clone;
/// every clone sees one signal.
#[derive(Debug, Clone)]
pub struct Closing(Arc<watch::Sender<bool>>);

impl Default for Closing {
    fn default() -> Self {
        Self(Arc::new(watch::channel(false).0))
    }
}

impl Closing {
    /// Signals every waiter, now and later.
    pub fn close(&self) {
        self.0.send_replace(true);
    }

    pub fn is_closed(&self) -> bool {
        *self.0.borrow()
    }

    /// Completes once [`Self::close`] was called.
    pub async fn closed(&self) {
        let mut rx = self.0.subscribe();
        let _ = rx.wait_for(|c| *c).await;
    }
}

pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
pub const DEFAULT_MAX_CONNECTIONS: usize = 2_000;
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(20);

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
        }
    }
}

/// Serves `router` on `listener` until `shutdown` completes; then stops accepting, lets each
/// connection finish the request it is serving, and returns when all are closed, or after
/// `options.shutdown_grace` with those still open dropped.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let permits = Arc::new(Semaphore::new(options.max_connections.max(1)));
    // Dropped to tell every connection to finish; `closed()` then waits for them all.
    let (stop_tx, stop_rx) = watch::channel(());
    let started = Instant::now();
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => p.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            a = listener.accept() => match a {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: wait rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let last = Arc::new(AtomicU64::new(0));
            let io = TokioIo::new(Watched {
                inner: stream,
                started,
                last: last.clone(),
            });
            last.store(millis_since(started), Ordering::Relaxed);
            let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
                req.extensions_mut().insert(ConnectInfo(peer));
                tower::Service::call(&mut router.clone(), req)
            });
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(options.header_read_timeout);
            let conn = builder.serve_connection(io, service);
            tokio::pin!(conn);
            let mut stopping = false;
            loop {
                let idle_for = Duration::from_millis(
                    millis_since(started).saturating_sub(last.load(Ordering::Relaxed)),
                );
                let Some(left) = options.idle_timeout.checked_sub(idle_for) else {
                    // Dropping the connection closes the socket.
                    tracing::debug!(%peer, "idle connection closed");
                    break;
                };
                tokio::select! {
                    r = conn.as_mut() => {
                        if let Err(e) = r {
                            tracing::debug!(%peer, error = %e, "connection ended");
                        }
                        break;
                    }
                    _ = stop.changed(), if !stopping => {
                        stopping = true;
                        conn.as_mut().graceful_shutdown();
                    }
                    () = tokio::time::sleep(left) => {}
                }
            }
            drop(stop);
        });
    }
    drop(stop_rx);
    drop(listener);
    let _ = stop_tx.send(());
    let max = options.max_connections.max(1);
    if tokio::time::timeout(options.shutdown_grace, stop_tx.closed())
        .await
        .is_err()
    {
        tracing::warn!(
            open = max - permits.available_permits(),
            grace_seconds = options.shutdown_grace.as_secs(),
            "shutdown: connections still open after the grace period are dropped"
        );
    }
    Ok(())
}

fn millis_since(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// A connection's socket that notes when a byte last went either way.
struct Watched {
    inner: TcpStream,
    started: Instant,
    last: Arc<AtomicU64>,
}

impl Watched {
    fn moved(&self) {
        self.last
            .store(millis_since(self.started), Ordering::Relaxed);
    }
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(r, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.moved();
        }
        r
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.moved();
        }
        r
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.moved();
        }
        r
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
