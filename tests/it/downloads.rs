//! Tests of downloads: signed file URLs (bytes, disposition, ranges, tampering, expiry), the
//! thumbnail asset, zip archives of files and folders, video stream URLs, and static URLs.

use std::collections::BTreeMap;
use std::io::Read;

use axum::http::StatusCode;
use media_migrate::api::types::{FileDescriptor, OperationStatus};
use media_migrate::server::downloads::signing::{Disposition, DownloadGrant};
use serde_json::{Value, json};

use crate::support::{Source, SourceServer, TestServer, jpeg, png};

/// A client that shows redirects instead of following them.
fn client() -> reqwest::Client {
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

/// A signed URL serves exactly the file's bytes, with its type, length, ETag and the asked disposition and name.
#[tokio::test]
async fn signed_url_serves_exact_bytes_with_disposition() {
    let (server, src) = (TestServer::start().await, SourceServer::start().await);
    let bytes = png(64, 48);
    let file = import(
        &server,
        &src,
        "/a.png",
        "image/png",
        bytes.clone(),
        json!({}),
    )
    .await;
    let id = id_of(&file);

    let url = signed_url(&server, json!({ "fileId": id })).await;
    assert!(
        url.starts_with(&format!("{}/_download/", server.url)),
        "{url}"
    );
    let r = fetch(&url, &[]).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(header(&r, "content-type"), "image/png");
    assert_eq!(header(&r, "content-length"), bytes.len().to_string());
    assert_eq!(header(&r, "accept-ranges"), "bytes");
    assert_eq!(
        header(&r, "etag"),
        format!("\"{}\"", file.hash.expect("hash"))
    );
    assert_eq!(
        header(&r, "content-disposition"),
        "attachment; filename=\"a.png\"; filename*=UTF-8''a.png"
    );
    assert_eq!(r.bytes().await.expect("body").to_vec(), bytes);

    let url = signed_url(
        &server,
        json!({ "fileId": id, "contentDisposition": "INLINE", "downloadFileName": "my \"photo\" é.png" }),
    )
    .await;
    let r = fetch(&url, &[]).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        header(&r, "content-disposition"),
        "inline; filename=\"my _photo_ _.png\"; filename*=UTF-8''my%20%22photo%22%20%C3%A9.png"
    );
    assert_eq!(r.bytes().await.expect("body").to_vec(), bytes);
}

/// The second binding (`/v1/files/{fileId}/generate-download-url`) and a Wix media URL as fileId both work.
#[tokio::test]
async fn second_binding_and_media_urls_are_accepted() {
    let (server, src) = (TestServer::start().await, SourceServer::start().await);
    let bytes = jpeg(40, 30);
    let file = import(
        &server,
        &src,
        "/b.jpg",
        "image/jpeg",
        bytes.clone(),
        json!({}),
    )
    .await;
    let id = id_of(&file);

    let v = server
        .ok_post(&format!("/v1/files/{id}/generate-download-url"), json!({}))
        .await;
    let url = v["downloadUrls"][0]["url"].as_str().expect("url");
    assert_eq!(v["downloadUrls"][0]["assetKey"], "src");
    let r = fetch(url, &[]).await;
    assert_eq!(r.bytes().await.expect("body").to_vec(), bytes);

    let media_url = format!("wix:image://v1/{id}/b.jpg#originWidth=40&originHeight=30");
    let url = signed_url(&server, json!({ "fileId": media_url })).await;
    assert_eq!(fetch(&url, &[]).await.status(), StatusCode::OK);
}

