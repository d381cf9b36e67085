//! What a web page in a browser can do to a keyless server on loopback: it may send "simple"
//! requests anywhere and make its own name resolve to 127.0.0.1 (DNS rebinding). JSON bodies
//! must be declared JSON, `Host` must name this server, no CORS is granted, and a request
//! from another origin is refused.

use reqwest::StatusCode;
use serde_json::Value;

use crate::support::{TestServer, raw_exchange, send};

fn status_of(answer: &str) -> u16 {
    answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("an HTTP answer: {answer:?}"))
}

fn body_of(answer: &str) -> Value {
    let body = answer.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    serde_json::from_str(body).unwrap_or(Value::Null)
}

/// Issue 13, hole 2: a cross-site form can POST `text/plain` (or a form encoding, or no type
/// at all) to any address without a CORS preflight; such a body is refused 415 in the Wix
/// error shape and creates nothing. `application/json` (with parameters) still works.
#[tokio::test]
async fn hole_2_text_plain_post_refused() {
    let s = TestServer::start().await;
    let body = r#"{"displayName":"planted"}"#;
    for content_type in [
        Some("text/plain"),
        Some("text/plain;charset=UTF-8"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        None,
    ] {
        let mut rb = s.http.post(s.api("/v1/folders")).body(body);
        if let Some(ct) = content_type {
            rb = rb.header("Content-Type", ct);
        }
        let (status, v) = send(rb).await;
        assert_eq!(
            status,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{content_type:?}: {v}"
        );
        assert_eq!(
            v["details"]["applicationError"]["code"], "UNSUPPORTED_MEDIA_TYPE",
            "{v}"
        );
    }
    let (_, listed) = s.get("/v1/folders").await;
    assert_eq!(
        listed["folders"],
        serde_json::json!([]),
        "nothing was created"
    );
    let (status, v) = send(
        s.http
            .post(s.api("/v1/folders"))
            .header("Content-Type", "application/json; charset=utf-8")
            .body(body),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
}

/// Issue 13, hole 2: a page that rebinds its own name to 127.0.0.1 sends that name in `Host`:
/// refused 403 (reads of files included), while the address, `localhost` and an
/// `allowed_hosts` name are served.
#[tokio::test]
async fn hole_2_foreign_host_refused() {
    let s = TestServer::start_with(|c| c.allowed_hosts = vec!["media.test".into()]).await;
    let addr = s.server.as_ref().expect("running").addr;
    let port = addr.port();
    let get = |host: String, path: &str| {
        format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n")
    };
    for path in [
        "/site-media/v1/folders",
        "/media/anything.png",
        "/openapi.json",
    ] {
        let answer = raw_exchange(addr, &get(format!("rebind.evil.example:{port}"), path)).await;
        assert_eq!(status_of(&answer), 403, "{path}: {answer}");
        assert_eq!(
            body_of(&answer)["details"]["applicationError"]["code"],
            "HOST_NOT_ALLOWED"
        );
    }
    for host in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        format!("[::1]:{port}"),
        "media.test".to_string(),
    ] {
        let answer = raw_exchange(addr, &get(host.clone(), "/site-media/v1/folders")).await;
        assert_eq!(status_of(&answer), 200, "{host}: {answer}");
    }
}

/// Issue 13, hole 2: no CORS is granted (a preflight gets no `Access-Control-Allow-*`), and a
/// request that says it comes from another origin is refused; the server's own origin passes.
#[tokio::test]
async fn hole_2_no_cors_and_foreign_origin_refused() {
    let s = TestServer::start().await;
    let preflight = s
        .http
        .request(reqwest::Method::OPTIONS, s.api("/v1/folders"))
        .header("Origin", "https://evil.example")
        .header("Access-Control-Request-Method", "POST")
        .header("Access-Control-Request-Headers", "content-type")
        .send()
        .await
        .expect("sent");
    assert!(
        !preflight
            .headers()
            .keys()
            .any(|k| k.as_str().starts_with("access-control-")),
        "{:?}",
        preflight.headers()
    );
    let (status, v) = send(
        s.http
            .get(s.api("/v1/folders"))
            .header("Origin", "https://evil.example"),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{v}");
    assert_eq!(
        v["details"]["applicationError"]["code"],
        "ORIGIN_NOT_ALLOWED"
    );
    let (status, v) = send(s.http.get(s.api("/v1/folders")).header("Origin", &s.url)).await;
    assert_eq!(status, StatusCode::OK, "{v}");
}
