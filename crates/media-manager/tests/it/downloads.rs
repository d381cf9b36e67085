//! Tests of downloads: signed file URLs (bytes, disposition, ranges, tampering, expiry), the
//! thumbnail asset, zip archives of files and folders, video stream URLs, and static URLs.
//! Shared helpers live here; the tests in the submodules.

mod archives;
mod media;
mod signed;

use std::collections::BTreeMap;
use std::io::Read;

use axum::http::StatusCode;
use serde_json::{Value, json};
use wix_media_wire::types::{FileDescriptor, OperationStatus};

use crate::support::{Source, SourceServer, TestServer};

/// A client that shows redirects instead of following them.
fn client() -> reqwest::Client {
    wix_media_manager::install_crypto_provider();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

async fn fetch(url: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut rb = client().get(url);
    for (k, v) in headers {
        rb = rb.header(*k, *v);
    }
    rb.send().await.expect("GET")
}

fn header(r: &reqwest::Response, name: &str) -> String {
    r.headers()
        .get(name)
        .map(|v| v.to_str().expect("ascii header").to_string())
        .unwrap_or_default()
}

/// Imports `body` served by `src` at `path` with extra import fields, and waits for READY.
async fn import(
    server: &TestServer,
    src: &SourceServer,
    path: &str,
    content_type: &str,
    body: Vec<u8>,
    extra: Value,
) -> FileDescriptor {
    let url = src.add(path, Source::bytes(content_type, body));
    let mut req = json!({ "url": url });
    if let (Some(obj), Some(extra)) = (req.as_object_mut(), extra.as_object()) {
        obj.extend(extra.clone());
    }
    let v = server.ok_post("/v1/files/import", req).await;
    let id = v["file"]["id"].as_str().expect("file id").to_string();
    let file = server.wait_processed(&id).await;
    assert_eq!(
        file.operation_status,
        Some(OperationStatus::Ready),
        "{file:?}"
    );
    file
}

/// Asks F6 for URLs; returns the `src` one (or panics with the error body).
async fn signed_url(server: &TestServer, body: Value) -> String {
    let v = server
        .ok_post("/v1/files/generate-file-download-url", body)
        .await;
    let urls = v["downloadUrls"].as_array().expect("downloadUrls");
    urls.iter()
        .find(|u| u["assetKey"] == "src")
        .and_then(|u| u["url"].as_str())
        .expect("src url")
        .to_string()
}

fn id_of(f: &FileDescriptor) -> String {
    f.id.clone().expect("id")
}

/// The server's URL signing key, read from its database as a second signer would hold it.
fn signing_key(server: &TestServer) -> Vec<u8> {
    let db = server.dir.path().join("data").join("media-manager.sqlite");
    let conn = rusqlite::Connection::open(db).expect("open db");
    let hex_key: String = conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'signing_key'",
            [],
            |r| r.get(0),
        )
        .expect("signing key");
    hex::decode(hex_key).expect("hex key")
}

fn now_secs() -> i64 {
    jiff::Timestamp::now().as_second()
}

/// Reads every entry of a zip into name → bytes.
fn unzip(bytes: &[u8]) -> BTreeMap<String, Vec<u8>> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a zip");
    let mut out = BTreeMap::new();
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).expect("entry");
        let mut data = Vec::new();
        entry.read_to_end(&mut data).expect("entry bytes");
        out.insert(entry.name().expect("utf-8 name").to_string(), data);
    }
    out
}

async fn download_zip(url: &str) -> BTreeMap<String, Vec<u8>> {
    let r = fetch(url, &[]).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(header(&r, "content-type"), "application/zip");
    assert_eq!(
        header(&r, "content-disposition"),
        "attachment; filename=\"archive.zip\""
    );
    unzip(&r.bytes().await.expect("zip body"))
}
