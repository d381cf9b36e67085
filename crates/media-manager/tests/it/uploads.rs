//! Tests of uploads: upload URLs (one PUT), resumable uploads over tus 1.0.0 and their
//! finalize PUT, single-use and expiring tokens.

use std::time::Duration;

use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use futures_util::StreamExt;
use md5::{Digest, Md5};
use serde_json::{Value, json};
use wix_media_wire::types::{MediaType, OperationStatus};

use crate::support::{TestServer, png, send};

fn md5_hex(bytes: &[u8]) -> String {
    hex::encode(Md5::digest(bytes))
}

/// Bytes that don't repeat, so a misplaced chunk changes the hash.
fn noise(len: usize) -> Vec<u8> {
    let mut state = 0x2545_f491_u32;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state as u8
        })
        .collect()
}

async fn upload_url(ts: &TestServer, body: Value) -> String {
    let v = ts.ok_post("/v1/files/generate-upload-url", body).await;
    v["uploadUrl"].as_str().expect("uploadUrl").to_string()
}

async fn put_bytes(
    ts: &TestServer,
    url: &str,
    content_type: &str,
    bytes: Vec<u8>,
) -> (StatusCode, Value) {
    send(
        ts.http
            .put(url)
            .header("Content-Type", content_type)
            .body(bytes),
    )
    .await
}

/// A resumable session: the tus endpoint and the token.
async fn resumable(ts: &TestServer, body: Value) -> (String, String) {
    let v = ts
        .ok_post("/v1/files/generate-resumable-upload-url", body)
        .await;
    assert_eq!(v["uploadProtocol"], "TUS");
    (
        v["uploadUrl"].as_str().expect("uploadUrl").to_string(),
        v["uploadToken"].as_str().expect("uploadToken").to_string(),
    )
}

fn tus_metadata(filename: &str, content_type: &str, token: &str) -> String {
    format!(
        "filename {},contentType {},token {}",
        STANDARD.encode(filename),
        STANDARD.encode(content_type),
        STANDARD.encode(token)
    )
}

async fn tus_create(
    ts: &TestServer,
    endpoint: &str,
    token: &str,
    length: u64,
) -> reqwest::Response {
    ts.http
        .post(endpoint)
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", length.to_string())
        .header(
            "Upload-Metadata",
            tus_metadata("data.bin", "application/pdf", token),
        )
        .send()
        .await
        .expect("tus creation sent")
}

/// Creates an upload and returns its path (`/_upload/tus/{id}`), which survives a restart.
async fn tus_start(ts: &TestServer, endpoint: &str, token: &str, length: u64) -> String {
    let r = tus_create(ts, endpoint, token, length).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(r.headers()["tus-resumable"], "1.0.0");
    let location = r.headers()["location"]
        .to_str()
        .expect("location")
        .to_string();
    assert!(location.starts_with(&ts.url), "{location}");
    location[ts.url.len()..].to_string()
}

async fn tus_patch(
    ts: &TestServer,
    path: &str,
    offset: u64,
    body: reqwest::Body,
) -> reqwest::Response {
    ts.http
        .patch(format!("{}{path}", ts.url))
        .header("Tus-Resumable", "1.0.0")
        .header("Content-Type", "application/offset+octet-stream")
        .header("Upload-Offset", offset.to_string())
        .body(body)
        .send()
        .await
        .expect("tus patch sent")
}

/// Status and `Upload-Offset` of a HEAD.
async fn tus_head(ts: &TestServer, path: &str) -> (StatusCode, Option<u64>) {
    let r = ts
        .http
        .head(format!("{}{path}", ts.url))
        .header("Tus-Resumable", "1.0.0")
        .send()
        .await
        .expect("tus head sent");
    assert_eq!(r.headers()["tus-resumable"], "1.0.0");
    let offset = r
        .headers()
        .get("upload-offset")
        .map(|v| v.to_str().expect("ascii").parse().expect("number"));
    (r.status(), offset)
}

async fn finalize(ts: &TestServer, token: &str, filename: &str) -> (StatusCode, Value) {
    let url = format!("{}/_upload/resumable/{token}?filename={filename}", ts.url);
    send(ts.http.put(url).json(&json!({}))).await
}

fn assert_stored(v: &Value, bytes: &[u8]) {
    assert_eq!(v["file"]["sizeInBytes"], bytes.len().to_string(), "{v}");
    assert_eq!(v["file"]["hash"], md5_hex(bytes), "{v}");
}

