//! Connections: a request head must arrive within the header-read timeout, a kept-alive
//! connection may idle only that long, and beyond the connection cap the server answers 503
//! and closes rather than running out of file descriptors. Slowloris clients are raw sockets.

use std::time::Duration;

use reqwest::StatusCode;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::support::{TestServer, assert_closed_within};

/// Issue 13, hole 3: a client that sends half a request head, or trickles it a byte at a
/// time, is disconnected once the header-read timeout has passed.
#[tokio::test]
async fn hole_3_half_sent_headers_closed() {
    let s = TestServer::start_with(|c| c.header_read_timeout = Duration::from_millis(300)).await;
    let addr = s.server.as_ref().expect("running").addr;
    let mut half = TcpStream::connect(addr).await.expect("connect");
    half.write_all(b"GET /site-media/v1/folders HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        .await
        .expect("half a head");
    let mut trickle = TcpStream::connect(addr).await.expect("connect");
    let (mut reader, mut writer) = trickle.split();
    let dripping = async {
        for byte in b"GET /site-media/v1/folders HTTP/1.1\r\nHost: 127.0.0.1\r\n" {
            if writer.write_all(&[*byte]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    let watch = async {
        use tokio::io::AsyncReadExt;
        let mut sink = [0u8; 256];
        tokio::time::timeout(Duration::from_secs(5), async {
            while !matches!(reader.read(&mut sink).await, Ok(0) | Err(_)) {}
        })
        .await
        .is_ok()
    };
    let (closed, ()) = tokio::join!(watch, dripping);
    assert!(closed, "the trickling client was not disconnected");
    assert_closed_within(&mut half, Duration::from_secs(5)).await;
}

/// Issue 13, hole 3: many idle connections don't starve real clients: with more silent
/// sockets open than the connection cap (30 against 20), every slot is taken, yet the silent
/// ones are closed by the header-read timeout, so a normal request is served within a few
/// timeouts (503s until then), far sooner than hyper's own 30 s default would free a slot.
#[tokio::test]
async fn hole_3_requests_served_while_idle_connections_open() {
    let s = TestServer::start_with(|c| {
        c.header_read_timeout = Duration::from_millis(500);
        c.max_connections = 20;
    })
    .await;
    let addr = s.server.as_ref().expect("running").addr;
    let mut idle = Vec::new();
    for _ in 0..30 {
        idle.push(TcpStream::connect(addr).await.expect("connect"));
    }
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let mut refused = 0;
    loop {
        match client.get(s.api("/v1/folders")).send().await {
            Ok(r) if r.status() == StatusCode::OK => break,
            // The cap's 503, or a connection closed unanswered beyond the overflow's answers.
            Ok(r) if r.status() == StatusCode::SERVICE_UNAVAILABLE => refused += 1,
            Err(_) => refused += 1,
            Ok(r) => panic!("unexpected answer {}", r.status()),
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "idle connections held every slot for 10 s ({refused} requests refused)"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for stream in &mut idle {
        assert_closed_within(stream, Duration::from_secs(5)).await;
    }
}

/// Issue 13, hole 3: at the connection cap, one more connection is answered 503 with
/// `Retry-After` and closed, at once; once the holders go, requests are served again.
#[tokio::test]
async fn hole_3_connection_cap_answers_503() {
    let s = TestServer::start_with(|c| c.max_connections = 4).await;
    let addr = s.server.as_ref().expect("running").addr;
    let mut holders = Vec::new();
    for _ in 0..4 {
        holders.push(TcpStream::connect(addr).await.expect("connect"));
    }
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client");
    let r = client
        .get(s.api("/v1/folders"))
        .send()
        .await
        .expect("answered, not left hanging");
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.headers()["retry-after"], "1");
    drop(holders);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let r = client.get(s.api("/v1/folders")).send().await.expect("sent");
        if r.status() == StatusCode::OK {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "slots never freed: {}",
            r.status()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
