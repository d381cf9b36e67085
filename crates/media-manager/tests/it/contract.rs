//! The contract's limits and documented validation errors, as Wix's generated packages state
//! them: each limit refused with a 400 `validationError` naming the field (under its item for
//! Bulk Import), unknown request fields refused, and `RESOURCE_NOT_FOUND` for ids a site
//! doesn't know.

use reqwest::StatusCode;
use serde_json::{Value, json};
use wix_media_wire::types::limits;

use crate::support::{TestServer, files_held, urlencode};

/// The field violations of a 400 body, as (field, violatedRule).
pub(crate) fn violations(v: &Value) -> Vec<(String, String)> {
    v["details"]["validationError"]["fieldViolations"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|f| {
                    let text = |k: &str| f[k].as_str().unwrap_or_default().to_string();
                    (text("field"), text("violatedRule"))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Asserts a 400 whose one violation is `field` broken by `rule`, with the limit in `data`.
pub(crate) fn assert_limit(
    status: StatusCode,
    v: &Value,
    field: &str,
    rule: &str,
    threshold: usize,
) {
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(
        violations(v),
        [(field.to_string(), rule.to_string())],
        "{v}"
    );
    let violation = &v["details"]["validationError"]["fieldViolations"][0];
    assert_eq!(violation["data"]["threshold"], threshold, "{v}");
    assert!(violation["description"].as_str().is_some(), "{v}");
    assert!(
        v["message"].as_str().is_some_and(|m| m.contains(field)),
        "{v}"
    );
}

fn import(path_len: usize) -> Value {
    json!({"url": "http://127.0.0.1:9/a.png", "filePath": format!("/{}", "p".repeat(path_len - 1))})
}

/// A `filePath` of 101 characters is refused by Import File, Bulk Import (named
/// `importFileRequests[3].filePath`, nothing of the batch created) and both upload-URL
/// requests; one of 100 is taken.
#[tokio::test]
async fn file_path_over_100_characters_is_refused() {
    let s = TestServer::start().await;
    let max = limits::FILE_PATH_MAX_LEN;
    let (status, v) = s.post("/v1/files/import", import(max + 1)).await;
    assert_limit(status, &v, "filePath", "MAX_LENGTH", max);
    s.ok_post("/v1/files/import", import(max)).await;
    let items: Vec<Value> = (0..5)
        .map(|i| if i == 3 { import(max + 1) } else { import(10) })
        .collect();
    let (status, v) = s
        .post(
            "/v1/bulk/files/import-v2",
            json!({"importFileRequests": items}),
        )
        .await;
    assert_limit(
        status,
        &v,
        "importFileRequests[3].filePath",
        "MAX_LENGTH",
        max,
    );
    assert_eq!(
        files_held(&s.stats().await),
        1,
        "only the single import made a file"
    );
    for path in [
        "/v1/files/generate-upload-url",
        "/v1/files/generate-resumable-upload-url",
    ] {
        let long = format!("/{}", "p".repeat(max));
        let (status, v) = s
            .post(path, json!({"mimeType": "image/png", "filePath": long}))
            .await;
        assert_limit(status, &v, "filePath", "MAX_LENGTH", max);
    }
}

/// More than 100 Bulk Import items is a 400 `MAX_SIZE` on `importFileRequests`.
#[tokio::test]
async fn bulk_import_over_100_items_is_refused() {
    let s = TestServer::start().await;
    let items = vec![json!({"url": "http://127.0.0.1:9/a.png"}); 101];
    let (status, v) = s
        .post(
            "/v1/bulk/files/import-v2",
            json!({"importFileRequests": items}),
        )
        .await;
    assert_limit(status, &v, "importFileRequests", "MAX_SIZE", 100);
    let (status, v) = s
        .post(
            "/v1/bulk/files/import",
            json!({"importFileRequests": items}),
        )
        .await;
    assert_limit(status, &v, "importFileRequests", "MAX_SIZE", 100);
}

/// Labels: 50 on Generate File Upload URL, 500 on the resumable one and on imports; a file
/// keeps the first 100 of an import's.
#[tokio::test]
async fn labels_limit_per_request() {
    let s = TestServer::start().await;
    let labels = |n: usize| (0..n).map(|i| format!("l{i}")).collect::<Vec<_>>();
    let upload = |n| json!({"mimeType": "image/png", "labels": labels(n)});
    let (status, v) = s.post("/v1/files/generate-upload-url", upload(51)).await;
    assert_limit(status, &v, "labels", "MAX_SIZE", 50);
    s.ok_post("/v1/files/generate-upload-url", upload(50)).await;
    let resumable = "/v1/files/generate-resumable-upload-url";
    let (status, v) = s.post(resumable, upload(501)).await;
    assert_limit(status, &v, "labels", "MAX_SIZE", 500);
    s.ok_post(resumable, upload(500)).await;
    let imported = |n| json!({"url": "http://127.0.0.1:9/a.png", "labels": labels(n)});
    let (status, v) = s.post("/v1/files/import", imported(501)).await;
    assert_limit(status, &v, "labels", "MAX_SIZE", 500);
    let v = s.ok_post("/v1/files/import", imported(500)).await;
    let kept = v["file"]["labels"].as_array().expect("labels");
    assert_eq!(kept.len(), limits::LABELS_MAX_ITEMS, "a file holds 100");
    assert_eq!(kept[0], "l0");
    let (status, v) = s
        .post(
            "/v1/files/import",
            json!({"url": "http://127.0.0.1:9/a.png", "labels": ["x".repeat(201)]}),
        )
        .await;
    assert_limit(status, &v, "labels[0]", "MAX_LENGTH", 200);
}

/// An import's `displayName` may be 1000 characters and is cut to 255, as Wix cuts it; 1001 is
/// refused. The upload URL's `fileName` is cut alike.
#[tokio::test]
async fn import_display_name_up_to_1000_is_cut_to_255() {
    let s = TestServer::start().await;
    let name = format!("{}.png", "é".repeat(996));
    let v = s
        .ok_post(
            "/v1/files/import",
            json!({"url": "http://127.0.0.1:9/a.png", "displayName": name}),
        )
        .await;
    let kept = v["file"]["displayName"].as_str().expect("name");
    assert_eq!(kept.chars().count(), limits::DISPLAY_NAME_MAX_LEN);
    assert!(name.starts_with(kept));
    let (status, v) = s
        .post(
            "/v1/files/import",
            json!({"url": "http://127.0.0.1:9/a.png", "displayName": "n".repeat(1001)}),
        )
        .await;
    assert_limit(status, &v, "displayName", "MAX_LENGTH", 1000);
    let (status, v) = s
        .post(
            "/v1/files/generate-upload-url",
            json!({"mimeType": "image/png", "fileName": "n".repeat(1001)}),
        )
        .await;
    assert_limit(status, &v, "fileName", "MAX_LENGTH", 1000);
}

/// `mimeType` ≤ 100 and `externalInfo` (origin ≤ 1000, ≤ 30 ids of ≤ 4000) are refused past
/// their limits, every violation named in one answer, under the item in a Bulk Import.
#[tokio::test]
async fn mime_type_and_external_info_limits() {
    let s = TestServer::start().await;
    let long_mime = format!("image/{}", "x".repeat(95));
    let (status, v) = s
        .post(
            "/v1/files/import",
            json!({"url": "http://127.0.0.1:9/a.png", "mimeType": long_mime}),
        )
        .await;
    assert_limit(status, &v, "mimeType", "MAX_LENGTH", 100);
    let (status, v) = s
        .post(
            "/v1/files/generate-upload-url",
            json!({"mimeType": long_mime}),
        )
        .await;
    assert_limit(status, &v, "mimeType", "MAX_LENGTH", 100);
    let info = json!({"origin": "o".repeat(1001), "externalIds": vec!["i".repeat(4001); 31]});
    let item = json!({"url": "http://127.0.0.1:9/a.png", "externalInfo": info});
    let (status, v) = s
        .post(
            "/v1/bulk/files/import-v2",
            json!({"importFileRequests": [item]}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    let found = violations(&v);
    let p = "importFileRequests[0].externalInfo";
    for (field, rule) in [
        (format!("{p}.origin"), "MAX_LENGTH"),
        (format!("{p}.externalIds"), "MAX_SIZE"),
        (format!("{p}.externalIds[30]"), "MAX_LENGTH"),
    ] {
        assert!(
            found.contains(&(field.clone(), rule.to_string())),
            "{field} {rule}: {v}"
        );
    }
    let ok = json!({"origin": "o".repeat(1000), "externalIds": vec!["i".repeat(4000); 30]});
    s.ok_post(
        "/v1/files/generate-upload-url",
        json!({"mimeType": "image/png", "externalInfo": ok}),
    )
    .await;
}

/// A folder's `displayName` may be 1000 characters, on create and on rename; 1001 is refused.
#[tokio::test]
async fn folder_display_name_up_to_1000() {
    let s = TestServer::start().await;
    let v = s
        .ok_post("/v1/folders", json!({"displayName": "f".repeat(1000)}))
        .await;
    let id = v["folder"]["id"].as_str().expect("id").to_string();
    let (status, v) = s
        .post("/v1/folders", json!({"displayName": "f".repeat(1001)}))
        .await;
    assert_limit(status, &v, "displayName", "MAX_LENGTH", 1000);
    let (status, v) = s
        .patch(
            &format!("/v1/folders/{id}"),
            json!({"folder": {"displayName": "g".repeat(1001)}}),
        )
        .await;
    assert_limit(status, &v, "folder.displayName", "MAX_LENGTH", 1000);
}

/// A request field the contract lacks is refused with a 400 naming it: `externalInfo` on the
/// resumable request, a made-up field on Import File and inside a Bulk Import item.
#[tokio::test]
async fn unknown_request_fields_are_refused() {
    let s = TestServer::start().await;
    let cases = [
        (
            "/v1/files/generate-resumable-upload-url",
            json!({"mimeType": "image/png", "externalInfo": {"origin": "x", "externalIds": []}}),
            "externalInfo",
        ),
        (
            "/v1/files/import",
            json!({"url": "http://127.0.0.1:9/a.png", "displayname": "typo.png"}),
            "displayname",
        ),
        (
            "/v1/bulk/files/import-v2",
            json!({"importFileRequests": [{"url": "http://127.0.0.1:9/a.png", "extra": 1}]}),
            "importFileRequests[0].extra",
        ),
        (
            "/v1/files/get-files",
            json!({"fileIds": ["x"], "fields": ["all"]}),
            "fields",
        ),
    ];
    for (path, body, field) in cases {
        let (status, v) = s.post(path, body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {v}");
        assert_eq!(violations(&v)[0].0, field, "{path}: {v}");
    }
    assert_eq!(files_held(&s.stats().await), 0);
}

/// Get File Descriptors with an id the site never had or deleted for good answers 400
/// `RESOURCE_NOT_FOUND` on `fileIds`, the unknown ids in `data.unknownIds`; a trashed file
/// still answers. Get File Descriptor alike, on `fileId`.
#[tokio::test]
async fn unknown_ids_are_resource_not_found() {
    let s = TestServer::start().await;
    let mut ids = Vec::new();
    for name in ["kept", "trashed", "purged"] {
        let v = s
            .ok_post(
                "/v1/files/import",
                json!({"url": format!("http://127.0.0.1:9/{name}.png")}),
            )
            .await;
        ids.push(v["file"]["id"].as_str().expect("id").to_string());
    }
    let (kept, trashed, purged) = (&ids[0], &ids[1], &ids[2]);
    s.ok_post("/v1/bulk/files/delete", json!({"fileIds": [trashed]}))
        .await;
    s.ok_post(
        "/v1/bulk/files/delete",
        json!({"fileIds": [purged], "permanent": true}),
    )
    .await;
    let v = s
        .ok_post("/v1/files/get-files", json!({"fileIds": [kept, trashed]}))
        .await;
    assert_eq!(v["files"].as_array().map(Vec::len), Some(2), "{v}");
    let never = "0abcde_00000000000000000000000000000000";
    let (status, v) = s
        .post(
            "/v1/files/get-files",
            json!({"fileIds": [kept, never, trashed, purged]}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    let violation = &v["details"]["validationError"]["fieldViolations"][0];
    assert_eq!(violation["field"], "fileIds");
    assert_eq!(violation["ruleName"], "RESOURCE_NOT_FOUND");
    assert_eq!(violation["violatedRule"], "OTHER");
    assert_eq!(violation["data"]["unknownIds"], json!([never, purged]));
    for id in [never, purged.as_str()] {
        let (status, v) = s
            .get(&format!(
                "/v1/files/get-file-by-id?fileId={}",
                urlencode(id)
            ))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
        let violation = &v["details"]["validationError"]["fieldViolations"][0];
        assert_eq!(
            (&violation["field"], &violation["ruleName"]),
            (&json!("fileId"), &json!("RESOURCE_NOT_FOUND"))
        );
    }
    s.ok_get(&format!("/v1/files/{}", urlencode(trashed))).await;
}
