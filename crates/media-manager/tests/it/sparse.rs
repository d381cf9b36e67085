//! Sparse answers: with `sparse_answers` on, every JSON 200 answer leaves out what proto3 JSON
//! leaves out and carries fields no client knows — and the wire types a client decodes with
//! still carry the normal flow through.

use serde_json::{Value, json};
use wix_media_wire::types::{
    BulkImportFileResponse, FilesResponse, FolderResponse, ListFilesResponse, ListFoldersResponse,
    MediaType, OperationStatus,
};

use crate::support::{Source, SourceServer, TestServer, png};

async fn sparse_server() -> TestServer {
    TestServer::start_with(|c| c.sparse_answers = true).await
}

/// Asserts no empty list or string, `false`, `0` or `null` anywhere in `v`.
fn assert_no_defaults(v: &Value, at: &str) {
    match v {
        Value::Null | Value::Bool(false) => panic!("{at} is {v}"),
        Value::Number(n) => assert_ne!(n.as_f64(), Some(0.0), "{at} is 0"),
        Value::String(s) => assert!(!s.is_empty(), "{at} is an empty string"),
        Value::Array(items) => {
            assert!(!items.is_empty(), "{at} is an empty list");
            for (i, item) in items.iter().enumerate() {
                assert_no_defaults(item, &format!("{at}[{i}]"));
            }
        }
        Value::Object(map) => {
            for (k, item) in map {
                assert_no_defaults(item, &format!("{at}.{k}"));
            }
        }
        Value::Bool(true) => {}
    }
}

/// An empty folder list answers without `folders` or `nextCursor`, only the unknown
/// `x-local-extra`; files and folders carry `internalTags` and `namespace`; no answer holds
/// an empty list, `false`, `0` or `null` (`private: false`, `originalIndex: 0`, `labels: []`).
#[tokio::test]
async fn sparse_answers_leave_out_defaults_and_add_unknown_fields() {
    let s = sparse_server().await;
    let empty = s.ok_get("/v1/folders").await;
    let keys: Vec<&String> = empty.as_object().expect("object").keys().collect();
    assert_eq!(keys, ["x-local-extra"], "{empty}");
    let folder = s
        .ok_post("/v1/folders", json!({"displayName": "sparse"}))
        .await;
    assert_eq!(folder["folder"]["namespace"], "NO_NAMESPACE", "{folder}");
    assert_eq!(folder["folder"]["internalTags"], json!(["a"]), "{folder}");
    let bulk = s
        .ok_post(
            "/v1/bulk/files/import-v2",
            json!({"importFileRequests": [{"url": "http://127.0.0.1:9/a.png"}]}),
        )
        .await;
    assert_no_defaults(&bulk, "bulk");
    let first = &bulk["results"][0];
    assert!(
        first["itemMetadata"].get("originalIndex").is_none(),
        "{bulk}"
    );
    assert_eq!(first["item"]["namespace"], "NO_NAMESPACE", "{bulk}");
    assert!(first["item"].get("private").is_none(), "{bulk}");
    assert!(first["item"].get("labels").is_none(), "{bulk}");
    let listed = s.ok_get("/v1/files").await;
    assert_no_defaults(&listed, "list");
    assert!(listed["nextCursor"].is_null(), "no next page: {listed}");
    assert!(listed["files"][0]["internalTags"].is_array(), "{listed}");
}

/// The normal flow reads through sparse answers with the wire types a client decodes: a
/// folder made, a file imported into it by Bulk Import, followed to READY, listed and read
/// back by Get File Descriptors.
#[tokio::test]
async fn sparse_answers_still_carry_the_normal_flow() {
    let s = sparse_server().await;
    let source = SourceServer::start().await;
    let bytes = png(12, 8);
    let url = source.add("/p.png", Source::bytes("image/png", bytes.clone()));
    let folder: FolderResponse =
        serde_json::from_value(s.ok_post("/v1/folders", json!({"displayName": "in"})).await)
            .expect("folder decodes");
    let folders: ListFoldersResponse =
        serde_json::from_value(s.ok_get("/v1/folders").await).expect("folders decode");
    assert_eq!(folders.folders.len(), 1);
    assert!(folders.next_cursor.next_cursor().is_none());
    let bulk: BulkImportFileResponse = serde_json::from_value(
        s.ok_post(
            "/v1/bulk/files/import-v2",
            json!({"importFileRequests": [{"url": url, "parentFolderId": folder.folder.id}]}),
        )
        .await,
    )
    .expect("bulk decodes");
    let meta = &bulk.results[0].item_metadata;
    assert!(meta.success && meta.original_index == 0, "{meta:?}");
    let id = meta.id.clone().expect("id");
    let ready = s.wait_processed(&id).await;
    assert_eq!(ready.operation_status, Some(OperationStatus::Ready));
    assert_eq!(ready.media_type, Some(MediaType::Image));
    let listed: ListFilesResponse = serde_json::from_value(
        s.ok_get(&format!("/v1/files?parentFolderId={}", folder.folder.id))
            .await,
    )
    .expect("list decodes");
    assert_eq!(listed.files.len(), 1);
    assert_eq!(listed.files[0].private, None, "false is left out");
    let got: FilesResponse = serde_json::from_value(
        s.ok_post("/v1/files/get-files", json!({"fileIds": [id]}))
            .await,
    )
    .expect("files decode");
    assert_eq!(got.files[0].size_in_bytes, Some(bytes.len() as u64));
    let empty: ListFilesResponse = serde_json::from_value(
        s.ok_post("/v1/files/search", json!({"search": "nothing"}))
            .await,
    )
    .expect("an empty search decodes");
    assert!(empty.files.is_empty());
}
