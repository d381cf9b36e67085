//! Background processing of imports: real sources served on 127.0.0.1, files followed from
//! PENDING to READY (with type, size, hash, dimensions and thumbnail) or FAILED (with a code).

use std::time::Duration;

use md5::{Digest, Md5};
use serde_json::{Value, json};
use wix_media_manager::ServerConfig;
use wix_media_manager::faults::MsRange;
use wix_media_wire::types::{FileDescriptor, MediaType, OperationStatus};

use crate::support::{Source, SourceServer, TestServer, jpeg, png};

/// Imports one file and returns its id (the import itself must succeed).
async fn import(server: &TestServer, body: Value) -> String {
    let v = server.ok_post("/v1/files/import", body).await;
    assert_eq!(v["file"]["operationStatus"], "PENDING", "{v}");
    v["file"]["id"].as_str().expect("file id").to_string()
}

/// Imports `body` and waits for it to end FAILED; returns the recorded error code and reason.
async fn import_failing(server: &TestServer, body: Value) -> (String, String) {
    let id = import(server, body).await;
    let f = server.wait_processed(&id).await;
    assert_eq!(f.operation_status, Some(OperationStatus::Failed), "{f:?}");
    let row = server.file_row(&id);
    (
        row.error_code.expect("error code"),
        row.error_description.expect("error description"),
    )
}

fn md5_hex(bytes: &[u8]) -> String {
    hex::encode(Md5::digest(bytes))
}

fn assert_ready_image(f: &FileDescriptor, bytes: &[u8], width: u32, height: u32) {
    assert_eq!(f.operation_status, Some(OperationStatus::Ready), "{f:?}");
    assert_eq!(f.media_type, Some(MediaType::Image));
    assert_eq!(f.size_in_bytes, Some(bytes.len() as u64));
    assert_eq!(f.hash.as_deref(), Some(md5_hex(bytes).as_str()));
    assert!(f.thumbnail_url.is_some(), "thumbnail made: {f:?}");
    let image = &f
        .media
        .as_ref()
        .expect("media")
        .image
        .as_ref()
        .expect("image")
        .image;
    assert_eq!((image.width, image.height), (width, height));
}

/// A real PNG and a real JPEG end READY with dimensions, size, md5 hash, IMAGE and a thumbnail.
#[tokio::test]
async fn png_and_jpeg_end_ready_with_their_facts() {
    let (server, source) = (TestServer::start().await, SourceServer::start().await);
    let png_bytes = png(300, 200);
    let jpeg_bytes = jpeg(640, 480);
    let png_url = source.add("/a.png", Source::bytes("image/png", png_bytes.clone()));
    let jpeg_url = source.add("/photo", Source::bytes("image/jpeg", jpeg_bytes.clone()));
    let png_id = import(&server, json!({ "url": png_url })).await;
    let jpeg_id = import(&server, json!({ "url": jpeg_url, "displayName": "photo" })).await;
    let f = server.wait_processed(&png_id).await;
    assert_ready_image(&f, &png_bytes, 300, 200);
    let f = server.wait_processed(&jpeg_id).await;
    assert_ready_image(&f, &jpeg_bytes, 640, 480);
    assert_eq!(
        server.file_row(&jpeg_id).mime_type.as_deref(),
        Some("image/jpeg")
    );
}

/// urlHeaders reach the source and urlParams are added to its query; without the header it fails.
#[tokio::test]
async fn url_headers_and_params_are_sent() {
    let (server, source) = (TestServer::start().await, SourceServer::start().await);
    let bytes = png(20, 10);
    let mut guarded = Source::bytes("image/png", bytes.clone());
    guarded.require_header = Some(("x-token".to_string(), "s3cret".to_string()));
    let url = source.add("/private.png", guarded);
    let id = import(
        &server,
        json!({
            "url": url,
            "urlHeaders": { "X-Token": "s3cret" },
            "urlParams": { "sig": "abc", "v": "1" },
        }),
    )
    .await;
    assert_ready_image(&server.wait_processed(&id).await, &bytes, 20, 10);
    let hits = source.hits.lock().expect("hits").clone();
    assert!(
        hits.contains(&"/private.png?sig=abc&v=1".to_string()),
        "{hits:?}"
    );
    let (code, reason) = import_failing(&server, json!({ "url": url })).await;
    assert_eq!(code, "SOURCE_HTTP_ERROR");
    assert_eq!(reason, "source answered 403 Forbidden");
}

