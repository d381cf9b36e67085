//! Folder endpoints over HTTP: create, get, list, search, query, rename and move, the trash
//! (a folder takes its contents along), system folders, paging.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{TestServer, urlencode};

async fn create(s: &TestServer, name: &str, parent: Option<&str>) -> String {
    let mut body = json!({"displayName": name});
    if let Some(p) = parent {
        body["parentFolderId"] = json!(p);
    }
    let v = s.ok_post("/v1/folders", body).await;
    v["folder"]["id"].as_str().unwrap().to_string()
}

fn names(v: &Value, key: &str) -> Vec<String> {
    let mut n: Vec<String> = v[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["displayName"].as_str().unwrap().to_string())
        .collect();
    n.sort();
    n
}

/// Create answers a Wix folder (32-hex id, media-root parent, OK state); get and list agree.
#[tokio::test]
async fn create_get_and_list() {
    let s = TestServer::start().await;
    let v = s
        .ok_post("/v1/folders", json!({"displayName": "Products"}))
        .await;
    let f = &v["folder"];
    let id = f["id"].as_str().unwrap();
    assert_eq!(id.len(), 32);
    assert!(id.chars().all(|c| c.is_ascii_hexdigit()));
    assert_eq!(f["parentFolderId"], "media-root");
    assert_eq!(f["state"], "OK");
    let got = s.ok_get(&format!("/v1/folders/{id}")).await;
    assert_eq!(got["folder"], *f);
    let listed = s.ok_get("/v1/folders").await;
    assert_eq!(
        names(&listed, "folders"),
        vec!["Products"],
        "virtual folders stay hidden"
    );
    let (status, v) = s.get("/v1/folders/0123456789abcdef0123456789abcdef").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(v["details"]["applicationError"]["code"], "FOLDER_NOT_FOUND");
}

