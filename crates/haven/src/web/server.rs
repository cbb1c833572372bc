//! The accept loop of `haven serve`: HTTP/1.1 connections with a header-read timeout and a
//! cap on open connections, graceful shutdown, and the client address for `ConnectInfo`.
//!
//! Written out (hyper's connection builder, hyper-util's timer and graceful shutdown, a
//! tokio semaphore) rather than `axum::serve`, which sets no header-read timeout and accepts
//! connections without limit: thousands of connections sending partial headers used up the
//! process's file descriptors, and `/healthz` stopped answering.
//!
//! - Header-read timeout (settings `header_read_timeout_secs`): hyper starts the clock when
//!   a connection is ready for a request (new, or idle after the previous answer), so a
//!   client that trickles its header lines, or holds an idle keep-alive connection, is
//!   disconnected when it runs out. Bodies are bounded by the request timeout (middleware).
//! - Connection cap (`max_client_connections`): at the cap, the loop stops accepting until a
//!   connection closes; new connections wait in the kernel's listen backlog instead of each
//!   taking a file descriptor, and are served as slots free up.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt as _;

/// Limits on client connections.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Time allowed for a request's headers, from when the connection is ready for one.
    pub header_read_timeout: Duration,
    /// Most connections open at once.
    pub max_connections: usize,
}

/// How long the loop pauses after a failed `accept` (e.g. out of file descriptors), so a
/// persistent failure does not spin a core.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);

/// Serves `app` on `listener` until `shutdown` resolves; then stops accepting and waits for
/// the connections in flight to finish their requests.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    tokio::pin!(shutdown);
    loop {
        // A slot first: at the cap, nothing more is accepted until a connection closes.
        let permit = tokio::select! {
            permit = Arc::clone(&slots).acquire_owned() => match permit {
                Ok(permit) => permit,
                // The semaphore is never closed; stop serving rather than spin if it were.
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!(error = %e, "could not accept a connection");
                    tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let app = app.clone();
        // Each request carries the peer address, as `into_make_service_with_connect_info`
        // would give it, for `ConnectInfo<SocketAddr>` (the client address of rate limits).
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(remote));
            let app = app.clone();
            // `Router` never fails (`Infallible`): errors are already answers.
            app.oneshot(request)
        });
        let connection = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                // Timeouts and clients that hang up are routine; nothing of the request is logged.
                tracing::debug!(error = %e, "connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
}