/// A redirect is followed to the file.
#[tokio::test]
async fn redirect_is_followed() {
    let (server, source) = (TestServer::start().await, SourceServer::start().await);
    let bytes = png(8, 8);
    source.add("/new.png", Source::bytes("image/png", bytes.clone()));
    let mut moved = Source::bytes("text/plain", Vec::new());
    moved.redirect_to = Some("/new.png".to_string());
    let url = source.add("/old", moved);
    let id = import(&server, json!({ "url": url })).await;
    assert_ready_image(&server.wait_processed(&id).await, &bytes, 8, 8);
    assert_eq!(source.hit_count("/new.png"), 1);
}

/// More redirects than max_redirects → FAILED.
#[tokio::test]
async fn too_many_redirects_fail() {
    let server = TestServer::start_with(|c| c.processing.max_redirects = 2).await;
    let source = SourceServer::start().await;
    source.add("/end.png", Source::bytes("image/png", png(4, 4)));
    for (from, to) in [("/r1", "/r2"), ("/r2", "/r3"), ("/r3", "/end.png")] {
        let mut hop = Source::bytes("text/plain", Vec::new());
        hop.redirect_to = Some(to.to_string());
        source.add(from, hop);
    }
    let (code, reason) = import_failing(&server, json!({ "url": source.url("/r1") })).await;
    assert_eq!(code, "SOURCE_TOO_MANY_REDIRECTS", "{reason}");
    assert_eq!(source.hit_count("/end.png"), 0);
}

/// An HTML page served as image/png → FAILED, with a reason saying it was HTML.
#[tokio::test]
async fn html_served_as_png_fails() {
    let (server, source) = (TestServer::start().await, SourceServer::start().await);
    let page = b"<!DOCTYPE html>\n<html><body>Please sign in</body></html>".to_vec();
    let url = source.add("/image.png", Source::bytes("image/png", page));
    let (code, reason) = import_failing(&server, json!({ "url": url })).await;
    assert_eq!(code, "SOURCE_NOT_MEDIA");
    assert!(
        reason.contains("HTML") && reason.contains("image/png"),
        "{reason}"
    );
}

/// A source answering 404 → FAILED with the status in the reason.
#[tokio::test]
async fn missing_source_fails() {
    let (server, source) = (TestServer::start().await, SourceServer::start().await);
    let url = source.url("/nowhere.png");
    let (code, reason) = import_failing(&server, json!({ "url": url })).await;
    assert_eq!(code, "SOURCE_HTTP_ERROR");
    assert_eq!(reason, "source answered 404 Not Found");
}

/// A source over max_source_bytes → FAILED FILE_TOO_LARGE.
#[tokio::test]
async fn oversized_source_fails() {
    let server = TestServer::start_with(|c| c.processing.max_source_bytes = 1000).await;
    let source = SourceServer::start().await;
    let bytes = png(200, 200);
    assert!(bytes.len() > 1000);
    let url = source.add("/big.png", Source::bytes("image/png", bytes));
    let (code, _) = import_failing(&server, json!({ "url": url })).await;
    assert_eq!(code, "FILE_TOO_LARGE");
}