/// Single byte ranges answer 206 with the slice and Content-Range; unsatisfiable ones 416; several ranges the whole file.
#[tokio::test]
async fn range_requests_serve_slices() {
    let (server, src) = (TestServer::start().await, SourceServer::start().await);
    let bytes = png(80, 80);
    let n = bytes.len();
    let file = import(
        &server,
        &src,
        "/r.png",
        "image/png",
        bytes.clone(),
        json!({}),
    )
    .await;
    let url = signed_url(&server, json!({ "fileId": id_of(&file) })).await;

    for (range, start, end) in [
        ("bytes=10-19".to_string(), 10, 19),
        ("bytes=-7".to_string(), n - 7, n - 1),
        (format!("bytes={}-", n - 5), n - 5, n - 1),
        (format!("bytes=0-{}", n + 100), 0, n - 1),
    ] {
        let r = fetch(&url, &[("Range", &range)]).await;
        assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT, "{range}");
        assert_eq!(
            header(&r, "content-range"),
            format!("bytes {start}-{end}/{n}")
        );
        assert_eq!(header(&r, "content-length"), (end - start + 1).to_string());
        assert_eq!(r.bytes().await.expect("body").to_vec(), bytes[start..=end]);
    }

    for range in [format!("bytes={n}-"), "bytes=-0".to_string()] {
        let r = fetch(&url, &[("Range", &range)]).await;
        assert_eq!(r.status(), StatusCode::RANGE_NOT_SATISFIABLE, "{range}");
        assert_eq!(header(&r, "content-range"), format!("bytes */{n}"));
    }

    let r = fetch(&url, &[("Range", "bytes=0-1,5-6")]).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.bytes().await.expect("body").to_vec(), bytes);

    let r = fetch(&url, &[("Range", "bytes=0-3"), ("If-Range", "\"stale\"")]).await;
    assert_eq!(
        r.status(),
        StatusCode::OK,
        "a stale If-Range gets the whole file"
    );
}

/// Changing the signature, file id, expiry or disposition of a signed URL gets a 403 Wix error.
#[tokio::test]
async fn tampered_urls_are_forbidden() {
    let (server, src) = (TestServer::start().await, SourceServer::start().await);
    let file = import(&server, &src, "/t.png", "image/png", png(8, 8), json!({})).await;
    let other = import(&server, &src, "/u.png", "image/png", png(9, 9), json!({})).await;
    let id = id_of(&file);
    let url = signed_url(&server, json!({ "fileId": id })).await;
    let parsed = url::Url::parse(&url).expect("url");
    let sig = parsed
        .query_pairs()
        .find(|(k, _)| k == "sig")
        .map(|(_, v)| v.into_owned())
        .expect("sig");
    let exp = parsed
        .query_pairs()
        .find(|(k, _)| k == "exp")
        .map(|(_, v)| v.into_owned())
        .expect("exp");
    let flipped: String = sig
        .chars()
        .enumerate()
        .map(|(i, c)| {
            if i == 0 {
                if c == '0' { '1' } else { '0' }
            } else {
                c
            }
        })
        .collect();
    let tampered = [
        url.replace(&sig, &flipped),
        url.replace(&sig, ""),
        url.replace(&id, &id_of(&other)),
        url.replace(
            &format!("exp={exp}"),
            &format!("exp={}", exp.parse::<i64>().unwrap() + 60),
        ),
        url.replace("disp=attachment", "disp=inline"),
        url.replace("/src?", "/thumbnail?"),
    ];
    for t in tampered {
        assert_ne!(t, url);
        let r = fetch(&t, &[]).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{t}");
        let body: Value = r.json().await.expect("wix error body");
        assert_eq!(
            body["details"]["applicationError"]["code"], "INVALID_SIGNATURE",
            "{body}"
        );
    }
    assert_eq!(fetch(&url, &[]).await.status(), StatusCode::OK);
}

