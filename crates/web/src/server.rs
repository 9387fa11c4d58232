//! The connection loop, plain HTTP and TLS alike, hardened against slow and greedy clients:
//! connections are accepted at once and each one lives in its own task; a TLS handshake runs
//! there with its own deadline (and a bound on how many run at once), request headers must
//! arrive within a deadline, an idle keep-alive connection is closed, and one address may hold
//! only so many connections.
//!
//! `axum::serve` offers none of these limits; hyper's HTTP/1 connection builder has the
//! header-read timeout, and the rest is the small loop below.

use crate::state::AppState;
use axum::extract::ConnectInfo;
use axum::http::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

/// What a connection may take of the server (`[web]` in the configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// A request's headers must have arrived this long after it began.
    pub header_read_timeout: Duration,
    /// A connection with no traffic for this long is closed (between keep-alive requests, or a
    /// client that stopped sending).
    pub idle_timeout: Duration,
    /// Connections one client address may hold at once; more are closed at once. 0: no cap
    /// (behind a reverse proxy every connection comes from the proxy).
    pub max_connections_per_ip: usize,
    /// A TLS handshake must be complete this long after the connection was accepted.
    pub handshake_timeout: Duration,
    /// TLS handshakes in progress at once; a connection beyond it is closed.
    pub max_handshakes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_connections_per_ip: 64,
            handshake_timeout: Duration::from_secs(10),
            max_handshakes: 256,
        }
    }
}

/// How long connections still at work may finish after the shutdown signal.
const DRAIN: Duration = Duration::from_secs(30);

/// Serves `state` on `listener` (over TLS with `tls`, with HSTS) until `shutdown` resolves, then
/// lets the connections at work finish.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    limits: Limits,
    tls: Option<TlsAcceptor>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let mut router = crate::router(state);
    if tls.is_some() {
        router = router.layer(axum::middleware::from_fn(crate::tls::hsts));
    }
    let per_ip = Arc::new(Mutex::new(HashMap::new()));
    let handshakes = Arc::new(Semaphore::new(limits.max_handshakes.max(1)));
    let (stop, stopping) = watch::channel(false);
    let mut connections = JoinSet::new();
    let mut shutdown = pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => {
                let (tcp, addr) = match accepted {
                    Ok(c) => c,
                    Err(e) => {
                        // Out of file descriptors, say: wait a moment rather than spin.
                        tracing::warn!(error = %e, "accepting a connection failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let Some(slot) = IpSlot::take(&per_ip, addr.ip(), limits.max_connections_per_ip) else {
                    tracing::debug!(%addr, "too many connections from one address: closed");
                    continue;
                };
                let _ = tcp.set_nodelay(true);
                let (router, stopping, tls, handshakes) =
                    (router.clone(), stopping.clone(), tls.clone(), handshakes.clone());
                connections.spawn(async move {
                    let _slot = slot;
                    let service = Routed { router, addr };
                    match tls {
                        None => connection(tcp, service, limits, stopping).await,
                        Some(acceptor) => {
                            let Ok(permit) = handshakes.try_acquire_owned() else {
                                tracing::debug!(%addr, "too many TLS handshakes at once: closed");
                                return;
                            };
                            let stream = match tokio::time::timeout(limits.handshake_timeout, acceptor.accept(tcp)).await {
                                Ok(Ok(s)) => s,
                                Ok(Err(e)) => return tracing::debug!(error = %e, "a TLS handshake failed"),
                                Err(_) => return tracing::debug!(%addr, "a TLS handshake timed out"),
                            };
                            drop(permit);
                            connection(stream, service, limits, stopping).await
                        }
                    }
                });
            }
        }
    }
    drop(listener);
    let _ = stop.send(true);
    let drained = tokio::time::timeout(DRAIN, async { while connections.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        tracing::warn!(left = connections.len(), "connections still open after the drain: closed");
        connections.abort_all();
    }
    Ok(())
}