/// Declaring mediaType VIDEO for a PNG → FAILED MEDIA_TYPE_MISMATCH.
#[tokio::test]
async fn declared_video_for_png_fails() {
    let (server, source) = (TestServer::start().await, SourceServer::start().await);
    let url = source.add("/clip.mp4", Source::bytes("video/mp4", png(4, 4)));
    let body = json!({ "url": url, "mediaType": "VIDEO" });
    let (code, reason) = import_failing(&server, body).await;
    assert_eq!(code, "MEDIA_TYPE_MISMATCH");
    assert!(
        reason.contains("VIDEO") && reason.contains("IMAGE"),
        "{reason}"
    );
}

/// Bytes of no detectable type, with no hint of one → FAILED UNKNOWN_MEDIA_TYPE.
#[tokio::test]
async fn undetectable_bytes_fail() {
    let (server, source) = (TestServer::start().await, SourceServer::start().await);
    let noise: Vec<u8> = (0..512u32).map(|i| (i * 7 % 251) as u8).collect();
    let url = source.add("/blob", Source::bytes("application/octet-stream", noise));
    let (code, _) = import_failing(&server, json!({ "url": url })).await;
    assert_eq!(code, "UNKNOWN_MEDIA_TYPE");
}

/// A PDF ends READY as a DOCUMENT, without dimensions or thumbnail; bulk import works too.
#[tokio::test]
async fn pdf_is_ready_document() {
    let (server, source) = (TestServer::start().await, SourceServer::start().await);
    let pdf = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";
    let url = source.add(
        "/download",
        Source::bytes("application/octet-stream", pdf.to_vec()),
    );
    let v = server
        .ok_post(
            "/v1/bulk/files/import-v2",
            json!({ "importFileRequests": [{ "url": url, "displayName": "report" }] }),
        )
        .await;
    let id = v["results"][0]["item"]["id"]
        .as_str()
        .expect("id")
        .to_string();
    let f = server.wait_processed(&id).await;
    assert_eq!(f.operation_status, Some(OperationStatus::Ready), "{f:?}");
    assert_eq!(f.media_type, Some(MediaType::Document));
    assert_eq!(f.size_in_bytes, Some(pdf.len() as u64));
    assert_eq!(f.thumbnail_url, None);
    assert_eq!(
        server.file_row(&id).mime_type.as_deref(),
        Some("application/pdf")
    );
}

/// An SVG is found by its markup and ends READY as a VECTOR.
#[tokio::test]
async fn svg_is_ready_vector() {
    let (server, source) = (TestServer::start().await, SourceServer::start().await);
    let svg =
        br#"<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"/>"#;
    let url = source.add("/logo", Source::bytes("text/xml", svg.to_vec()));
    let id = import(&server, json!({ "url": url })).await;
    let f = server.wait_processed(&id).await;
    assert_eq!(f.operation_status, Some(OperationStatus::Ready), "{f:?}");
    assert_eq!(f.media_type, Some(MediaType::Vector));
}