/// An authentic URL past its expiry answers 403, or 302 to the `expirationRedirectUrl` signed into it.
#[tokio::test]
async fn expired_urls_are_forbidden_or_redirect() {
    let (server, src) = (TestServer::start().await, SourceServer::start().await);
    let file = import(&server, &src, "/e.png", "image/png", png(8, 8), json!({})).await;
    let key = signing_key(&server);
    let grant = DownloadGrant {
        file_id: id_of(&file),
        asset_key: "src".to_string(),
        expires_at: now_secs() - 1,
        disposition: Disposition::Attachment,
        name: None,
        redirect: None,
    };
    let r = fetch(&grant.to_url(&server.url, &key), &[]).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let body: Value = r.json().await.expect("wix error body");
    assert_eq!(body["details"]["applicationError"]["code"], "URL_EXPIRED");

    let with_redirect = DownloadGrant {
        redirect: Some("https://example.com/expired?why=1".to_string()),
        ..grant.clone()
    };
    let r = fetch(&with_redirect.to_url(&server.url, &key), &[]).await;
    assert_eq!(r.status(), StatusCode::FOUND);
    assert_eq!(header(&r, "location"), "https://example.com/expired?why=1");

    let live = DownloadGrant {
        expires_at: now_secs() + 60,
        ..grant
    };
    assert_eq!(
        fetch(&live.to_url(&server.url, &key), &[]).await.status(),
        StatusCode::OK
    );

    let v = server
        .ok_post(
            "/v1/files/generate-file-download-url",
            json!({ "fileId": id_of(&file), "expirationInMinutes": 1,
                    "expirationRedirectUrl": "https://example.com/gone" }),
        )
        .await;
    let url = v["downloadUrls"][0]["url"].as_str().expect("url");
    let exp: i64 = url::Url::parse(url)
        .expect("url")
        .query_pairs()
        .find(|(k, _)| k == "exp")
        .and_then(|(_, v)| v.parse().ok())
        .expect("exp");
    assert!(
        (exp - now_secs() - 60).abs() <= 5,
        "expiry is one minute away: {exp}"
    );
}