/// One HTTP/1.1 connection, until the client closes it, it idles too long, or the server stops.
async fn connection<I>(io: I, service: Routed, limits: Limits, mut stopping: watch::Receiver<bool>)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let started = Instant::now();
    let seen = Arc::new(AtomicU64::new(0));
    let io = Tracked { inner: io, started, seen: seen.clone() };
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout).keep_alive(true);
    let mut conn = pin!(builder.serve_connection(TokioIo::new(io), service));
    let mut closing: Option<tokio::time::Instant> = None;
    loop {
        let idle_at = started + Duration::from_millis(seen.load(Ordering::Relaxed)) + limits.idle_timeout;
        let deadline = closing.unwrap_or_else(|| idle_at.into());
        tokio::select! {
            done = conn.as_mut() => {
                if let Err(e) = done {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                return;
            }
            changed = stopping.changed(), if closing.is_none() => {
                if changed.is_err() || *stopping.borrow() {
                    conn.as_mut().graceful_shutdown();
                    closing = Some(tokio::time::Instant::now() + DRAIN);
                }
            }
            () = tokio::time::sleep_until(deadline) => {
                if closing.is_some() {
                    // Asked to close and still not done: the client is stalling.
                    return;
                }
                let quiet = started.elapsed().saturating_sub(Duration::from_millis(seen.load(Ordering::Relaxed)));
                if quiet >= limits.idle_timeout {
                    // Lets a response in progress finish; an idle keep-alive connection closes now.
                    conn.as_mut().graceful_shutdown();
                    closing = Some(tokio::time::Instant::now() + limits.header_read_timeout);
                }
            }
        }
    }
}

/// The router as hyper's service, with the client's address for the pages' throttling.
#[derive(Clone)]
struct Routed {
    router: axum::Router,
    addr: SocketAddr,
}

impl hyper::service::Service<Request<Incoming>> for Routed {
    type Response = axum::response::Response;
    type Error = std::convert::Infallible;
    type Future = axum::routing::future::RouteFuture<std::convert::Infallible>;

    fn call(&self, mut req: Request<Incoming>) -> Self::Future {
        req.extensions_mut().insert(ConnectInfo(self.addr));
        tower_service::Service::call(&mut self.router.clone(), req)
    }
}

/// A connection's slot in the per-address count, given back when the connection ends.
struct IpSlot {
    counts: Arc<Mutex<HashMap<IpAddr, usize>>>,
    ip: IpAddr,
}

impl IpSlot {
    fn take(counts: &Arc<Mutex<HashMap<IpAddr, usize>>>, ip: IpAddr, cap: usize) -> Option<IpSlot> {
        let mut map = counts.lock().unwrap_or_else(|p| p.into_inner());
        let n = map.entry(ip).or_insert(0);
        if cap > 0 && *n >= cap {
            return None;
        }
        *n += 1;
        Some(IpSlot { counts: counts.clone(), ip })
    }
}

impl Drop for IpSlot {
    fn drop(&mut self) {
        let mut map = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = map.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.ip);
            }
        }
    }
}

/// A stream that notes when bytes last moved, for the idle timeout.
struct Tracked<I> {
    inner: I,
    started: Instant,
    /// Milliseconds after `started` when bytes last moved.
    seen: Arc<AtomicU64>,
}

impl<I> Tracked<I> {
    fn touch(&self) {
        let ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.seen.store(ms, Ordering::Relaxed);
    }
}

impl<I: AsyncRead + Unpin> AsyncRead for Tracked<I> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.touch();
        }
        polled
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Tracked<I> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.touch();
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.touch();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_per_address_cap_counts_live_connections_only() {
        let counts = Arc::new(Mutex::new(HashMap::new()));
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let held: Vec<IpSlot> = (0..3).map(|_| IpSlot::take(&counts, ip, 3).unwrap()).collect();
        assert!(IpSlot::take(&counts, ip, 3).is_none(), "a fourth is refused");
        assert!(IpSlot::take(&counts, "192.0.2.2".parse().unwrap(), 3).is_some(), "another address is not");
        drop(held);
        assert!(IpSlot::take(&counts, ip, 3).is_some(), "slots come back when connections end");
        assert!(counts.lock().unwrap().get(&ip).is_none(), "and the map forgets the address");
        let unlimited: Vec<IpSlot> = (0..100).map(|_| IpSlot::take(&counts, ip, 0).unwrap()).collect();
        assert_eq!(unlimited.len(), 100, "0: no cap");
    }
}
