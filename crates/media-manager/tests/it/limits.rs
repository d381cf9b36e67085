//! The contract's limits the local Media Manager enforces beyond those of [`crate::contract`]:
//! folder id batches, cursors, a query's one sort, the options of Generate File Download URL,
//! and the lists that need at least one item. Each is a 400 `validationError` naming the field.

use reqwest::StatusCode;
use serde_json::json;
use wix_media_wire::types::limits;

use crate::contract::{assert_limit, violations};
use crate::support::{Source, SourceServer, TestServer, png, urlencode};

/// Bulk delete and restore of folders take at most 100 ids (`@maxSize 100`) of at most 100
/// characters each; 100 folders are trashed and restored in one call each.
#[tokio::test]
async fn folder_id_batches_hold_at_most_100() {
    let s = TestServer::start().await;
    let max = limits::BULK_FOLDERS_MAX_IDS;
    let mut ids = Vec::new();
    for i in 0..max {
        let v = s
            .ok_post("/v1/folders", json!({ "displayName": format!("f{i}") }))
            .await;
        ids.push(v["folder"]["id"].as_str().expect("id").to_string());
    }
    let mut too_many = ids.clone();
    too_many.push(ids[0].clone());
    for path in [
        "/v1/bulk/folders/delete",
        "/v1/bulk/trash-bin/folders/restore",
    ] {
        let (status, v) = s.post(path, json!({ "folderIds": too_many })).await;
        assert_limit(status, &v, "folderIds", "MAX_SIZE", max);
        let long = "f".repeat(limits::FOLDER_ID_MAX_LEN + 1);
        let (status, v) = s.post(path, json!({ "folderIds": [long] })).await;
        assert_limit(
            status,
            &v,
            "folderIds[0]",
            "MAX_LENGTH",
            limits::FOLDER_ID_MAX_LEN,
        );
        s.ok_post(path, json!({ "folderIds": ids })).await;
    }
    let v = s.ok_get("/v1/folders?paging.limit=100").await;
    assert_eq!(v["folders"].as_array().map(Vec::len), Some(max), "{v}");
}

/// A cursor over 16000 characters is refused as `MAX_LENGTH`: `paging.cursor` in listings and
/// searches, `query.cursorPaging.cursor` in queries.
#[tokio::test]
async fn cursors_over_16000_characters_are_refused() {
    let s = TestServer::start().await;
    let max = limits::CURSOR_MAX_LEN;
    let long = "c".repeat(max + 1);
    for listing in ["/v1/files", "/v1/trash-bin/files", "/v1/folders"] {
        let (status, v) = s
            .get(&format!("{listing}?paging.cursor={}", urlencode(&long)))
            .await;
        assert_limit(status, &v, "paging.cursor", "MAX_LENGTH", max);
    }
    for search in ["/v1/files/search", "/v1/folders/search"] {
        let (status, v) = s
            .post(search, json!({ "paging": { "cursor": long } }))
            .await;
        assert_limit(status, &v, "paging.cursor", "MAX_LENGTH", max);
    }
    for query in ["/v1/files/query", "/v1/folders/query"] {
        let body = json!({ "query": { "cursorPaging": { "cursor": long } } });
        let (status, v) = s.post(query, body).await;
        assert_limit(status, &v, "query.cursorPaging.cursor", "MAX_LENGTH", max);
    }
}

/// A query sorts by one field (`CursorQuery.sort` `@maxSize 1`): two are refused.
#[tokio::test]
async fn a_query_takes_one_sort() {
    let s = TestServer::start().await;
    let one = json!({ "fieldName": "displayName", "order": "ASC" });
    let two = json!([one, { "fieldName": "updatedDate" }]);
    for query in ["/v1/files/query", "/v1/folders/query"] {
        let (status, v) = s.post(query, json!({ "query": { "sort": two } })).await;
        assert_limit(
            status,
            &v,
            "query.sort",
            "MAX_SIZE",
            limits::QUERY_SORT_MAX_ITEMS,
        );
        s.ok_post(query, json!({ "query": { "sort": [one] } }))
            .await;
    }
}

/// Generate File Download URL: `downloadFileName` ≤ 100 characters, at most 100 asset keys of
/// ≤ 100 characters, `expirationInMinutes` ≥ 1; every violation named in one answer.
#[tokio::test]
async fn download_url_options_within_their_limits() {
    let (s, src) = (TestServer::start().await, SourceServer::start().await);
    let url = src.add("/p.png", Source::bytes("image/png", png(4, 4)));
    let v = s.ok_post("/v1/files/import", json!({ "url": url })).await;
    let id = v["file"]["id"].as_str().expect("id").to_string();
    s.wait_processed(&id).await;
    let path = "/v1/files/generate-file-download-url";
    let name = |n: usize| format!("{}.png", "n".repeat(n - 4));
    let (status, v) = s
        .post(path, json!({ "fileId": id, "downloadFileName": name(101) }))
        .await;
    assert_limit(
        status,
        &v,
        "downloadFileName",
        "MAX_LENGTH",
        limits::DOWNLOAD_FILE_NAME_MAX_LEN,
    );
    s.ok_post(path, json!({ "fileId": id, "downloadFileName": name(100) }))
        .await;
    let (status, v) = s
        .post(path, json!({ "fileId": id, "expirationInMinutes": 0 }))
        .await;
    assert_limit(status, &v, "expirationInMinutes", "MIN", 1);
    let keys = vec!["src".to_string(); limits::ASSET_KEYS_MAX_ITEMS + 1];
    let body = json!({ "fileId": id, "assetKeys": keys, "downloadFileName": name(101) });
    let (status, v) = s.post(path, body).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    let found = violations(&v);
    for want in [
        ("assetKeys", "MAX_SIZE"),
        ("downloadFileName", "MAX_LENGTH"),
    ] {
        let want = (want.0.to_string(), want.1.to_string());
        assert!(found.contains(&want), "{want:?}: {v}");
    }
    let (status, v) = s
        .post(
            path,
            json!({ "fileId": id, "assetKeys": ["k".repeat(101)] }),
        )
        .await;
    assert_limit(
        status,
        &v,
        "assetKeys[0]",
        "MAX_LENGTH",
        limits::ASSET_KEY_MAX_LEN,
    );
}

/// Bulk Import, Get File Descriptors and Generate Files Download URL need at least one item
/// (`@minSize 1`): an empty list is `MIN_SIZE`.
#[tokio::test]
async fn lists_need_at_least_one_item() {
    let s = TestServer::start().await;
    for (path, field) in [
        ("/v1/bulk/files/import-v2", "importFileRequests"),
        ("/v1/files/get-files", "fileIds"),
        ("/v1/files/generate-download-url", "fileIds"),
    ] {
        let (status, v) = s.post(path, json!({ field: [] })).await;
        assert_limit(status, &v, field, "MIN_SIZE", 1);
    }
}