/// System folders exist, can be read, and can't be deleted or renamed.
#[tokio::test]
async fn system_folders_are_protected() {
    let s = TestServer::start().await;
    for id in [
        "media-root",
        "trash-root",
        "visitor-uploads",
        "mobile-uploads",
        "purchased-items",
        "video-maker",
    ] {
        let v = s.ok_get(&format!("/v1/folders/{id}")).await;
        assert_eq!(v["folder"]["id"], id);
        let (status, _) = s
            .post("/v1/bulk/folders/delete", json!({"folderIds": [id]}))
            .await;
        assert_eq!(
            status,
            StatusCode::BAD_REQUEST,
            "{id} must not be deletable"
        );
    }
    let (status, _) = s
        .patch(
            "/v1/folders/media-root",
            json!({"folder": {"displayName": "x"}}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

/// Invalid folder requests are 400 with the field named; a missing parent is 404.
#[tokio::test]
async fn create_validation() {
    let s = TestServer::start().await;
    for (body, field) in [
        (json!({}), "displayName"),
        (json!({"displayName": ""}), "displayName"),
        (json!({"displayName": "a/b"}), "displayName"),
        (json!({"displayName": "x".repeat(1001)}), "displayName"),
        (json!({"displayName": 7}), "displayName"),
    ] {
        let (status, v) = s.post("/v1/folders", body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {v}");
        assert_eq!(
            v["details"]["validationError"]["fieldViolations"][0]["field"],
            field
        );
    }
    let (status, _) = s
        .post(
            "/v1/folders",
            json!({"displayName": "a", "parentFolderId": "nope"}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = s
        .post(
            "/v1/folders",
            json!({"displayName": "a", "parentFolderId": "trash-root"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

/// Rename and move work; a folder can't move into its own subtree.
#[tokio::test]
async fn rename_and_move() {
    let s = TestServer::start().await;
    let a = create(&s, "a", None).await;
    let b = create(&s, "b", Some(&a)).await;
    let c = create(&s, "c", None).await;
    let v = s
        .ok_patch(
            &format!("/v1/folders/{c}"),
            json!({"folder": {"displayName": "c2", "parentFolderId": b}}),
        )
        .await;
    assert_eq!(v["folder"]["displayName"], "c2");
    assert_eq!(v["folder"]["parentFolderId"], b);
    let (status, _) = s
        .patch(
            &format!("/v1/folders/{a}"),
            json!({"folder": {"parentFolderId": c}}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "moving a folder under its descendant"
    );
    let (status, _) = s
        .patch(
            &format!("/v1/folders/{a}"),
            json!({"folder": {"id": b, "displayName": "x"}}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "body id must match path id"
    );
}

/// Trashing a folder takes its subfolders and files along; restoring brings them all back.
#[tokio::test]
async fn trash_takes_contents_along() {
    let s = TestServer::start().await;
    let top = create(&s, "top", None).await;
    let sub = create(&s, "sub", Some(&top)).await;
    let v = s
        .ok_post(
            "/v1/files/import",
            json!({"url": "http://127.0.0.1:9/in-sub.png", "parentFolderId": sub}),
        )
        .await;
    let file_id = v["file"]["id"].as_str().unwrap().to_string();
    s.ok_post("/v1/bulk/folders/delete", json!({"folderIds": [top]}))
        .await;
    s.ok_post("/v1/bulk/folders/delete", json!({"folderIds": [top]}))
        .await; // no error twice
    assert!(names(&s.ok_get("/v1/folders").await, "folders").is_empty());
    assert_eq!(
        names(&s.ok_get("/v1/trash-bin/folders").await, "folders"),
        vec!["top"]
    );
    let search = s.ok_post("/v1/files/search", json!({})).await;
    assert_eq!(
        search["files"].as_array().unwrap().len(),
        0,
        "trashed with its folder"
    );
    let trash = s
        .ok_post("/v1/files/search", json!({"rootFolder": "TRASH_ROOT"}))
        .await;
    assert_eq!(trash["files"][0]["id"], file_id);
    let trash_folders = s
        .ok_post("/v1/folders/search", json!({"rootFolder": "TRASH_ROOT"}))
        .await;
    assert_eq!(names(&trash_folders, "folders"), vec!["sub", "top"]);
    // Nothing can be created inside a trashed folder.
    let (status, _) = s
        .post(
            "/v1/folders",
            json!({"displayName": "x", "parentFolderId": sub}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    s.ok_post(
        "/v1/bulk/trash-bin/folders/restore",
        json!({"folderIds": [top]}),
    )
    .await;
    assert_eq!(
        s.ok_get(&format!("/v1/folders/{top}")).await["folder"]["parentFolderId"],
        "media-root"
    );
    let f = s.file(&file_id).await;
    assert_eq!(f.parent_folder_id.as_deref(), Some(sub.as_str()));
    assert_eq!(serde_json::to_value(f.state).unwrap(), "OK");
}

/// Permanent delete removes a folder, its subfolders and their files for good.
#[tokio::test]
async fn permanent_delete_removes_subtree() {
    let s = TestServer::start().await;
    let top = create(&s, "gone", None).await;
    let sub = create(&s, "sub", Some(&top)).await;
    let v = s
        .ok_post(
            "/v1/files/import",
            json!({"url": "http://127.0.0.1:9/x.png", "parentFolderId": sub}),
        )
        .await;
    let file_id = v["file"]["id"].as_str().unwrap().to_string();
    s.ok_post(
        "/v1/bulk/folders/delete",
        json!({"folderIds": [top], "permanent": true}),
    )
    .await;
    for id in [&top, &sub] {
        let (status, _) = s.get(&format!("/v1/folders/{id}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
    let (status, _) = s
        .get(&format!(
            "/v1/files/get-file-by-id?fileId={}",
            urlencode(&file_id)
        ))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "deleted for good: unknown");
}

/// Listing folders pages through every child exactly once; search and query find nested ones.
#[tokio::test]
async fn list_search_and_query_folders() {
    let s = TestServer::start().await;
    let parent = create(&s, "many", None).await;
    for i in 0..12 {
        create(&s, &format!("child-{i:02}"), Some(&parent)).await;
    }
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let v = s
            .ok_get(&format!(
                "/v1/folders?parentFolderId={parent}&paging.limit=5&sort.fieldName=displayName&sort.order=DESC&paging.cursor={}",
                urlencode(&cursor)
            ))
            .await;
        seen.extend(
            v["folders"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["displayName"].as_str().unwrap().to_string()),
        );
        match v["nextCursor"]["cursors"]["next"].as_str() {
            Some(c) if !c.is_empty() => cursor = c.to_string(),
            _ => break,
        }
    }
    let expected: Vec<String> = (0..12).rev().map(|i| format!("child-{i:02}")).collect();
    assert_eq!(seen, expected);
    let v = s
        .ok_post("/v1/folders/search", json!({"search": "child-1"}))
        .await;
    assert_eq!(names(&v, "folders"), vec!["child-10", "child-11"]);
    let v = s.ok_post("/v1/folders/query", json!({"query": {"filter": {"displayName": {"$startsWith": "child-0"}}, "cursorPaging": {"limit": 3}}})).await;
    assert_eq!(v["folders"].as_array().unwrap().len(), 3);
    let next = v["pagingMetadata"]["cursors"]["next"].as_str().unwrap();
    assert!(!next.is_empty(), "a next page: {v}");
}

/// Folders under visitor-uploads belong to the VISITOR_UPLOADS_ROOT search root only.
#[tokio::test]
async fn search_roots_are_separate() {
    let s = TestServer::start().await;
    create(&s, "visitor-stuff", Some("visitor-uploads")).await;
    create(&s, "site-stuff", None).await;
    let media = s
        .ok_post("/v1/folders/search", json!({"search": "stuff"}))
        .await;
    assert_eq!(names(&media, "folders"), vec!["site-stuff"]);
    let visitors = s
        .ok_post(
            "/v1/folders/search",
            json!({"search": "stuff", "rootFolder": "VISITOR_UPLOADS_ROOT"}),
        )
        .await;
    assert_eq!(names(&visitors, "folders"), vec!["visitor-stuff"]);
}

/// The id of the one folder whose name contains `name`.
async fn find(s: &TestServer, name: &str) -> String {
    let v = s
        .ok_post("/v1/folders/search", json!({ "search": name }))
        .await;
    let found = v["folders"].as_array().expect("folders");
    assert_eq!(found.len(), 1, "{v}");
    found[0]["id"].as_str().expect("id").to_string()
}

fn violated_field(v: &Value) -> &str {
    v["details"]["validationError"]["fieldViolations"][0]["field"]
        .as_str()
        .unwrap_or_default()
}

/// Issue 13, hole 1: folders are at most `FOLDER_MAX_DEPTH` (32) levels deep, and a
/// `filePath` at most 100 characters (the contract's limit: a deep chain is reached in steps,
/// a folder's id plus a relative path). A chain to the limit is made; one level more, an
/// 8,000-level path, a folder created, moved or restored past the limit are refused with 400
/// and change nothing.
#[tokio::test]
async fn hole_1_deep_folder_chain_refused() {
    let max = wix_media_wire::types::limits::FOLDER_MAX_DEPTH;
    let s = TestServer::start().await;
    let path =
        |from: usize, to: usize| (from..=to).map(|i| format!("/d{i:02}")).collect::<String>();
    let upload = |parent: Option<&str>, file_path: String| {
        let mut body = json!({"mimeType": "image/png", "fileName": "a.png", "filePath": file_path});
        if let Some(p) = parent {
            body["parentFolderId"] = json!(p);
        }
        body
    };
    let half = max / 2;
    let (status, v) = s
        .post("/v1/files/generate-upload-url", upload(None, path(1, half)))
        .await;
    assert_eq!(status, StatusCode::OK, "the first half: {v}");
    let middle = find(&s, &format!("d{half:02}")).await;
    let (status, v) = s
        .post(
            "/v1/files/generate-upload-url",
            upload(Some(&middle), path(half + 1, max)),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "a chain to the limit: {v}");
    for too_deep in [path(half + 1, max + 1), "/a".repeat(8000)] {
        let (status, v) = s
            .post(
                "/v1/files/generate-upload-url",
                upload(Some(&middle), too_deep),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
        assert_eq!(violated_field(&v), "filePath", "{v}");
        let (status, v) = s
            .post(
                "/v1/files/import",
                json!({"url": "https://cdn.example/a.png", "parentFolderId": middle,
                       "filePath": path(half + 1, max + 1)}),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    }
    let (_, all) = s.post("/v1/folders/search", json!({})).await;
    assert_eq!(all["folders"].as_array().map(Vec::len), Some(max), "{all}");

    let deepest = find(&s, &format!("d{max:02}")).await;
    let (status, v) = s
        .post(
            "/v1/folders",
            json!({"displayName": "x", "parentFolderId": deepest}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "create below the deepest: {v}"
    );

    // A two-level tree moved under depth max-1 would reach max+1; a leaf fits.
    let top = create(&s, "top", None).await;
    let leaf = create(&s, "leaf", Some(&top)).await;
    let near = find(&s, &format!("d{:02}", max - 1)).await;
    let (status, v) = s
        .patch(
            &format!("/v1/folders/{top}"),
            json!({"folder": {"id": top, "parentFolderId": near}}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "move past the limit: {v}");
    let (status, v) = s
        .patch(
            &format!("/v1/folders/{leaf}"),
            json!({"folder": {"id": leaf, "parentFolderId": near}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "a leaf fits: {v}");

    // Restore: `inner` (with a child) is trashed from `holder`, `holder` then moved deep.
    let holder = create(&s, "holder", None).await;
    let inner = create(&s, "inner", Some(&holder)).await;
    create(&s, "child", Some(&inner)).await;
    s.ok_post("/v1/bulk/folders/delete", json!({"folderIds": [inner]}))
        .await;
    let deep = find(&s, &format!("d{:02}", max - 2)).await;
    s.ok_patch(
        &format!("/v1/folders/{holder}"),
        json!({"folder": {"id": holder, "parentFolderId": deep}}),
    )
    .await;
    let (status, v) = s
        .post(
            "/v1/bulk/trash-bin/folders/restore",
            json!({"folderIds": [inner]}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "restore past the limit: {v}"
    );
    let (_, got) = s.get(&format!("/v1/folders/{inner}")).await;
    assert_eq!(
        got["folder"]["parentFolderId"], "trash-root",
        "still trashed"
    );
}

/// Issue 13, hole 10: the folder API refuses `.` and `..` as names, as `filePath` does.
#[tokio::test]
async fn hole_10_dot_folders_refused() {
    let s = TestServer::start().await;
    for name in [".", ".."] {
        let (status, v) = s.post("/v1/folders", json!({"displayName": name})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{name}: {v}");
    }
    let id = create(&s, "ok", None).await;
    let (status, v) = s
        .patch(
            &format!("/v1/folders/{id}"),
            json!({"folder": {"id": id, "displayName": ".."}}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
}