/// A PNG sent to an upload URL becomes a file with its size and md5, and is processed to READY.
#[tokio::test]
async fn put_upload_stores_a_png() {
    let ts = TestServer::start().await;
    let url = upload_url(&ts, json!({"mimeType": "image/png", "labels": ["x"]})).await;
    assert!(
        url.starts_with(&format!("{}/_upload/put/", ts.url)),
        "{url}"
    );
    let bytes = png(40, 30);
    let (status, v) = put_bytes(
        &ts,
        &format!("{url}?filename=pic.png"),
        "image/png",
        bytes.clone(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_stored(&v, &bytes);
    assert_eq!(v["file"]["displayName"], "pic.png");
    assert_eq!(v["file"]["parentFolderId"], "media-root");
    assert_eq!(v["file"]["labels"], json!(["x"]));
    let id = v["file"]["id"].as_str().expect("id");
    let done = ts.wait_processed(id).await;
    assert_eq!(done.operation_status, Some(OperationStatus::Ready));
    assert_eq!(done.media_type, Some(MediaType::Image));
    assert_eq!(done.size_in_bytes, Some(bytes.len() as u64));
}

/// `application/octet-stream` means "detect from the filename".
#[tokio::test]
async fn octet_stream_is_detected_from_the_filename() {
    let ts = TestServer::start().await;
    let url = upload_url(&ts, json!({"mimeType": "application/octet-stream"})).await;
    let bytes = png(8, 8);
    let (status, v) = put_bytes(
        &ts,
        &format!("{url}?filename=a.png"),
        "application/octet-stream",
        bytes,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["file"]["mediaType"], "IMAGE", "{v}");
}

/// An upload URL can be used once; a second PUT is refused with 403.
#[tokio::test]
async fn put_token_is_single_use() {
    let ts = TestServer::start().await;
    let url = upload_url(&ts, json!({"mimeType": "image/png"})).await;
    let target = format!("{url}?filename=a.png");
    let (status, _) = put_bytes(&ts, &target, "image/png", png(4, 4)).await;
    assert_eq!(status, StatusCode::OK);
    let (status, v) = put_bytes(&ts, &target, "image/png", png(4, 4)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{v}");
    assert!(v["message"].is_string(), "Wix error body: {v}");
}

/// An expired upload URL is refused with 403.
#[tokio::test]
async fn expired_put_token_is_refused() {
    let ts = TestServer::start_with(|c| c.upload_token_ttl = Duration::ZERO).await;
    let url = upload_url(&ts, json!({"mimeType": "image/png"})).await;
    let (status, v) = put_bytes(
        &ts,
        &format!("{url}?filename=a.png"),
        "image/png",
        png(4, 4),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{v}");
    assert_eq!(
        v["details"]["applicationError"]["code"],
        "UPLOAD_TOKEN_EXPIRED"
    );
}

/// A missing or malformed `mimeType` is a 400 validation error naming the field.
#[tokio::test]
async fn generate_requires_a_valid_mime_type() {
    let ts = TestServer::start().await;
    for body in [
        json!({"fileName": "a.png"}),
        json!({"mimeType": "not a mime"}),
    ] {
        for path in [
            "/v1/files/generate-upload-url",
            "/v1/files/generate-resumable-upload-url",
        ] {
            let (status, v) = ts.post(path, body.clone()).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{path} {body}: {v}");
            assert_eq!(
                v["details"]["validationError"]["fieldViolations"][0]["field"],
                "mimeType"
            );
        }
    }
}

/// `filePath` creates its folders at generate time and the upload lands in the last one.
#[tokio::test]
async fn file_path_creates_folders() {
    let ts = TestServer::start().await;
    let url = upload_url(
        &ts,
        json!({"mimeType": "image/png", "filePath": "/shop/2024"}),
    )
    .await;
    let (status, v) = put_bytes(
        &ts,
        &format!("{url}?filename=a.png"),
        "image/png",
        png(4, 4),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let parent = v["file"]["parentFolderId"].as_str().expect("parent");
    let leaf = ts.ok_get(&format!("/v1/folders/{parent}")).await;
    assert_eq!(leaf["folder"]["displayName"], "2024", "{leaf}");
    let top = leaf["folder"]["parentFolderId"]
        .as_str()
        .expect("grandparent");
    let top = ts.ok_get(&format!("/v1/folders/{top}")).await;
    assert_eq!(top["folder"]["displayName"], "shop");
    assert_eq!(top["folder"]["parentFolderId"], "media-root");
}

/// Without `filename` (and no `fileName` at generate time) the PUT is refused and the token
/// is given back, so a corrected PUT succeeds.
#[tokio::test]
async fn put_without_a_name_keeps_the_token() {
    let ts = TestServer::start().await;
    let url = upload_url(&ts, json!({"mimeType": "image/png"})).await;
    let (status, v) = put_bytes(&ts, &url, "image/png", png(4, 4)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    let (status, v) = put_bytes(
        &ts,
        &format!("{url}?filename=b.png"),
        "image/png",
        png(4, 4),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let named = upload_url(
        &ts,
        json!({"mimeType": "image/png", "fileName": "given.png"}),
    )
    .await;
    let (status, v) = put_bytes(&ts, &named, "image/png", png(4, 4)).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["file"]["displayName"], "given.png");
}

/// A PUT body over `max_upload_bytes` is refused with 413, streamed or declared.
#[tokio::test]
async fn put_over_the_limit_is_refused() {
    let ts = TestServer::start_with(|c| c.max_upload_bytes = 1000).await;
    let url = upload_url(&ts, json!({"mimeType": "application/pdf"})).await;
    let target = format!("{url}?filename=a.pdf");
    let (status, _) = put_bytes(&ts, &target, "application/pdf", noise(1001)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = vec![Ok(noise(600)), Ok(noise(600))];
    let streamed = reqwest::Body::wrap_stream(futures_util::stream::iter(chunks));
    let (status, _) = send(ts.http.put(&target).body(streamed)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let (status, v) = put_bytes(&ts, &target, "application/pdf", noise(1000)).await;
    assert_eq!(status, StatusCode::OK, "{v}");
}

/// OPTIONS on the tus endpoint advertises version 1.0.0, creation and termination.
#[tokio::test]
async fn tus_options_discovery() {
    let ts = TestServer::start_with(|c| c.max_upload_bytes = 12345).await;
    let (endpoint, _) = resumable(&ts, json!({"mimeType": "application/pdf"})).await;
    assert_eq!(endpoint, format!("{}/_upload/resumable", ts.url));
    let r = ts
        .http
        .request(reqwest::Method::OPTIONS, &endpoint)
        .send()
        .await
        .expect("options");
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let h = r.headers();
    assert_eq!(h["tus-resumable"], "1.0.0");
    assert_eq!(h["tus-version"], "1.0.0");
    assert_eq!(h["tus-extension"], "creation,termination");
    assert_eq!(h["tus-max-size"], "12345");
}

/// Creation without `Tus-Resumable` is refused with 412 and the supported version.
#[tokio::test]
async fn tus_creation_requires_the_version_header() {
    let ts = TestServer::start().await;
    let (endpoint, token) = resumable(&ts, json!({"mimeType": "application/pdf"})).await;
    let r = ts
        .http
        .post(&endpoint)
        .header("Upload-Length", "10")
        .header(
            "Upload-Metadata",
            tus_metadata("a.pdf", "application/pdf", &token),
        )
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status(), StatusCode::PRECONDITION_FAILED);
    assert_eq!(r.headers()["tus-version"], "1.0.0");
    assert_eq!(r.headers()["tus-resumable"], "1.0.0");
}

/// Creation needs a live tus token: unknown or already bound tokens get 403; deferred length 400.
#[tokio::test]
async fn tus_creation_checks_the_token() {
    let ts = TestServer::start().await;
    let (endpoint, token) = resumable(&ts, json!({"mimeType": "application/pdf"})).await;
    assert_eq!(
        tus_create(&ts, &endpoint, "nope", 10).await.status(),
        StatusCode::FORBIDDEN
    );
    let put_url = upload_url(&ts, json!({"mimeType": "image/png"})).await;
    let put_token = put_url.rsplit('/').next().expect("token");
    assert_eq!(
        tus_create(&ts, &endpoint, put_token, 10).await.status(),
        StatusCode::FORBIDDEN
    );
    tus_start(&ts, &endpoint, &token, 10).await;
    assert_eq!(
        tus_create(&ts, &endpoint, &token, 10).await.status(),
        StatusCode::FORBIDDEN
    );
    let (_, fresh) = resumable(&ts, json!({"mimeType": "application/pdf"})).await;
    let r = ts
        .http
        .post(&endpoint)
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Defer-Length", "1")
        .header(
            "Upload-Metadata",
            tus_metadata("a.pdf", "application/pdf", &fresh),
        )
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}

/// A tus upload in two PATCHes, with a wrong offset refused in between, finalizes intact.
#[tokio::test]
async fn tus_upload_resumes_and_finalizes() {
    let ts = TestServer::start().await;
    let (endpoint, token) = resumable(&ts, json!({"mimeType": "application/pdf"})).await;
    let bytes = noise(300_000);
    let path = tus_start(&ts, &endpoint, &token, bytes.len() as u64).await;
    assert_eq!(tus_head(&ts, &path).await, (StatusCode::OK, Some(0)));
    let half = bytes.len() / 2;
    let r = tus_patch(&ts, &path, 0, bytes[..half].to_vec().into()).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(r.headers()["upload-offset"], half.to_string().as_str());
    assert_eq!(
        tus_head(&ts, &path).await,
        (StatusCode::OK, Some(half as u64))
    );
    let r = tus_patch(&ts, &path, 0, bytes[..half].to_vec().into()).await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let r = tus_patch(&ts, &path, half as u64, bytes[half..].to_vec().into()).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let (status, v) = finalize(&ts, &token, "report.pdf").await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_stored(&v, &bytes);
    assert_eq!(v["file"]["displayName"], "report.pdf");
    assert_eq!(tus_head(&ts, &path).await.0, StatusCode::NOT_FOUND);
    let (status, _) = finalize(&ts, &token, "again.pdf").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

/// PATCH needs `Content-Type: application/offset+octet-stream` (415 otherwise).
#[tokio::test]
async fn tus_patch_requires_the_offset_stream_type() {
    let ts = TestServer::start().await;
    let (endpoint, token) = resumable(&ts, json!({"mimeType": "application/pdf"})).await;
    let path = tus_start(&ts, &endpoint, &token, 4).await;
    let r = ts
        .http
        .patch(format!("{}{path}", ts.url))
        .header("Tus-Resumable", "1.0.0")
        .header("Content-Type", "application/octet-stream")
        .header("Upload-Offset", "0")
        .body(vec![1, 2, 3, 4])
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

/// A PATCH whose body breaks off keeps the bytes that arrived; the client resumes from there.
#[tokio::test]
async fn tus_broken_patch_keeps_what_arrived() {
    let ts = TestServer::start().await;
    let (endpoint, token) = resumable(&ts, json!({"mimeType": "application/pdf"})).await;
    let bytes = noise(200_000);
    let path = tus_start(&ts, &endpoint, &token, bytes.len() as u64).await;
    let id = path.rsplit('/').next().expect("id").to_string();
    let part = ts
        .dir
        .path()
        .join("data")
        .join("uploads")
        .join(format!("{id}.part"));
    let sent = 70_000;
    let first: Result<Vec<u8>, std::io::Error> = Ok(bytes[..sent].to_vec());
    // Break the body only once the server has the first chunk on disk, so the cut is exact.
    let cut = futures_util::stream::once(async move {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while std::fs::metadata(&part).map(|m| m.len()).unwrap_or(0) < sent as u64
            && tokio::time::Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        Err(std::io::Error::other("connection cut"))
    });
    let stream = futures_util::stream::iter([first]).chain(cut);
    let broken = ts
        .http
        .patch(format!("{}{path}", ts.url))
        .header("Tus-Resumable", "1.0.0")
        .header("Content-Type", "application/offset+octet-stream")
        .header("Upload-Offset", "0")
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await;
    assert!(broken.is_err() || !broken.expect("response").status().is_success());
    // The server records the offset once it notices the break: poll for it.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (status, offset) = tus_head(&ts, &path).await;
        assert_eq!(status, StatusCode::OK);
        if offset == Some(sent as u64) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "offset stuck at {offset:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let r = tus_patch(&ts, &path, sent as u64, bytes[sent..].to_vec().into()).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let (status, v) = finalize(&ts, &token, "cut.pdf").await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_stored(&v, &bytes);
}

/// A half-done tus upload survives a server restart and completes after it.
#[tokio::test]
async fn tus_upload_survives_a_restart() {
    let ts = TestServer::start().await;
    let (_, token) = resumable(&ts, json!({"mimeType": "application/pdf"})).await;
    let bytes = noise(150_000);
    let path = tus_start(
        &ts,
        &format!("{}/_upload/resumable", ts.url),
        &token,
        bytes.len() as u64,
    )
    .await;
    let r = tus_patch(&ts, &path, 0, bytes[..50_000].to_vec().into()).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let ts = ts.restart(|_| {}).await;
    assert_eq!(tus_head(&ts, &path).await, (StatusCode::OK, Some(50_000)));
    let r = tus_patch(&ts, &path, 50_000, bytes[50_000..].to_vec().into()).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let (status, v) = finalize(&ts, &token, "restart.pdf").await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_stored(&v, &bytes);
}

/// Termination removes the upload (HEAD 404) and spends its token.
#[tokio::test]
async fn tus_termination_removes_the_upload() {
    let ts = TestServer::start().await;
    let (endpoint, token) = resumable(&ts, json!({"mimeType": "application/pdf"})).await;
    let path = tus_start(&ts, &endpoint, &token, 10).await;
    let r = tus_patch(&ts, &path, 0, vec![0u8; 10].into()).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = ts
        .http
        .delete(format!("{}{path}", ts.url))
        .header("Tus-Resumable", "1.0.0")
        .send()
        .await
        .expect("delete");
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(r.headers()["tus-resumable"], "1.0.0");
    assert_eq!(tus_head(&ts, &path).await.0, StatusCode::NOT_FOUND);
    let id = path.rsplit('/').next().expect("id");
    assert!(
        !ts.dir
            .path()
            .join(format!("data/uploads/{id}.part"))
            .exists()
    );
    assert_eq!(
        finalize(&ts, &token, "a.pdf").await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        tus_create(&ts, &endpoint, &token, 10).await.status(),
        StatusCode::FORBIDDEN
    );
}

/// Finalizing before every byte arrived is a 409 Wix error, and the token stays usable.
#[tokio::test]
async fn tus_finalize_before_completion_is_a_conflict() {
    let ts = TestServer::start().await;
    let (endpoint, token) = resumable(&ts, json!({"mimeType": "application/pdf"})).await;
    let (status, v) = finalize(&ts, &token, "a.pdf").await;
    assert_eq!(status, StatusCode::CONFLICT, "{v}");
    let path = tus_start(&ts, &endpoint, &token, 10).await;
    tus_patch(&ts, &path, 0, vec![1u8; 4].into()).await;
    let (status, v) = finalize(&ts, &token, "a.pdf").await;
    assert_eq!(status, StatusCode::CONFLICT, "{v}");
    assert_eq!(
        v["details"]["applicationError"]["code"],
        "UPLOAD_INCOMPLETE"
    );
    tus_patch(&ts, &path, 4, vec![2u8; 6].into()).await;
    let (status, v) = finalize(&ts, &token, "a.pdf").await;
    assert_eq!(status, StatusCode::OK, "{v}");
}

/// A body that goes past `Upload-Length` is refused and nothing beyond it is stored.
#[tokio::test]
async fn tus_body_beyond_the_length_is_refused() {
    let ts = TestServer::start().await;
    let (endpoint, token) = resumable(&ts, json!({"mimeType": "application/pdf"})).await;
    let path = tus_start(&ts, &endpoint, &token, 10).await;
    let r = tus_patch(&ts, &path, 0, vec![7u8; 11].into()).await;
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(tus_head(&ts, &path).await.1, Some(0));
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = vec![Ok(vec![7u8; 8]), Ok(vec![8u8; 8])];
    let r = tus_patch(
        &ts,
        &path,
        0,
        reqwest::Body::wrap_stream(futures_util::stream::iter(chunks)),
    )
    .await;
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        tus_head(&ts, &path).await.1,
        Some(0),
        "none of a body past Upload-Length is kept"
    );
    let r = ts
        .http
        .post(&endpoint)
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", (6u64 << 30).to_string())
        .header(
            "Upload-Metadata",
            tus_metadata("big", "application/pdf", "x"),
        )
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

/// Bodies over axum's 2 MiB default pass: a 3 MiB PUT and a 3 MiB tus PATCH are stored whole.
#[tokio::test]
async fn bodies_over_two_mib_are_accepted() {
    let ts = TestServer::start().await;
    let bytes = noise(3 << 20);
    let url = upload_url(&ts, json!({"mimeType": "application/pdf"})).await;
    let (status, v) = put_bytes(
        &ts,
        &format!("{url}?filename=big.pdf"),
        "application/pdf",
        bytes.clone(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_stored(&v, &bytes);
    let (endpoint, token) = resumable(&ts, json!({"mimeType": "application/pdf"})).await;
    let path = tus_start(&ts, &endpoint, &token, bytes.len() as u64).await;
    let r = tus_patch(&ts, &path, 0, bytes.clone().into()).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let (status, v) = finalize(&ts, &token, "big.pdf").await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_stored(&v, &bytes);
}

/// While one PATCH is writing an upload, a second one is refused with 423 instead of interleaving.
#[tokio::test]
async fn tus_concurrent_patches_do_not_interleave() {
    let ts = TestServer::start().await;
    let (endpoint, token) = resumable(&ts, json!({"mimeType": "application/pdf"})).await;
    let bytes = noise(20_000);
    let path = tus_start(&ts, &endpoint, &token, bytes.len() as u64).await;
    let id = path.rsplit('/').next().expect("id").to_string();
    let part = ts
        .dir
        .path()
        .join("data")
        .join("uploads")
        .join(format!("{id}.part"));
    let (release, released) = tokio::sync::oneshot::channel::<()>();
    let first: Result<Vec<u8>, std::io::Error> = Ok(bytes[..10_000].to_vec());
    let rest = futures_util::stream::once(async move {
        let _ = released.await;
        Ok::<Vec<u8>, std::io::Error>(Vec::new())
    });
    let held = reqwest::Body::wrap_stream(futures_util::stream::iter([first]).chain(rest));
    let slow = tokio::spawn({
        let (http, url) = (ts.http.clone(), format!("{}{path}", ts.url));
        async move {
            http.patch(url)
                .header("Tus-Resumable", "1.0.0")
                .header("Content-Type", "application/offset+octet-stream")
                .header("Upload-Offset", "0")
                .body(held)
                .send()
                .await
                .expect("slow patch")
        }
    });
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while std::fs::metadata(&part).map(|m| m.len()).unwrap_or(0) < 10_000 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "first PATCH never arrived"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let r = tus_patch(&ts, &path, 0, bytes.clone().into()).await;
    assert_eq!(r.status(), StatusCode::LOCKED);
    let _ = release.send(());
    let r = slow.await.expect("slow patch task");
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = tus_patch(&ts, &path, 10_000, bytes[10_000..].to_vec().into()).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let (status, v) = finalize(&ts, &token, "one.pdf").await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_stored(&v, &bytes);
}

/// Issue 13, hole 8: a PATCH past `Upload-Length` commits nothing (413, offset unchanged) and
/// the upload can't be finalized with those bytes; a right-sized PATCH then completes it.
#[tokio::test]
async fn hole_8_bytes_past_upload_length_not_committed() {
    let ts = TestServer::start().await;
    let (endpoint, token) = resumable(&ts, json!({"mimeType": "application/pdf"})).await;
    let path = tus_start(&ts, &endpoint, &token, 10).await;
    assert_eq!(
        tus_patch(&ts, &path, 0, vec![1u8; 4].into()).await.status(),
        StatusCode::NO_CONTENT
    );
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = vec![Ok(vec![7u8; 4]), Ok(vec![8u8; 4])];
    let r = tus_patch(
        &ts,
        &path,
        4,
        reqwest::Body::wrap_stream(futures_util::stream::iter(chunks)),
    )
    .await;
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(tus_head(&ts, &path).await.1, Some(4), "offset unchanged");
    let (status, v) = finalize(&ts, &token, "a.pdf").await;
    assert_eq!(status, StatusCode::CONFLICT, "{v}");
    let part = ts
        .dir
        .path()
        .join("data/uploads")
        .join(format!("{}.part", path.rsplit('/').next().expect("id")));
    assert_eq!(std::fs::metadata(&part).expect("part").len(), 4);
    tus_patch(&ts, &path, 4, vec![2u8; 6].into()).await;
    let (status, v) = finalize(&ts, &token, "a.pdf").await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let mut want = vec![1u8; 4];
    want.extend([2u8; 6]);
    assert_stored(&v, &want);
}

/// The part files in `data/uploads`.
fn part_files(ts: &TestServer) -> Vec<std::path::PathBuf> {
    match std::fs::read_dir(ts.dir.path().join("data/uploads")) {
        Ok(dir) => dir.map(|e| e.expect("entry").path()).collect(),
        Err(_) => Vec::new(),
    }
}

/// Issue 13, hole 8: an upload left to expire has its bytes deleted by the reaper's schedule,
/// and its URL answers 410.
#[tokio::test]
async fn hole_8_expired_uploads_reaped() {
    let ts = TestServer::start_with(|c| {
        c.upload_token_ttl = Duration::from_millis(800);
        c.upload_reap_interval = Duration::from_millis(100);
    })
    .await;
    let (endpoint, token) = resumable(&ts, json!({"mimeType": "application/pdf"})).await;
    let path = tus_start(&ts, &endpoint, &token, 100).await;
    tus_patch(&ts, &path, 0, vec![3u8; 40].into()).await;
    assert_eq!(part_files(&ts).len(), 1);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !part_files(&ts).is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "expired upload still on disk"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(tus_head(&ts, &path).await.0, StatusCode::GONE);
}

/// Issue 13, hole 8: at start-up, part files no live upload owns (a crash's leftovers, an
/// expired upload of a server that was down) are deleted before the first request.
#[tokio::test]
async fn hole_8_abandoned_uploads_reaped_at_start_up() {
    let ts = TestServer::start().await;
    let (endpoint, token) = resumable(&ts, json!({"mimeType": "application/pdf"})).await;
    let live = tus_start(&ts, &endpoint, &token, 100).await;
    tus_patch(&ts, &live, 0, vec![3u8; 40].into()).await;
    let uploads = ts.dir.path().join("data/uploads");
    let orphan = uploads.join("0123456789abcdef0123456789abcdef.part");
    std::fs::write(&orphan, vec![0u8; 1000]).expect("orphan");
    let file = std::fs::File::options()
        .write(true)
        .open(&orphan)
        .expect("open");
    file.set_modified(std::time::SystemTime::now() - Duration::from_secs(3600))
        .expect("backdate");
    let ts = ts.restart(|_| {}).await;
    assert!(!orphan.exists(), "the orphan was reaped at start-up");
    assert_eq!(part_files(&ts).len(), 1, "the live upload's part stays");
    assert_eq!(tus_head(&ts, &live).await.1, Some(40));
}

/// Issue 13, hole 10: a `text/plain` upload gets an id ending in `.txt`, not `.asm`.
#[tokio::test]
async fn hole_10_text_plain_upload_id_not_asm() {
    let ts = TestServer::start().await;
    let url = upload_url(&ts, json!({"mimeType": "text/plain"})).await;
    let (status, v) = put_bytes(
        &ts,
        &format!("{url}?filename=notes.txt"),
        "text/plain",
        b"hello".to_vec(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let id = v["file"]["id"].as_str().expect("id");
    assert!(id.ends_with(".txt"), "{id}");
}

/// Issue 13, hole 6: the data dir and every folder in it are 0700, the database and every
/// blob and part file 0600, whatever the umask the server was started with.
#[cfg(unix)]
#[tokio::test]
async fn hole_6_data_dir_private() {
    use std::os::unix::fs::PermissionsExt;
    let ts = TestServer::start().await;
    let url = upload_url(&ts, json!({"mimeType": "application/pdf"})).await;
    put_bytes(
        &ts,
        &format!("{url}?filename=a.pdf"),
        "application/pdf",
        noise(100),
    )
    .await;
    let (endpoint, token) = resumable(&ts, json!({"mimeType": "application/pdf"})).await;
    let path = tus_start(&ts, &endpoint, &token, 100).await;
    tus_patch(&ts, &path, 0, vec![3u8; 40].into()).await;
    let data = ts.dir.path().join("data");
    let mut seen = (0, 0);
    let mut stack = vec![data];
    while let Some(at) = stack.pop() {
        let meta = std::fs::metadata(&at).expect("metadata");
        let mode = meta.permissions().mode() & 0o777;
        if meta.is_dir() {
            assert_eq!(mode, 0o700, "{}", at.display());
            seen.0 += 1;
            stack.extend(
                std::fs::read_dir(&at)
                    .expect("dir")
                    .map(|e| e.expect("e").path()),
            );
        } else {
            assert_eq!(mode, 0o600, "{}", at.display());
            seen.1 += 1;
        }
    }
    assert!(seen.0 >= 5 && seen.1 >= 3, "{seen:?}");
}
