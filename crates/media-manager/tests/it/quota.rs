//! The site quota: a full site refuses whole calls with 400 `SITE_QUOTA_EXCEEDED` and
//! creates nothing; a Bulk Import going over takes the items that fit and fails the rest one
//! by one; trashing frees a place; a restart with a higher quota lets imports go on.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{Source, SourceServer, TestServer, files_held, png};

fn import_item(i: usize) -> Value {
    json!({"url": format!("http://127.0.0.1:9/q{i}.png")})
}

/// Asserts a whole-call quota refusal naming `field`.
fn assert_quota_refusal(status: StatusCode, v: &Value, field: &str) {
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    let violation = &v["details"]["validationError"]["fieldViolations"][0];
    assert_eq!(violation["field"], field, "{v}");
    assert_eq!(violation["ruleName"], "SITE_QUOTA_EXCEEDED", "{v}");
    assert_eq!(violation["violatedRule"], "OTHER", "{v}");
}

/// With `quota_files` 2 and two files held, Import File, Bulk Import (v2 and v1) and both
/// upload-URL calls answer 400 `SITE_QUOTA_EXCEEDED` and create nothing; trashing a file
/// makes room for one more.
#[tokio::test]
async fn full_site_refuses_whole_calls() {
    let s = TestServer::start_with(|c| c.quota_files = Some(2)).await;
    let first = s.ok_post("/v1/files/import", import_item(0)).await;
    s.ok_post("/v1/files/import", import_item(1)).await;
    let (status, v) = s.post("/v1/files/import", import_item(2)).await;
    assert_quota_refusal(status, &v, "url");
    assert_eq!(
        v["details"]["validationError"]["fieldViolations"][0]["data"]["usedFiles"],
        2
    );
    for path in ["/v1/bulk/files/import-v2", "/v1/bulk/files/import"] {
        let (status, v) = s
            .post(path, json!({"importFileRequests": [import_item(3)]}))
            .await;
        assert_quota_refusal(status, &v, "importFileRequests");
    }
    for path in [
        "/v1/files/generate-upload-url",
        "/v1/files/generate-resumable-upload-url",
    ] {
        let (status, v) = s.post(path, json!({"mimeType": "image/png"})).await;
        assert_quota_refusal(status, &v, "sizeInBytes");
    }
    assert_eq!(files_held(&s.stats().await), 2, "nothing was created");
    let id = first["file"]["id"].as_str().expect("id");
    s.ok_post("/v1/bulk/files/delete", json!({"fileIds": [id]}))
        .await;
    s.ok_post("/v1/files/import", import_item(4)).await;
}

/// A Bulk Import that would go over imports the items that fit, in order, and fails the rest
/// per item with `SITE_QUOTA_EXCEEDED`; the deprecated v1 takes all or nothing. Restarted on
/// the same data with a higher quota, the server imports again.
#[tokio::test]
async fn bulk_import_over_quota_fails_per_item_until_restarted_with_more() {
    let s = TestServer::start_with(|c| c.quota_files = Some(3)).await;
    s.ok_post("/v1/files/import", import_item(0)).await;
    let (status, v) = s
        .post(
            "/v1/bulk/files/import",
            json!({"importFileRequests": (1..4).map(import_item).collect::<Vec<_>>()}),
        )
        .await;
    assert_quota_refusal(status, &v, "importFileRequests");
    let v = s
        .ok_post(
            "/v1/bulk/files/import-v2",
            json!({"importFileRequests": (1..5).map(import_item).collect::<Vec<_>>()}),
        )
        .await;
    let results = v["results"].as_array().expect("results");
    let success: Vec<bool> = results
        .iter()
        .map(|r| r["itemMetadata"]["success"] == true)
        .collect();
    assert_eq!(success, [true, true, false, false], "{v}");
    for failed in &results[2..] {
        let error = &failed["itemMetadata"]["error"];
        assert_eq!(error["code"], "SITE_QUOTA_EXCEEDED", "{v}");
        assert_eq!(error["data"]["quotaFiles"], 3, "{v}");
        assert!(failed.get("item").is_none(), "{v}");
    }
    assert_eq!(v["bulkActionMetadata"]["totalSuccesses"], 2);
    assert_eq!(v["bulkActionMetadata"]["totalFailures"], 2);
    assert_eq!(files_held(&s.stats().await), 3);

    let s = s.restart(|c| c.quota_files = Some(5)).await;
    let v = s
        .ok_post(
            "/v1/bulk/files/import-v2",
            json!({"importFileRequests": (5..8).map(import_item).collect::<Vec<_>>()}),
        )
        .await;
    let success: Vec<bool> = v["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| r["itemMetadata"]["success"] == true)
        .collect();
    assert_eq!(success, [true, true, false], "two more fit: {v}");
    assert_eq!(files_held(&s.stats().await), 5);
}

/// `quota_bytes` counts an upload's announced size at once and a URL import's bytes once it
/// is processed: the import is taken while bytes remain, and once READY it fills the site.
#[tokio::test]
async fn byte_quota_counts_uploads_now_and_imports_once_processed() {
    let bytes = png(64, 64);
    let quota = bytes.len() as u64 - 1;
    let s = TestServer::start_with(|c| c.quota_bytes = Some(quota)).await;
    let source = SourceServer::start().await;
    let url = source.add("/big.png", Source::bytes("image/png", bytes.clone()));
    let (status, v) = s
        .post(
            "/v1/files/generate-upload-url",
            json!({"mimeType": "image/png", "sizeInBytes": (quota + 1).to_string()}),
        )
        .await;
    assert_quota_refusal(status, &v, "sizeInBytes");
    let v = s.ok_post("/v1/files/import", json!({ "url": url })).await;
    let id = v["file"]["id"].as_str().expect("id");
    let f = s.wait_processed(id).await;
    assert_eq!(f.size_in_bytes, Some(bytes.len() as u64), "{f:?}");
    let (status, v) = s.post("/v1/files/import", json!({ "url": url })).await;
    assert_quota_refusal(status, &v, "url");
    let used = &v["details"]["validationError"]["fieldViolations"][0]["data"]["usedBytes"];
    assert_eq!(*used, bytes.len());
}
