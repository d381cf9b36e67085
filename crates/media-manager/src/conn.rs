//! The server's connections: the accept loop, its limits and a kill switch per connection.
//! At most `max_connections` are served at once; one more is answered `503` with
//! `Retry-After` and closed (a few at a time, beyond which it is closed unanswered), so a flood
//! of idle sockets can't exhaust file descriptors. A request head must arrive within
//! `header_read_timeout` (hyper's timer, which also runs while a kept-alive connection waits
//! for its next request), and a write the client doesn't read for `idle_timeout` fails.
//! The lost-response fault performs a request and then pulls the kill switch: from then on the
//! connection fails every read and write, so the client sees it drop without a byte of answer.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, Response, StatusCode, header};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Sleep;
use tower::ServiceExt;

/// How many connections are served at once, and how long a silent one is kept.
#[derive(Debug, Clone, Copy)]
pub struct ConnLimits {
    pub max_connections: usize,
    pub header_read_timeout: Duration,
    pub idle_timeout: Duration,
}

/// Connections over the cap that are still told `503` (each for at most this long); beyond
/// these, one more is closed at once.
const OVERFLOW_ANSWERS: usize = 32;
const OVERFLOW_PATIENCE: Duration = Duration::from_secs(2);

/// Pulled once, it makes its connection fail for good.
#[derive(Debug, Clone, Default)]
pub struct KillSwitch(Arc<AtomicBool>);

impl KillSwitch {
    pub fn pull(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    fn pulled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// What handlers learn about their connection (as `ConnectInfo<ConnMeta>`).
#[derive(Debug, Clone)]
pub struct ConnMeta {
    pub kill: KillSwitch,
}

/// Accepts and serves connections until `shutdown` resolves, then waits for the open ones to
/// finish their requests (idle ones are closed at once).
pub async fn serve_connections(
    listener: TcpListener,
    app: Router,
    limits: ConnLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let overflow = Arc::new(Semaphore::new(OVERFLOW_ANSWERS));
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _remote)) => stream,
                Err(e) if is_connection_error(&e) => continue,
                Err(e) => {
                    // Out of file descriptors, most likely: wait for some to close, not spin.
                    tracing::error!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        match slots.clone().try_acquire_owned() {
            Ok(permit) => serve_one(stream, &app, limits, permit, &graceful),
            Err(_) => match overflow.clone().try_acquire_owned() {
                Ok(permit) => {
                    tokio::spawn(answer_busy(stream, limits, permit));
                }
                Err(_) => drop(stream),
            },
        }
    }
    graceful.shutdown().await;
}

fn serve_one(
    stream: TcpStream,
    app: &Router,
    limits: ConnLimits,
    permit: OwnedSemaphorePermit,
    graceful: &GracefulShutdown,
) {
    let kill = KillSwitch::default();
    let io = TokioIo::new(GuardedStream::new(
        stream,
        kill.clone(),
        limits.idle_timeout,
    ));
    let meta = ConnMeta { kill };
    let app = app.clone();
    let service = hyper::service::service_fn(move |mut req: Request<Incoming>| {
        req.extensions_mut().insert(ConnectInfo(meta.clone()));
        app.clone().oneshot(req.map(Body::new))
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .serve_connection(io, service);
    let conn = graceful.watch(conn);
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::debug!(error = %e, "connection ended with an error");
        }
        drop(permit);
    });
}

/// The answer to a connection over the cap: its request is read (briefly) and answered `503`
/// with `Retry-After`, as Wix answers when it is busy, and the connection closed.
async fn answer_busy(stream: TcpStream, limits: ConnLimits, _permit: OwnedSemaphorePermit) {
    let service = hyper::service::service_fn(|_req: Request<Incoming>| async {
        let mut response = Response::new(Body::empty());
        *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
        let headers = response.headers_mut();
        headers.insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
        headers.insert(
            header::CONNECTION,
            header::HeaderValue::from_static("close"),
        );
        Ok::<_, std::convert::Infallible>(response)
    });
    let patience = limits.header_read_timeout.min(OVERFLOW_PATIENCE);
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(patience)
        .keep_alive(false)
        .serve_connection(TokioIo::new(stream), service);
    let _ = tokio::time::timeout(patience * 2, conn).await;
}

fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// A TCP stream with the kill switch, and a limit on how long a write may wait for a client
/// that doesn't read.
pub struct GuardedStream {
    inner: TcpStream,
    kill: KillSwitch,
    idle: Duration,
    write_stall: Option<Pin<Box<Sleep>>>,
}

impl GuardedStream {
    fn new(inner: TcpStream, kill: KillSwitch, idle: Duration) -> Self {
        Self {
            inner,
            kill,
            idle,
            write_stall: None,
        }
    }

    /// After a write came back pending: fails once the client has read nothing for `idle`.
    fn stalled(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        let idle = self.idle;
        let timer = self
            .write_stall
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(idle)));
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client read nothing for the idle timeout",
            )),
            Poll::Pending => Poll::Pending,
        }
    }
}

fn killed() -> io::Error {
    io::Error::new(
        io::ErrorKind::ConnectionAborted,
        "connection dropped by fault injection",
    )
}

impl AsyncRead for GuardedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.kill.pulled() {
            return Poll::Ready(Err(killed()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for GuardedStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.kill.pulled() {
            return Poll::Ready(Err(killed()));
        }
        match Pin::new(&mut self.inner).poll_write(cx, buf) {
            Poll::Pending => self.stalled(cx).map(Err),
            ready => {
                self.write_stall = None;
                ready
            }
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.kill.pulled() {
            return Poll::Ready(Err(killed()));
        }
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// The next chunk of a request body, or a 408 when the client sends nothing for `idle` (a body
/// trickled or stalled mid-way holds a connection and, for uploads, a part file).
pub async fn next_chunk<S>(stream: &mut S, idle: Duration) -> Option<Result<bytes::Bytes, Stall>>
where
    S: futures_util::Stream<Item = Result<bytes::Bytes, axum::Error>> + Unpin,
{
    use futures_util::StreamExt;
    match tokio::time::timeout(idle, stream.next()).await {
        Ok(Some(Ok(chunk))) => Some(Ok(chunk)),
        Ok(Some(Err(_))) => Some(Err(Stall::Broken)),
        Ok(None) => None,
        Err(_) => Some(Err(Stall::Idle)),
    }
}

/// Why a request body stopped before its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stall {
    /// The connection broke (the client went away).
    Broken,
    /// Nothing arrived for the idle timeout.
    Idle,
}
