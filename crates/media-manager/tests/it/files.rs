//! File endpoints over HTTP: import and bulk import, validation, get, update, list with
//! paging, search, query, trash and restore, restart persistence.

use std::collections::HashSet;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{SourceServer, TestServer, urlencode};

fn violation_field(v: &Value) -> &str {
    v["details"]["validationError"]["fieldViolations"][0]["field"]
        .as_str()
        .unwrap_or_default()
}

/// Import File answers a PENDING descriptor with Wix's REST names (`id`, `createdDate`).
#[tokio::test]
async fn import_answers_pending_descriptor() {
    let s = TestServer::start().await;
    let v = s
        .ok_post(
            "/v1/files/import",
            json!({"url": "http://127.0.0.1:9/photo.jpg", "displayName": "Photo.jpg", "labels": ["a", "b"]}),
        )
        .await;
    let f = &v["file"];
    assert_eq!(f["operationStatus"], "PENDING");
    assert_eq!(f["displayName"], "Photo.jpg");
    assert_eq!(f["parentFolderId"], "media-root");
    assert_eq!(f["sourceUrl"], "http://127.0.0.1:9/photo.jpg");
    assert_eq!(f["labels"], json!(["a", "b"]));
    assert!(
        f.get("media").is_none(),
        "import responses carry no media: {f}"
    );
    assert!(
        f.get("_id").is_none() && f["id"].as_str().unwrap().contains("~mv2.jpg"),
        "{f}"
    );
    assert!(f["createdDate"].as_str().unwrap().ends_with('Z'));
}

