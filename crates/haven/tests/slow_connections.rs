//! Slow and numerous connections (issue 12): the real accept loop (`web::server::serve`) on
//! a loopback port, with small limits so the test is quick. Bounded loops, loopback only;
//! no assertion on how long anything took, only on what happened.

use crate::common;

use std::time::Duration;

use common::{TestAppBuilder, sqlite_db};
use haven::web::server::{ConnectionLimits, serve};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Generous bound on any one wait, so a broken server fails the test instead of hanging it.
const PATIENCE: Duration = Duration::from_secs(60);

/// Reads until the server closes the connection; `true` when it did (EOF or reset) within
/// [`PATIENCE`].
async fn closed_by_server(stream: &mut TcpStream) -> bool {
    let mut buf = [0u8; 1024];
    let read_to_end = async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    tokio::time::timeout(PATIENCE, read_to_end).await.is_ok()
}

/// `GET path` on a new connection; the whole answer's text.
async fn get(address: std::net::SocketAddr, path: &str) -> String {
    let exchange = async {
        let mut stream = TcpStream::connect(address).await.unwrap();
        let request =
            format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer).await;
        String::from_utf8_lossy(&answer).into_owned()
    };
    tokio::time::timeout(PATIENCE, exchange)
        .await
        .expect("the server answered")
}

#[tokio::test]
async fn a_flood_of_slow_connections_does_not_stop_healthz_and_is_closed() {
    let app = TestAppBuilder::default().build(sqlite_db()).await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let limits = ConnectionLimits {
        header_read_timeout: Duration::from_secs(1),
        max_connections: 4,
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, app.router.clone(), limits, async move {
        let _ = stopped.await;
    }));

    // Three times the cap of connections that send part of their headers and stop.
    let mut slow = Vec::new();
    for _ in 0..12 {
        let mut stream = TcpStream::connect(address).await.unwrap();
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            .await
            .unwrap();
        slow.push(stream);
    }
    // One that keeps trickling a header line, never finishing.
    let mut trickle = TcpStream::connect(address).await.unwrap();
    trickle
        .write_all(b"GET /healthz HTTP/1.1\r\n")
        .await
        .unwrap();

    // Liveness still answers.
    let answer = get(address, "/healthz").await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("ok"), "{answer}");

    // Every slow connection is closed by the server.
    for stream in &mut slow {
        assert!(
            closed_by_server(stream).await,
            "a slow connection stayed open"
        );
    }
    // The trickling one too, although it sends something more often than the timeout.
    let mut closed = false;
    let mut buf = [0u8; 256];
    for line in 0..300 {
        if trickle
            .write_all(format!("X-Line-{line}: a\r\n").as_bytes())
            .await
            .is_err()
        {
            closed = true;
            break;
        }
        if let Ok(Ok(0) | Err(_)) =
            tokio::time::timeout(Duration::from_millis(200), trickle.read(&mut buf)).await
        {
            closed = true;
            break;
        }
    }
    assert!(closed, "a connection trickling header lines stayed open");

    // Afterwards the server still serves normally.
    let answer = get(address, "/healthz").await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

    // Graceful shutdown ends the accept loop.
    stop.send(()).unwrap();
    tokio::time::timeout(PATIENCE, server)
        .await
        .expect("the server stopped")
        .unwrap();
    app.storage.close().await;
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed() {
    let app = TestAppBuilder::default().build(sqlite_db()).await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let limits = ConnectionLimits {
        header_read_timeout: Duration::from_secs(1),
        max_connections: 4,
    };
    let server = tokio::spawn(serve(
        listener,
        app.router.clone(),
        limits,
        std::future::pending::<()>(),
    ));
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 1024];
    let n = tokio::time::timeout(PATIENCE, stream.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    // Kept alive, then left idle: the server closes it.
    assert!(closed_by_server(&mut stream).await);
    server.abort();
    app.storage.close().await;
}