/// Waits until the source server has been asked for `path` at least `n` times.
async fn wait_hits(source: &SourceServer, path: &str, n: usize) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while source.hit_count(path) < n {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{path} asked for {} times, not {n}",
            source.hit_count(path)
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The processing-time fault holds a fetched file PENDING: the same source imported later on
/// a server without the fault is READY while the delayed file is still PENDING; then the
/// delayed file ends READY with the same facts.
#[tokio::test]
async fn processing_time_keeps_file_pending_then_ready() {
    let delayed = TestServer::start_with(|c| {
        c.faults.processing_time = Some(MsRange { lo: 3000, hi: 3000 });
    })
    .await;
    let control = TestServer::start().await;
    let source = SourceServer::start().await;
    let url = source.add("/slow.png", Source::bytes("image/png", png(4, 4)));
    let id = import(&delayed, json!({ "url": url })).await;
    // The delayed file's fetch has begun before the control's import is even sent.
    wait_hits(&source, "/slow.png", 1).await;
    let control_id = import(&control, json!({ "url": url })).await;
    let ready = control.wait_processed(&control_id).await;
    assert_eq!(ready.operation_status, Some(OperationStatus::Ready));
    assert_eq!(
        delayed.file(&id).await.operation_status,
        Some(OperationStatus::Pending),
        "without the fault it would be READY by now, as the control is"
    );
    let f = delayed.wait_processed(&id).await;
    assert_eq!(f.operation_status, Some(OperationStatus::Ready));
    assert_eq!(f.hash, ready.hash);
    assert_eq!(source.hit_count("/slow.png"), 2, "one fetch per file");
}

/// processing-failure-rate 1.0 fails every file and counts it in /_local/stats.
#[tokio::test]
async fn processing_failure_fault_fails_and_is_counted() {
    let server = TestServer::start_with(|c| c.faults.processing_failure_rate = 1.0).await;
    let source = SourceServer::start().await;
    let url = source.add("/fine.png", Source::bytes("image/png", png(4, 4)));
    let (code, _) = import_failing(&server, json!({ "url": url })).await;
    assert_eq!(code, "PROCESSING_FAILED");
    let stats = server.stats().await;
    assert_eq!(stats["faults"]["processingFailure"], 1, "{stats}");
}

/// A file the server stopped with while it was PENDING (fetched, its processing held by the
/// fault) is queued again by the next start, fetched again and ends READY; nothing but that
/// requeue would process it.
#[tokio::test]
async fn pending_file_survives_restart() {
    let server = TestServer::start_with(|c| {
        c.faults.processing_time = Some(MsRange { lo: 3000, hi: 3000 });
    })
    .await;
    let source = SourceServer::start().await;
    let bytes = png(30, 40);
    let url = source.add("/later.png", Source::bytes("image/png", bytes.clone()));
    let id = import(&server, json!({ "url": url })).await;
    wait_hits(&source, "/later.png", 1).await;
    let TestServer {
        server: running,
        dir,
        ..
    } = server;
    running.expect("running").stop().await.expect("clean stop");
    // With no server running, the store says what the next start finds.
    let stored = {
        let conn = rusqlite::Connection::open(dir.path().join("data/media-manager.sqlite"))
            .expect("database opens");
        wix_media_manager::store::files::get_file(&conn, &id)
            .expect("file row reads")
            .expect("file row exists")
    };
    assert_eq!(
        stored.status,
        OperationStatus::Pending,
        "stopped while PENDING"
    );
    let config = ServerConfig::new(dir.path().join("data"));
    let server = TestServer::start_in(dir, config).await;
    assert_ready_image(&server.wait_processed(&id).await, &bytes, 30, 40);
    assert_eq!(
        source.hit_count("/later.png"),
        2,
        "the restarted server processed it again"
    );
}

/// Stopping abandons a fetch that hangs; after the restart the file is fetched again and ends READY.
#[tokio::test]
async fn hanging_fetch_is_abandoned_on_stop_and_retried_after_restart() {
    let (server, source) = (TestServer::start().await, SourceServer::start().await);
    let bytes = png(12, 12);
    let mut hanging = Source::bytes("image/png", bytes.clone());
    hanging.hang = true;
    let url = source.add("/stuck.png", hanging);
    let id = import(&server, json!({ "url": url })).await;
    // The fetch has started once the source saw it; only then is there something to abandon.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while source.hit_count("/stuck.png") == 0 {
        assert!(tokio::time::Instant::now() < deadline, "source never asked");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let stopped = tokio::time::timeout(Duration::from_secs(10), server.restart(|_| {})).await;
    let server = stopped.expect("stop doesn't wait for the hanging fetch");
    source.add("/stuck.png", Source::bytes("image/png", bytes.clone()));
    assert_ready_image(&server.wait_processed(&id).await, &bytes, 12, 12);
}

/// With allow_private_sources off, loopback sources are refused, by IP literal and by name,
/// without the source ever being asked.
#[tokio::test]
async fn private_sources_are_refused() {
    let server = TestServer::start_with(|c| c.processing.allow_private_sources = false).await;
    let source = SourceServer::start().await;
    source.add("/inside.png", Source::bytes("image/png", png(4, 4)));
    let by_ip = source.url("/inside.png");
    let by_name = format!("http://localhost:{}/inside.png", source.addr.port());
    for url in [by_ip, by_name] {
        let (code, reason) = import_failing(&server, json!({ "url": url })).await;
        assert_eq!(code, "SOURCE_FORBIDDEN", "{url}: {reason}");
    }
    assert_eq!(source.hit_count("/inside.png"), 0);
}

/// A source that never answers fails with SOURCE_TIMEOUT after fetch_timeout.
#[tokio::test]
async fn hanging_source_times_out() {
    let server = TestServer::start_with(|c| {
        c.processing.fetch_timeout = Duration::from_millis(300);
    })
    .await;
    let source = SourceServer::start().await;
    let mut hanging = Source::bytes("image/png", png(4, 4));
    hanging.hang = true;
    let url = source.add("/never.png", hanging);
    let (code, _) = import_failing(&server, json!({ "url": url })).await;
    assert_eq!(code, "SOURCE_TIMEOUT");
}

/// Issue 13, hole 5: on a redirect to another host the fetch drops `urlHeaders`, and no hop
/// gets a `Referer` (which would carry the `urlParams` signature), as curl does; the source's
/// own host gets both headers and parameters.
#[tokio::test]
async fn hole_5_url_headers_not_sent_across_hosts() {
    let server = TestServer::start().await;
    let (home, elsewhere) = (SourceServer::start().await, SourceServer::start().await);
    let bytes = png(6, 6);
    // Another host: `localhost` where the source is `127.0.0.1`.
    let target = format!("http://localhost:{}/moved.png", elsewhere.addr.port());
    elsewhere.add("/moved.png", Source::bytes("image/png", bytes.clone()));
    let mut hop = Source::bytes("image/png", Vec::new());
    hop.redirect_to = Some(target);
    let url = home.add("/start.png", hop);
    let id = import(
        &server,
        json!({
            "url": url,
            "urlHeaders": {"x-api-key": "source-secret", "authorization": "Bearer tok"},
            "urlParams": {"sig": "param-secret"},
        }),
    )
    .await;
    assert_ready_image(&server.wait_processed(&id).await, &bytes, 6, 6);
    let at_home = home.headers_seen.lock().unwrap().clone();
    let (_, first) = at_home.first().expect("the source was asked");
    assert_eq!(
        first["x-api-key"], "source-secret",
        "its own host gets them"
    );
    assert!(home.hits.lock().unwrap()[0].contains("sig=param-secret"));
    let moved = elsewhere.headers_seen.lock().unwrap().clone();
    let (_, next) = moved.first().expect("the redirect was followed");
    for name in ["x-api-key", "authorization", "referer", "cookie"] {
        assert!(next.get(name).is_none(), "{name} crossed hosts: {next:?}");
    }
    let hits = elsewhere.hits.lock().unwrap().clone();
    assert!(hits.iter().all(|h| !h.contains("param-secret")), "{hits:?}");
}

/// Issue 13, hole 7: with private sources refused, IPv4 dressed as IPv6 (IPv4-compatible
/// `::127.0.0.1`, NAT64 `64:ff9b::7f00:1`, 6to4 `2002:7f00:1::`) and the special ranges are
/// refused before any connection is tried.
#[tokio::test]
async fn hole_7_translated_loopback_refused_up_front() {
    let server = TestServer::start_with(|c| c.processing.allow_private_sources = false).await;
    for host in [
        "[::127.0.0.1]",
        "[64:ff9b::7f00:1]",
        "[2002:7f00:1::1]",
        "198.18.0.1",
        "240.0.0.1",
    ] {
        let url = format!("http://{host}:9/a.png");
        let (code, reason) = import_failing(&server, json!({ "url": url })).await;
        assert_eq!(code, "SOURCE_FORBIDDEN", "{url}: {reason}");
    }
}