/// Bad options answer 400, unknown files 404, and a signed URL for a file that is gone 404.
#[tokio::test]
async fn invalid_download_requests_are_rejected() {
    let (server, src) = (TestServer::start().await, SourceServer::start().await);
    let file = import(&server, &src, "/i.png", "image/png", png(8, 8), json!({})).await;
    let id = id_of(&file);
    let path = "/v1/files/generate-file-download-url";
    for body in [
        json!({ "fileId": id, "expirationInMinutes": 0 }),
        json!({ "fileId": id, "expirationInMinutes": 525601 }),
        json!({ "fileId": id, "expirationInMinutes": -5 }),
        json!({ "fileId": id, "assetKeys": ["src", "720p.mp4"] }),
        json!({ "fileId": id, "expirationRedirectUrl": "javascript:alert(1)" }),
        json!({ "fileId": id, "contentDisposition": "SIDEWAYS" }),
        json!({ "fileId": id, "downloadFileName": "" }),
        json!({}),
    ] {
        let (status, v) = server.post(path, body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {v}");
        assert!(v["message"].is_string(), "{v}");
    }
    let (status, _) = server
        .post(path, json!({ "fileId": id, "expirationInMinutes": 525600 }))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = server.post(path, json!({ "fileId": "nope_123" })).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let gone = DownloadGrant {
        file_id: "nope_123".to_string(),
        asset_key: "src".to_string(),
        expires_at: now_secs() + 60,
        disposition: Disposition::Attachment,
        name: None,
        redirect: None,
    };
    let r = fetch(&gone.to_url(&server.url, &signing_key(&server)), &[]).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

/// The `thumbnail` asset key serves an image that decodes with smaller dimensions than the original.
#[tokio::test]
async fn thumbnail_asset_is_a_smaller_image() {
    let (server, src) = (TestServer::start().await, SourceServer::start().await);
    for (path, ctype, bytes) in [
        ("/big.png", "image/png", png(800, 600)),
        ("/big.jpg", "image/jpeg", jpeg(900, 500)),
    ] {
        let file = import(&server, &src, path, ctype, bytes, json!({})).await;
        let v = server
            .ok_post(
                "/v1/files/generate-file-download-url",
                json!({ "fileId": id_of(&file), "assetKeys": ["src", "thumbnail"] }),
            )
            .await;
        let urls = v["downloadUrls"].as_array().expect("urls");
        assert_eq!(urls.len(), 2, "{v}");
        assert_eq!(urls[1]["assetKey"], "thumbnail");
        let r = fetch(urls[1]["url"].as_str().expect("url"), &[]).await;
        assert_eq!(r.status(), StatusCode::OK);
        let ext = match header(&r, "content-type").as_str() {
            "image/png" => "png",
            "image/jpeg" => "jpg",
            other => panic!("thumbnail type {other}"),
        };
        assert!(
            header(&r, "content-disposition")
                .contains(&format!("filename=\"big-thumbnail.{ext}\"")),
            "{}",
            header(&r, "content-disposition")
        );
        let thumb = image::load_from_memory(&r.bytes().await.expect("body")).expect("decodes");
        let (w, h) = (thumb.width(), thumb.height());
        assert!(w < 800 && h < 500 && w > 0 && h > 0, "{path}: {w}x{h}");
    }
}

/// A zip of several files holds exactly their bytes, under de-duplicated names.
#[tokio::test]
async fn zip_of_files_holds_their_bytes_under_unique_names() {
    let (server, src) = (TestServer::start().await, SourceServer::start().await);
    let (a, b, c) = (png(10, 10), png(11, 11), jpeg(12, 12));
    let fa = import(
        &server,
        &src,
        "/1.png",
        "image/png",
        a.clone(),
        json!({ "displayName": "pic.png" }),
    )
    .await;
    let fb = import(
        &server,
        &src,
        "/2.png",
        "image/png",
        b.clone(),
        json!({ "displayName": "pic.png" }),
    )
    .await;
    let fc = import(
        &server,
        &src,
        "/3.jpg",
        "image/jpeg",
        c.clone(),
        json!({ "displayName": "photo.jpg" }),
    )
    .await;
    let v = server
        .ok_post(
            "/v1/files/generate-download-url",
            json!({ "fileIds": [id_of(&fa), id_of(&fb), id_of(&fc)] }),
        )
        .await;
    let url = v["downloadUrl"].as_str().expect("downloadUrl");
    assert!(url.starts_with(&format!("{}/_archive/", server.url)) && url.ends_with(".zip"));
    let entries = download_zip(url).await;
    let want: BTreeMap<String, Vec<u8>> = [
        ("pic.png".to_string(), a),
        ("pic (2).png".to_string(), b),
        ("photo.jpg".to_string(), c),
    ]
    .into();
    assert_eq!(entries, want);
    // The URL is permanent: it can be downloaded again.
    assert_eq!(download_zip(url).await.len(), 3);
}

/// A folder's zip holds its public READY files at every level under their sub-folder paths.
#[tokio::test]
async fn folder_zip_holds_subfolder_paths() {
    let (server, src) = (TestServer::start().await, SourceServer::start().await);
    let (x, y, z) = (png(5, 5), png(6, 6), jpeg(7, 7));
    let top = import(
        &server,
        &src,
        "/x.png",
        "image/png",
        x.clone(),
        json!({ "filePath": "/export" }),
    )
    .await;
    import(
        &server,
        &src,
        "/y.png",
        "image/png",
        y.clone(),
        json!({ "filePath": "/export/a" }),
    )
    .await;
    import(
        &server,
        &src,
        "/z.jpg",
        "image/jpeg",
        z.clone(),
        json!({ "filePath": "/export/a/b" }),
    )
    .await;
    import(
        &server,
        &src,
        "/p.png",
        "image/png",
        png(3, 3),
        json!({ "filePath": "/export/a", "private": true }),
    )
    .await;
    import(&server, &src, "/out.png", "image/png", png(4, 4), json!({})).await;
    let folder = top.parent_folder_id.clone().expect("parent");
    let v = server
        .ok_post(
            &format!("/v1/folders/{folder}/generate-download-url"),
            json!({}),
        )
        .await;
    let entries = download_zip(v["downloadUrl"].as_str().expect("url")).await;
    let want: BTreeMap<String, Vec<u8>> = [
        ("x.png".to_string(), x),
        ("a/y.png".to_string(), y),
        ("a/b/z.jpg".to_string(), z),
    ]
    .into();
    assert_eq!(entries, want);

    let (status, _) = server
        .post(
            "/v1/folders/no-such-folder/generate-download-url",
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// Display names that look like paths become safe entry names: no `..`, separators or absolute paths.
#[tokio::test]
async fn unsafe_display_names_yield_safe_entry_names() {
    let (server, src) = (TestServer::start().await, SourceServer::start().await);
    let mut ids = Vec::new();
    for (i, name) in ["../../etc/passwd", "a/b\\c", "/abs.png", ".."]
        .iter()
        .enumerate()
    {
        let f = import(
            &server,
            &src,
            &format!("/n{i}.png"),
            "image/png",
            png(4, 4),
            json!({ "displayName": name }),
        )
        .await;
        ids.push(id_of(&f));
    }
    let v = server
        .ok_post("/v1/files/generate-download-url", json!({ "fileIds": ids }))
        .await;
    let entries = download_zip(v["downloadUrl"].as_str().expect("url")).await;
    let names: Vec<&str> = entries.keys().map(String::as_str).collect();
    assert_eq!(names, ["_._etc_passwd", "_abs.png", "a_b_c", "file"]);
}

/// Files trashed after the archive URL was made are left out when it is downloaded.
#[tokio::test]
async fn archive_contents_are_resolved_at_download() {
    let (server, src) = (TestServer::start().await, SourceServer::start().await);
    let keep = import(&server, &src, "/k.png", "image/png", png(4, 4), json!({})).await;
    let drop = import(&server, &src, "/d.png", "image/png", png(5, 5), json!({})).await;
    let v = server
        .ok_post(
            "/v1/files/generate-download-url",
            json!({ "fileIds": [id_of(&keep), id_of(&drop)] }),
        )
        .await;
    let url = v["downloadUrl"].as_str().expect("url").to_string();
    server
        .ok_post(
            "/v1/bulk/files/delete",
            json!({ "fileIds": [id_of(&drop)] }),
        )
        .await;
    let entries = download_zip(&url).await;
    assert_eq!(entries.keys().collect::<Vec<_>>(), ["k.png"]);

    let r = fetch(&format!("{}/_archive/unknown.zip", server.url), &[]).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

/// The multi-file zip refuses private files, empty or oversized id lists, and files that are not READY or known.
#[tokio::test]
async fn multi_file_zip_refuses_private_files_and_bad_lists() {
    let (server, src) = (TestServer::start().await, SourceServer::start().await);
    let public = import(&server, &src, "/pub.png", "image/png", png(4, 4), json!({})).await;
    let private = import(
        &server,
        &src,
        "/priv.png",
        "image/png",
        png(4, 4),
        json!({ "private": true }),
    )
    .await;
    let path = "/v1/files/generate-download-url";
    let (status, v) = server
        .post(
            path,
            json!({ "fileIds": [id_of(&public), id_of(&private)] }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    assert!(
        v["message"].as_str().expect("message").contains("private"),
        "{v}"
    );

    let too_many: Vec<String> = (0..1001).map(|_| id_of(&public)).collect();
    for body in [
        json!({ "fileIds": [] }),
        json!({}),
        json!({ "fileIds": too_many }),
    ] {
        let (status, _) = server.post(path, body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    }
    let (status, _) = server.post(path, json!({ "fileIds": ["nope_1"] })).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// A public file's static URL serves it inline (with ranges); a private file's URL and thumbnail answer 403.
#[tokio::test]
async fn static_urls_serve_public_files_only() {
    let (server, src) = (TestServer::start().await, SourceServer::start().await);
    let bytes = png(300, 200);
    let public = import(
        &server,
        &src,
        "/s.png",
        "image/png",
        bytes.clone(),
        json!({}),
    )
    .await;
    let private = import(
        &server,
        &src,
        "/q.png",
        "image/png",
        png(300, 200),
        json!({ "private": true }),
    )
    .await;

    let url = public.url.clone().expect("url");
    assert_eq!(url, format!("{}/media/{}", server.url, id_of(&public)));
    let r = fetch(&url, &[]).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(header(&r, "content-disposition").starts_with("inline;"));
    assert_eq!(r.bytes().await.expect("body").to_vec(), bytes);
    let r = fetch(&url, &[("Range", "bytes=1-4")]).await;
    assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(r.bytes().await.expect("body").to_vec(), bytes[1..=4]);
    let thumb = fetch(&public.thumbnail_url.clone().expect("thumbnail url"), &[]).await;
    assert_eq!(thumb.status(), StatusCode::OK);

    for url in [
        private.url.clone().expect("url"),
        private.thumbnail_url.clone().expect("thumbnail url"),
    ] {
        let r = fetch(&url, &[]).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{url}");
        let body: Value = r.json().await.expect("wix error body");
        assert_eq!(body["details"]["applicationError"]["code"], "PRIVATE_FILE");
    }
    // A private file is still downloadable through a signed URL.
    let url = signed_url(&server, json!({ "fileId": id_of(&private) })).await;
    assert_eq!(fetch(&url, &[]).await.status(), StatusCode::OK);

    let r = fetch(&format!("{}/media/nope_1", server.url), &[]).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

/// Video stream URLs are refused for non-videos and unknown files.
#[tokio::test]
async fn video_stream_url_needs_a_ready_video() {
    let (server, src) = (TestServer::start().await, SourceServer::start().await);
    let image = import(&server, &src, "/v.png", "image/png", png(4, 4), json!({})).await;
    let id = id_of(&image);
    let (status, v) = server
        .post(
            "/v1/files/generate-video-stream-url",
            json!({ "fileId": id, "format": "HLS" }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    let (status, _) = server
        .post(
            &format!("/v1/files/video/{id}/generate-stream-url"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = server
        .post("/v1/files/video/nope_1/generate-stream-url", json!({}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// A minimal MP4 (an `ftyp` box and padding): enough for type detection, not for playback.
fn mp4() -> Vec<u8> {
    let mut v = vec![0, 0, 0, 0x18];
    v.extend_from_slice(b"ftypmp42\0\0\0\0mp42isom");
    v.extend((0..4000u32).map(|i| (i % 251) as u8));
    v
}

/// A READY video gets an inline, signed `src` URL for any format, from both bindings.
#[tokio::test]
async fn video_stream_url_serves_the_original_inline() {
    let (server, src) = (TestServer::start().await, SourceServer::start().await);
    let bytes = mp4();
    let video = import(
        &server,
        &src,
        "/clip.mp4",
        "video/mp4",
        bytes.clone(),
        json!({}),
    )
    .await;
    let id = id_of(&video);
    let (_, by_body) = server
        .post(
            "/v1/files/generate-video-stream-url",
            json!({ "fileId": id, "format": "DASH" }),
        )
        .await;
    let (_, by_path) = server
        .post(
            &format!("/v1/files/video/{id}/generate-stream-url"),
            json!({ "format": "HLS" }),
        )
        .await;
    for v in [by_body, by_path] {
        assert_eq!(v["downloadUrl"]["assetKey"], "src", "{v}");
        let r = fetch(v["downloadUrl"]["url"].as_str().expect("url"), &[]).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(header(&r, "content-type"), "video/mp4");
        assert!(header(&r, "content-disposition").starts_with("inline;"));
        assert_eq!(r.bytes().await.expect("body").to_vec(), bytes);
    }
}