/// Bad import requests are refused with a 400 naming the field.
#[tokio::test]
async fn import_validation_names_the_field() {
    let s = TestServer::start().await;
    let long = "x".repeat(1001);
    let cases = [
        (json!({}), "url"),
        (json!({"url": "not a url"}), "url"),
        (json!({"url": "ftp://h/x.png"}), "url"),
        (
            json!({"url": "http://h/x.png", "displayName": long}),
            "displayName",
        ),
        (
            json!({"url": "http://h/x.png", "mediaType": "OTHER"}),
            "mediaType",
        ),
        (
            json!({"url": "http://h/x.png", "mediaType": "PICTURE"}),
            "mediaType",
        ),
        (
            json!({"url": "http://h/x.png", "mimeType": "png"}),
            "mimeType",
        ),
        (
            json!({"url": "http://h/x.png", "labels": vec!["l"; 501]}),
            "labels",
        ),
        (
            json!({"url": "http://h/x.png", "filePath": "/a/../b"}),
            "filePath",
        ),
        (json!({"url": 5}), "url"),
    ];
    for (body, field) in cases {
        let (status, v) = s.post("/v1/files/import", body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body} → {v}");
        assert_eq!(violation_field(&v), field, "{body} → {v}");
        assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    let (status, v) = s
        .post(
            "/v1/files/import",
            json!({"url": "http://h/x.png", "parentFolderId": "nope"}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{v}");
    assert_eq!(v["details"]["applicationError"]["code"], "FOLDER_NOT_FOUND");
}

/// Bulk import answers per item: bad items fail with a code, the rest are created, in order.
#[tokio::test]
async fn bulk_import_answers_per_item() {
    let s = TestServer::start().await;
    let v = s
        .ok_post(
            "/v1/bulk/files/import-v2",
            json!({"importFileRequests": [
                {"url": "http://127.0.0.1:9/a.png", "filePath": "/x/y"},
                {"url": "bad url"},
                {"url": "http://127.0.0.1:9/c.png", "displayName": "c.png"}
            ]}),
        )
        .await;
    let results = v["results"].as_array().unwrap();
    assert_eq!(results.len(), 3);
    assert_eq!(v["bulkActionMetadata"]["totalSuccesses"], 2);
    assert_eq!(v["bulkActionMetadata"]["totalFailures"], 1);
    for (i, r) in results.iter().enumerate() {
        assert_eq!(r["itemMetadata"]["originalIndex"], i);
    }
    assert_eq!(results[1]["itemMetadata"]["success"], false);
    assert_eq!(
        results[1]["itemMetadata"]["error"]["code"],
        "INVALID_ARGUMENT"
    );
    assert!(results[1].get("item").is_none());
    assert_eq!(results[0]["item"]["operationStatus"], "PENDING");
    assert_eq!(results[0]["itemMetadata"]["id"], results[0]["item"]["id"]);
    // returnEntity=false leaves the items out but keeps the ids.
    let v = s
        .ok_post(
            "/v1/bulk/files/import-v2",
            json!({"importFileRequests": [{"url": "http://127.0.0.1:9/d.png"}], "returnEntity": false}),
        )
        .await;
    assert!(v["results"][0].get("item").is_none());
    assert!(v["results"][0]["itemMetadata"]["id"].as_str().is_some());
}

/// More items than the configured maximum, or none, is a 400; the limit is configurable.
#[tokio::test]
async fn bulk_import_limits_items() {
    let s = TestServer::start_with(|c| c.max_bulk_items = 3).await;
    let item = json!({"url": "http://127.0.0.1:9/a.png"});
    let (status, v) = s
        .post(
            "/v1/bulk/files/import-v2",
            json!({"importFileRequests": vec![item.clone(); 4]}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(violation_field(&v), "importFileRequests");
    let (status, _) = s
        .post(
            "/v1/bulk/files/import-v2",
            json!({"importFileRequests": []}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    s.ok_post(
        "/v1/bulk/files/import-v2",
        json!({"importFileRequests": vec![item; 3]}),
    )
    .await;
    let stats = s.stats().await;
    assert_eq!(
        stats["files"]["PENDING"].as_u64().unwrap_or(0)
            + stats["files"]["FAILED"].as_u64().unwrap_or(0),
        3
    );
}

/// Many concurrent imports into one new `filePath` create exactly one folder chain.
#[tokio::test]
async fn concurrent_file_path_imports_create_one_chain() {
    let s = TestServer::start().await;
    let mut tasks = Vec::new();
    for i in 0..24 {
        let http = s.http.clone();
        let url = s.api("/v1/bulk/files/import-v2");
        tasks.push(tokio::spawn(async move {
            let body = json!({"importFileRequests": [
                {"url": format!("http://127.0.0.1:9/{i}.png"), "filePath": "/shop/2024/summer"}
            ]});
            let r = http.post(url).json(&body).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::OK);
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let mut parent = "media-root".to_string();
    for name in ["shop", "2024", "summer"] {
        let v = s
            .ok_get(&format!("/v1/folders?parentFolderId={parent}"))
            .await;
        let matching: Vec<&Value> = v["folders"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["displayName"] == name)
            .collect();
        assert_eq!(matching.len(), 1, "one `{name}` under {parent}: {v}");
        parent = matching[0]["id"].as_str().unwrap().to_string();
    }
    let v = s
        .ok_get(&format!(
            "/v1/files?parentFolderId={parent}&paging.limit=100"
        ))
        .await;
    assert_eq!(v["files"].as_array().unwrap().len(), 24);
}

/// Listing pages through every file exactly once, in the requested order, across pages.
#[tokio::test]
async fn list_pages_through_all_files() {
    let s = TestServer::start().await;
    let items: Vec<Value> = (0..25)
        .map(|i| json!({"url": format!("http://127.0.0.1:9/f{i:02}.png"), "displayName": format!("f{i:02}.png"), "filePath": "/paged"}))
        .collect();
    let v = s
        .ok_post(
            "/v1/bulk/files/import-v2",
            json!({"importFileRequests": items}),
        )
        .await;
    let parent = v["results"][0]["item"]["parentFolderId"]
        .as_str()
        .unwrap()
        .to_string();
    let mut names = Vec::new();
    let mut cursor = String::new();
    let mut pages = 0;
    loop {
        let v = s
            .ok_get(&format!(
                "/v1/files?parentFolderId={parent}&paging.limit=10&sort.fieldName=displayName&sort.order=ASC&paging.cursor={}",
                urlencode(&cursor)
            ))
            .await;
        pages += 1;
        names.extend(
            v["files"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["displayName"].as_str().unwrap().to_string()),
        );
        assert!(
            v["nextCursor"].get("hasNext").is_none(),
            "not in the contract: {v}"
        );
        cursor = v["nextCursor"]["cursors"]["next"]
            .as_str()
            .unwrap()
            .to_string();
        if cursor.is_empty() {
            break;
        }
    }
    assert_eq!(pages, 3);
    let expected: Vec<String> = (0..25).map(|i| format!("f{i:02}.png")).collect();
    assert_eq!(names, expected);
    let (status, v) = s.get("/v1/files?paging.limit=101").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(violation_field(&v), "paging.limit");
    let (status, _) = s.get("/v1/files?paging.cursor=garbage!").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

/// Search covers every level under the root and matches names and labels; limits are enforced.
#[tokio::test]
async fn search_covers_all_levels() {
    let s = TestServer::start().await;
    s.ok_post(
        "/v1/bulk/files/import-v2",
        json!({"importFileRequests": [
            {"url": "http://127.0.0.1:9/1.png", "displayName": "red-shoe.png", "filePath": "/a/b/c"},
            {"url": "http://127.0.0.1:9/2.png", "displayName": "blue.png", "labels": ["shoe-sale"]},
            {"url": "http://127.0.0.1:9/3.png", "displayName": "hat.png"}
        ]}),
    )
    .await;
    let v = s
        .ok_post("/v1/files/search", json!({"search": "shoe"}))
        .await;
    let names: HashSet<&str> = v["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["displayName"].as_str().unwrap())
        .collect();
    assert_eq!(names, HashSet::from(["red-shoe.png", "blue.png"]));
    let v = s.ok_post("/v1/files/search", json!({})).await;
    assert_eq!(v["files"].as_array().unwrap().len(), 3);
    let v = s
        .ok_post("/v1/files/search", json!({"rootFolder": "TRASH_ROOT"}))
        .await;
    assert_eq!(v["files"].as_array().unwrap().len(), 0);
    let (status, _) = s
        .post("/v1/files/search", json!({"search": "s".repeat(201)}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = s
        .post("/v1/files/search", json!({"mediaTypes": vec!["IMAGE"; 31]}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = s
        .post("/v1/files/search", json!({"rootFolder": "ELSEWHERE"}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

/// Get by query, by path and by Wix media URL agree; unknown ids are 400 RESOURCE_NOT_FOUND;
/// get-files caps at 100.
#[tokio::test]
async fn get_file_bindings_agree() {
    let s = TestServer::start().await;
    let v = s
        .ok_post(
            "/v1/files/import",
            json!({"url": "http://127.0.0.1:9/a.png"}),
        )
        .await;
    let id = v["file"]["id"].as_str().unwrap().to_string();
    let a = s
        .ok_get(&format!(
            "/v1/files/get-file-by-id?fileId={}",
            urlencode(&id)
        ))
        .await;
    let b = s.ok_get(&format!("/v1/files/{}", urlencode(&id))).await;
    let wix_url = format!("wix:image://v1/{id}/a.png#originWidth=1&originHeight=1");
    let c = s
        .ok_get(&format!(
            "/v1/files/get-file-by-id?fileId={}",
            urlencode(&wix_url)
        ))
        .await;
    assert_eq!(a["file"]["id"], b["file"]["id"]);
    assert_eq!(a["file"]["id"], c["file"]["id"]);
    let (status, v) = s.get("/v1/files/get-file-by-id?fileId=nope").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        v["details"]["validationError"]["fieldViolations"][0]["ruleName"],
        "RESOURCE_NOT_FOUND"
    );
    let (status, v) = s
        .post("/v1/files/get-files", json!({"fileIds": [id, "nope"]}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    let (status, _) = s
        .post("/v1/files/get-files", json!({"fileIds": vec!["x"; 101]}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = s.post("/v1/files/get-files", json!({"fileIds": []})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

/// Update renames, relabels and moves a file; read-only fields are ignored.
#[tokio::test]
async fn update_renames_and_moves() {
    let s = TestServer::start().await;
    let v = s
        .ok_post(
            "/v1/files/import",
            json!({"url": "http://127.0.0.1:9/a.png"}),
        )
        .await;
    let id = v["file"]["id"].as_str().unwrap().to_string();
    let folder = s
        .ok_post("/v1/folders", json!({"displayName": "dest"}))
        .await;
    let folder_id = folder["folder"]["id"].as_str().unwrap();
    let v = s
        .ok_patch(
            "/v1/files/update-file-descriptor",
            json!({"file": {"id": id, "displayName": "renamed.png", "labels": ["x"], "parentFolderId": folder_id, "sizeInBytes": "99"}}),
        )
        .await;
    assert_eq!(v["file"]["displayName"], "renamed.png");
    assert_eq!(v["file"]["parentFolderId"], folder_id);
    assert_eq!(v["file"]["labels"], json!(["x"]));
    assert!(v["file"].get("sizeInBytes").is_none());
    let (status, _) = s
        .patch(
            "/v1/files/update-file-descriptor",
            json!({"file": {"displayName": "x"}}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let v = s
        .ok_patch(
            &format!("/v1/files/{}/update", urlencode(&id)),
            json!({"file": {"displayName": "again.png"}}),
        )
        .await;
    assert_eq!(v["file"]["displayName"], "again.png");
    let v = s
        .ok_patch(
            "/v1/files/update-file",
            json!({"fileId": id, "displayName": "old-api.png"}),
        )
        .await;
    assert_eq!(v["file"]["displayName"], "old-api.png");
}

/// Soft delete moves files to the trash and restore brings them back; permanent removes them.
#[tokio::test]
async fn trash_restore_and_purge_files() {
    let s = TestServer::start().await;
    let folder = s
        .ok_post("/v1/folders", json!({"displayName": "box"}))
        .await;
    let folder_id = folder["folder"]["id"].as_str().unwrap().to_string();
    let v = s
        .ok_post(
            "/v1/files/import",
            json!({"url": "http://127.0.0.1:9/a.png", "parentFolderId": folder_id}),
        )
        .await;
    let id = v["file"]["id"].as_str().unwrap().to_string();
    assert_eq!(
        s.ok_post("/v1/bulk/files/delete", json!({"fileIds": [id]}))
            .await,
        json!({})
    );
    // Deleting again is not an error.
    s.ok_post("/v1/bulk/files/delete", json!({"fileIds": [id]}))
        .await;
    let f = s.file(&id).await;
    assert_eq!(f.parent_folder_id.as_deref(), Some("trash-root"));
    assert_eq!(serde_json::to_value(f.state).unwrap(), "DELETED");
    let trash = s.ok_get("/v1/trash-bin/files").await;
    assert_eq!(trash["files"][0]["id"], id);
    let live = s
        .ok_get(&format!("/v1/files?parentFolderId={folder_id}"))
        .await;
    assert_eq!(live["files"].as_array().unwrap().len(), 0);
    s.ok_post("/v1/bulk/trash-bin/files/restore", json!({"fileIds": [id]}))
        .await;
    let f = s.file(&id).await;
    assert_eq!(f.parent_folder_id.as_deref(), Some(folder_id.as_str()));
    s.ok_post(
        "/v1/bulk/files/delete",
        json!({"fileIds": [id], "permanent": true}),
    )
    .await;
    let (status, _) = s
        .get(&format!(
            "/v1/files/get-file-by-id?fileId={}",
            urlencode(&id)
        ))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "deleted for good: unknown");
}

/// Query filters by folder, status and source URL, and refuses unknown fields.
#[tokio::test]
async fn query_filters_files() {
    let s = TestServer::start().await;
    let v = s
        .ok_post(
            "/v1/bulk/files/import-v2",
            json!({"importFileRequests": [
                {"url": "http://127.0.0.1:9/q1.png", "filePath": "/q"},
                {"url": "http://127.0.0.1:9/q2.png", "filePath": "/q"},
                {"url": "http://127.0.0.1:9/q3.png"}
            ]}),
        )
        .await;
    let folder = v["results"][0]["item"]["parentFolderId"].as_str().unwrap();
    let v = s
        .ok_post(
            "/v1/files/query",
            json!({"query": {"filter": {"parentFolderId": folder}}}),
        )
        .await;
    assert_eq!(v["files"].as_array().unwrap().len(), 2);
    assert_eq!(
        v["pagingMetadata"]["cursors"]["next"], "",
        "the last page: {v}"
    );
    let v = s
        .ok_post(
            "/v1/files/query",
            json!({"query": {"filter": {"sourceUrl": {"$in": ["http://127.0.0.1:9/q3.png", "http://x/none"]}}}}),
        )
        .await;
    assert_eq!(v["files"].as_array().unwrap().len(), 1);
    let (status, v) = s
        .post(
            "/v1/files/query",
            json!({"query": {"filter": {"colour": "red"}}}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
}

/// Files and folders survive a restart of the server on the same data dir.
#[tokio::test]
async fn restart_keeps_files_and_folders() {
    let s = TestServer::start().await;
    let v = s
        .ok_post(
            "/v1/files/import",
            json!({"url": "http://127.0.0.1:9/p.png", "filePath": "/keep/me"}),
        )
        .await;
    let id = v["file"]["id"].as_str().unwrap().to_string();
    let before = s.file(&id).await;
    let s = s.restart(|_| {}).await;
    let after = s.file(&id).await;
    assert_eq!(before.id, after.id);
    assert_eq!(before.parent_folder_id, after.parent_folder_id);
    assert_eq!(before.created_date, after.created_date);
    let v = s
        .ok_post("/v1/folders/search", json!({"search": "me"}))
        .await;
    assert_eq!(v["folders"][0]["displayName"], "me");
}

/// An import records its sourceUrl and takes its default name from the URL's last segment.
#[tokio::test]
async fn import_records_source_url() {
    let src = SourceServer::start().await;
    let url = src.add(
        "/img/one.png",
        crate::support::Source::bytes("image/png", crate::support::png(4, 3)),
    );
    let s = TestServer::start().await;
    let v = s.ok_post("/v1/files/import", json!({"url": url})).await;
    assert_eq!(v["file"]["sourceUrl"], url);
    assert_eq!(v["file"]["displayName"], "one.png");
}
