//! Zip archives: several files, a folder tree, unsafe names, contents resolved at download,
//! and the refusals of the multi-file archive.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use serde_json::json;

use super::{download_zip, fetch, id_of, import};
use crate::support::{SourceServer, TestServer, jpeg, png};

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

/// The multi-file zip refuses private files, empty or oversized id lists, and unknown files.
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

/// Issue 13, hole 10: zip entry names lose bidi controls and line separators (a
/// U+202E before `gpj.exe` shows it as `exe.jpg`), and each component is cut to 255 bytes, keeping its
/// extension, so the archive extracts everywhere.
#[tokio::test]
async fn hole_10_zip_entry_names_cleaned_and_cut() {
    let (server, src) = (TestServer::start().await, SourceServer::start().await);
    let root = server
        .ok_post("/v1/folders", json!({ "displayName": "root" }))
        .await;
    let root_id = root["folder"]["id"].as_str().expect("id").to_string();
    let long_folder = "ü".repeat(200);
    let folder = server
        .ok_post(
            "/v1/folders",
            json!({ "displayName": long_folder, "parentFolderId": root_id }),
        )
        .await;
    let folder_id = folder["folder"]["id"].as_str().expect("id").to_string();
    let tricky = "\u{202E}gpj.exe\u{2028}line\u{2066}.png";
    let long_name = format!("{}.png", "é".repeat(190));
    for (path, name) in [("/t.png", tricky.to_string()), ("/l.png", long_name)] {
        import(
            &server,
            &src,
            path,
            "image/png",
            png(3, 3),
            json!({ "displayName": name, "parentFolderId": folder_id }),
        )
        .await;
    }
    let v = server
        .ok_post(
            &format!("/v1/folders/{root_id}/generate-download-url"),
            json!({}),
        )
        .await;
    let entries = download_zip(v["downloadUrl"].as_str().expect("url")).await;
    assert_eq!(entries.len(), 2, "{:?}", entries.keys());
    for name in entries.keys() {
        assert!(
            !name.chars().any(|c| matches!(c,
                '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}'
                | '\u{2066}'..='\u{2069}' | '\u{2028}' | '\u{2029}')),
            "{name:?}"
        );
        for component in name.split('/') {
            assert!(
                component.len() <= 255,
                "{} bytes: {component}",
                component.len()
            );
        }
        assert!(name.ends_with(".png"), "{name}");
    }
    assert!(
        entries.keys().any(|k| k.ends_with("/gpj.exeline.png")),
        "{:?}",
        entries.keys()
    );
}
