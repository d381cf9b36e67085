//! The validation errors the contract documents (`*ValidationErrors` of Wix's packages) on
//! requests the local Media Manager refuses: a 400 whose violation names the field and carries
//! the `ruleName`, with `violatedRule` `OTHER`. The quota's and unknown ids' live in
//! [`crate::quota`] and [`crate::contract`].

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{Source, SourceServer, TestServer, png, urlencode};

/// Asserts a 400 whose first violation is `field` with `ruleName` `rule`.
fn assert_rule(status: StatusCode, v: &Value, field: &str, rule: &str) {
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    let violation = &v["details"]["validationError"]["fieldViolations"][0];
    assert_eq!(violation["field"], field, "{v}");
    assert_eq!(violation["ruleName"], rule, "{v}");
    assert_eq!(violation["violatedRule"], "OTHER", "{v}");
}

/// Both upload URLs refuse a declared size of 0 (`ZERO_FILE_SIZE`) and one over the largest
/// upload (`FILE_SIZE_OVER_LIMIT`) on `sizeInBytes`; a size within takes.
#[tokio::test]
async fn upload_urls_judge_the_declared_size() {
    let s = TestServer::start_with(|c| c.max_upload_bytes = 1000).await;
    for path in [
        "/v1/files/generate-upload-url",
        "/v1/files/generate-resumable-upload-url",
    ] {
        let sized = |n: &str| json!({ "mimeType": "image/png", "sizeInBytes": n });
        let (status, v) = s.post(path, sized("0")).await;
        assert_rule(status, &v, "sizeInBytes", "ZERO_FILE_SIZE");
        let (status, v) = s.post(path, sized("1001")).await;
        assert_rule(status, &v, "sizeInBytes", "FILE_SIZE_OVER_LIMIT");
        s.ok_post(path, sized("1000")).await;
    }
}

/// An asset key the file doesn't have is `INVALID_ASSET_KEY` on `assetKeys`, the keys it has
/// in `data.assetKeys`.
#[tokio::test]
async fn unknown_asset_key_is_invalid_asset_key() {
    let (s, src) = (TestServer::start().await, SourceServer::start().await);
    let url = src.add("/p.png", Source::bytes("image/png", png(4, 4)));
    let v = s.ok_post("/v1/files/import", json!({ "url": url })).await;
    let id = v["file"]["id"].as_str().expect("id").to_string();
    s.wait_processed(&id).await;
    let (status, v) = s
        .post(
            "/v1/files/generate-file-download-url",
            json!({ "fileId": id, "assetKeys": ["src", "720p.mp4"] }),
        )
        .await;
    assert_rule(status, &v, "assetKeys", "INVALID_ASSET_KEY");
    let offered = &v["details"]["validationError"]["fieldViolations"][0]["data"]["assetKeys"];
    assert!(
        offered
            .as_array()
            .is_some_and(|k| k.contains(&json!("src"))),
        "{v}"
    );
}

/// Listing, trash listing or search of files by a media type they can't be listed by (`OTHER`,
/// or no media type at all) is `UNSUPPORTED_MEDIA_TYPE` on `mediaTypes`.
#[tokio::test]
async fn unlistable_media_type_is_unsupported_media_type() {
    let s = TestServer::start().await;
    for listing in ["/v1/files", "/v1/trash-bin/files"] {
        for kind in ["OTHER", "PICTURE"] {
            let (status, v) = s.get(&format!("{listing}?mediaTypes={kind}")).await;
            assert_rule(status, &v, "mediaTypes", "UNSUPPORTED_MEDIA_TYPE");
        }
        s.ok_get(&format!("{listing}?mediaTypes=IMAGE")).await;
    }
    let (status, v) = s
        .post(
            "/v1/files/search",
            json!({ "mediaTypes": ["IMAGE", "OTHER"] }),
        )
        .await;
    assert_rule(status, &v, "mediaTypes", "UNSUPPORTED_MEDIA_TYPE");
}

/// Files sorted by a field they can't be sorted by is `UNSUPPORTED_SORT_VALUE` on
/// `sort.fieldName` (listing, trash listing, search); the three sortable fields are taken,
/// and folders, which document no such error, fall back to the update date.
#[tokio::test]
async fn unknown_file_sort_is_unsupported_sort_value() {
    let s = TestServer::start().await;
    for listing in ["/v1/files", "/v1/trash-bin/files"] {
        let (status, v) = s
            .get(&format!(
                "{listing}?sort.fieldName={}",
                urlencode("updateDate")
            ))
            .await;
        assert_rule(status, &v, "sort.fieldName", "UNSUPPORTED_SORT_VALUE");
        for field in ["displayName", "updatedDate", "sizeInBytes"] {
            s.ok_get(&format!("{listing}?sort.fieldName={field}&sort.order=ASC"))
                .await;
        }
    }
    let (status, v) = s
        .post(
            "/v1/files/search",
            json!({ "sort": { "fieldName": "mimeType", "order": "ASC" } }),
        )
        .await;
    assert_rule(status, &v, "sort.fieldName", "UNSUPPORTED_SORT_VALUE");
    s.ok_get("/v1/folders?sort.fieldName=sizeInBytes").await;
}

/// An update that names nothing writable to change is `FIELD_MASK_IS_EMPTY_OR_MISSING`, for a
/// folder and for a file; the file and folder are left as they were.
#[tokio::test]
async fn empty_update_is_field_mask_is_empty_or_missing() {
    let s = TestServer::start().await;
    let v = s
        .ok_post("/v1/folders", json!({ "displayName": "f" }))
        .await;
    let folder = v["folder"]["id"].as_str().expect("id").to_string();
    let (status, v) = s
        .patch(
            &format!("/v1/folders/{folder}"),
            json!({ "folder": { "id": folder } }),
        )
        .await;
    assert_rule(status, &v, "fieldMask", "FIELD_MASK_IS_EMPTY_OR_MISSING");
    let v = s
        .ok_post(
            "/v1/files/import",
            json!({ "url": "http://127.0.0.1:9/a.png", "displayName": "a.png" }),
        )
        .await;
    let file = v["file"]["id"].as_str().expect("id").to_string();
    let (status, v) = s
        .patch(
            "/v1/files/update-file-descriptor",
            json!({ "file": { "id": file } }),
        )
        .await;
    assert_rule(status, &v, "fieldMask", "FIELD_MASK_IS_EMPTY_OR_MISSING");
    assert_eq!(s.file(&file).await.display_name.as_deref(), Some("a.png"));
}
